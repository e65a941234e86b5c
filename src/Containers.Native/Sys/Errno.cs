using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>An OS call failed: names the call, the errno and (when given) the path.</summary>
internal sealed class NativeException : Exception
{
    public string Call { get; }
    public int Errno { get; }
    public string? Path { get; }

    public NativeException(string call, int errno, string? path = null)
        : base(Format(call, errno, path))
    {
        Call = call;
        Errno = errno;
        Path = path;
    }

    private static string Format(string call, int errno, string? path)
    {
        string msg = Marshal.GetPInvokeErrorMessage(errno);
        return path is null ? $"{call} failed: {msg} (errno {errno})" : $"{call} '{path}' failed: {msg} (errno {errno})";
    }

    /// <summary>Throws for the errno of the P/Invoke call that just failed.</summary>
    public static NativeException Last(string call, string? path = null) => new(call, Marshal.GetLastPInvokeError(), path);
}

internal static class Errno
{
    public const int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, EBADF = 9, ECHILD = 10, EAGAIN = 11,
        ENOMEM = 12, EACCES = 13, EBUSY = 16, EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22,
        ENOSPC = 28, EROFS = 30, EMLINK = 31, EPIPE = 32, ENOSYS = 38, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61,
        EOPNOTSUPP = 95, EADDRINUSE = 98, ETIMEDOUT = 110;
}
