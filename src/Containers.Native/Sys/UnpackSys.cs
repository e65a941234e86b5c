using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>The calls a tar layer unpack needs that .NET lacks: lchown, mknod, link, lsetxattr, lutimes.</summary>
internal static partial class UnpackSys
{
    public const uint S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000;

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown_(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "mknod", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mknod_(string path, uint mode, ulong dev);

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int link_(string from, string to);

    [LibraryImport("libc", EntryPoint = "lsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lsetxattr_(string path, string name, byte[] value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "lutimes", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lutimes_(string path, long[] times);

    public static void Lchown(string path, int uid, int gid)
    {
        while (lchown_(path, uid, gid) != 0)
        {
            int e = Marshal.GetLastPInvokeError();
            if (e != Errno.EINTR) throw new NativeException("lchown", e, path);
        }
    }

    /// <summary>mknod with makedev(major, minor) (glibc encoding).</summary>
    public static void Mknod(string path, uint mode, uint major, uint minor)
    {
        ulong dev = ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
        if (mknod_(path, mode, dev) != 0) throw NativeException.Last("mknod", path);
    }

    public static void Link(string existing, string newPath)
    {
        if (link_(existing, newPath) != 0) throw NativeException.Last("link", existing + " -> " + newPath);
    }

    public static void Lsetxattr(string path, string name, byte[] value)
    {
        if (lsetxattr_(path, name, value, (nuint)value.Length, 0) != 0) throw NativeException.Last("lsetxattr", path);
    }

    /// <summary>Sets access and modification time without following a symlink (seconds + microseconds).</summary>
    public static void Lutimes(string path, DateTimeOffset mtime)
    {
        long sec = mtime.ToUnixTimeSeconds();
        long usec = (mtime.UtcTicks % TimeSpan.TicksPerSecond) / 10;
        if (usec < 0) usec = 0;
        if (lutimes_(path, [sec, usec, sec, usec]) != 0) throw NativeException.Last("lutimes", path);
    }
}
