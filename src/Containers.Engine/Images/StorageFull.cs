using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.Images;

/// <summary>
/// A full file system (ENOSPC) or an exhausted quota (EDQUOT) met while storing blobs, layers or records:
/// reported as ErrorId <c>StorageFull</c> (ErrorKind.StorageFull, ResourceUnavailable) naming the storage root, not as
/// a corrupt layer or an unexpected error. The cause stays the inner exception.
/// </summary>
public static class StorageFull
{
    /// <summary>The StorageFull error for <paramref name="root"/> when <paramref name="ex"/> is a full disk, else null.</summary>
    public static ContainersException? Of(Exception ex, StorageRoot root, string doing)
        => ex is ContainersException { ErrorId: "StorageFull" } || !StorageSpace.IsFull(ex) ? null
            : new ContainersException(ErrorKind.StorageFull, "StorageFull",
                $"The storage root '{root.Path}' is full (no space left on its file system, or its quota is used up) while {doing}; what was stored for it has been removed. Free space (Remove-ContainerImage, Remove-Container, Test-ContainerStore -Repair) and try again.",
                root.Path, ex);
}
