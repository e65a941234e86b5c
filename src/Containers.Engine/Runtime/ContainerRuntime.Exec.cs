using System.Diagnostics;
using System.Globalization;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

/// <summary>What Invoke-ContainerCommand / Enter-Container asks for.</summary>
public sealed class ExecOptions
{
    public required string[] Command { get; init; }
    public string? User { get; init; }
    public string? WorkingDirectory { get; init; }
    public IDictionary<string, string>? Environment { get; init; }
    public bool Detach { get; init; }
    public bool Tty { get; init; }
    /// <summary>Written to the process's stdin, which is then closed (docker exec -i); null: empty stdin.</summary>
    public Stream? Input { get; init; }
    /// <summary>Where the command's standard output goes, byte for byte (-OutFile); the result's Output is then empty.</summary>
    public Stream? Output { get; init; }
}

public sealed partial class ContainerRuntime
{
    private ProcessStartInfo PrepareExec(Record rec, ExecOptions o)
    {
        Guard(rec, "exec");
        var c = rec.Config;
        var user = UserResolver.Resolve(c, rec.Dir, o.User ?? c.User);
        var env = c.Env.ToList();
        if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) env.Add("HOME=" + user.Home);
        if (o.Tty && !env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal))) env.Add("TERM=xterm");
        if (o.Environment is not null)
            foreach (var kv in o.Environment)
            {
                env.RemoveAll(e => e.StartsWith(kv.Key + "=", StringComparison.Ordinal));
                env.Add(kv.Key + "=" + kv.Value);
            }
        var w = new SpecWriter();
        w.Add("pid", rec.Pid.ToString(CultureInfo.InvariantCulture));
        foreach (var f in Cgroup(c.Id).ProcsFiles) w.Add("cgroup", f);
        // a container in a user namespace of its own: the exec joins it too (ExecMode joins it last)
        if (c.IdRange is not null) w.Add("userns", "1");
        // rootless: the helper joins the user namespace first (it owns the others)
        if (Rootless.RootlessHost.Active) w.Add("rootless", "1");
        AddRlimits(w, c);
        w.Add("uid", user.Uid.ToString(CultureInfo.InvariantCulture));
        w.Add("gid", user.Gid.ToString(CultureInfo.InvariantCulture));
        w.Add("groups", string.Join(',', user.Groups));
        w.Add("caps", c.Capabilities.ToString("x", CultureInfo.InvariantCulture));
        w.Add("nnp", c.NoNewPrivileges ? "1" : "0");
        AddSeccomp(w, c);
        w.Add("cwd", o.WorkingDirectory ?? c.WorkingDirectory);
        w.Add("tty", o.Tty ? "1" : "0");
        w.Add("detach", o.Detach ? "1" : "0");
        foreach (var a in o.Command) w.Add("arg", a);
        foreach (var e in env) w.Add("env", e);
        foreach (var x in ExecCandidates(o.Command[0], env)) w.Add("exec", x);
        string specPath = Path.Combine(rec.Dir, "exec-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(specPath, w.ToArray());
        var psi = new ProcessStartInfo(EngineFiles.HelperPath) { UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(specPath);
        return psi;
    }

    /// <summary>
    /// Runs a command in a running container, capturing its output (or detached). <paramref name="onOutput"/>,
    /// when given, gets each complete line as it arrives, on the calling thread (and a last line without a
    /// newline at the end); the result's Output and Error are the raw text either way.
    /// </summary>
    public ContainerProcessResult Exec(string nameOrId, ExecOptions o, CancellationToken ct = default, Action<ContainerLogEntry>? onOutput = null)
    {
        var rec = Find(nameOrId);
        var psi = PrepareExec(rec, o);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        using var p = Process.Start(psi)!;
        // the helper's stdin is the command's (it inherits fd 0 without a tty); written on a task of its own,
        // so a large input never waits on output nobody reads yet. A detached command gets /dev/null.
        var inTask = o.Input is null || o.Detach ? Task.CompletedTask : Task.Run(() => Feed(p.StandardInput, o.Input, ct), CancellationToken.None);
        if (o.Input is null || o.Detach) p.StandardInput.Close();
        string output, err;
        if (onOutput is null)
        {
            var outTask = o.Output is null ? p.StandardOutput.ReadToEndAsync(ct)
                : p.StandardOutput.BaseStream.CopyToAsync(o.Output, ct).ContinueWith(t => { t.GetAwaiter().GetResult(); return ""; }, TaskScheduler.Default);
            var errTask = p.StandardError.ReadToEndAsync(ct);
            try { p.WaitForExitAsync(ct).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { try { p.Kill(); } catch (InvalidOperationException) { } throw; }
            err = errTask.GetAwaiter().GetResult();
            output = outTask.GetAwaiter().GetResult();
        }
        else (output, err) = ExecFollow(p, onOutput, ct, o.Output);
        inTask.GetAwaiter().GetResult();
        var result = new ContainerProcessResult
        {
            ContainerId = rec.Id, ContainerName = rec.Name, ExitCode = p.ExitCode,
            Output = output, Error = err,
        };
        // the helper's own failures carry the result too (exit code 127 or 126, as docker exec gives them)
        if (err.StartsWith("exec: cannot execute", StringComparison.Ordinal) && p.ExitCode is 126 or 127)
        {
            var ex = p.ExitCode == 127
                ? ContainersException.NotFound("ExecCommandNotFound", RuntimeMessages.ExecFailed(rec.Name, err[6..].Trim()), o.Command[0])
                : new ContainersException(ErrorKind.Unauthorized, "ExecCommandNotExecutable", RuntimeMessages.ExecFailed(rec.Name, err[6..].Trim()), o.Command[0]);
            throw new ContainersException(ex.Kind, ex.ErrorId, ex.Message, ex.Target) { Result = result };
        }
        if (p.ExitCode == 126 && err.StartsWith("exec: ", StringComparison.Ordinal))
            throw new ContainersException(ErrorKind.System, "ExecFailed", RuntimeMessages.ExecFailed(rec.Name, err[6..].Trim()), rec.Name) { Result = result };
        return result;
    }

    /// <summary>
    /// Exec's wait with live lines: a reader per pipe keeps the raw text and queues each line it completes;
    /// this thread hands them to <paramref name="onOutput"/> every few ms until the helper exits and both pipes end.
    /// </summary>
    private static (string Output, string Error) ExecFollow(Process p, Action<ContainerLogEntry> onOutput, CancellationToken ct, Stream? rawOut = null)
    {
        var queue = new System.Collections.Concurrent.ConcurrentQueue<ContainerLogEntry>();
        Task<string> Pump(StreamReader r, string stream) => Task.Run(() =>
        {
            var all = new StringBuilder();
            var line = new StringBuilder();
            var buf = new char[8192];
            int n;
            while ((n = r.Read(buf, 0, buf.Length)) > 0)
            {
                all.Append(buf, 0, n);
                for (int i = 0; i < n; i++)
                {
                    if (buf[i] != '\n') { line.Append(buf[i]); continue; }
                    queue.Enqueue(new ContainerLogEntry { Timestamp = DateTime.UtcNow, Stream = stream, Message = line.ToString() });
                    line.Clear();
                }
            }
            if (line.Length > 0) queue.Enqueue(new ContainerLogEntry { Timestamp = DateTime.UtcNow, Stream = stream, Message = line.ToString(), Partial = true });
            return all.ToString();
        });
        void Flush() { while (queue.TryDequeue(out var e)) onOutput(e); }
        // -OutFile: stdout's bytes go to the file as they come, and none of it is shown or kept as text
        var outTask = rawOut is null ? Pump(p.StandardOutput, "stdout")
            : Task.Run(() => { p.StandardOutput.BaseStream.CopyTo(rawOut); return ""; });
        var errTask = Pump(p.StandardError, "stderr");
        var both = Task.WhenAll(outTask, errTask);
        try
        {
            var exited = p.WaitForExitAsync(ct);
            while (!exited.Wait(LiveOutputPollMs)) Flush();
            exited.GetAwaiter().GetResult();
            both.Wait(ct);
        }
        catch (Exception ex) when (ex is OperationCanceledException || ct.IsCancellationRequested)
        {
            try { p.Kill(); } catch (InvalidOperationException) { }
            throw new OperationCanceledException(ct);
        }
        Flush();
        return (outTask.GetAwaiter().GetResult(), errTask.GetAwaiter().GetResult());
    }

    /// <summary>
    /// Copies the input into a process's stdin and closes it (end of input). A process that exits (or closes
    /// its stdin) before reading it all ends the copy quietly (EPIPE), as a shell pipeline does.
    /// </summary>
    internal static async Task Feed(Stream stdin, Stream input, CancellationToken ct) =>
        await Feed(stdin, input, stdin, ct).ConfigureAwait(false);

    // the writer Process made is what is disposed (its Dispose closes the pipe; a later one is a no-op)
    private static Task Feed(StreamWriter stdin, Stream input, CancellationToken ct) => Feed(stdin.BaseStream, input, stdin, ct);

    private static async Task Feed(Stream stdin, Stream input, IDisposable close, CancellationToken ct)
    {
        try { await input.CopyToAsync(stdin, 1 << 16, ct).ConfigureAwait(false); }
        catch (IOException) { }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        finally
        {
            try { close.Dispose(); }
            catch (IOException) { }
        }
    }

    /// <summary>Runs a command on a pseudo-terminal relayed to this process's own terminal (Enter-Container).</summary>
    public int ExecInteractive(string nameOrId, ExecOptions o, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        var psi = PrepareExec(rec, new ExecOptions { Command = o.Command, User = o.User, WorkingDirectory = o.WorkingDirectory, Environment = o.Environment, Tty = true });
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>Processes in the container's PID namespace (host view plus the pid inside).</summary>
    public IReadOnlyList<ContainerProcessInfo> Processes(string nameOrId)
    {
        var rec = Find(nameOrId);
        if (rec.Status is not (ContainerStatus.Running or ContainerStatus.Paused))
            throw ContainersException.Conflict("ContainerNotRunning", RuntimeMessages.NotRunning(rec.Name), rec.Name);
        string? ns = NsLink(rec.Pid);
        var list = new List<ContainerProcessInfo>();
        if (ns is null) return list;
        long tick = 100;
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            if (NsLink(pid) != ns) continue;
            try
            {
                var status = File.ReadAllLines(Path.Combine(d, "status"));
                string Field(string k) => status.FirstOrDefault(l => l.StartsWith(k + ":", StringComparison.Ordinal))?[(k.Length + 1)..].Trim() ?? "";
                var nspid = Field("NSpid").Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries);
                int ppidHost = int.Parse(Field("PPid"), CultureInfo.InvariantCulture);
                int ppidInner = 0;
                if (NsLink(ppidHost) == ns)
                {
                    try
                    {
                        var pst = File.ReadAllLines($"/proc/{ppidHost}/status").First(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
                        ppidInner = int.Parse(pst[6..].Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries).Last(), CultureInfo.InvariantCulture);
                    }
                    catch (IOException) { }
                }
                string stat = File.ReadAllText(Path.Combine(d, "stat"));
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                long ticks = long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture);
                long rss = long.Parse(f[21], CultureInfo.InvariantCulture) * 4096;
                string cmd = File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ').Trim();
                if (cmd.Length == 0) cmd = "[" + stat[(stat.IndexOf('(') + 1)..stat.LastIndexOf(')')] + "]";
                long hostUid = long.Parse(Field("Uid").Split('\t')[0], CultureInfo.InvariantCulture);
                list.Add(new ContainerProcessInfo
                {
                    ContainerName = rec.Name, HostPid = pid, Pid = int.Parse(nspid.Last(), CultureInfo.InvariantCulture),
                    ParentPid = ppidInner, HostUserId = hostUid,
                    UserId = rec.Config.IdRange is UserNamespaces.IdRange range ? range.ToContainer(hostUid) : hostUid,
                    Command = cmd, CpuTime = TimeSpan.FromSeconds((double)ticks / tick), ResidentBytes = rss,
                });
            }
            catch (IOException) { }
            catch (FormatException) { }
        }
        return list.OrderBy(p => p.Pid).ToList();
    }

    private static string? NsLink(int pid)
    {
        try { return new FileInfo($"/proc/{pid}/ns/pid").LinkTarget; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    public ContainerStats Stats(string nameOrId)
    {
        var rec = Find(nameOrId);
        var cg = Cgroup(rec.Id);
        if (!cg.Exists)
        {
            // an exited container's cgroup is gone; its last figures were kept in the status when it ended
            return FinalStats(rec) ?? throw ContainersException.Conflict("ContainerNotRunning", RuntimeMessages.NotRunning(rec.Name), rec.Name);
        }
        var s = cg.Stats();
        return new ContainerStats
        {
            ContainerName = rec.Name, ContainerId = rec.Id, CpuTime = s.CpuTime, MemoryBytes = s.MemoryBytes,
            MemoryLimitBytes = s.MemoryLimitBytes, MemoryMaxUsageBytes = s.MemoryMaxUsageBytes, Pids = s.Pids, PidsLimit = s.PidsLimit,
            ThrottledPeriods = s.ThrottledPeriods, ThrottledTime = s.ThrottledTime, OomKills = s.OomKills,
        };
    }

    /// <summary>How often an attached run reads the new part of the log while it waits (the exit itself wakes it at once).</summary>
    private const int LiveOutputPollMs = 25;

    /// <summary>
    /// Run: create, start, wait for the end while following the log, and remove when asked.
    /// <paramref name="onOutput"/>, when given, gets each log entry as it arrives, on the calling thread
    /// (the result's Output and Error are made of the same entries). Cancelling <paramref name="ct"/> while
    /// it runs stops the container as Stop-Container does (its stop signal, SIGKILL after its stop timeout)
    /// and returns the result of what it produced, with the exit code it ended with.
    /// </summary>
    /// <param name="input">The first process's stdin (run -i), written and closed; null: /dev/null.</param>
    /// <param name="stdout">Where the first process's standard output goes, byte for byte (-OutFile: docker run ... &gt; file);
    /// it is then neither shown nor in the result's Output.</param>
    public ContainerProcessResult Run(ContainerCreateOptions o, bool remove, CancellationToken ct = default, Action<ContainerLogEntry>? onOutput = null, Stream? input = null, Stream? stdout = null)
    {
        Diagnostics.StepTimes.Mark("run.enter");
        // -Remove of an attached run is done here once the output is read (AutoRemove is the detached kind,
        // which the next listing removes); a restart policy would never let it end
        if (remove && !string.IsNullOrWhiteSpace(o.RestartPolicy) && ParseRestart(o.RestartPolicy).Item1 != "no")
            throw ContainersException.Invalid("ConflictingOptions", RuntimeMessages.RemoveWithRestart(ParseRestart(o.RestartPolicy).Item1), o.RestartPolicy);
        var info = Create(o, ct);
            Diagnostics.StepTimes.Mark("run.create");
        IDisposable hold = Cgroups.CgroupFs.NoHold.Instance;
        try
        {
            Process monitorProcess;
            Task feed;
            try { monitorProcess = Start(info.Id, out hold, input, out feed, ct); }
            catch (ContainersException ex) when (ex.ErrorId is "ContainerCommandNotFound" or "ContainerCommandNotExecutable")
            {
                // docker run gives the shell's 127/126 for a command it cannot execute: a result with that exit
                // code, and the error beside it
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
            var sbOut = new StringBuilder();
            var sbErr = new StringBuilder();
            using var log = new LogReader(Path.Combine(DirOf(info.Id), "ctr.log"));
            using var raw = stdout is null ? null : new RawLogReader(Path.Combine(DirOf(info.Id), "ctr.log"), "stdout", stdout);
            void Take(List<ContainerLogEntry> entries)
            {
                raw?.Drain();
                foreach (var e in entries)
                {
                    if (raw is not null && e.Stream != "stderr") continue;
                    (e.Stream == "stderr" ? sbErr : sbOut).Append(e.Message).Append('\n');
                    onOutput?.Invoke(e);
                }
            }
            using (var monitor = monitorProcess)
            {
                // the pidfd wakes this thread when the monitor exits; WaitForExit would wait for the runtime's
                // SIGCHLD thread to reap it and then for a thread-pool continuation. While it runs, the log's new
                // records are read every few ms (a run that ends at once never waits for a tick)
                // a log that rotates (-LogMaxSize) is read while it runs even when nobody watches: a file renamed away
                // is followed only by a reader that has it open
                bool rotates = Load(info.Id)?.Config.LogMaxSize is not null;
                try { ProcessOps.WaitExited(monitor.Id, ct, LiveOutputPollMs, onOutput is null && raw is null && !rotates ? null : () => Take(log.Drain())); }
                catch (Exception ex)
                {
                    // Ctrl+C: as docker stops an attached run, with the stop signal and its timeout; what was
                    // produced until then is still the result. (A failing output callback stops it too, then fails.)
                    Stop(info.Id, null, null, false, CancellationToken.None);
                    if (ex is not OperationCanceledException && !ct.IsCancellationRequested) throw;
                }
            }
            Diagnostics.StepTimes.Mark("run.wait-exit");
            feed.GetAwaiter().GetResult();
            var rec = Load(info.Id)!;
            var final = ToInfo(rec);
            // the last records (and a partial last line) are read after the exit: the monitor wrote them before it exited
            Take(log.Drain());
            Take(log.Leftovers());
            Diagnostics.StepTimes.Mark("run.status+log");
            return new ContainerProcessResult
            {
                ContainerId = info.Id, ContainerName = info.Name, ExitCode = final.ExitCode ?? -1,
                Output = sbOut.ToString(), Error = sbErr.ToString(), OomKilled = final.OomKilled,
            };
        }
        finally
        {
            if (remove) Remove(info.Id, true, true, CancellationToken.None);
            Diagnostics.StepTimes.Mark("run.remove");
            hold.Dispose();
        }
    }
}
