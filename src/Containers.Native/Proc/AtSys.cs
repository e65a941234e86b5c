using System.Runtime.InteropServices;

namespace Containers.Native.Proc;

/// <summary>
/// The directory-relative calls the container child uses to make and mount things inside the container's
/// root without ever resolving a path against the host's root: openat2(2) with RESOLVE_IN_ROOT (the root fd
/// acts as "/", absolute links and ".." stay inside it) and the *at() calls on a parent resolved that way.
/// Like <see cref="Sys"/>: blittable, SuppressGCTransition, no allocation, errno via <see cref="Sys.Errno"/>,
/// so the helper may call them between clone() and execve().
/// </summary>
internal static unsafe class AtSys
{
    private const string Libc = "libc";
    public const long SYS_openat2 = 437;
    public const int AT_FDCWD = -100;
    public const int O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000,
        O_CLOEXEC = 0x80000, O_PATH = 0x200000;
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04,
        RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;

    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow { public ulong Flags; public ulong Mode; public ulong Resolve; }

    /// <summary>openat2(2); returns the fd or -1 with errno set.</summary>
    public static int Openat2(int dirfd, byte* path, ulong flags, ulong mode, ulong resolve)
    {
        OpenHow how;
        how.Flags = flags; how.Mode = mode; how.Resolve = resolve;
        return (int)Sys.syscall(SYS_openat2, dirfd, (long)path, (long)&how, sizeof(OpenHow), 0, 0);
    }

    /// <summary>Opens <paramref name="rel"/> (relative to the root fd; "." is the root) resolved inside the root.</summary>
    public static int OpenInRoot(int rootFd, byte* rel, int flags, uint mode = 0)
    {
        // EAGAIN: a rename raced the walk of a ".." (the kernel refuses rather than risk an escape); a
        // container renaming in a loop gets a bounded number of retries, then the error
        for (int tries = 0; ; tries++)
        {
            int fd = Openat2(rootFd, rel, (ulong)(flags | O_CLOEXEC), mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
            if (fd >= 0) return fd;
            int e = Sys.Errno;
            if (e != 4 /* EINTR */ && (e != 11 /* EAGAIN */ || tries >= 64)) return -1;
        }
    }

    [DllImport(Libc), SuppressGCTransition] public static extern int mkdirat(int dirfd, byte* path, uint mode);
    [DllImport(Libc), SuppressGCTransition] public static extern int mknodat(int dirfd, byte* path, uint mode, ulong dev);
    [DllImport(Libc), SuppressGCTransition] public static extern int symlinkat(byte* target, int dirfd, byte* linkpath);
    [DllImport(Libc), SuppressGCTransition] public static extern int fchownat(int dirfd, byte* path, uint uid, uint gid, int flags);

    /// <summary>Writes "/proc/self/fd/&lt;fd&gt;" NUL-terminated into <paramref name="buf"/> (32 bytes at least).</summary>
    public static byte* FdPath(byte* buf, int fd)
    {
        ReadOnlySpan<byte> prefix = "/proc/self/fd/"u8;
        int n = 0;
        for (; n < prefix.Length; n++) buf[n] = prefix[n];
        byte* digits = stackalloc byte[12];
        int d = 0;
        uint v = (uint)fd;
        do { digits[d++] = (byte)('0' + v % 10); v /= 10; } while (v != 0);
        while (d > 0) buf[n++] = digits[--d];
        buf[n] = 0;
        return buf;
    }
}
