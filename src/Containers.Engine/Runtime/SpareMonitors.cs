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
    /// <summary>Whether the live spare prepared a user namespace with its network namespace (it may have a plain one too).</summary>
    private static bool _spareUserNs;
    /// <summary>The mode of the session's previous start: 0 none yet, 1 the host's user namespace, 2 one of its own.</summary>
    private static int _lastStart;

    /// <summary>The start of a monitor for <paramref name="dir"/> (no spare).</summary>
    public static ProcessStartInfo StartInfo(string? dir) => StartInfo(dir, "--spare");

    private static ProcessStartInfo StartInfo(string? dir, string spareKind)
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
            psi.ArgumentList.Add(spareKind);
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

    /// <summary>
    /// Has the spare pin its prepared user namespace and the network namespace it owns (made before it was needed) at
    /// <paramref name="dir"/>/userns and netns, with the range's maps: what `containers-helper userns-netns` does, without
    /// a process start or a network namespace made on the start's path. False when there is no live spare that
    /// prepared such a pair (the caller runs the helper); an error the spare reports is thrown by the caller's way.
    /// </summary>
    public static bool Pin(string dir, UserNamespaces.IdRange r, out string? error)
    {
        error = null;
        var p = Interlocked.Exchange(ref _spare, null);
        if (p is null) return false;
        bool putBack = true;
        try
        {
            // (Hand discards a spare of another helper or one that has ended)
            if (!_spareUserNs || _spareHelper != EngineFiles.HelperPath || p.HasExited) return false;
            p.StandardInput.Write(FormattableString.Invariant($"pin {r.Start} {r.Count} {dir}\n"));
            p.StandardInput.Flush();
            string? line = p.StandardOutput.ReadLine();
            if (line == "pinned") return true;
            // a spare that answered anything else is not trusted with a container
            putBack = false;
            error = line is not null && line.StartsWith("error: ", StringComparison.Ordinal) ? line[7..] : null;
            return error is not null;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException) { putBack = false; return false; }
        finally
        {
            // still a spare (its pair is used; the next start hands it a directory as usual), unless another took its place
            if (!putBack || Interlocked.CompareExchange(ref _spare, p, null) is not null) Discard(p);
        }
    }

    /// <summary>
    /// Starts the next spare in the background; <paramref name="userNs"/>: the start just made was in a user namespace of
    /// its own, so the next likely is too and the spare prepares that pair rather than a network namespace of the host's
    /// user namespace; where the session's last two starts differed it prepares both (a wrong guess would cost the next
    /// start the namespace it would have made without a spare).
    /// </summary>
    public static void Replenish(bool userNs)
    {
        int now = userNs ? 2 : 1, before = Interlocked.Exchange(ref _lastStart, now);
        string kind = before != 0 && before != now ? "--spare-both" : userNs ? "--spare-userns" : "--spare";
        // rootless: a spare makes its network namespace before it knows its container, which needs root; a rootless
        // monitor makes it in the container's own user namespace (Helper/Rootless.cs)
        if (Rootless.RootlessHost.Active) return;
        if (Volatile.Read(ref _spare) is not null || Interlocked.Exchange(ref _replenishing, 1) == 1) return;
        ThreadPool.UnsafeQueueUserWorkItem(static kind =>
        {
            try
            {
                string helper = EngineFiles.HelperPath;
                var p = Process.Start(StartInfo(null, kind));
                if (p is null) return;
                _spareHelper = helper;
                _spareUserNs = kind != "--spare";
                var old = Interlocked.Exchange(ref _spare, p);
                if (old is not null) Discard(old);
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException) { }
            finally { Volatile.Write(ref _replenishing, 0); }
        }, kind, preferLocal: false);
    }

    /// <summary>Closing a spare's stdin ends it (it has no container yet).</summary>
    private static void Discard(Process p)
    {
        try { p.StandardInput.Close(); } catch (IOException) { }
        p.Dispose();
    }
}
