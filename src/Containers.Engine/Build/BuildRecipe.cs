using System.Security.Cryptography;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Spec;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Build;

/// <summary>
/// How a built image was made, kept in the store beside it (&lt;root&gt;/recipes/&lt;manifest hex&gt;.json): the
/// Dockerfile's text, the context and the digest of what it sent, the build arguments, target, tags, labels and
/// network, and the base of the final stage (the FROM name as written, the manifest digest and id it resolved
/// to, its layers and history length). Update-ContainerImage rebuilds from it, and -Rebase uses the base's
/// layers to know which of the image's layers are its own.
/// </summary>
public sealed class BuildRecipe
{
    public int Version { get; set; } = 1;
    /// <summary>The built image: its manifest digest (the record's key) and id.</summary>
    public string ManifestDigest { get; set; } = "";
    public string ImageId { get; set; } = "";
    public DateTime Created { get; set; }
    /// <summary>The Dockerfile's text as it was built.</summary>
    public string Dockerfile { get; set; } = "";
    /// <summary>The Dockerfile's path (null for -InlineDockerfile): names errors and its own .dockerignore.</summary>
    public string? DockerfilePath { get; set; }
    public string ContextPath { get; set; } = "";
    /// <summary>sha256 over what the context sent after .dockerignore (paths, types, modes, owners, contents, link targets).</summary>
    public string ContextDigest { get; set; } = "";
    public Dictionary<string, string> BuildArgs { get; set; } = new(StringComparer.Ordinal);
    public string? Target { get; set; }
    public List<string> Tags { get; set; } = [];
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);
    public string Network { get; set; } = "bridge";
    /// <summary>The final stage's base: the FROM name as written (after ARG expansion); null for scratch.</summary>
    public string? BaseName { get; set; }
    public string? BaseDigest { get; set; }
    public string? BaseId { get; set; }
    /// <summary>The base's layers (diffIDs, bottom first): the image's own layers are the ones after them.</summary>
    public List<string> BaseDiffIds { get; set; } = [];
    /// <summary>How many history entries the base has (the image's own entries follow).</summary>
    public int BaseHistory { get; set; }
    /// <summary>The manifest this image was rebased from (Update-ContainerImage -Rebase), else null.</summary>
    public string? RebasedFrom { get; set; }
}

/// <summary>The recipe records of one storage root.</summary>
public sealed class RecipeStore(StorageRoot root)
{
    public const string CorruptErrorId = "RecipeRecordCorrupt";
    private string Dir => root.Sub("recipes");
    public string PathOf(string manifestDigest) => root.Sub("recipes", Digest.Hex(manifestDigest) + ".json");

    public void Save(BuildRecipe r)
    {
        Directory.CreateDirectory(Dir);
        AtomicFile.WriteJson(PathOf(r.ManifestDigest), r);
    }

    /// <summary>The recipe of an image (its manifest digest); null when it has none; RecipeRecordCorrupt when it does not parse.</summary>
    public BuildRecipe? TryRead(string manifestDigest)
    {
        var r = AtomicFile.ReadRecord<BuildRecipe>(PathOf(manifestDigest), CorruptErrorId, "build recipe");
        if (r is not null && (r.ManifestDigest != manifestDigest || r.Dockerfile is null || r.ContextPath is null))
            throw ContainersException.Corrupt(CorruptErrorId, $"The build recipe '{PathOf(manifestDigest)}' is corrupt and was skipped (it names another image or lacks its Dockerfile). Test-ContainerStore reports it; -Repair moves it aside.", PathOf(manifestDigest));
        return r;
    }

    /// <summary>The recipe of an image, or null; a corrupt one is reported through <see cref="SkippedRecords"/> and read as absent.</summary>
    public BuildRecipe? TryReadOrReport(string manifestDigest)
    {
        try { return TryRead(manifestDigest); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { SkippedRecords.Report(ex); return null; }
    }

    /// <summary>The manifest digests of every recipe file (parsed or not).</summary>
    public IEnumerable<(string ManifestDigest, string Path)> Files()
    {
        if (!Directory.Exists(Dir)) yield break;
        foreach (var f in Directory.EnumerateFiles(Dir, "*.json").Order(StringComparer.Ordinal))
        {
            string n = System.IO.Path.GetFileNameWithoutExtension(f);
            if (n.Length == 64 && Digest.IsLowerHex(n)) yield return (Digest.Sha256Prefix + n, f);
        }
    }

    public void Delete(string manifestDigest)
    {
        try { File.Delete(PathOf(manifestDigest)); }
        catch (IOException) { }
    }

    /// <summary>
    /// Writes the recipe of an image a build just registered: what it was built from, and its base as the
    /// final stage resolved it (the base's layers and history length, for -Rebase).
    /// </summary>
    public static BuildRecipe Record(StorageRoot root, ImageRecord image, BuildOptions o, string dockerfileText, string? baseName, string? baseDigest)
    {
        var store = new ImageStore(root);
        var r = new BuildRecipe
        {
            ManifestDigest = image.ManifestDigest,
            ImageId = image.Id,
            Created = DateTime.UtcNow,
            Dockerfile = dockerfileText,
            DockerfilePath = o.DockerfilePath is null ? null : System.IO.Path.GetFullPath(o.DockerfilePath),
            ContextPath = System.IO.Path.GetFullPath(o.ContextDir),
            ContextDigest = ContextDigestOf(o.ContextDir, o.DockerfilePath),
            BuildArgs = new(o.BuildArgs, StringComparer.Ordinal),
            Target = o.Target,
            Tags = [.. o.Tags],
            Labels = new(o.Labels, StringComparer.Ordinal),
            Network = o.Network,
            BaseName = baseName,
            BaseDigest = baseDigest,
        };
        if (baseDigest is not null && store.TryResolve(baseDigest) is { } b)
        {
            r.BaseId = b.Id;
            r.BaseDiffIds = [.. b.LayerDiffIds];
            r.BaseHistory = b.Config.History?.Count ?? 0;
        }
        new RecipeStore(root).Save(r);
        return r;
    }

    /// <summary>
    /// A digest of the context as a build sees it: every entry .dockerignore lets through, sorted, with its type,
    /// mode, owner, size and content hash (a link: its target). Files are read by descriptor without following links.
    /// </summary>
    public static string ContextDigestOf(string contextDir, string? dockerfilePath)
    {
        string ctx = System.IO.Path.GetFullPath(contextDir);
        if (!Directory.Exists(ctx)) return "";
        var entries = BuildContext.List(ctx, dockerfilePath).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
        using var fs = RootedFs.Open(ctx, RootedFs.Resolution.NoSymlinks);
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var e in entries)
        {
            string line;
            fs.TryStat(e.Path.Length == 0 ? "." : e.Path, out var st);
            string meta = $"{e.Type}\0{e.Path}\0{Convert.ToString(st.Mode & 0xFFF, 8)}\0{st.Uid}\0{st.Gid}";
            if (e.Type == "File")
            {
                using var h = fs.Open(e.Path, FileSys.O_RDONLY | FileSys.O_NONBLOCK);
                using var s = new FileStream(h, FileAccess.Read, 1 << 16);
                line = $"{meta}\0{e.Size}\0{Convert.ToHexStringLower(SHA256.HashData(s))}";
            }
            else line = $"{meta}\0{e.LinkTarget}";
            all.AppendData(Encoding.UTF8.GetBytes(line + "\n"));
        }
        return Digest.FromHash(all.GetHashAndReset());
    }
}
