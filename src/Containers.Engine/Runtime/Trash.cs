using System.Collections.Concurrent;
using Containers.Engine.State;

namespace Containers.Engine.Runtime;

/// <summary>
/// Deletes removed containers' directories after the removal has returned. A removal renames the directory out
/// of containers/ into tmp/rm-* (atomic: from then on the container does not exist) and queues it here; one
/// background thread deletes the files. On ext4 mounted with discard and no journal every freed block is
/// discarded synchronously, about 0.2 ms each, so deleting a container's dozen small files and directories in
/// line cost a run 2-3 ms of waiting on the disk. The process waits for the queue at exit (two seconds at
/// most); whatever a killed process left is deleted by the first removal of a later session in that root.
/// </summary>
internal static class Trash
{
    public const string Prefix = "rm";
    private static readonly BlockingCollection<string> Queue = new();
    private static readonly HashSet<string> Swept = new(StringComparer.Ordinal);
    private static int _pending;
    private static int _started;

    public static void Delete(string path)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            new Thread(Run) { IsBackground = true, Name = "containers-trash" }.Start();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Drain(TimeSpan.FromSeconds(2));
        }
        Interlocked.Increment(ref _pending);
        Queue.Add(path);
    }

    /// <summary>Queues tmp/rm-* directories of <paramref name="root"/> older than a minute (left by a session that ended before deleting them); once per root and process.</summary>
    public static void SweepOnce(StorageRoot root)
    {
        lock (Swept) { if (!Swept.Add(root.Path)) return; }
        string tmp = root.Sub("tmp");
        try
        {
            foreach (var d in Directory.EnumerateDirectories(tmp, Prefix + "-*"))
                if (Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddMinutes(-1)) Delete(d);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Waits until everything queued so far is deleted, or the timeout passes.</summary>
    public static bool Drain(TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref _pending) > 0)
        {
            if (DateTime.UtcNow > until) return false;
            Thread.Sleep(5);
        }
        return true;
    }

    private static void Run()
    {
        foreach (var path in Queue.GetConsumingEnumerable())
        {
            // best effort: what fails here stays in tmp/ and a later sweep tries again
            try { ContainerRuntime.DeleteTree(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            finally { Interlocked.Decrement(ref _pending); }
        }
    }
}
