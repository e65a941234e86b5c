namespace Containers.Engine.Model;

/// <summary>The kinds of object a storage root holds (Get-ContainerDiskUsage, Clear-ContainerStore).</summary>
public enum ContainerStoreKind { Container, Image, Volume, Network, BuildCache }

/// <summary>One row of docker system df: how many objects of a kind, how many in use, their bytes and what removing the unused ones would free.</summary>
public sealed class ContainerDiskUsage
{
    public required ContainerStoreKind Kind { get; init; }
    /// <summary>How many there are.</summary>
    public required int Count { get; init; }
    /// <summary>How many are in use: images a container uses, containers that run (or are paused or restarting), volumes a container mounts.</summary>
    public required int Active { get; init; }
    /// <summary>Bytes on disk: image layers (each layer once), containers' writable layers and logs, volumes' contents.</summary>
    public required long Size { get; init; }
    /// <summary>Bytes that removing the objects not in use would free (Clear-ContainerStore -All, -Kind Volume for volumes).</summary>
    public required long Reclaimable { get; init; }
}

/// <summary>One object Clear-ContainerStore removed (docker system prune's "Deleted ...").</summary>
public sealed class ContainerPruneResult
{
    public required ContainerStoreKind Kind { get; init; }
    /// <summary>Container or image id; network id; volume name.</summary>
    public required string Id { get; init; }
    /// <summary>Container, network or volume name; an image's first name (null for a dangling image).</summary>
    public string? Name { get; init; }
    /// <summary>Bytes freed: a container's directory, a volume's contents, the layers only this image used.</summary>
    public required long ReclaimedBytes { get; init; }
    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} {Name ?? Id}";
}
