using System.Globalization;
using System.Runtime.InteropServices;
using Containers.Native.Sys;

namespace Containers.Native.Proc;

/// <summary>Process and mount calls for the engine (managed callers; strings marshalled, errno checked).</summary>
internal static partial class ProcessOps
{
    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int umount2_(string target, int flags);

    [LibraryImport("libc", EntryPoint = "mount", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mount_(string? source, string target, string? fstype, ulong flags, string? data);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall_(long n, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close_(int fd);

    [LibraryImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static unsafe partial int prlimit_(int pid, int resource, ulong* newLimit, ulong* oldLimit);

    /// <summary>This process's soft and hard limit of an rlimit resource; -1 = unlimited.</summary>
    public static unsafe (long Soft, long Hard) GetRlimit(int resource)
    {
        ulong* r = stackalloc ulong[2];
        if (prlimit_(0, resource, null, r) != 0) throw new NativeException("prlimit", Marshal.GetLastPInvokeError());
        static long V(ulong x) => x == ulong.MaxValue ? -1 : (long)Math.Min(x, long.MaxValue);
        return (V(r[0]), V(r[1]));
    }

    /// <summary>Whether this process holds a capability in its effective set (CapEff of /proc/self/status).</summary>
    public static bool HasEffectiveCapability(int cap)
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
            if (l.StartsWith("CapEff:", StringComparison.Ordinal))
                return (ulong.Parse(l.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << cap)) != 0;
        return false;
    }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat (start time in clock ticks), 0 when the process is gone.</summary>
    public static long StartTime(int pid)
    {
        try
        {
            string s = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(f[19], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    /// <summary>True when <paramref name="pid"/> is alive and is the same process (same start time) and not a zombie.</summary>
    public static bool IsAlive(int pid, long startTime)
    {
        if (pid <= 0) return false;
        try
        {
            string s = File.ReadAllText($"/proc/{pid}/stat");
            string[] f = s[(s.LastIndexOf(')') + 2)..].Split(' ');
            if (f[0] == "Z" || f[0] == "X") return false;
            return startTime == 0 || long.Parse(f[19], CultureInfo.InvariantCulture) == startTime;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Signals a process through a pidfd after checking it is the recorded one (no pid-reuse accident). False when gone.</summary>
    public static bool Signal(int pid, long startTime, int signal)
    {
        int fd = (int)syscall_(Sys.SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
        if (fd < 0) return false;
        try
        {
            if (!IsAlive(pid, startTime)) return false;
            if (syscall_(Sys.SYS_pidfd_send_signal, fd, signal, 0, 0, 0, 0) != 0)
            {
                int e = Marshal.GetLastPInvokeError();
                if (e == Errno.ESRCH) return false;
                throw new NativeException("pidfd_send_signal", e);
            }
            return true;
        }
        finally { close_(fd); }
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int poll_(long* fds, ulong nfds, int timeout);

    /// <summary>
    /// Waits until a child process has exited (it is a zombie or gone), through a pidfd: woken the moment the
    /// kernel marks the exit, without waiting for the runtime's SIGCHLD handling to reap it. Polls
    /// <paramref name="ct"/> every 100 ms.
    /// </summary>
    public static unsafe void WaitExited(int pid, CancellationToken ct) => WaitExited(pid, ct, 100, null);

    /// <summary>
    /// Waits for <paramref name="pid"/> to exit on a pidfd, calling <paramref name="tick"/> every
    /// <paramref name="tickMs"/> ms while it runs (an attached run follows its log from there).
    /// </summary>
    public static unsafe void WaitExited(int pid, CancellationToken ct, int tickMs, Action? tick)
    {
        int fd = (int)syscall_(Sys.SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
        if (fd < 0) return; // already reaped
        try
        {
            // struct pollfd { int fd; short events; short revents; } as one 64-bit word; POLLIN = 1
            long pfd = (uint)fd | (1L << 32);
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                int r = poll_(&pfd, 1, tickMs);
                if (r > 0) return;
                if (r == 0) tick?.Invoke();
                if (r < 0 && Marshal.GetLastPInvokeError() != Errno.EINTR) throw new NativeException("poll", Marshal.GetLastPInvokeError());
            }
        }
        finally { close_(fd); }
    }

    /// <summary>Detaching unmount; false when it was not mounted.</summary>
    public static bool Unmount(string path)
    {
        if (umount2_(path, Sys.MNT_DETACH) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e is Errno.EINVAL or Errno.ENOENT) return false;
        throw new NativeException("umount2", e, path);
    }

    public static void Mount(string? source, string target, string? fstype, ulong flags, string? data)
    {
        if (mount_(source, target, fstype, flags, data) != 0) throw NativeException.Last("mount", target);
    }
}
