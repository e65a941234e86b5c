namespace Containers.Engine.Errors;

/// <summary>
/// The one exception type the engine throws on purpose. <see cref="ErrorId"/> is stable (PascalCase,
/// e.g. <c>ImageNotFound</c>) and becomes the ErrorRecord's ErrorId; <see cref="Target"/> is what the
/// failure is about (a name, a path, an object).
/// </summary>
public sealed class ContainersException : Exception
{
    public ErrorKind Kind { get; }
    public string ErrorId { get; }
    public object? Target { get; }
    /// <summary>What the call produced before it failed (a run's result whose command could not be executed), or null.</summary>
    public object? Result { get; init; }

    public ContainersException(ErrorKind kind, string errorId, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        ErrorId = errorId;
        Target = target;
    }

    public static ContainersException NotFound(string errorId, string message, object? target = null, Exception? inner = null)
        => new(ErrorKind.NotFound, errorId, message, target, inner);

    public static ContainersException Invalid(string errorId, string message, object? target = null, Exception? inner = null)
        => new(ErrorKind.InvalidArgument, errorId, message, target, inner);

    public static ContainersException Exists(string errorId, string message, object? target = null, Exception? inner = null)
        => new(ErrorKind.AlreadyExists, errorId, message, target, inner);

    public static ContainersException Conflict(string errorId, string message, object? target = null, Exception? inner = null)
        => new(ErrorKind.Conflict, errorId, message, target, inner);

    public static ContainersException DataLoss(string errorId, string message, object? target = null, Exception? inner = null)
        => new(ErrorKind.DataLoss, errorId, message, target, inner);

    /// <summary>A stored record that cannot be parsed; the target is the file's path.</summary>
    public static ContainersException Corrupt(string errorId, string message, string path, Exception? inner = null)
        => new(ErrorKind.Corrupt, errorId, message, path, inner);

    public static ContainersException System(string errorId, string message, object? target = null, Exception? inner = null)
        => new(ErrorKind.System, errorId, message, target, inner);
}
