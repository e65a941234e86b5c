using Containers.Engine.Spec;

namespace Containers.Engine.Images;

/// <summary>One layer of an image: its diffID (the unpacked tar's digest), the stored blob and sizes.</summary>
public sealed class ImageLayer
{
    public string DiffId { get; init; } = "";
    public string BlobDigest { get; init; } = "";
    public string MediaType { get; init; } = "";
    /// <summary>Bytes of the stored (possibly compressed) blob.</summary>
    public long BlobSize { get; init; }
    /// <summary>Bytes of the unpacked files.</summary>
    public long Size { get; init; }
}

/// <summary>
/// An image in the store, as Get-ContainerImage shows it and other areas consume it: one manifest
/// (<see cref="ManifestDigest"/>) and its config. Id is the config digest ("sha256:..."), as in Docker and
/// Podman, so two manifests of one config (gzip and zstd variants) are two images with one Id.
/// </summary>
public sealed class ImageRecord
{
    public string Id { get; init; } = "";
    /// <summary>The first 12 hex digits of the id.</summary>
    public string ShortId => Id.Length > 19 ? Id[7..19] : Id;
    /// <summary>Tags in Docker's short form (busybox:latest).</summary>
    public IReadOnlyList<string> RepoTags { get; init; } = [];
    /// <summary>Tags in full form (docker.io/library/busybox:latest).</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>
    /// The name (full form) this object stands for when it is one row of a listing: Get-ContainerImage writes
    /// an image once per tag, as docker images does. Null for the image as a whole (its first tag is used).
    /// </summary>
    public string? RowName => _rowName;
    private string? _rowName;
    private string? Shown => RowName ?? (Names.Count > 0 ? Names[0] : null);
    /// <summary>Repository of this row's tag (else the first tag) in short form, or &lt;none&gt;.</summary>
    public string Repository => Shown is { } n ? ShortRepo(n) : "<none>";
    /// <summary>This row's tag (else the first tag), or &lt;none&gt;.</summary>
    public string Tag => Shown is { } n ? n[(n.LastIndexOf(':') + 1)..] : "<none>";
    /// <summary>
    /// What names this row to the other image cmdlets: its tag in short form (busybox:latest,
    /// localhost/busybox:test), or the id when the image has no tag. Pipeline input binds to it.
    /// </summary>
    public string Reference => Shown is { } n ? ShortRepo(n) + n[n.LastIndexOf(':')..] : Id;

    /// <summary>This image as the row of one of its names (full form), for listings with one row per tag.</summary>
    public ImageRecord AsRow(string name)
    {
        var row = (ImageRecord)MemberwiseClone();
        row._rowName = name;
        return row;
    }

    public string ManifestDigest { get; init; } = "";
    public string ManifestMediaType { get; init; } = "";
    /// <summary>The index blobs (multi-platform lists) a pull of this manifest went through, kept in the store.</summary>
    public IReadOnlyList<string> IndexDigests { get; init; } = [];
    public ImageConfig Config { get; init; } = new();
    /// <summary>diffIDs bottom to top.</summary>
    public IReadOnlyList<string> LayerDiffIds { get; init; } = [];
    public IReadOnlyList<ImageLayer> Layers { get; init; } = [];
    public DateTime Created { get; init; }
    /// <summary>Bytes of all layers unpacked.</summary>
    public long Size { get; init; }
    /// <summary>Bytes of the layers other images use too.</summary>
    public long SharedSize { get; init; }
    /// <summary>Bytes of the layers only this image uses.</summary>
    public long UniqueSize { get; init; }
    /// <summary>The id of the image this one was committed from (its base), or null.</summary>
    public string? ParentId { get; init; }
    /// <summary>No tag points at this image.</summary>
    public bool Dangling => Names.Count == 0;
    public string Architecture => Config.Architecture;
    public string Os => Config.Os;

    internal static string ShortRepo(string full)
    {
        int colon = full.LastIndexOf(':');
        int slash = full.LastIndexOf('/');
        string name = colon > slash ? full[..colon] : full;
        if (name.StartsWith("docker.io/library/", StringComparison.Ordinal) && name.IndexOf('/', 18) < 0) return name[18..];
        if (name.StartsWith("docker.io/", StringComparison.Ordinal)) return name[10..];
        return name;
    }

    public override string ToString() => Shown is not null ? Reference : ShortId;
}

/// <summary>One line of an image's history (Get-ContainerImageHistory).</summary>
public sealed class ImageHistoryEntry
{
    public string ImageId { get; init; } = "";
    public int Index { get; init; }
    public DateTime? Created { get; init; }
    public string CreatedBy { get; init; } = "";
    public string? Comment { get; init; }
    public string? Author { get; init; }
    public bool EmptyLayer { get; init; }
    /// <summary>The diffID of the layer this step made, or null for an empty step.</summary>
    public string? DiffId { get; init; }
    public long Size { get; init; }
}

/// <summary>What Test-ContainerStore found: one problem with the store.</summary>
public sealed class StoreProblem
{
    public string Kind { get; init; } = "";
    /// <summary>
    /// Error: the store is inconsistent (a corrupt record is one); Garbage: unreferenced data -Repair may
    /// remove; Warning: what was left undone and why (collection skipped while what is in use is unknown).
    /// </summary>
    public string Severity { get; init; } = "Error";
    public string Target { get; init; } = "";
    public string Message { get; init; } = "";
    public bool Repaired { get; init; }
}

/// <summary>Options of CommitFromOverlayUpper (a container committed into an image).</summary>
public sealed class CommitOptions
{
    public string? Name { get; init; }
    public string? Message { get; init; }
    public string? Author { get; init; }
    /// <summary>Dockerfile-style changes (CMD, ENV, ...), as docker commit --change.</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];
    /// <summary>Replaces the parent's execution config entirely when given (after Changes are applied to it).</summary>
    public ContainerConfig? Config { get; init; }
}
