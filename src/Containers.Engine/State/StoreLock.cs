using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.State;

/// <summary>
/// An flock(2) on a file under &lt;root&gt;/locks: shared between pwsh processes (and threads: each
/// instance opens its own descriptor). Dispose releases it; the kernel releases it if the process dies.
/// </summary>
public sealed class StoreLock : IDisposable
{
    private int _fd;

    private StoreLock(int fd) => _fd = fd;

    /// <summary>Takes the named lock, waiting up to <paramref name="timeout"/> (default 60 s).</summary>
    public static StoreLock Acquire(StorageRoot root, string name, bool exclusive = true, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        string path = root.Sub("locks", name + ".lock");
        int fd = FileSys.Open(path, FileSys.O_RDWR | FileSys.O_CREAT, 0x180 /* 0600 */);
        int op = (exclusive ? FileSys.LOCK_EX : FileSys.LOCK_SH) | FileSys.LOCK_NB;
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        int delay = 1;
        while (!FileSys.Flock(fd, op))
        {
            if (ct.IsCancellationRequested)
            {
                FileSys.Close(fd);
                throw new ContainersException(ErrorKind.Cancelled, "OperationCancelled", "The operation was cancelled while waiting for a store lock.", name);
            }
            if (DateTime.UtcNow > deadline)
            {
                FileSys.Close(fd);
                throw new ContainersException(ErrorKind.Timeout, "StoreLockTimeout", $"Timed out waiting for the store lock '{name}' held by another process.", name);
            }
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
        }
        return new StoreLock(fd);
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            FileSys.Flock(fd, FileSys.LOCK_UN);
            FileSys.Close(fd);
        }
    }
}
