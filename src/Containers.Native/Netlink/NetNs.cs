using System.Runtime.InteropServices;
using ProcessOps = Containers.Native.Proc.ProcessOps;
using Containers.Native.Sys;

namespace Containers.Native.Netlink;

/// <summary>
/// Creates and pins a container's network namespace from the engine's own process, with no helper process:
/// a short-lived thread unshares its network namespace (a per-thread operation that a multi-threaded process
/// may do), brings loopback up, bind-mounts /proc/thread-self/ns/net onto the pin file, and returns to the
/// host's namespace before it ends. Nothing else runs on that thread.
/// </summary>
internal static partial class NetNs
{
    private const ulong MS_BIND = 4096;

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int unshare_(int flags);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int setns_(int fd, int nstype);

    /// <summary>
    /// Pins a new network namespace at <paramref name="path"/>; nothing to do when one is pinned there already. Returns a
    /// netlink socket bound to the new namespace (loopback is up already), which spares the caller's configuration a
    /// second thread that joins it; null when it was pinned already.
    /// </summary>
    public static NetlinkSocket? Pin(string path)
    {
        Exception? error = null;
        NetlinkSocket? inside = null;
        var t = new Thread(() =>
        {
            int self = -1;
            try
            {
                self = FileSys.Open("/proc/thread-self/ns/net", FileSys.O_RDONLY);
                if (IsPinned(path)) return;
                if (unshare_(Nl.CLONE_NEWNET) != 0) throw NativeException.Last("unshare(CLONE_NEWNET)", path);
                try
                {
                    // a netlink socket stays bound to the namespace it was made in: kept for the caller
                    inside = NetlinkSocket.Open();
                    var rt = new RtNetlink(inside);
                    int lo = rt.LinkIndex("lo");
                    if (lo != 0) rt.SetLink(lo, up: true);
                    FileSys.Close(FileSys.Open(path, FileSys.O_RDONLY | FileSys.O_CREAT, 0x1a4));
                    ProcessOps.Mount("/proc/thread-self/ns/net", path, null, MS_BIND, null);
                }
                finally
                {
                    // Back to the host's namespace (the thread ends right after in any case).
                    setns_(self, Nl.CLONE_NEWNET);
                }
            }
            catch (Exception ex) { error = ex; }
            finally { if (self >= 0) FileSys.Close(self); }
        }, 256 * 1024) { IsBackground = true, Name = "netns-pin" };
        t.Start();
        t.Join();
        if (error is not null) { inside?.Dispose(); throw error; }
        return inside;
    }

    /// <summary>True when <paramref name="path"/> is a network namespace (a pinned one: nsfs bind mount).</summary>
    private static bool IsPinned(string path)
    {
        int fd;
        try { fd = FileSys.Open(path, FileSys.O_RDONLY); }
        catch (NativeException) { return false; }
        try
        {
            // setns into it and straight back: succeeds only for a network namespace file. The caller's thread
            // is the dedicated one, and it returns to where it was before anything else runs there.
            int self = FileSys.Open("/proc/thread-self/ns/net", FileSys.O_RDONLY);
            try
            {
                if (setns_(fd, Nl.CLONE_NEWNET) != 0) return false;
                setns_(self, Nl.CLONE_NEWNET);
                return true;
            }
            finally { FileSys.Close(self); }
        }
        finally { FileSys.Close(fd); }
    }
}
