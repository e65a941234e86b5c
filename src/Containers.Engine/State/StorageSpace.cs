using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.State;

/// <summary>
/// A full storage root (ENOSPC, or EDQUOT under a quota) and the way out of it. Every such failure surfaces as
/// ErrorId <c>StorageFull</c> (kind <see cref="ErrorKind.StorageFull"/>, category ResourceUnavailable) naming
/// the root. Stopping and removing a container must never need new disk space, since they are how a user frees
/// it: the root keeps a small preallocated file, <c>reserve</c>, which stop and removal delete first when the file
/// system is nearly full, so the few records they write (the network's, the stop marker, the monitor's last
/// status and log lines) find blocks; it is made again by a later start once there is room.
/// </summary>
public static class StorageSpace
{
    public const string ReserveName = "reserve";

    /// <summary>The reserve's size: room for the records a stop or removal writes (a few KiB each).</summary>
    public const long ReserveBytes = 2L * 1024 * 1024;

    private const int ENOSPC = 28, EDQUOT = 122;

    /// <summary>Whether <paramref name="ex"/> or an exception inside it is ENOSPC or EDQUOT.</summary>
    public static bool IsFull(Exception? ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case ContainersException { Kind: ErrorKind.StorageFull }:
                // the kernel's own files say ENOSPC for other things (an empty cpuset, a full pids or keys table)
                case NativeException { Errno: ENOSPC or EDQUOT } ne when !KernelFile(ne.Path ?? ne.Message):
                    return true;
                case IOException io when (io.HResult is ENOSPC or EDQUOT
                    || io.Message.Contains("No space left on device", StringComparison.Ordinal)
                    || io.Message.Contains("Disk quota exceeded", StringComparison.Ordinal)) && !KernelFile(io.Message):
                    return true;
            }
            if (e is AggregateException ae && ae.InnerExceptions.Any(IsFull)) return true;
        }
        return false;
    }

    private static bool KernelFile(string text) =>
        text.Contains("/sys/", StringComparison.Ordinal) || text.Contains("/proc/", StringComparison.Ordinal);

    /// <summary>The StorageFull error for a failure that <see cref="IsFull"/> recognised (the failure itself inside).</summary>
    public static ContainersException Full(string rootPath, Exception inner)
    {
        if (inner is ContainersException { Kind: ErrorKind.StorageFull } ce) return ce;
        return new ContainersException(ErrorKind.StorageFull, "StorageFull",
            $"The storage root '{rootPath}' is full (no space left on its file system, or its quota is used up): {inner.Message} " +
            "Free space there (Remove-Container, Remove-ContainerImage, Remove-ContainerVolume) and try again.", rootPath, inner);
    }

    /// <summary>Bytes available to this process on the file system holding <paramref name="path"/>; -1 when unknown.</summary>
    public static long Available(string path)
    {
        try { return new DriveInfo(path).AvailableFreeSpace; }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException) { return -1; }
    }

    /// <summary>
    /// Makes the reserve when it is missing and there is room for it and more (a start calls this; best effort, a
    /// single stat when it exists). Preallocated (fallocate), so its blocks are really held.
    /// </summary>
    public static void Ensure(StorageRoot root)
    {
        string path = Path.Combine(root.Path, ReserveName);
        if (File.Exists(path)) return;
        long free = Available(root.Path);
        if (free >= 0 && free < 8 * ReserveBytes) return;
        try
        {
            string tmp = path + ".tmp";
            using (File.OpenHandle(tmp, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None, preallocationSize: ReserveBytes)) { }
            File.Move(tmp, path, true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(path + ".tmp"); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Stop and removal call this first: when the root's file system has less than the reserve left, the
    /// reserve is deleted so what they write finds room. Returns whether it was released.
    /// </summary>
    public static bool ReleaseIfLow(StorageRoot root)
    {
        string path = Path.Combine(root.Path, ReserveName);
        long free = Available(root.Path);
        if (free < 0 || free >= ReserveBytes) return false;
        try { File.Delete(path); return true; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }
}
