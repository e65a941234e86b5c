namespace Containers.Engine.Model;

/// <summary>What Request-ContainerImage pulled: the image and how much had to travel.</summary>
public sealed class ImagePullResult
{
    public string Name { get; }
    public string Registry { get; }
    public string Repository { get; }
    public string? Tag { get; }
    /// <summary>The digest of the platform manifest that was pulled.</summary>
    public string Digest { get; }
    /// <summary>The digest of the index it was selected from, when the reference named an index.</summary>
    public string? IndexDigest { get; }
    /// <summary>The image id (the config digest).</summary>
    public string Id { get; }
    public string Platform { get; }
    public string[] Layers { get; }
    public string[] DiffIds { get; }
    /// <summary>Compressed size of all layers plus the config.</summary>
    public long Size { get; }
    public int LayersDownloaded { get; }
    public int LayersSkipped { get; }
    public long BytesDownloaded { get; }
    public TimeSpan Duration { get; }

    public ImagePullResult(string name, string registry, string repository, string? tag, string digest, string? indexDigest, string id,
        string platform, string[] layers, string[] diffIds, long size, int layersDownloaded, int layersSkipped, long bytesDownloaded, TimeSpan duration)
    {
        Name = name; Registry = registry; Repository = repository; Tag = tag; Digest = digest; IndexDigest = indexDigest; Id = id;
        Platform = platform; Layers = layers; DiffIds = diffIds; Size = size; LayersDownloaded = layersDownloaded; LayersSkipped = layersSkipped;
        BytesDownloaded = bytesDownloaded; Duration = duration;
    }
}

/// <summary>What Publish-ContainerImage pushed.</summary>
public sealed class ImagePushResult
{
    public string Name { get; }
    public string Digest { get; }
    public int BlobsUploaded { get; }
    public int BlobsSkipped { get; }
    public int BlobsMounted { get; }
    public long BytesUploaded { get; }
    public TimeSpan Duration { get; }

    public ImagePushResult(string name, string digest, int uploaded, int skipped, int mounted, long bytes, TimeSpan duration)
    {
        Name = name; Digest = digest; BlobsUploaded = uploaded; BlobsSkipped = skipped; BlobsMounted = mounted; BytesUploaded = bytes; Duration = duration;
    }
}

/// <summary>A stored registry login (the secret is never shown).</summary>
public sealed class RegistryLogin
{
    public string Registry { get; }
    public string UserName { get; }
    public string AuthFile { get; }

    public RegistryLogin(string registry, string userName, string authFile)
    {
        Registry = registry; UserName = userName; AuthFile = authFile;
    }
}

/// <summary>One tag of a repository in a registry.</summary>
public sealed class RegistryImageTag
{
    public string Registry { get; }
    public string Repository { get; }
    public string Tag { get; }
    /// <summary>registry/repository:tag, usable as a reference.</summary>
    public string Name => Registry + "/" + Repository + ":" + Tag;

    public RegistryImageTag(string registry, string repository, string tag)
    {
        Registry = registry; Repository = repository; Tag = tag;
    }
}

/// <summary>When New-Container / Invoke-ContainerImage pull the image.</summary>
public enum PullPolicy
{
    /// <summary>Pull only when the image is not in the store (default).</summary>
    Missing,
    /// <summary>Always ask the registry; layers already present are still reused.</summary>
    Always,
    /// <summary>Never pull; a missing image is an error.</summary>
    Never,
}
