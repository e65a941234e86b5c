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
    /// <summary>A stored record (a container's config.json, an image or network record) cannot be read.</summary>
    Corrupt,
    /// <summary>The storage root's file system is full or its quota used up (ENOSPC, EDQUOT); ErrorId StorageFull.</summary>
    StorageFull,
    System,
    /// <summary>Input a user handed in is malformed (a compose file that is not valid YAML or breaks the schema).</summary>
    InvalidData,
}
