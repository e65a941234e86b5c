using System.Runtime.InteropServices;
using System.Text;

namespace Containers.Native.Sys;

/// <summary>
/// The few calls cgroup file systems need where the errno matters (EBUSY on rmdir or subtree_control,
/// ENOSPC for an empty cpuset, EINVAL for a bad value): plain writes, rmdir, kill, statfs.
/// </summary>
internal static unsafe partial class Cgroupfs
{
    public const long CGROUP_SUPER_MAGIC = 0x27e0eb, CGROUP2_SUPER_MAGIC = 0x63677270, TMPFS_MAGIC = 0x01021994;
    public const int SIGKILL = 9, ERANGE = 34;

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint write_(int fd, byte* buf, nint count);

    [LibraryImport("libc", EntryPoint = "rmdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int rmdir_(string path);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill_(int pid, int sig);

    [LibraryImport("libc", EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int statfs_(string path, byte* buf);

    /// <summary>Writes <paramref name="value"/> in one write(2) (cgroup files take one value per write).</summary>
    public static void WriteFile(string path, string value, bool create)
    {
        int fd = FileSys.Open(path, FileSys.O_WRONLY | (create ? FileSys.O_CREAT | FileSys.O_TRUNC : 0));
        try
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            fixed (byte* p = bytes)
            {
                while (true)
                {
                    nint n = write_(fd, p, bytes.Length);
                    if (n >= 0) return;
                    int e = Marshal.GetLastPInvokeError();
                    if (e == Errno.EINTR) continue;
                    throw new NativeException("write", e, path);
                }
            }
        }
        finally { FileSys.Close(fd); }
    }

    /// <summary>rmdir(2); returns 0 or the errno.</summary>
    public static int Rmdir(string path) => rmdir_(path) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>kill(2); returns 0 or the errno.</summary>
    public static int Kill(int pid, int signal) => kill_(pid, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>The f_type and f_fsid of the file system holding <paramref name="path"/> (0, 0 when statfs fails).</summary>
    public static (long Type, long Fsid) FileSystemIdentity(string path)
    {
        byte* buf = stackalloc byte[128];
        if (statfs_(path, buf) != 0) return (0, 0);
        return (*(long*)buf, *(long*)(buf + 56));
    }

    /// <summary>The f_type of the file system holding <paramref name="path"/>, or 0 when statfs fails.</summary>
    public static long FileSystemType(string path)
    {
        byte* buf = stackalloc byte[128];
        if (statfs_(path, buf) != 0) return 0;
        return *(long*)buf;
    }
}
