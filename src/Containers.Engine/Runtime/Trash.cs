using System.Collections.Concurrent;
using Containers.Engine.State;

namespace Containers.Engine.Runtime;

/// <summary>
/// Deletes removed containers' directories after the removal has returned. A removal renames the directory out
/// of containers/ into tmp/rm-* (atomic: from then on the container does not exist) and queues it here; one
/// background thread deletes the files. On ext4 mounted with discard and no journal every freed block is
/// discarded synchronously, about 0.2 ms each, so deleting a container's dozen small files and directories in
/// line cost a run 2-3 ms of waiting on the disk. At exit the process does not wait for the queue (a script that
/// ran one container waited 10-50 ms here for its files): what is still queued or being deleted is handed to a
/// detached <c>rm</c> (see <see cref="HandOver"/>); whatever a killed process left is deleted by the first
/// removal of a later session in that root.
/// </summary>
internal static class Trash
{
    public const string Prefix = "rm";
    private static readonly BlockingCollection<string> Queue = new();
    private static readonly HashSet<string> Swept = new(StringComparer.Ordinal);
    /// <summary>Queued or being deleted (what an exit hands over).</summary>
    private static readonly ConcurrentDictionary<string, bool> Pending = new(StringComparer.Ordinal);
    private static int _pending;
    private static int _started;

    public static void Delete(string path)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            new Thread(Run) { IsBackground = true, Name = "containers-trash" }.Start();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => HandOver();
        }
        Pending[path] = true;
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

    /// <summary>
    /// At exit: the directories not yet deleted go to an <c>rm -rf --one-file-system</c> that outlives this process
    /// (its standard streams on /dev/null, so a caller reading this process's output does not wait for it either);
    /// the delete thread may be half way through one, which rm finishes. rm follows no link and stays on the file
    /// system it starts on, as the delete here does. Should it not start, the exit waits as it did (two seconds at
    /// most).
    /// </summary>
    private static void HandOver()
    {
        var left = Pending.Keys.ToArray();
        if (left.Length == 0) return;
        try
        {
            var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh")
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            // rootless: files of the container's ids are removed by rm as root of the user's namespace (RootlessHost)
            var rm = Rootless.RootlessHost.Active
                ? new[] { "-c", "exec \"$@\" </dev/null >/dev/null 2>&1", "sh", State.EngineFiles.HelperPath, "userns-exec", Rootless.RootlessHost.Mapping(), "--", "/bin/rm", "-rf", "--one-file-system", "--" }
                : new[] { "-c", "exec rm -rf --one-file-system -- \"$@\" </dev/null >/dev/null 2>&1", "rm" };
            foreach (var a in rm) psi.ArgumentList.Add(a);
            foreach (var d in left) psi.ArgumentList.Add(d);
            using var p = System.Diagnostics.Process.Start(psi);
            if (p is not null) return;
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException) { }
        Drain(TimeSpan.FromSeconds(2));
    }

    private static void Run()
    {
        foreach (var path in Queue.GetConsumingEnumerable())
        {
            // best effort: what fails here stays in tmp/ and a later sweep tries again
            try { ContainerRuntime.DeleteTree(path); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            finally { Pending.TryRemove(path, out _); Interlocked.Decrement(ref _pending); }
        }
    }
}
