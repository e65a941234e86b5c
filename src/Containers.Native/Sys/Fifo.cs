using System.Runtime.InteropServices;

namespace Containers.Native.Sys;

/// <summary>Named pipes (a container's stdin for an attached run -i).</summary>
public static partial class Fifo
{
    /// <summary>Makes a FIFO (mode 0600), replacing whatever the path held.</summary>
    public static void Create(string path)
    {
        File.Delete(path);
        if (mkfifo(path, 0x180) != 0)
        {
            int e = Marshal.GetLastPInvokeError();
            throw new IOException($"mkfifo {path}: {Marshal.GetPInvokeErrorMessage(e)} (errno {e})");
        }
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkfifo(string path, uint mode);
}
