using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>File-system calls the store needs for durability and locking.</summary>
internal static partial class FileSys
{
    public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
    public const int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0x40, O_EXCL = 0x80, O_TRUNC = 0x200,
        O_APPEND = 0x400, O_NONBLOCK = 0x800, O_DIRECTORY = 0x10000, O_NOFOLLOW = 0x20000, O_CLOEXEC = 0x80000, O_PATH = 0x200000;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int open_(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close_(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int flock_(int fd, int op);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int fsync_(int fd);

    [LibraryImport("libc", EntryPoint = "syncfs", SetLastError = true)]
    private static partial int syncfs_(int fd);

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int rename_(string from, string to);

    [LibraryImport("libc", EntryPoint = "renameat2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int renameat2_(int olddirfd, string from, int newdirfd, string to, uint flags);

    /// <summary>Opens a file and returns the fd (O_CLOEXEC added).</summary>
    public static int Open(string path, int flags, int mode = 0x1a4 /* 0644 */)
    {
        while (true)
        {
            int fd = open_(path, flags | O_CLOEXEC, mode);
            if (fd >= 0) return fd;
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR) continue;
            throw new NativeException("open", e, path);
        }
    }

    /// <summary><see cref="Open"/>, the fd owned by a SafeFileHandle.</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenHandle(string path, int flags, int mode = 0x1a4 /* 0644 */)
        => new(Open(path, flags, mode), ownsHandle: true);

    public static void Close(int fd) => close_(fd);

    /// <summary>flock(2); returns false when LOCK_NB was given and the lock is held elsewhere.</summary>
    public static bool Flock(int fd, int op)
    {
        while (true)
        {
            if (flock_(fd, op) == 0) return true;
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR) continue;
            if (e == Errno.EAGAIN && (op & LOCK_NB) != 0) return false;
            throw new NativeException("flock", e);
        }
    }

    public static void Fsync(int fd)
    {
        while (fsync_(fd) != 0)
        {
            int e = Marshal.GetLastPInvokeError();
            if (e != Errno.EINTR) throw new NativeException("fsync", e);
        }
    }

    /// <summary>fsync of a directory, so a rename inside it is durable.</summary>
    public static void FsyncDirectory(string dir)
    {
        int fd = Open(dir, O_RDONLY | O_DIRECTORY);
        try { Fsync(fd); } finally { close_(fd); }
    }

    /// <summary>syncfs(2) on the file system holding <paramref name="path"/>: one flush instead of one fsync per file.</summary>
    public static void SyncFileSystem(string path)
    {
        int fd = Open(path, O_RDONLY | O_DIRECTORY);
        try
        {
            if (syncfs_(fd) != 0) throw NativeException.Last("syncfs", path);
        }
        finally { close_(fd); }
    }

    public static void Rename(string from, string to)
    {
        if (rename_(from, to) != 0) throw NativeException.Last("rename", from + " -> " + to);
    }

    /// <summary>
    /// Swaps two existing names atomically (renameat2 RENAME_EXCHANGE); false when the kernel or file system cannot, or
    /// <paramref name="to"/> does not exist. Unlike a rename over an existing file, it does not make ext4 start the
    /// new file's write-back first (auto_da_alloc, 0.5-4 ms here), so it is for files a crash of the machine makes
    /// moot anyway: after one the new file may read empty.
    /// </summary>
    public static bool Exchange(string from, string to) => renameat2_(-100 /* AT_FDCWD */, from, -100, to, 2 /* RENAME_EXCHANGE */) == 0;
}
