namespace Containers.Engine.Runtime;

/// <summary>What the runtime needs from an image.</summary>
public sealed class RuntimeImage
{
    public required string Id { get; init; }
    public required string Reference { get; init; }
    public string[]? Cmd { get; init; }
    public string[]? Entrypoint { get; init; }
    public string[]? Env { get; init; }
    public string? WorkingDir { get; init; }
    public string? User { get; init; }
    public string? StopSignal { get; init; }
    /// <summary>The image's HEALTHCHECK (docker's JSON form), if any.</summary>
    public System.Text.Json.JsonElement? Healthcheck { get; init; }
    /// <summary>The image's SHELL (the health check's CMD-SHELL runs with it), if any.</summary>
    public string[]? Shell { get; init; }
    /// <summary>The image's VOLUME paths (each gets an anonymous volume unless a mount covers it).</summary>
    public string[]? Volumes { get; init; }
    /// <summary>The image's EXPOSE ports, "80/tcp".</summary>
    public string[]? ExposedPorts { get; init; }
    /// <summary>Layer directories bottom -> top (short paths).</summary>
    public required IReadOnlyList<string> LayerPaths { get; init; }
}

/// <summary>The runtime's view of the image store (the seam to Containers.Engine.Images).</summary>
public interface IRuntimeImageSource
{
    /// <summary>The image or null when it is not in the store.</summary>
    RuntimeImage? Resolve(Containers.Engine.State.StorageRoot root, string reference);
}

/// <summary>The image store of the storage root (Containers.Engine.Images).</summary>
internal sealed class StoreImageSource : IRuntimeImageSource
{
    public RuntimeImage? Resolve(Containers.Engine.State.StorageRoot root, string reference)
    {
        var store = new Containers.Engine.Images.ImageStore(root);
        var img = store.TryResolve(reference);
        if (img is null) return null;
        var cfg = img.Config.Config;
        return new RuntimeImage
        {
            Id = img.Id,
            Reference = reference,
            Cmd = cfg?.Cmd?.ToArray(),
            Entrypoint = cfg?.Entrypoint?.ToArray(),
            Env = cfg?.Env?.ToArray(),
            WorkingDir = cfg?.WorkingDir,
            User = cfg?.User,
            StopSignal = cfg?.StopSignal,
            Healthcheck = cfg?.Healthcheck,
            Shell = cfg?.Shell?.ToArray(),
            Volumes = cfg?.Volumes?.Keys.ToArray(),
            ExposedPorts = cfg?.ExposedPorts?.Keys.ToArray(),
            LayerPaths = store.GetLayerPaths(img),
        };
    }
}
