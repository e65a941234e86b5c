using System.Diagnostics;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

/// <summary>
/// docker run -t / -it and docker attach. A container created with Tty gets a pseudo-terminal for its first
/// process: the child makes it in the container's own devpts and hands the master to its monitor, which logs
/// the terminal's output and relays it to one attached client through "attach.sock" in the state directory
/// (see the helper's Tty.cs). The client is the helper's "attach" mode, started with this process's console
/// (as Enter-Container's exec is): it relays the console raw, follows the window size, and ends when the
/// terminal does or on Ctrl+P Ctrl+Q (detach). A container without a terminal is attached by following its
/// log from now until it exits.
/// </summary>
public sealed partial class ContainerRuntime
{
    /// <summary>The helper's attach exit codes (AttachMode).</summary>
    private const int AttachDetached = 3, AttachFailed = 125;

    /// <summary>
    /// run -t (-i): create, start, and relay this process's console to the container's terminal until its first
    /// process ends; returns the result with its exit code (the output went to the console, so Output is empty;
    /// Get-ContainerLog still has it), or null when the user detached (Ctrl+P Ctrl+Q: the container goes on;
    /// with <paramref name="remove"/> it is removed once it has exited, as a detached -Remove run is).
    /// Cancelling stops the container as an attached Run does.
    /// </summary>
    public ContainerProcessResult? RunTty(ContainerCreateOptions o, bool remove, CancellationToken ct = default)
    {
        if (remove && !string.IsNullOrWhiteSpace(o.RestartPolicy) && ParseRestart(o.RestartPolicy).Item1 != "no")
            throw ContainersException.Invalid("ConflictingOptions", RuntimeMessages.RemoveWithRestart(ParseRestart(o.RestartPolicy).Item1), o.RestartPolicy);
        o.Tty = true;
        if (remove) o.AutoRemove = true;
        var info = Create(o, ct);
        IDisposable hold = Cgroups.CgroupFs.NoHold.Instance;
        bool detached = false;
        try
        {
            Process monitorProcess;
            try { monitorProcess = Start(info.Id, out hold, null, out _, ct); }
            catch (ContainersException ex) when (ex.ErrorId is "ContainerCommandNotFound" or "ContainerCommandNotExecutable")
            {
                var failed = ToInfo(Load(info.Id)!);
                throw new ContainersException(ex.Kind, ex.ErrorId, ex.Message, ex.Target, ex)
                {
                    Result = new ContainerProcessResult
                    {
                        ContainerId = info.Id, ContainerName = info.Name, ExitCode = failed.ExitCode ?? (ex.ErrorId == "ContainerCommandNotFound" ? 127 : 126),
                        Output = "", Error = ex.Message + "\n",
                    },
                };
            }
            using (var monitor = monitorProcess)
            {
                try
                {
                    int rc = RelayTerminal(info.Id, info.Name, o.Interactive, ct);
                    if (rc == AttachDetached) { detached = true; return null; }
                    ProcessOps.WaitExited(monitor.Id, ct, LiveOutputPollMs, null);
                }
                catch (Exception ex)
                {
                    // Ctrl+C while only the output is relayed (-Tty without -Interactive): stopped as an attached run is
                    Stop(info.Id, null, null, false, CancellationToken.None);
                    if (ex is not OperationCanceledException && !ct.IsCancellationRequested) throw;
                }
            }
            var final = ToInfo(Load(info.Id)!);
            return new ContainerProcessResult
            {
                ContainerId = info.Id, ContainerName = info.Name, ExitCode = final.ExitCode ?? -1,
                Output = "", Error = "", OomKilled = final.OomKilled,
            };
        }
        finally
        {
            if (remove && !detached) Remove(info.Id, true, true, CancellationToken.None);
            hold.Dispose();
        }
    }

    /// <summary>
    /// docker attach: a container with a terminal gets this process's console (its input too when it was created
    /// -Interactive) until its process ends or the user detaches (Ctrl+P Ctrl+Q: null); one without a terminal
    /// has its output from now handed to <paramref name="onOutput"/> until it exits. Returns the exit code.
    /// Cancelling (Ctrl+C, which an -Interactive terminal passes to the container as a key instead) sends the
    /// container's process SIGINT, as docker's --sig-proxy does, and ends the attachment.
    /// </summary>
    public int? Attach(string nameOrId, Action<ContainerLogEntry> onOutput, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        if (rec.Status is not (ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Restarting))
            throw ContainersException.Conflict("ContainerNotRunning", RuntimeMessages.NotRunning(rec.Name), rec.Name);
        string id = rec.Id;
        if (rec.Config.Tty)
        {
            // Ctrl+C reaches this process only when the console is not raw (a container without -Interactive):
            // SIGINT to the container's process, as docker's --sig-proxy, and the attachment ends
            try { if (RelayTerminal(id, rec.Name, rec.Config.Interactive, ct) == AttachDetached) return null; }
            catch (OperationCanceledException)
            {
                if (Load(id) is { Pid: > 0 } now) ProcessOps.Signal(now.Pid, now.PidStart, 2 /* SIGINT */);
                throw;
            }
            return Wait(id, ContainerStatus.Exited, null, ct).ExitCode;
        }
        using var log = new LogReader(Path.Combine(rec.Dir, "ctr.log"));
        log.Drain(); // what was written before: Get-ContainerLog's part
        while (true)
        {
            var r = Load(id);
            bool done = r is null || (r.Status == ContainerStatus.Exited && !r.MonitorAlive);
            foreach (var e in log.Drain()) onOutput(e);
            if (done)
            {
                foreach (var e in log.Leftovers()) onOutput(e);
                return r is null ? null : ToInfo(r).ExitCode;
            }
            if (ct.WaitHandle.WaitOne(LiveOutputPollMs))
            {
                if (r is not null && r.Pid > 0) ProcessOps.Signal(r.Pid, r.PidStart, 2 /* SIGINT */);
                throw new OperationCanceledException(ct);
            }
        }
    }

    /// <summary>Runs the helper's attach mode on this process's console; returns its exit code (0 ended, 3 detached).</summary>
    private int RelayTerminal(string id, string name, bool interactive, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(EngineFiles.HelperPath) { UseShellExecute = false };
        psi.ArgumentList.Add("attach");
        psi.ArgumentList.Add(DirOf(id));
        if (interactive) psi.ArgumentList.Add("-i");
        using var p = Process.Start(psi)!;
        try { p.WaitForExitAsync(ct).GetAwaiter().GetResult(); }
        catch (OperationCanceledException)
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            p.WaitForExit();
            throw;
        }
        if (p.ExitCode == AttachFailed)
            throw ContainersException.Conflict("ContainerAttachFailed", $"Cannot attach to the terminal of the container '{name}': another session is attached to it, or it has ended.", name);
        return p.ExitCode;
    }
}
