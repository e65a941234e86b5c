using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

internal static partial class Ids
{
    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();

    public static uint EffectiveUserId => geteuid();
}
