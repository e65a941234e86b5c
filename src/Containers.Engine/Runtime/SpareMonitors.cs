using System.Diagnostics;
using Containers.Engine.State;

namespace Containers.Engine.Runtime;

/// <summary>
/// One monitor started ahead of need. Starting the NativeAOT helper (exec, runtime start-up, closing
/// inherited descriptors) takes a few milliseconds that would otherwise sit between a start's spec and its
/// clone. A spare does all that after the previous start has answered, then blocks reading its state
/// directory from stdin; the next start writes the directory and the spare goes on as that container's
/// monitor. One spare per pwsh process at most, made only once a container has been started in it; it ends
/// by itself when its stdin closes (the session ended, or was killed), so it never outlives its session idle.
/// </summary>
internal static class SpareMonitors
{
    private static Process? _spare;
    private static string? _spareHelper;
    private static int _replenishing;

    /// <summary>The start of a monitor for <paramref name="dir"/> (no spare).</summary>
    public static ProcessStartInfo StartInfo(string? dir)
    {
        var psi = new ProcessStartInfo(EngineFiles.HelperPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = dir is null,
        };
        psi.ArgumentList.Add("monitor");
        if (dir is not null) psi.ArgumentList.Add(dir);
        else
        {
            psi.ArgumentList.Add("--spare");
            // room for the monitor to rewrite its arguments as "monitor <statedir>" once it has its container
            psi.ArgumentList.Add(new string('.', 320));
        }
        return psi;
    }

    /// <summary>
    /// Hands <paramref name="dir"/> to the spare, if there is a live one for the current helper, after making the
    /// starting marker. The spare rewrites its command line to name the directory before it reads anything in it,
    /// so removal's search for the directory's helpers finds it as it finds a monitor started for the directory.
    /// Null when there is none (the caller starts a monitor itself).
    /// </summary>
    public static Process? Hand(string dir, string startingMarker)
    {
        var p = Interlocked.Exchange(ref _spare, null);
        if (p is null) return null;
        try
        {
            if (_spareHelper != EngineFiles.HelperPath || p.HasExited) { Discard(p); return null; }
            File.WriteAllBytes(startingMarker, []);
            p.StandardInput.Write(dir + "\n");
            p.StandardInput.Flush();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            Discard(p);
            return null;
        }
        // the line is in the pipe (one write, shorter than PIPE_BUF): the spare has it now, so from here on it is
        // this container's monitor whatever closing our end says
        try { p.StandardInput.Close(); } catch (IOException) { }
        return p;
    }

    /// <summary>Starts the next spare in the background (at most one start under way).</summary>
    public static void Replenish()
    {
        // rootless: a spare makes its network namespace before it knows its container, which needs root; a rootless
        // monitor makes it in the container's own user namespace (Helper/Rootless.cs)
        if (Rootless.RootlessHost.Active) return;
        if (Volatile.Read(ref _spare) is not null || Interlocked.Exchange(ref _replenishing, 1) == 1) return;
        ThreadPool.UnsafeQueueUserWorkItem(static _ =>
        {
            try
            {
                string helper = EngineFiles.HelperPath;
                var p = Process.Start(StartInfo(null));
                if (p is null) return;
                _spareHelper = helper;
                var old = Interlocked.Exchange(ref _spare, p);
                if (old is not null) Discard(old);
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException) { }
            finally { Volatile.Write(ref _replenishing, 0); }
        }, null);
    }

    /// <summary>Closing a spare's stdin ends it (it has no container yet).</summary>
    private static void Discard(Process p)
    {
        try { p.StandardInput.Close(); } catch (IOException) { }
        p.Dispose();
    }
}
