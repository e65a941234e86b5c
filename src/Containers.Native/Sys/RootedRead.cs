using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Containers.Native.Proc;

namespace Containers.Native.Sys;

/// <summary>
/// Reads a small file of a tree an image or a container controls (a layer, a writable layer) without
/// leaving that tree: opened with openat2 RESOLVE_IN_ROOT from the tree's directory, so absolute links and
/// ".." stay inside it, and only when it is a regular file (a FIFO or device planted as /etc/passwd must
/// not block or read a device of the host).
/// </summary>
internal static unsafe class RootedRead
{
    [StructLayout(LayoutKind.Sequential)]
    private struct Stat
    {
        public ulong Dev, Ino, Nlink;
        public uint Mode, Uid, Gid, Pad0;
        public ulong Rdev;
        public long Size, Blksize, Blocks;
        public long Atime, AtimeNsec, Mtime, MtimeNsec, Ctime, CtimeNsec;
        public long R0, R1, R2;
    }

    [DllImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static extern int fstat(int fd, Stat* st);

    /// <summary>The file's text (UTF-8), or null when the tree has no regular file there or it is larger than <paramref name="maxBytes"/>.</summary>
    public static string? TryReadAllText(string treeRoot, string relativePath, int maxBytes)
    {
        int root = AtSys.OpenInRootPath(treeRoot);
        if (root < 0) return null;
        int fd;
        fixed (byte* rel = System.Text.Encoding.UTF8.GetBytes(relativePath + "\0"))
            fd = AtSys.OpenInRoot(root, rel, AtSys.O_RDONLY | 0x800 /* O_NONBLOCK */);
        FileSys.Close(root);
        if (fd < 0) return null;
        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        Stat st;
        if (fstat(fd, &st) != 0 || (st.Mode & 0xF000) != 0x8000 || st.Size > maxBytes) return null;
        var buf = new byte[(int)st.Size];
        int got = 0;
        while (got < buf.Length)
        {
            int n = RandomAccess.Read(handle, buf.AsSpan(got), got);
            if (n <= 0) break;
            got += n;
        }
        return System.Text.Encoding.UTF8.GetString(buf, 0, got);
    }
}
