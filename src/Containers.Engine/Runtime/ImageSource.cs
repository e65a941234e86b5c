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
    /// <summary>Layer directories bottom -> top (short paths).</summary>
    public required IReadOnlyList<string> LayerPaths { get; init; }
}

/// <summary>The runtime's view of the image store (the seam to Containers.Engine.Images).</summary>
public interface IRuntimeImageSource
{
    /// <summary>The image or null when it is not in the store.</summary>
    RuntimeImage? Resolve(Containers.Engine.State.StorageRoot root, string reference);
}

/// <summary>Used until the image store lands: no image resolves.</summary>
internal sealed class NoImageSource : IRuntimeImageSource
{
    public RuntimeImage? Resolve(Containers.Engine.State.StorageRoot root, string reference) => null;
}
