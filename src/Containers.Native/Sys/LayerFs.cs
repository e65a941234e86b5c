using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>
/// Path-based file-system calls on the engine's own store (layer links, store checks) and fd-based ones the
/// unpack writer uses on files it opened. Anything inside a tree someone else controls (a layer, a container)
/// goes through <see cref="RootedFs"/> instead.
/// </summary>
internal static unsafe partial class LayerFs
{
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;

    [StructLayout(LayoutKind.Sequential)]
    public struct Timespec { public long Sec; public long Nsec; }

    /// <summary>struct stat on x86_64 / aarch64-compatible glibc layout for x86_64 (144 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Stat
    {
        public ulong Dev; public ulong Ino; public ulong Nlink; public uint Mode; public uint Uid; public uint Gid; public int Pad0;
        public ulong Rdev; public long Size; public long Blksize; public long Blocks;
        public Timespec Atime; public Timespec Mtime; public Timespec Ctime;
        public long R0, R1, R2;
    }

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int fchown_(int fd, int uid, int gid);
    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int fchmod_(int fd, uint mode);
    [LibraryImport("libc", EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int chmod_(string path, uint mode);
    [LibraryImport("libc", EntryPoint = "symlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int symlink_(string target, string path);
    [LibraryImport("libc", EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int unlink_(string path);
    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int futimens_(int fd, Timespec* times);
    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lstat_(string path, Stat* st);
    [LibraryImport("libc", EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint readlink_(string path, byte* buf, nuint size);
    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write_(int fd, byte* buf, nuint count);
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int ioctl_(int fd, nuint request, int* arg);

    private const nuint FS_IOC_GETFLAGS = 0x80086601, FS_IOC_SETFLAGS = 0x40086602;
    private const int FS_TOPDIR_FL = 0x00020000;

    private static void Check(int rc, string call, string path)
    {
        if (rc == 0) return;
        throw NativeException.Last(call, path);
    }

    public static void Fchown(int fd, int uid, int gid, string path) => Check(fchown_(fd, uid, gid), "fchown", path);
    public static void Fchmod(int fd, uint mode, string path) => Check(fchmod_(fd, mode), "fchmod", path);
    public static void Chmod(string path, uint mode) => Check(chmod_(path, mode), "chmod", path);

    public static ulong MakeDev(uint major, uint minor)
        => ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
    public static uint Major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0xfff));
    public static uint Minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00) | (dev & 0xff));

    public static void Symlink(string target, string path) => Check(symlink_(target, path), "symlink", path);
    public static void Unlink(string path) => Check(unlink_(path), "unlink", path);

    public static void Futimes(int fd, long sec, long nsec, string path)
    {
        Timespec* t = stackalloc Timespec[2];
        t[0] = new Timespec { Sec = sec, Nsec = nsec };
        t[1] = t[0];
        Check(futimens_(fd, t), "futimens", path);
    }

    /// <summary>lstat; false when the path does not exist.</summary>
    public static bool TryLstat(string path, out Stat st)
    {
        Stat s;
        if (lstat_(path, &s) == 0) { st = s; return true; }
        int e = Marshal.GetLastPInvokeError();
        st = default;
        if (e == Errno.ENOENT || e == Errno.ENOTDIR) return false;
        throw new NativeException("lstat", e, path);
    }

    public static string Readlink(string path)
    {
        byte* buf = stackalloc byte[4096];
        nint n = readlink_(path, buf, 4096);
        if (n < 0) throw NativeException.Last("readlink", path);
        return System.Text.Encoding.UTF8.GetString(buf, (int)n);
    }

    /// <summary>write(2) until all of <paramref name="data"/> is written (short writes and EINTR retried).</summary>
    public static void WriteAll(int fd, ReadOnlySpan<byte> data, string path)
    {
        fixed (byte* p = data)
        {
            int done = 0;
            while (done < data.Length)
            {
                nint n = write_(fd, p + done, (nuint)(data.Length - done));
                if (n < 0)
                {
                    int e = Marshal.GetLastPInvokeError();
                    if (e == Errno.EINTR) continue;
                    throw new NativeException("write", e, path);
                }
                done += (int)n;
            }
        }
    }

    /// <summary>
    /// Best effort <c>chattr +T</c>: marks <paramref name="dir"/> as the top of unrelated hierarchies, so ext4's
    /// Orlov allocator puts each directory made in it into a block group of its own instead of next to its
    /// parent. Returns false when the file system has no such flag (the unpack works the same, only slower).
    /// </summary>
    public static bool TrySetTopDir(string dir)
    {
        int fd;
        try { fd = FileSys.Open(dir, FileSys.O_RDONLY | FileSys.O_DIRECTORY | FileSys.O_NOFOLLOW); }
        catch (NativeException) { return false; }
        try
        {
            int flags = 0;
            if (ioctl_(fd, FS_IOC_GETFLAGS, &flags) != 0) return false;
            if ((flags & FS_TOPDIR_FL) != 0) return true;
            flags |= FS_TOPDIR_FL;
            return ioctl_(fd, FS_IOC_SETFLAGS, &flags) == 0;
        }
        finally { FileSys.Close(fd); }
    }
}
