using System.Runtime.InteropServices;
using System.Text;

namespace Containers.Native.Sys;

/// <summary>
/// The bpf(2) calls a cgroup v2 device filter needs: load a BPF_PROG_TYPE_CGROUP_DEVICE program and attach
/// it to a cgroup directory (as runc and crun do). x86_64 only (syscall 321).
/// </summary>
internal static unsafe partial class Bpf
{
    private const long SYS_bpf = 321;
    public const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_DETACH = 9;
    public const uint BPF_PROG_TYPE_CGROUP_DEVICE = 15;
    public const uint BPF_CGROUP_DEVICE = 6;
    public const uint BPF_F_ALLOW_OVERRIDE = 1, BPF_F_ALLOW_MULTI = 2;

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall3(long number, long cmd, void* attr, long size);

    private static long Call(int cmd, byte* attr, int size, out int errno)
    {
        while (true)
        {
            long r = syscall3(SYS_bpf, cmd, attr, size);
            errno = r < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (r >= 0 || errno != Errno.EINTR) return r;
        }
    }

    /// <summary>
    /// Loads a cgroup device program; returns its fd. On failure retries once with the verifier log and
    /// throws a <see cref="NativeException"/> whose message carries the log.
    /// </summary>
    public static int LoadCgroupDeviceProgram(ReadOnlySpan<ulong> instructions, string license)
    {
        byte[] lic = Encoding.ASCII.GetBytes(license + "\0");
        fixed (ulong* insns = instructions)
        fixed (byte* licp = lic)
        {
            byte* attr = stackalloc byte[120];
            new Span<byte>(attr, 120).Clear();
            *(uint*)(attr + 0) = BPF_PROG_TYPE_CGROUP_DEVICE;
            *(uint*)(attr + 4) = (uint)instructions.Length;
            *(ulong*)(attr + 8) = (ulong)insns;
            *(ulong*)(attr + 16) = (ulong)licp;
            long fd = Call(BPF_PROG_LOAD, attr, 120, out int errno);
            if (fd >= 0) return (int)fd;

            // again with the verifier's log, so the error says why
            const int logSize = 1 << 16;
            byte[] log = new byte[logSize];
            fixed (byte* logp = log)
            {
                *(uint*)(attr + 24) = 1;
                *(uint*)(attr + 28) = logSize;
                *(ulong*)(attr + 32) = (ulong)logp;
                fd = Call(BPF_PROG_LOAD, attr, 120, out int errno2);
                if (fd >= 0) return (int)fd;
                int len = Array.IndexOf(log, (byte)0);
                string text = Encoding.ASCII.GetString(log, 0, len < 0 ? logSize : len).Trim();
                throw new NativeException("bpf(BPF_PROG_LOAD)", errno2 != 0 ? errno2 : errno,
                    text.Length == 0 ? null : "verifier log: " + text);
            }
        }
    }

    /// <summary>Attaches a loaded program to the cgroup whose directory fd is given.</summary>
    public static void AttachCgroupDevice(int cgroupFd, int programFd, uint flags)
    {
        byte* attr = stackalloc byte[24];
        new Span<byte>(attr, 24).Clear();
        *(uint*)(attr + 0) = (uint)cgroupFd;
        *(uint*)(attr + 4) = (uint)programFd;
        *(uint*)(attr + 8) = BPF_CGROUP_DEVICE;
        *(uint*)(attr + 12) = flags;
        if (Call(BPF_PROG_ATTACH, attr, 24, out int errno) < 0) throw new NativeException("bpf(BPF_PROG_ATTACH)", errno);
    }
}
