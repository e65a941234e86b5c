using System.Diagnostics;
using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.Networking;

/// <summary>Starts and stops the helper's long-running network modes (DNS server, port proxy) by PID.</summary>
internal static class HelperProcess
{
    /// <summary>Starts the helper; it prints lines until "ready" (or "error ...") then detaches (setsid, stdio to /dev/null).</summary>
    /// <remarks><paramref name="enter"/>: a command that runs the helper elsewhere (nsenter into the rootless network namespace) and execs it, so the pid is the helper's.</remarks>
    public static (int Pid, List<string> Lines) Start(string mode, IEnumerable<string> args, TimeSpan timeout, IReadOnlyList<string>? enter = null)
    {
        var psi = new ProcessStartInfo(enter is null ? EngineFiles.HelperPath : enter[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = false };
        if (enter is not null)
        {
            foreach (var a in enter.Skip(1)) psi.ArgumentList.Add(a);
            psi.ArgumentList.Add(EngineFiles.HelperPath);
        }
        psi.ArgumentList.Add(mode);
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception ex) { throw ContainersException.System("HelperMissing", Messages.HelperFailed(mode, ex.Message), EngineFiles.HelperPath, ex); }
        using (p)
        {
            p.StandardInput.Close();
            var lines = new List<string>();
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var read = p.StandardOutput.ReadLineAsync();
                if (!read.Wait(deadline - DateTime.UtcNow < TimeSpan.Zero ? TimeSpan.Zero : deadline - DateTime.UtcNow))
                {
                    TryKill(p.Id, mode);
                    throw ContainersException.System("HelperTimeout", Messages.HelperFailed(mode, "no answer in time"), mode);
                }
                string? line = read.Result;
                if (line is null)
                {
                    p.WaitForExit(2000);
                    if (lines.Count > 0 && lines[^1].StartsWith("error ", StringComparison.Ordinal)) return (-1, lines);
                    throw ContainersException.System("HelperFailed", Messages.HelperFailed(mode, $"exited with code {(p.HasExited ? p.ExitCode : -1)}"), mode);
                }
                if (line == "ready") return (p.Id, lines);
                lines.Add(line);
                if (line.StartsWith("error ", StringComparison.Ordinal)) { p.WaitForExit(2000); return (-1, lines); }
            }
        }
    }

    /// <summary>True when <paramref name="pid"/> is a helper in <paramref name="mode"/> whose arguments include <paramref name="marker"/>.</summary>
    public static bool IsAlive(int pid, string mode, string marker)
    {
        if (pid <= 0) return false;
        try
        {
            string cmd = File.ReadAllText($"/proc/{pid}/cmdline");
            var parts = cmd.Split('\0');
            if (File.ReadAllText($"/proc/{pid}/stat").Split(' ') is { Length: > 2 } st && st[2] == "Z") return false;
            return parts.Length > 2 && parts[1] == mode && parts.Contains(marker);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Ends our helper by PID (SIGTERM, then SIGKILL) after checking it is the one we started.</summary>
    public static void Stop(int pid, string mode, string marker)
    {
        if (!IsAlive(pid, mode, marker)) return;
        TryKill(pid, mode, 15);
        for (int i = 0; i < 100 && IsAlive(pid, mode, marker); i++) Thread.Sleep(10);
        if (IsAlive(pid, mode, marker)) TryKill(pid, mode, 9);
        for (int i = 0; i < 100 && IsAlive(pid, mode, marker); i++) Thread.Sleep(10);
    }

    private static void TryKill(int pid, string mode, int sig = 9)
    {
        _ = mode;
        Containers.Native.Sys.Proc.Kill(pid, sig);
    }
}
