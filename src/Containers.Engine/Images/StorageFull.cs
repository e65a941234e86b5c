using Containers.Engine.Errors;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Images;

/// <summary>
/// A full file system (ENOSPC) or an exhausted quota (EDQUOT) met while storing blobs, layers or records:
/// reported as ErrorId <c>StorageFull</c> (ErrorKind.StorageFull, ResourceUnavailable) naming the storage root, not as
/// a corrupt layer or an unexpected error. The cause stays the inner exception.
/// </summary>
public static class StorageFull
{
    private const int ENOSPC = 28, EDQUOT = 122;

    /// <summary>True when the exception or one of its causes is ENOSPC or EDQUOT.</summary>
    public static bool Is(Exception? ex)
    {
        for (int depth = 0; ex is not null && depth < 16; depth++)
        {
            switch (ex)
            {
                case NativeException ne when ne.Errno is ENOSPC or EDQUOT:
                    return true;
                // .NET on Unix puts the raw errno in an IOException's HResult
                case IOException io when io is not FileNotFoundException && io.HResult is ENOSPC or EDQUOT:
                    return true;
                case AggregateException ae when ae.InnerExceptions.Any(Is):
                    return true;
            }
            ex = ex.InnerException;
        }
        return false;
    }

    /// <summary>The StorageFull error for <paramref name="root"/> when <paramref name="ex"/> is a full disk, else null.</summary>
    public static ContainersException? Of(Exception ex, StorageRoot root, string doing)
        => ex is ContainersException { ErrorId: "StorageFull" } || !Is(ex) ? null
            : new ContainersException(ErrorKind.StorageFull, "StorageFull",
                $"The storage root '{root.Path}' is full (no space left on its file system, or its quota is used up) while {doing}; what was stored for it has been removed. Free space (Remove-ContainerImage, Remove-Container, Test-ContainerStore -Repair) and try again.",
                root.Path, ex);
}
