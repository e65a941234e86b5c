using System.Globalization;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>The <see cref="ContainerInfo.ExitReason"/> of a container whose monitor died while it ran.</summary>
    public const string LostReason = "MonitorLost";

    /// <summary>
    /// A record read under the container's lock, with a lost monitor's container ended first (see
    /// <see cref="EndLost"/>): start, stop and removal then see an exited container and nothing of the old
    /// run is left running beside the new one, and what a killed start left is finished (see
    /// <see cref="FinishInterrupted"/>). No restart follows here: the caller is about to decide.
    /// </summary>
    private Record? LoadLocked(string id)
    {
        var rec = Load(id);
        if (rec is null) return null;
        // what a killed start left (its cgroup, a monitor still starting the container, the marker) is finished
        // first; the killed monitor may have recorded a run just before, which is then ended as a lost one
        if (!rec.MonitorLost && FinishInterrupted(rec)) rec = Load(id);
        if (rec is null || !rec.MonitorLost) return rec;
        EndLost(rec, mayRestart: false);
        return Load(id);
    }

    /// <summary>
    /// The liveness check of a read (every listing and lookup): a container whose monitor is gone while its
    /// status says running is ended here and its restart policy applied, when its lock is free at once (a
    /// session busy with it, a stop or a start, deals with it under the lock itself). Returns the record as
    /// it is now; null when it went away meanwhile.
    /// </summary>
    private Record? SettleLost(Record r)
    {
        StoreLock held;
        try { held = StoreLock.Acquire(_root, "container-" + r.Id, true, TimeSpan.Zero); }
        catch (ContainersException) { return r; }
        using (held)
        {
            var now = Load(r.Id);
            if (now is null || !now.MonitorLost) return now;
            try { EndLost(now, mayRestart: true); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ContainersException)
            {
                // reading must not fail because the clean-up did: the record still reads as exited (lost)
                return now;
            }
            return Load(r.Id);
        }
    }

    /// <summary>
    /// Ends a container whose monitor died (kill -9, OOM killer): its processes are unsupervised, their output
    /// goes nowhere and nobody would record their end or restart them. Under the container's lock: SIGKILL to
    /// what is left in its cgroup, the end recorded (exit code 137 when the engine killed it, unknown when it
    /// had already ended; reason MonitorLost), its final cgroup figures kept in the status and the cgroup
    /// removed, its network released as a stop does, then its restart policy applied as the monitor would
    /// have (podman leaves such a container alone; a restart here means an always container is back after
    /// the next command that reads the root).
    /// </summary>
    private void EndLost(Record rec, bool mayRestart)
    {
        var c = rec.Config;
        bool wasRunning = ProcessOps.IsAlive(rec.Pid, rec.PidStart);
        if (wasRunning) ProcessOps.Signal(rec.Pid, rec.PidStart, 9);
        var cg = Cgroup(c.Id);
        try { cg.KillAll(TimeSpan.FromSeconds(5)); }
        catch (Exception ex) when (ex is IOException or ContainersException) { }
        WaitUntil(() => !ProcessOps.IsAlive(rec.Pid, rec.PidStart), TimeSpan.FromSeconds(5), CancellationToken.None);

        var raw = rec.Raw;
        // lost while it waited to restart: the exit it was restarting from is known
        bool wasRestarting = raw.GetValueOrDefault("state") == "restarting";
        RecordFinalFigures(cg, raw);
        raw["state"] = "exited";
        raw.Remove("pid"); raw.Remove("pidstart");
        if (wasRunning) raw["exitcode"] = "137";
        else if (!wasRestarting) raw.Remove("exitcode");
        raw["reason"] = LostReason;
        raw["error"] = RuntimeMessages.MonitorLost(rec.MonitorPid, wasRunning);
        raw["finishedat"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);
        WriteStatus(rec.Dir, raw);
        if (NetworkProvider is not null && c.Network is not ("none" or "host"))
        {
            try { NetworkProvider.Stopped(NetContext(c, rec.Dir)); }
            catch (Exception ex) when (ex is IOException or ContainersException) { }
        }
        try { cg.Destroy(); }
        catch (Exception ex) when (ex is IOException or ContainersException) { }

        if (!mayRestart || File.Exists(Path.Combine(rec.Dir, "stop-requested"))) return;
        int restarts = Int(raw, "restarts");
        bool again = c.RestartPolicy switch
        {
            "always" or "unless-stopped" => true,
            // the end was not the process's own choice (or it is unknown): a failure
            "on-failure" => c.RestartMax <= 0 || restarts < c.RestartMax,
            _ => false,
        };
        if (!again) return;
        try
        {
            using var p = StartLocked(Load(rec.Id)!, out var hold, null, out _, restarts + 1, CancellationToken.None);
            hold.Dispose();
        }
        catch (ContainersException ex)
        {
            var st = ReadStatusFile(Path.Combine(rec.Dir, "status"));
            st["error"] = RuntimeMessages.RestartAfterLossFailed(ex.Message);
            WriteStatus(rec.Dir, st);
        }
    }

    /// <summary>
    /// An ending container's last figures (CPU time, peak memory, OOM kills), kept in the status before its
    /// cgroup goes, so Measure-Container of an exited container still answers. The monitor does the same
    /// when the container ends under it.
    /// </summary>
    private static void RecordFinalFigures(Cgroups.ICgroupManager cg, Dictionary<string, string> raw)
    {
        Cgroups.CgroupStats s;
        try
        {
            if (!cg.Exists) return;
            s = cg.Stats();
        }
        catch (Exception ex) when (ex is IOException or ContainersException or UnauthorizedAccessException) { return; }
        raw["cputime"] = (s.CpuTime.Ticks * 100).ToString(CultureInfo.InvariantCulture);
        raw["memorypeak"] = s.MemoryMaxUsageBytes.ToString(CultureInfo.InvariantCulture);
        raw["oomkills"] = s.OomKills.ToString(CultureInfo.InvariantCulture);
        if (s.OomKills > 0) raw["oomkilled"] = "1";
    }

    /// <summary>Measure-Container of an exited container: the figures recorded when it ended (no cgroup is left).</summary>
    private static ContainerStats? FinalStats(Record rec)
    {
        var d = rec.Raw;
        if (rec.Status != ContainerStatus.Exited || !d.ContainsKey("cputime")) return null;
        return new ContainerStats
        {
            ContainerName = rec.Name, ContainerId = rec.Id,
            CpuTime = TimeSpan.FromTicks(Long(d, "cputime") / 100),
            MemoryBytes = 0,
            MemoryLimitBytes = rec.Config.Memory ?? 0,
            MemoryMaxUsageBytes = Long(d, "memorypeak"),
            Pids = 0,
            PidsLimit = rec.Config.PidsLimit ?? 0,
            ThrottledPeriods = 0,
            ThrottledTime = TimeSpan.Zero,
            OomKills = Long(d, "oomkills"),
        };
    }
}
