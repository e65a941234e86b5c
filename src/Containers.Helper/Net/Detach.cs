using System.Runtime.InteropServices;

namespace Containers.Helper.Net;

/// <summary>How the long-running network modes leave their starter: own session, stdio on /dev/null after "ready".</summary>
internal static partial class Detach
{
    [LibraryImport("libc", EntryPoint = "setsid")]
    private static partial int setsid();

    [LibraryImport("libc", EntryPoint = "dup2")]
    private static partial int dup2(int from, int to);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    public static void NewSession() => setsid();

    /// <summary>Prints "ready" and points stdin/stdout/stderr at /dev/null so the starter's pipes close.</summary>
    public static void Ready()
    {
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        int fd = open("/dev/null", 2);
        if (fd >= 0) { dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); }
    }
}
