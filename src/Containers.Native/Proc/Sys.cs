using System.Runtime.InteropServices;

namespace Containers.Native.Proc;

/// <summary>
/// Raw process, namespace and mount calls for the runtime. Every function is a blittable DllImport marked
/// SuppressGCTransition so the helper may call it between clone() and execve() (no allocation, no
/// locks, no GC transition); errno is read with <see cref="Errno"/> right after the call.
/// </summary>
internal static unsafe class Sys
{
    private const string Libc = "libc";

    public const long SYS_clone = 56, SYS_pivot_root = 155, SYS_capget = 125, SYS_capset = 126,
        SYS_pidfd_send_signal = 424, SYS_pidfd_open = 434, SYS_close_range = 436;

    public const ulong CLONE_NEWNS = 0x00020000, CLONE_NEWCGROUP = 0x02000000, CLONE_NEWUTS = 0x04000000,
        CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000, CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000,
        CLONE_PARENT = 0x00008000;
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGPIPE = 13, SIGTERM = 15,
        SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGWINCH = 28;

    public const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_BIND = 4096,
        MS_REC = 16384, MS_PRIVATE = 1 << 18, MS_SLAVE = 1 << 19, MS_STRICTATIME = 1 << 24, MS_RELATIME = 1 << 21;
    public const int MNT_DETACH = 2;
    public const uint CLOSE_RANGE_CLOEXEC = 4;
    public const int PR_SET_PDEATHSIG = 1, PR_SET_KEEPCAPS = 8, PR_CAPBSET_DROP = 24, PR_SET_NO_NEW_PRIVS = 38,
        PR_SET_CHILD_SUBREAPER = 36, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_CLEAR_ALL = 4;
    public const int WNOHANG = 1, __WALL = 0x40000000;
    public const short POLLIN = 1, POLLHUP = 0x10, POLLERR = 8;

    [DllImport(Libc, EntryPoint = "syscall"), SuppressGCTransition]
    public static extern long syscall(long n, long a1, long a2, long a3, long a4, long a5, long a6);

    [DllImport(Libc), SuppressGCTransition] public static extern int* __errno_location();
    public static int Errno => *__errno_location();

    [DllImport(Libc), SuppressGCTransition] public static extern int mount(byte* src, byte* target, byte* fstype, ulong flags, byte* data);
    [DllImport(Libc), SuppressGCTransition] public static extern int umount2(byte* target, int flags);
    [DllImport(Libc), SuppressGCTransition] public static extern int madvise(void* addr, nuint length, int advice);
    [DllImport(Libc), SuppressGCTransition] public static extern int mkdir(byte* path, uint mode);
    [DllImport(Libc), SuppressGCTransition] public static extern int mknod(byte* path, uint mode, ulong dev);
    [DllImport(Libc), SuppressGCTransition] public static extern int symlink(byte* target, byte* linkpath);
    [DllImport(Libc), SuppressGCTransition] public static extern int chdir(byte* path);
    [DllImport(Libc), SuppressGCTransition] public static extern int fchdir(int fd);
    [DllImport(Libc), SuppressGCTransition] public static extern int chmod(byte* path, uint mode);
    [DllImport(Libc), SuppressGCTransition] public static extern int open(byte* path, int flags, int mode);
    [DllImport(Libc), SuppressGCTransition] public static extern int close(int fd);
    [DllImport(Libc), SuppressGCTransition] public static extern int fchown(int fd, uint uid, uint gid);
    [DllImport(Libc), SuppressGCTransition] public static extern nint write(int fd, byte* buf, nint count);
    [DllImport(Libc), SuppressGCTransition] public static extern nint read(int fd, byte* buf, nint count);
    [DllImport(Libc), SuppressGCTransition] public static extern int dup2(int oldfd, int newfd);
    [DllImport(Libc), SuppressGCTransition] public static extern int ftruncate(int fd, long length);
    [DllImport(Libc), SuppressGCTransition] public static extern int pipe2(int* fds, int flags);
    [DllImport(Libc), SuppressGCTransition] public static extern int setns(int fd, int nstype);
    [DllImport(Libc), SuppressGCTransition] public static extern int unshare(int flags);
    [DllImport(Libc), SuppressGCTransition] public static extern int sethostname(byte* name, nint len);
    [DllImport(Libc), SuppressGCTransition] public static extern int setdomainname(byte* name, nint len);
    // Raw syscalls, not glibc's wrappers: those run the "setxid" broadcast to every thread glibc believes
    // exists, which after a raw clone() waits on a futex for the parent's threads for ever.
    public static int setgroups(nint size, uint* list) => (int)syscall(116, size, (long)list, 0, 0, 0, 0);
    public static int setresuid(uint r, uint e, uint s) => (int)syscall(117, r, e, s, 0, 0, 0);
    public static int setresgid(uint r, uint e, uint s) => (int)syscall(119, r, e, s, 0, 0, 0);
    [DllImport(Libc), SuppressGCTransition] public static extern int prctl(int option, ulong a2, ulong a3, ulong a4, ulong a5);
    [DllImport(Libc), SuppressGCTransition] public static extern int execve(byte* path, byte** argv, byte** envp);
    [DllImport(Libc), SuppressGCTransition] public static extern void _exit(int code);
    [DllImport(Libc), SuppressGCTransition] public static extern int setsid();
    [DllImport(Libc), SuppressGCTransition] public static extern int getpid();
    [DllImport(Libc), SuppressGCTransition] public static extern int kill(int pid, int sig);
    [DllImport(Libc), SuppressGCTransition] public static extern int wait4(int pid, int* status, int options, void* rusage);
    [DllImport(Libc), SuppressGCTransition] public static extern int ioctl(int fd, ulong request, void* arg);
    [DllImport(Libc), SuppressGCTransition] public static extern int sigprocmask(int how, ulong* set, ulong* old);
    [DllImport(Libc), SuppressGCTransition] public static extern int signalfd(int fd, ulong* mask, int flags);
    [DllImport(Libc), SuppressGCTransition] public static extern int socket(int domain, int type, int protocol);
    [DllImport(Libc), SuppressGCTransition] public static extern int umask(int mask);
    [DllImport(Libc), SuppressGCTransition] public static extern int prlimit(int pid, int resource, ulong* newLimit, ulong* oldLimit);
    [DllImport(Libc), SuppressGCTransition] public static extern int tcgetattr(int fd, byte* termios);
    [DllImport(Libc), SuppressGCTransition] public static extern int tcsetattr(int fd, int act, byte* termios);
    [DllImport(Libc), SuppressGCTransition] public static extern void cfmakeraw(byte* termios);
    [DllImport(Libc), SuppressGCTransition] public static extern int posix_openpt(int flags);
    [DllImport(Libc), SuppressGCTransition] public static extern int grantpt(int fd);
    [DllImport(Libc), SuppressGCTransition] public static extern int unlockpt(int fd);
    [DllImport(Libc), SuppressGCTransition] public static extern int ptsname_r(int fd, byte* buf, nint len);
    [DllImport(Libc), SuppressGCTransition] public static extern int isatty(int fd);
    [DllImport(Libc), SuppressGCTransition] public static extern nint signal(int sig, nint handler);
    [DllImport(Libc), SuppressGCTransition] public static extern int fsync(int fd);
    [DllImport(Libc), SuppressGCTransition] public static extern int rename(byte* from, byte* to);
    [DllImport(Libc), SuppressGCTransition] public static extern int unlink(byte* path);
    [DllImport(Libc), SuppressGCTransition] public static extern int access(byte* path, int mode);
    [DllImport(Libc), SuppressGCTransition] public static extern int fcntl(int fd, int cmd, int arg);

    /// <summary>poll(2) may block for long: no SuppressGCTransition here.</summary>
    [DllImport(Libc, EntryPoint = "poll")] public static extern int poll(PollFd* fds, ulong n, int timeoutMs);
    [DllImport(Libc, EntryPoint = "wait4")] public static extern int wait4Blocking(int pid, int* status, int options, void* rusage);
    [DllImport(Libc, EntryPoint = "read")] public static extern nint readBlocking(int fd, byte* buf, nint count);
    [DllImport(Libc, EntryPoint = "nanosleep")] public static extern int nanosleep(long* req, long* rem);

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd { public int Fd; public short Events; public short Revents; }

    /// <summary>Raw clone (returns twice like fork); flags include the exit signal (SIGCHLD).</summary>
    public static int Clone(ulong flags) => (int)syscall(SYS_clone, (long)flags, 0, 0, 0, 0, 0);

    public static int PivotRoot(byte* newRoot, byte* putOld) => (int)syscall(SYS_pivot_root, (long)newRoot, (long)putOld, 0, 0, 0, 0);

    public static int CloseRangeCloexec(uint first) => (int)syscall(SYS_close_range, first, uint.MaxValue, CLOSE_RANGE_CLOEXEC, 0, 0, 0);

    public static int PidfdOpen(int pid) => (int)syscall(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);

    public static int PidfdSendSignal(int pidfd, int sig) => (int)syscall(SYS_pidfd_send_signal, pidfd, sig, 0, 0, 0, 0);

    /// <summary>capset with _LINUX_CAPABILITY_VERSION_3: the same 64-bit set for effective, permitted and inheritable.</summary>
    public static int CapSet(ulong effective, ulong permitted, ulong inheritable)
    {
        uint* hdr = stackalloc uint[2];
        hdr[0] = 0x20080522; hdr[1] = 0;
        uint* data = stackalloc uint[6];
        data[0] = (uint)effective; data[1] = (uint)permitted; data[2] = (uint)inheritable;
        data[3] = (uint)(effective >> 32); data[4] = (uint)(permitted >> 32); data[5] = (uint)(inheritable >> 32);
        return (int)syscall(SYS_capset, (long)hdr, (long)data, 0, 0, 0, 0);
    }

    public static bool WIfExited(int s) => (s & 0x7f) == 0;
    public static int WExitStatus(int s) => (s >> 8) & 0xff;
    public static int WTermSig(int s) => s & 0x7f;
    /// <summary>Shell convention: exit code, or 128 + signal.</summary>
    public static int ExitCodeOf(int status) => WIfExited(status) ? WExitStatus(status) : 128 + WTermSig(status);
}
