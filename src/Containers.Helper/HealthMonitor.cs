using System.Globalization;
using System.Text;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// A container's health check, run by its monitor (no daemon: it goes on when pwsh is gone). Lives in the monitor's
/// one poll loop: no thread, no timer of its own; the loop asks it how long it may sleep, polls its descriptors
/// and hands it the results. Each check is exec'd as Invoke-ContainerCommand's helper does it (ExecMode): a clone
/// joins the container's cgroup and namespaces and forks the command into its PID namespace, with the first
/// process's user, capabilities, seccomp filter, limits, environment and working directory. Output (stdout and
/// stderr together) is kept up to 4 KiB, a check that outlives its timeout is SIGKILLed with its process group,
/// and the verdicts follow docker's rules (daemon/health.go): exit 0 healthy, any other failure counts toward
/// the retries unless it comes in the start period before the first success; the first check waits one interval
/// (the start interval during the start period). The record (health.json, docker's State.Health shape) is
/// replaced atomically after each change. On becoming unhealthy the monitor applies --health-on-failure
/// (podman's): kill, stop (stop signal, SIGKILL after the stop timeout) or restart (the same, then the monitor's
/// restart path).
/// </summary>
internal sealed unsafe class HealthMonitor
{
    private static readonly string[] Namespaces = ExecMode.Namespaces;
    private static readonly int[] NsFlags = ExecMode.NsFlags;

    private readonly string _dir;
    private readonly ChildPlan _plan;
    private readonly long _interval, _timeout, _startPeriod, _startInterval;
    private readonly int _retries;
    private readonly string _onFailure;
    private readonly int _stopSignal;
    private readonly long _stopTimeoutMs;
    private readonly string? _cgroupProcs;
    private readonly int[] _nsFds = new int[6];
    private readonly bool _userns;
    /// <summary>Rootless: the user namespace is joined first (it owns the others; see Rootless.cs).</summary>
    private readonly bool _rootless;

    private int _pid;
    private long _startedMono;
    private string _status = "starting";
    private int _streak;
    private readonly List<(string Start, string End, int Code, string Output)> _log = new();
    private long _dueMono = long.MaxValue;
    private long _killAtMono = long.MaxValue;

    // the check in flight
    private int _middle = -1, _middleFd = -1, _innerFd = -1, _outFd = -1, _syncFd = -1;
    private long _checkDeadline;
    private long _checkStartMono;
    private DateTime _checkStart;
    private bool _timedOut;
    private readonly byte[] _out = new byte[4096];
    private int _outLen;
    private int _iOut = -1, _iMiddle = -1;

    /// <summary>The unhealthy container is being restarted by the Restart action: the monitor starts it again whatever its policy says.</summary>
    public bool RestartRequested { get; private set; }

    private HealthMonitor(string dir, Spec s, ChildPlan container)
    {
        _dir = dir;
        _interval = Math.Max(1, s.Num("hc-interval", 30_000));
        _timeout = Math.Max(1, s.Num("hc-timeout", 30_000));
        _retries = (int)Math.Max(1, s.Num("hc-retries", 3));
        _startPeriod = Math.Max(0, s.Num("hc-start-period", 0));
        _startInterval = Math.Max(1, s.Num("hc-start-interval", 5_000));
        _onFailure = s.Get("hc-on-failure") ?? "none";
        _stopSignal = (int)s.Num("stop-signal", 15);
        _stopTimeoutMs = Math.Max(0, s.Num("stop-timeout", 10)) * 1000;
        _cgroupProcs = s.All("cgroup").FirstOrDefault();
        // a container in a user namespace of its own (userns=start:count): the check joins it too, last, as an exec
        // does; without it the check would run as the host's root in the container's other namespaces
        // (rootless on a user network: the monitor is in the container's user namespace already, the holder's, where
        // setns to it fails; it has the privilege to join the others as it is: RootlessNetns.cs)
        // (KeepId on a user network: the container has a user namespace of its own below the holder's: joined as usual)
        bool joined = s.Flag("rootless-joined") && s.Get("keepid") is null;
        _userns = !joined && (s.Get("userns") is { Length: > 0 } || s.Get("rootless") is not null);
        _rootless = !joined && s.Get("rootless") is not null;
        _plan = new ChildPlan
        {
            Cwd = container.Cwd, Uid = container.Uid, Gid = container.Gid, Groups = container.Groups, NGroups = container.NGroups,
            Caps = container.Caps, LastCap = container.LastCap, NoNewPrivs = container.NoNewPrivs, Seccomp = container.Seccomp,
            Envp = container.Envp, Rlimits = container.Rlimits, CgroupProcs = container.CgroupProcs, DevNull = container.DevNull,
            Argv = NStr.Array(s.All("hc-arg")),
            ExecCandidates = s.All("hc-exec").Select(c => (nint)NStr.Of(c)).ToArray(),
        };
    }

    /// <summary>The container's check, or null when its spec has none (then the monitor does nothing more than before).</summary>
    public static HealthMonitor? FromSpec(string dir, Spec s, ChildPlan container) =>
        s.Get("hc-arg") is null ? null : new HealthMonitor(dir, s, container);

    private static long Mono => Environment.TickCount64;

    /// <summary>The container's process has (re)started: starting again, failing streak 0, first check after one interval.</summary>
    public void Started(int pid)
    {
        _pid = pid;
        _startedMono = Mono;
        _status = "starting";
        _streak = 0;
        _killAtMono = long.MaxValue;
        RestartRequested = false;
        _dueMono = _startedMono + NextInterval();
        WriteRecord();
    }

    /// <summary>The container's process has ended: the check in flight is killed; for good, the record says unhealthy (as docker's does).</summary>
    public void Ended(bool forGood)
    {
        if (_middle > 0) { KillCheck(); FinishCheck(wait: true, record: false); }
        _dueMono = long.MaxValue;
        _killAtMono = long.MaxValue;
        if (forGood && _status != "unhealthy") { _status = "unhealthy"; WriteRecord(); }
    }

    private long NextInterval() => _status == "starting" && Mono - _startedMono < _startPeriod ? _startInterval : _interval;

    /// <summary>How long the loop may sleep (ms, -1 for ever), given what it would wait otherwise.</summary>
    public int Timeout(int current)
    {
        long next = Math.Min(_killAtMono, _middle > 0 ? (_timedOut ? long.MaxValue : _checkDeadline) : _dueMono);
        if (next == long.MaxValue) return current;
        long ms = Math.Max(0, next - Mono);
        int mine = (int)Math.Min(ms, int.MaxValue);
        return current < 0 ? mine : Math.Min(current, mine);
    }

    /// <summary>Adds the running check's descriptors (its output, its helper's pidfd) to the poll set; returns the new count.</summary>
    public int AddFds(PollFd* fds, int n)
    {
        _iOut = _iMiddle = -1;
        if (_middle <= 0) return n;
        if (_outFd >= 0) { _iOut = n; fds[n++] = new PollFd { Fd = _outFd, Events = POLLIN }; }
        _iMiddle = n; fds[n++] = new PollFd { Fd = _middleFd, Events = POLLIN };
        return n;
    }

    /// <summary>After poll: reads the check's output, finishes a check that ended or timed out, starts one that is due, applies a pending SIGKILL.</summary>
    public void Service(PollFd* fds)
    {
        long now = Mono;
        if (_iOut >= 0 && fds[_iOut].Revents != 0) ReadOutput();
        if (_middle > 0 && !_timedOut && now >= _checkDeadline)
        {
            _timedOut = true;
            KillCheck();
        }
        if (_iMiddle >= 0 && fds[_iMiddle].Revents != 0) FinishCheck(wait: true, record: true);
        _iOut = _iMiddle = -1;
        if (now >= _killAtMono)
        {
            _killAtMono = long.MaxValue;
            Monitor.KillCgroup(_cgroupProcs);
        }
        if (_middle <= 0 && now >= _dueMono && _killAtMono == long.MaxValue) Begin();
    }

    private void ReadOutput()
    {
        byte* tmp = stackalloc byte[4096];
        while (true)
        {
            nint n = read(_outFd, tmp, 4096);
            if (n < 0 && Errno == 4) continue;
            if (n <= 0)
            {
                // end of output (or nothing more for now on the non-blocking pipe)
                if (n == 0 || Errno != 11) { close(_outFd); _outFd = -1; }
                return;
            }
            int take = (int)Math.Min(n, _out.Length - _outLen);
            if (take > 0) { new ReadOnlySpan<byte>(tmp, take).CopyTo(_out.AsSpan(_outLen)); _outLen += take; }
        }
    }

    private void KillCheck()
    {
        if (_innerFd >= 0)
        {
            // the command made its own session and process group (setsid): the group goes, then the process
            PidfdSendSignal(_innerFd, SIGKILL);
        }
        if (_innerPid > 0) kill(-_innerPid, SIGKILL);
        // a helper that never got as far as forking the command goes itself; one that did stays to reap it (its
        // orphan would go to the container's PID 1, which may never reap it)
        else if (_middle > 0) kill(_middle, SIGKILL);
    }

    private int _innerPid;

    private void Begin()
    {
        _dueMono = long.MaxValue;
        _checkStart = DateTime.UtcNow;
        _checkStartMono = Mono;
        _outLen = 0;
        _timedOut = false;
        _innerPid = 0;
        // a paused (frozen) container cannot answer: the check waits for the next interval
        if (File.Exists(Path.Combine(_dir, "paused"))) { _dueMono = Mono + NextInterval(); return; }
        for (int i = 0; i < Namespaces.Length; i++)
        {
            byte* nsPath = stackalloc byte[64];
            int len = Encoding.ASCII.GetBytes($"/proc/{_pid}/ns/{Namespaces[i]}", new Span<byte>(nsPath, 63));
            nsPath[len] = 0;
            _nsFds[i] = open(nsPath, 0x80000, 0);
            if (_nsFds[i] < 0)
            {
                for (int j = 0; j < i; j++) close(_nsFds[j]);
                Record(-1, $"cannot join the container's {Namespaces[i]} namespace: errno {Errno}");
                return;
            }
        }
        int userNs = -1;
        if (_userns)
        {
            byte* usPath = stackalloc byte[64];
            int ulen = Encoding.ASCII.GetBytes($"/proc/{_pid}/ns/user", new Span<byte>(usPath, 63));
            usPath[ulen] = 0;
            userNs = open(usPath, 0x80000, 0);
            if (userNs < 0)
            {
                for (int j = 0; j < _nsFds.Length; j++) close(_nsFds[j]);
                Record(-1, $"cannot join the container's user namespace: errno {Errno}");
                return;
            }
        }
        int* outp = stackalloc int[2];
        int* sync = stackalloc int[2];
        int* pidp = stackalloc int[2];
        pipe2(outp, 0x80000); pipe2(sync, 0x80000); pipe2(pidp, 0x80000);
        var plan = _plan;
        plan.ErrFd = sync[1];
        plan.StdoutFd = outp[1];
        plan.StderrFd = outp[1];
        int devNull = open(plan.DevNull, 0x80000, 0);
        plan.StdinFd = devNull;
        int[] nsFds = _nsFds;
        int pidw = pidp[1];
        int middle = Clone((ulong)SIGCHLD);
        if (middle == 0)
        {
            // single-threaded from here, no allocation: join, then fork into the PID namespace (as ExecMode)
            ulong none = 0;
            sigprocmask(2, &none, null);
            for (int sig = 1; sig < 65; sig++) if (sig != SIGKILL && sig != SIGSTOP) signal(sig, 0);
            byte zero = (byte)'0';
            for (int i = 0; i < plan.CgroupProcs.Length; i++)
            {
                int fd = open((byte*)plan.CgroupProcs[i], 1, 0);
                if (fd >= 0) { write(fd, &zero, 1); close(fd); }
            }
            bool rootless = _rootless;
            if (rootless && setns(userNs, (int)CLONE_NEWUSER) != 0) ChildFail(plan, ChildPlan.StepUserNs);
            for (int i = 0; i < nsFds.Length; i++)
                if (setns(nsFds[i], NsFlags[i]) != 0) ChildFail(plan, ChildPlan.StepNetns - 100 - i);
            if (!rootless && userNs >= 0 && setns(userNs, (int)CLONE_NEWUSER) != 0) ChildFail(plan, ChildPlan.StepUserNs);
            int inner = Clone((ulong)SIGCHLD);
            if (inner == 0)
            {
                setsid();
                dup2(plan.StdinFd, 0); dup2(plan.StdoutFd, 1); dup2(plan.StderrFd, 2);
                ContainerChild.ApplyRlimits(plan);
                if (!plan.NoNewPrivs && SeccompFilter.Load(plan.Seccomp) != 0) ChildFail(plan, ChildPlan.StepSeccomp);
                ContainerChild.SetUserAndCaps(plan);
                if (chdir(plan.Cwd) != 0) ChildFail(plan, ChildPlan.StepCwd);
                CloseRangeCloexec(3);
                if (plan.NoNewPrivs && SeccompFilter.Load(plan.Seccomp) != 0) ChildFail(plan, ChildPlan.StepSeccomp);
                ContainerChild.Exec(plan);
            }
            if (inner < 0) ChildFail(plan, ChildPlan.StepExec);
            write(pidw, (byte*)&inner, 4);
            close(plan.ErrFd);
            int st;
            while (wait4(inner, &st, 0, null) < 0 && Errno == 4) { }
            _exit(ExitCodeOf(st));
        }
        for (int i = 0; i < nsFds.Length; i++) close(nsFds[i]);
        if (userNs >= 0) close(userNs);
        close(outp[1]); close(sync[1]); close(pidp[1]); close(devNull);
        if (middle < 0)
        {
            int e = Errno;
            close(outp[0]); close(sync[0]); close(pidp[0]);
            Record(-1, $"cannot start the health check: clone: errno {e}");
            return;
        }
        // the helper reports the command's host pid once it has forked it (or closes the pipe having failed)
        // (bounded by the check's timeout: a helper frozen on joining a container paused just now must not stop the
        // monitor's loop; it is killed at the deadline like a check that hangs)
        int innerPid = 0;
        var pfd = new PollFd { Fd = pidp[0], Events = POLLIN };
        int ready;
        while ((ready = poll(&pfd, 1, (int)Math.Min(_timeout, int.MaxValue))) < 0 && Errno == 4) { }
        if (ready > 0 && ReadFull(pidp[0], (byte*)&innerPid, 4) == 4 && innerPid > 0)
        {
            _innerPid = innerPid;
            _innerFd = PidfdOpen(innerPid);
        }
        close(pidp[0]);
        _middle = middle;
        _middleFd = PidfdOpen(middle);
        _outFd = outp[0];
        fcntl(_outFd, 4 /* F_SETFL */, 0x800 /* O_NONBLOCK */);
        _syncFd = sync[0];
        _checkDeadline = _checkStartMono + _timeout;
    }

    private static void ChildFail(ChildPlan p, int step)
    {
        int* m = stackalloc int[2];
        m[0] = step; m[1] = Errno;
        write(p.ErrFd, (byte*)m, 8);
        _exit(126);
    }

    private static nint ReadFull(int fd, byte* b, int count)
    {
        int got = 0;
        while (got < count)
        {
            nint n = readBlocking(fd, b + got, count - got);
            if (n < 0 && Errno == 4) continue;
            if (n <= 0) break;
            got += (int)n;
        }
        return got;
    }

    /// <summary>The check's helper has exited (or is made to): reap it, read what is left, judge and record.</summary>
    private void FinishCheck(bool wait, bool record)
    {
        int st = 0;
        if (wait) while (wait4Blocking(_middle, &st, 0, null) < 0 && Errno == 4) { }
        int code = ExitCodeOf(st);
        // what the command wrote before it ended; a background process still holding the pipe is not waited for
        if (_outFd >= 0) { ReadOutput(); if (_outFd >= 0) close(_outFd); _outFd = -1; }
        int* msg = stackalloc int[2];
        nint got = ReadFull(_syncFd, (byte*)msg, 8);
        close(_syncFd); _syncFd = -1;
        if (_middleFd >= 0) close(_middleFd);
        if (_innerFd >= 0) close(_innerFd);
        _middleFd = _innerFd = -1;
        _middle = -1;
        // a stop or removal kills what is in the cgroup, the check's helper included: not a verdict on the container
        if (!record || File.Exists(Path.Combine(_dir, "stop-requested"))) return;
        string output = Encoding.UTF8.GetString(_out, 0, _outLen);
        if (got == 8)
        {
            string what = msg[0] <= ChildPlan.StepNetns - 100 ? "join the container's " + Namespaces[ChildPlan.StepNetns - 100 - msg[0]] + " namespace" : new ChildPlan().Describe(msg[0]);
            Record(-1, $"cannot {what}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(msg[1])}");
        }
        else if (_timedOut) Record(-1, $"Health check exceeded timeout ({GoDuration(_timeout)})");
        else Record(code, output);
    }

    /// <summary>docker's verdict on one result (handleProbeResult), the record, the event and the action.</summary>
    private void Record(int code, string output)
    {
        string end = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);
        _log.Add((_checkStart.ToString("o", CultureInfo.InvariantCulture), end, code, output));
        while (_log.Count > 5) _log.RemoveAt(0);
        string before = _status;
        if (code == 0)
        {
            _streak = 0;
            _status = "healthy";
        }
        else
        {
            // before the first success, failures in the start period do not count
            bool count = !(_status == "starting" && _checkStartMono - _startedMono < _startPeriod);
            if (count)
            {
                _streak++;
                if (_streak >= _retries) _status = "unhealthy";
            }
        }
        WriteRecord();
        if (_status != before) Monitor.Event("health_status: " + _status);
        if (_status == "unhealthy" && before != "unhealthy") Act();
        _dueMono = _killAtMono == long.MaxValue ? Mono + NextInterval() : long.MaxValue;
    }

    /// <summary>--health-on-failure: what the monitor does when the container becomes unhealthy.</summary>
    private void Act()
    {
        switch (_onFailure)
        {
            case "kill":
                kill(_pid, SIGKILL);
                Monitor.KillCgroup(_cgroupProcs);
                break;
            case "stop" or "restart":
                if (_onFailure == "stop")
                {
                    // as Stop-Container: the restart policy does not bring it back
                    try { File.WriteAllBytes(Path.Combine(_dir, "stop-requested"), []); } catch (IOException) { }
                }
                else RestartRequested = true;
                kill(_pid, _stopSignal);
                _killAtMono = Mono + _stopTimeoutMs;
                break;
        }
    }

    private static string GoDuration(long ms) => ms % 1000 == 0 ? (ms / 1000).ToString(CultureInfo.InvariantCulture) + "s" : ms.ToString(CultureInfo.InvariantCulture) + "ms";

    private void WriteRecord()
    {
        var sb = new StringBuilder(256);
        sb.Append("{\"Status\":\"").Append(_status).Append("\",\"FailingStreak\":").Append(_streak.ToString(CultureInfo.InvariantCulture)).Append(",\"Log\":[");
        for (int i = 0; i < _log.Count; i++)
        {
            var (s, e, c, o) = _log[i];
            if (i > 0) sb.Append(',');
            sb.Append("{\"Start\":\"").Append(s).Append("\",\"End\":\"").Append(e).Append("\",\"ExitCode\":").Append(c.ToString(CultureInfo.InvariantCulture)).Append(",\"Output\":");
            JsonString(sb, o);
            sb.Append('}');
        }
        sb.Append("]}\n");
        string tmp = Path.Combine(_dir, ".health.tmp"), path = Path.Combine(_dir, "health.json");
        try
        {
            File.WriteAllText(tmp, sb.ToString());
            File.Move(tmp, path, true);
        }
        catch (IOException) { try { File.Delete(tmp); } catch (IOException) { } }
        catch (UnauthorizedAccessException) { }
    }

    private static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (ch < 0x20 || ch is '\u2028' or '\u2029') sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        sb.Append('"');
    }
}
