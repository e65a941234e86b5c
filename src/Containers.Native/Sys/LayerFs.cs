using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>The file-system calls layer unpack and commit need: ownership, device nodes, xattrs, links, times.</summary>
internal static unsafe partial class LayerFs
{
    public const int AT_FDCWD = -100, AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;
    public const int XATTR_CREATE = 1;
    private const int ERANGE = 34;

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

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown_(string path, int uid, int gid);
    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int fchown_(int fd, int uid, int gid);
    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int fchmod_(int fd, uint mode);
    [LibraryImport("libc", EntryPoint = "chmod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int chmod_(string path, uint mode);
    [LibraryImport("libc", EntryPoint = "mknod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mknod_(string path, uint mode, ulong dev);
    [LibraryImport("libc", EntryPoint = "mkdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkdir_(string path, uint mode);
    [LibraryImport("libc", EntryPoint = "symlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int symlink_(string target, string path);
    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int link_(string target, string path);
    [LibraryImport("libc", EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int unlink_(string path);
    [LibraryImport("libc", EntryPoint = "rmdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int rmdir_(string path);
    [LibraryImport("libc", EntryPoint = "lsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lsetxattr_(string path, string name, byte* value, nuint size, int flags);
    [LibraryImport("libc", EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint lgetxattr_(string path, string name, byte* value, nuint size);
    [LibraryImport("libc", EntryPoint = "llistxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint llistxattr_(string path, byte* list, nuint size);
    [LibraryImport("libc", EntryPoint = "utimensat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int utimensat_(int dirfd, string path, Timespec* times, int flags);
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

    public static void Lchown(string path, int uid, int gid) => Check(lchown_(path, uid, gid), "lchown", path);
    public static void Fchown(int fd, int uid, int gid, string path) => Check(fchown_(fd, uid, gid), "fchown", path);
    public static void Fchmod(int fd, uint mode, string path) => Check(fchmod_(fd, mode), "fchmod", path);
    public static void Chmod(string path, uint mode) => Check(chmod_(path, mode), "chmod", path);
    public static void Mkdir(string path, uint mode) => Check(mkdir_(path, mode), "mkdir", path);

    /// <summary>mkdir that reports whether it created the directory (false on EEXIST).</summary>
    public static bool TryMkdir(string path, uint mode)
    {
        if (mkdir_(path, mode) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.EEXIST) return false;
        throw new NativeException("mkdir", e, path);
    }

    public static ulong MakeDev(uint major, uint minor)
        => ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
    public static uint Major(ulong dev) => (uint)(((dev >> 32) & 0xfffff000) | ((dev >> 8) & 0xfff));
    public static uint Minor(ulong dev) => (uint)(((dev >> 12) & 0xffffff00) | (dev & 0xff));

    public static void Mknod(string path, uint mode, uint major, uint minor) => Check(mknod_(path, mode, MakeDev(major, minor)), "mknod", path);
    public static void Symlink(string target, string path) => Check(symlink_(target, path), "symlink", path);
    public static void Link(string target, string path) => Check(link_(target, path), "link", path + " -> " + target);
    public static void Unlink(string path) => Check(unlink_(path), "unlink", path);
    public static void Rmdir(string path) => Check(rmdir_(path), "rmdir", path);

    public static void Lsetxattr(string path, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
            Check(lsetxattr_(path, name, p, (nuint)value.Length, 0), "lsetxattr " + name, path);
    }

    /// <summary>The value of an xattr, or null when the file has none of that name.</summary>
    public static byte[]? Lgetxattr(string path, string name)
    {
        byte* buf = stackalloc byte[256];
        nint n = lgetxattr_(path, name, buf, 256);
        if (n >= 0) return new ReadOnlySpan<byte>(buf, (int)n).ToArray();
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.ENODATA || e == Errno.EOPNOTSUPP) return null;
        if (e != ERANGE) throw new NativeException("lgetxattr " + name, e, path);
        nint size = lgetxattr_(path, name, null, 0);
        if (size < 0) throw NativeException.Last("lgetxattr " + name, path);
        var arr = new byte[size];
        fixed (byte* p = arr)
        {
            n = lgetxattr_(path, name, p, (nuint)size);
            if (n < 0) throw NativeException.Last("lgetxattr " + name, path);
        }
        return arr.AsSpan(0, (int)n).ToArray();
    }

    /// <summary>The names of a file's xattrs (not following a symlink).</summary>
    public static string[] Llistxattr(string path)
    {
        nint size = llistxattr_(path, null, 0);
        if (size < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EOPNOTSUPP) return [];
            throw new NativeException("llistxattr", e, path);
        }
        if (size == 0) return [];
        var arr = new byte[size];
        nint n;
        fixed (byte* p = arr) n = llistxattr_(path, p, (nuint)size);
        if (n < 0) throw NativeException.Last("llistxattr", path);
        return System.Text.Encoding.UTF8.GetString(arr, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries);
    }

    public static void Lutimes(string path, long sec, long nsec)
    {
        Timespec* t = stackalloc Timespec[2];
        t[0] = new Timespec { Sec = sec, Nsec = nsec };
        t[1] = t[0];
        Check(utimensat_(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), "utimensat", path);
    }

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
