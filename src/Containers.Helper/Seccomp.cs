using System.Runtime.InteropServices;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// The container's seccomp filter: the engine compiles it (Containers.Engine.Security.Seccomp) and puts the
/// struct sock_filter[] in the spec as base64 under "seccomp"; here it becomes a struct sock_fprog before
/// clone, so the child only makes the one system call.
/// </summary>
internal static unsafe class SeccompFilter
{
    private const int PR_SET_SECCOMP = 22, SECCOMP_MODE_FILTER = 2;

    /// <summary>A struct sock_fprog { u16 len; sock_filter *filter; } in native memory, or null without a filter.</summary>
    public static byte* Prepare(string? base64)
    {
        if (string.IsNullOrEmpty(base64)) return null;
        byte[] prog = Convert.FromBase64String(base64);
        if (prog.Length == 0 || prog.Length % 8 != 0 || prog.Length / 8 > 4096) throw new InvalidOperationException("the spec's seccomp program is malformed");
        byte* filter = (byte*)NativeMemory.Alloc((nuint)prog.Length);
        prog.CopyTo(new Span<byte>(filter, prog.Length));
        byte* fprog = (byte*)NativeMemory.AllocZeroed(16);
        *(ushort*)fprog = (ushort)(prog.Length / 8);
        *(byte**)(fprog + 8) = filter;
        return fprog;
    }

    /// <summary>
    /// Installs the filter on the calling thread (it is inherited by execve and children). Without no_new_privs this
    /// needs CAP_SYS_ADMIN, so the child calls it before dropping capabilities; with no_new_privs, last before execve.
    /// Returns 0 or -1 with errno set.
    /// </summary>
    public static int Load(byte* fprog) => fprog == null ? 0 : prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (ulong)fprog, 0, 0);
}
