using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>kill(2) for the networking helpers the engine started (by PID only).</summary>
internal static partial class Proc
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill_(int pid, int sig);

    public static bool Kill(int pid, int sig) => pid > 0 && kill_(pid, sig) == 0;
}
