namespace Containers.Engine.Errors;

/// <summary>What kind of failure an engine call met; the cmdlets map each kind to one ErrorCategory.</summary>
public enum ErrorKind
{
    NotFound,
    InvalidArgument,
    AlreadyExists,
    Conflict,
    Unauthorized,
    Unavailable,
    NotImplemented,
    Cancelled,
    Timeout,
    DataLoss,
    System,
}
