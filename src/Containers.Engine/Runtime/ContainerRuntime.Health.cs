using System.Globalization;
using Containers.Engine.Errors;
using Containers.Engine.Health;
using Containers.Engine.Model;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// The health check's part of the monitor's spec: the check's argv and executable candidates (it runs as the
    /// container's first process does: same user, capabilities, seccomp filter, environment, working directory,
    /// limits and cgroup), its timings in milliseconds with docker's defaults applied, the action on failure and
    /// the stop signal and timeout the Stop and Restart actions use. The monitor runs it; nothing else does.
    /// </summary>
    private static void AddHealthCheck(SpecWriter w, ContainerConfig c, List<string> env)
    {
        var h = c.Health!;
        var argv = HealthChecks.Argv(h, c.HealthShell);
        foreach (var a in argv) w.Add("hc-arg", a);
        foreach (var x in ExecCandidates(argv[0], env)) w.Add("hc-exec", x);
        w.Add("hc-interval", HealthChecks.Ms(h.Interval ?? HealthChecks.DefaultInterval));
        w.Add("hc-timeout", HealthChecks.Ms(h.Timeout ?? HealthChecks.DefaultTimeout));
        w.Add("hc-retries", (h.Retries ?? HealthChecks.DefaultRetries).ToString(CultureInfo.InvariantCulture));
        w.Add("hc-start-period", HealthChecks.Ms(h.StartPeriod ?? TimeSpan.Zero));
        w.Add("hc-start-interval", HealthChecks.Ms(h.StartInterval ?? HealthChecks.DefaultStartInterval));
        w.Add("hc-on-failure", h.OnFailure.ToString().ToLowerInvariant());
        w.Add("stop-signal", Signals.Parse(c.StopSignal).ToString(CultureInfo.InvariantCulture));
        w.Add("stop-timeout", c.StopTimeout.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// A container's health as Get-Container shows it: None without a check; for a running container the
    /// monitor's record (Starting until its first verdict); for one that has stopped, what the record last said
    /// (docker leaves the last state too), Starting for one never started.
    /// </summary>
    private static (HealthStatus Status, HealthRecord? Record) HealthOf(Record r)
    {
        if (r.Config.Health is null) return (HealthStatus.None, null);
        var rec = HealthRecord.Read(r.Dir);
        var status = rec?.Status ?? HealthStatus.Starting;
        if (status == HealthStatus.None) status = HealthStatus.Starting;
        return (status, rec);
    }
}

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Waits until the container's health is <paramref name="target"/> (Healthy or Unhealthy), polling the monitor's
    /// record. A container without a check is ContainerHasNoHealthCheck; one that stops for good while waiting for
    /// Healthy is ContainerNotRunning (it will never be healthy); a timeout is WaitTimeout.
    /// </summary>
    public ContainerInfo WaitHealth(string nameOrId, HealthStatus target, TimeSpan? timeout, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        if (rec.Config.Health is null)
            throw ContainersException.Invalid("ContainerHasNoHealthCheck", $"The container '{rec.Name}' has no health check (its image has no HEALTHCHECK and none was given with -HealthCommand).", rec.Name);
        string id = rec.Id;
        bool gone = false;
        bool Reached()
        {
            var r = Load(id);
            if (r is null) { gone = true; return true; }
            var (h, _) = HealthOf(r);
            bool over = r.Status == ContainerStatus.Exited && !r.MonitorAlive && r.Raw.ContainsKey("state");
            if (over) h = HealthStatus.Unhealthy;
            if (h == target) return true;
            if (over && target == HealthStatus.Healthy) { gone = true; return true; }
            return false;
        }
        if (!WaitUntil(Reached, timeout ?? TimeSpan.MaxValue, ct))
            throw new ContainersException(ErrorKind.Timeout, "WaitTimeout", RuntimeMessages.Timeout(rec.Name, target.ToString().ToLowerInvariant()), rec.Name);
        if (gone) throw ContainersException.Conflict("ContainerNotRunning", $"The container '{rec.Name}' stopped before it was healthy.", rec.Name);
        return Get(id);
    }
}

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// podman healthcheck run: runs the container's check once now, as the monitor runs it (exec'd in the container
    /// as its user, with its timeout: the check's processes are killed when it passes), and returns the result. The
    /// monitor's record and schedule are left alone: only the monitor writes health.json.
    /// </summary>
    public HealthCheckResult RunHealthCheck(string nameOrId, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        var h = rec.Config.Health
            ?? throw ContainersException.Invalid("ContainerHasNoHealthCheck", $"The container '{rec.Name}' has no health check (its image has no HEALTHCHECK and none was given with -HealthCommand).", rec.Name);
        var timeout = h.Timeout ?? HealthChecks.DefaultTimeout;
        var psi = PrepareExec(rec, new ExecOptions { Command = HealthChecks.Argv(h, rec.Config.HealthShell).ToArray() });
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        var start = DateTime.UtcNow;
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        var outTask = p.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errTask = p.StandardError.ReadToEndAsync(CancellationToken.None);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        bool timedOut = false;
        try { p.WaitForExitAsync(limit.Token).GetAwaiter().GetResult(); }
        catch (OperationCanceledException)
        {
            // the helper, the clone that joined the container and the command under it
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            p.WaitForExit();
            ct.ThrowIfCancellationRequested();
            timedOut = true;
        }
        var end = DateTime.UtcNow;
        string text = outTask.GetAwaiter().GetResult() + errTask.GetAwaiter().GetResult();
        int code = p.ExitCode;
        if (timedOut) { text = $"Health check exceeded timeout ({HealthChecks.GoDuration(timeout)})"; code = -1; }
        else if (code is 126 or 127 && text.StartsWith("exec: ", StringComparison.Ordinal)) code = -1;
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        if (bytes.Length > HealthRecord.MaxOutput) text = System.Text.Encoding.UTF8.GetString(bytes, 0, HealthRecord.MaxOutput);
        return new HealthCheckResult { ContainerName = rec.Name, Start = start, End = end, ExitCode = code, Output = text };
    }
}
