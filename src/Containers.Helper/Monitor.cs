using System.Globalization;
using System.Text;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// "monitor &lt;statedir&gt;": the per-container supervisor. Detaches (setsid), starts the container's first
/// process in new namespaces, reports "ok &lt;pid&gt;" or "error: ..." on stdout and closes it, then holds the
/// container's stdout/stderr, writes them to the log with timestamps, records the exit and applies the
/// restart policy. It ends when the container stops for good, leaving only the state files.
/// </summary>
internal static unsafe class Monitor
{
    private static string _dir = "";
    private static string? _events, _id, _name, _image;
    private static string _logPath = "";
    private static long _logMax, _logSize;
    private static int _logFiles = 1;
    private static readonly Dictionary<string, string> Status = new();

    /// <summary>The argument that makes a spare: a monitor started ahead of need, told its state directory on stdin.</summary>
    public const string SpareArgument = "--spare";

    /// <summary>A spare whose next container is likely in a user namespace of its own: it prepares that pair instead.</summary>
    public const string SpareUserNsArgument = "--spare-userns";

    /// <summary>A spare that cannot tell (the session's starts alternate): it prepares both.</summary>
    public const string SpareBothArgument = "--spare-both";

    /// <summary>HUP INT QUIT USR1 USR2 PIPE ALRM TERM STKFLT TSTP TTIN TTOU XCPU XFSZ VTALRM PROF IO PWR.</summary>
    private static readonly int[] IgnoredSignals = [1, 2, 3, 10, 12, 13, 14, 15, 16, 20, 21, 22, 24, 25, 26, 27, 29, 30];

    public static int Run(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("monitor: state directory missing"); return 2; }
        _dir = args[1];
        setsid();
        signal(SIGPIPE, 1 /* SIG_IGN: pwsh may be gone before it reads "ok" */);
        // Nothing signals a monitor but SIGKILL from the engine (stops go through the cgroup and a file), so a
        // stray signal (a user's kill, a terminal's hang-up) must not end the supervision: ignore every one
        // whose default would end this process. Not SIGCHLD (ignoring it would reap the container for us) nor
        // the runtime's own (SIGSEGV and friends, the real-time ones); the child resets all before exec.
        foreach (int sig in IgnoredSignals) signal(sig, 1 /* SIG_IGN */);
        // descriptors inherited from whoever started pwsh (not close-on-exec, unlike every fd the runtime
        // opens) must not be held for the container's lifetime
        for (int fd = 3; fd < 1024; fd++)
        {
            int flags = fcntl(fd, 1 /* F_GETFD */, 0);
            if (flags >= 0 && (flags & 1 /* FD_CLOEXEC */) == 0) close(fd);
        }
        if (_dir is SpareArgument or SpareUserNsArgument or SpareBothArgument)
        {
            // the network namespace the next container is likely to get: the host user namespace's (Host, network
            // none) or one owned by a user namespace made with it (Auto and Private, any network of their own)
            if (_dir != SpareArgument) UserNamespace.Prepare();
            if (_dir != SpareUserNsArgument) PrepareNetwork();
            Prefault();
            // everything above (the runtime's start-up included) is done before the engine needs this monitor;
            // end of input means the session that made the spare has ended or no longer wants it. Before its
            // directory the engine may ask for the pair pinned in a container's state directory (its network is
            // configured before the monitor starts it): "pin START COUNT DIR", answered with one line
            string? dir = ReadLine(0);
            while (dir is not null && dir.StartsWith("pin ", StringComparison.Ordinal))
            {
                Report(UserNamespace.PinFromSpare(dir), 0);
                dir = ReadLine(0);
            }
            if (string.IsNullOrEmpty(dir) || dir[0] != '/') { UserNamespace.ReleasePrepared(); return 0; }
            _dir = dir;
            Retitle(dir);
        }
        Spec spec;
        ChildPlan plan;
        try
        {
            spec = Spec.Load(Path.Combine(_dir, "spec"));
            plan = ChildPlan.FromSpec(spec);
        }
        catch (Exception ex) { return Report("error: " + ex.Message, 1); }

        Status["monitorpid"] = getpid().ToString(CultureInfo.InvariantCulture);
        Status["monitorstart"] = ProcessOps.StartTime(getpid()).ToString(CultureInfo.InvariantCulture);
        // a restart the engine makes for a container whose monitor was lost carries the count on
        int restarts = (int)spec.Num("restarts", 0);
        Status["restarts"] = restarts.ToString(CultureInfo.InvariantCulture);
        _cgroupDirs = spec.All("cgroup").Select(f => Path.GetDirectoryName(f)!).ToArray();
        // a container with a health check: the monitor runs it in this loop (null otherwise: nothing more to do)
        _health = HealthMonitor.FromSpec(_dir, spec, plan);

        bool rootlessJoined = spec.Flag("rootless-joined");
        string? netErr = EnterNetwork(spec, plan);
        if (netErr is not null) return Report("error: network namespace: " + netErr, 1);
        // -Pid / -Ipc host or container:X: the monitor joins the namespace (PID: its children are born in it),
        // and the clone makes no new one
        string? nsErr = EnterNamespace(spec.Get("pidns"), CLONE_NEWPID, ref plan.JoinPid) ?? EnterNamespace(spec.Get("ipcns"), CLONE_NEWIPC, ref plan.JoinIpc);
        if (nsErr is not null) return Report("error: " + nsErr, 1);
        if (plan.UserNs)
        {
            // the container's network namespace is its user namespace's, so its root has the network capabilities
            // there (raw sockets: busybox's ping): on a network the engine configured, both were pinned before
            // (containers-helper userns-netns) and the child is made in that user namespace; for network none the
            // monitor makes the pair now and enters the network namespace, so sysfs can be mounted for it here.
            // Elsewhere (the host's network, another container's) the clone makes a new user namespace.
            string? join = spec.Get("userns-join");
            if (join is not null)
            {
                int probe = open(NStr.Of(join), 0x80000, 0);
                if (probe < 0) return Report($"error: user namespace: cannot open {join}: errno {Errno}", 1);
                close(probe);
                plan.UserNsPin = join;
                plan.JoinsUserNs = true;
            }
            else if (spec.Get("netns") == "new")
            {
                string? mkErr = UserNamespace.TakePrepared(plan.IdStart, plan.IdCount, out int userFd, out int netFd) ? null
                    : UserNamespace.MakeUserAndNet(plan.IdStart, plan.IdCount, out userFd, out netFd);
                if (mkErr is not null) return Report("error: user namespace: " + mkErr, 1);
                int ok = setns(netFd, (int)CLONE_NEWNET);
                int e = Errno;
                close(netFd);
                if (ok != 0) { close(userFd); return Report("error: network namespace: setns: errno " + e, 1); }
                plan.UserNsFd = userFd;
                plan.JoinsUserNs = true;
                plan.NewNet = false;
            }
            string? sysErr = UserNamespace.WriteNetSysctls(spec);
            if (sysErr is not null) return Report("error: " + sysErr, 1);
        }
        // a spare's prepared pair this container did not take (its holder must not live on with the container)
        UserNamespace.ReleasePrepared();

        byte* logPath = NStr.Of(spec.Req("log"));
        int logFd = open(logPath, 0x40 | 1 | 0x400 | 0x80000 /* O_CREAT|O_WRONLY|O_APPEND|O_CLOEXEC */, 0x1a0);
        if (logFd < 0) return Report("error: cannot open the log: errno " + Errno, 1);
        _logPath = spec.Req("log");
        _logMax = spec.Num("log-max-size", 0);
        _logFiles = (int)Math.Clamp(spec.Num("log-max-files", 1), 1, 100);
        if (_logMax > 0) { try { _logSize = new FileInfo(_logPath).Length; } catch (IOException) { } }
        plan.StdinFd = open(plan.DevNull, 0x80000, 0);
        // run -i: the engine's FIFO is the first process's stdin (only the first: a restart gets /dev/null).
        // Non-blocking open, then blocking reads; the engine holds a writer from before the start.
        int stdinFifo = -1;
        string? stdinPath = spec.Get("stdin");
        if (stdinPath is not null)
        {
            stdinFifo = open(NStr.Of(stdinPath), 0x800 | 0x80000 /* O_RDONLY|O_NONBLOCK|O_CLOEXEC */, 0);
            if (stdinFifo < 0) return Report("error: cannot open stdin: errno " + Errno, 1);
            fcntl(stdinFifo, 4 /* F_SETFL */, 0);
        }

        _events = spec.Get("events");
        _id = spec.Get("id");
        _name = spec.Get("name");
        _image = spec.Get("image");
        string policy = spec.Get("restart") ?? "no";
        long maxRestarts = spec.Num("restart-max", 0);
        string? oomFile = spec.Get("oom-file");
        string oomKey = spec.Get("oom-key") ?? "oom_kill";
        _oomFile = oomFile;
        _oomKey = oomKey;
        // run -t: the terminal's master is relayed through a socket in the state directory (Tty.cs)
        bool tty = spec.Flag("tty");
        if (tty && (chdir(NStr.Of(_dir)) != 0 || (_attachFd = Tty.Listen()) < 0))
            return Report("error: cannot make the attach socket: errno " + Errno, 1);
        int* tsv = stackalloc int[2];
        bool first = true;
        // small buffers: one monitor per running container, and every page it touches is resident
        var buf = new byte[8192];
        var line = new byte[8192 + 128];
        int* outp = stackalloc int[2];
        int* errp = stackalloc int[2];
        int* sync = stackalloc int[2];
        int* usv = stackalloc int[2];
        int* msg = stackalloc int[2];
        while (true)
        {
            long oomBefore = ReadCounter(oomFile, oomKey);
            pipe2(outp, 0x80000); pipe2(errp, 0x80000); pipe2(sync, 0x80000);
            plan.StdoutFd = outp[1]; plan.StderrFd = errp[1]; plan.ErrFd = sync[1];
            int devNullIn = plan.StdinFd;
            if (stdinFifo >= 0) plan.StdinFd = stdinFifo;
            if (tty) { Tty.SocketPair(tsv); plan.TtySock = tsv[1]; }
            if (plan.UserNs)
            {
                // the detached mounts live only from here to the clone: the monitor holds no host mount afterwards
                string? prepErr = UserNamespace.Prepare(plan);
                if (prepErr is not null)
                {
                    close(outp[0]); close(errp[0]); close(sync[0]); close(outp[1]); close(errp[1]); close(sync[1]);
                    if (tty) { close(tsv[0]); close(tsv[1]); }
                    return Finish(first, "error: user namespace: " + prepErr, 1);
                }
                Tty.SocketPair(usv);
                plan.UserSock = usv[1];
                // the container's stdout and stderr pipes are its root's (runc's fixStdioPermissions): a process that
                // reopens them (/dev/stdout, /proc/1/fd/1, as nginx's and compose's logs do) is refused a host root's pipe
                fchown(outp[1], plan.IdStart, plan.IdStart);
                fchown(errp[1], plan.IdStart, plan.IdStart);
            }
            else if (plan.Rootless)
            {
                Tty.SocketPair(usv);
                plan.UserSock = usv[1];
            }
            ulong cloneFlags = CLONE_NEWNS | CLONE_NEWUTS | (plan.JoinIpc ? 0 : CLONE_NEWIPC) | (plan.JoinPid ? 0 : CLONE_NEWPID) | (plan.NewNet ? CLONE_NEWNET : 0) | (ulong)SIGCHLD;
            int pinFd = plan.UserNsPin is null ? -1 : plan.UserNsFd = open(NStr.Of(plan.UserNsPin), 0x80000, 0);
            // (rootless KeepId on a user network: a user namespace of its own below the holder's, RootlessKeepId.cs)
            int pid = plan.JoinsUserNs ? UserNamespace.CloneJoined(cloneFlags, plan)
                : Clone(cloneFlags | (plan.UserNs || (plan.Rootless && (!rootlessJoined || plan.KeepId is not null)) ? CLONE_NEWUSER : 0));
            if (pinFd >= 0 && pid != 0) { close(pinFd); plan.UserNsFd = -1; }
            if (pid == 0) ContainerChild.Run(plan);
            // the parent's half of the set-up of a user namespace (rootless: the user's maps and slirp4netns; Auto or
            // Private: the range's maps and the idmapped layers); a failure ends the child and this start alike
            string? setupErr = null, setupWhat = null;
            if (plan.Rootless)
            {
                close(usv[1]);
                setupWhat = "rootless";
                // on a user network the monitor runs in the user's rootless network namespace (RootlessNetns.cs): the
                // child is made in its user namespace, mapped already, and gets its veth pairs from here
                // (KeepId: the child has a user namespace of its own with the KeepId maps: RootlessKeepId.cs)
                // (a restart reads the networks again: Connect-/Disconnect-ContainerNetwork rewrite them in the spec file)
                setupErr = pid <= 0 ? null : rootlessJoined
                    ? (plan.KeepId is null ? null : RootlessKeepId.WriteNestedMaps(pid, plan.RootlessMapping!, plan.KeepId)) ?? RootlessNetns.Attach(pid, first ? spec : ReloadSpec(spec))
                    : plan.KeepId is null ? Rootless.WriteMaps(pid, plan.RootlessMapping!) : RootlessKeepId.WriteMaps(pid, plan.RootlessMapping!, plan.KeepId);
                // the default network: slirp4netns joins the child's namespaces and configures tap0 before it goes on
                if (setupErr is null && pid > 0) setupErr = SlirpNet.Start(pid, spec);
                if (setupErr is null && pid > 0) { byte go = 1; write(usv[0], &go, 1); }
                close(usv[0]);
            }
            if (plan.UserNs)
            {
                UserNamespace.ClosePrepared(plan);
                close(usv[1]);
                setupWhat = "user namespace";
                setupErr = pid > 0 ? UserNamespace.SetUp(pid, plan, spec, usv[0]) : null;
                close(usv[0]);
            }
            if (setupErr is not null)
            {
                kill(pid, SIGKILL);
                int kst;
                wait4Blocking(pid, &kst, 0, null);
                close(outp[0]); close(errp[0]); close(sync[0]); close(outp[1]); close(errp[1]); close(sync[1]);
                if (tty) { close(tsv[0]); close(tsv[1]); }
                if (first) return Finish(true, $"error: {setupWhat}: {setupErr}", 1);
                Status["error"] = $"{setupWhat}: {setupErr}";
                Status["state"] = "exited";
                Status["exitcode"] = "127";
                Status["finishedat"] = Now();
                EndCgroups();
                WriteStatus();
                return 0;
            }
            close(outp[1]); close(errp[1]); close(sync[1]);
            if (tty) { close(tsv[1]); plan.TtySock = -1; }
            // the child sent the master before it exec'd (or failed): it waits in the socket
            int master = tty && pid > 0 ? Tty.RecvFd(tsv[0]) : -1;
            if (tty) close(tsv[0]);
            if (stdinFifo >= 0)
            {
                // only the process holds the read end now: its exit makes the engine's writes fail, not block
                close(stdinFifo);
                stdinFifo = -1;
                plan.StdinFd = devNullIn;
            }
            if (pid < 0)
            {
                int e = Errno;
                close(outp[0]); close(errp[0]); close(sync[0]);
                return Finish(first, "error: clone failed: errno " + e, 1);
            }
            nint got = ReadFull(sync[0], (byte*)msg, 8);
            close(sync[0]);
            if (got == 8)
            {
                int st;
                wait4Blocking(pid, &st, 0, null);
                SlirpNet.Stop();
                close(outp[0]); close(errp[0]);
                if (master >= 0) close(master);
                string err = $"cannot {plan.Describe(msg[0])}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(msg[1])} (errno {msg[1]})";
                // the command itself could not be executed: the shell's codes, as docker and podman give them
                // (127 not found, 126 found but not executable); any other set-up step: 127 as before
                int execCode = msg[0] == ChildPlan.StepExec && msg[1] is not (2 or 20) ? 126 : 127;
                if (msg[0] == ChildPlan.StepExec) Status["failedstep"] = "exec";
                if (first) return Finish(true, "error: " + err, 1, execCode);
                Status["error"] = err;
                Status["state"] = "exited";
                Status["exitcode"] = execCode.ToString(CultureInfo.InvariantCulture);
                Status["finishedat"] = Now();
                EndCgroups();
                WriteStatus();
                Event("die", ("exitCode", Status["exitcode"]), ("error", err));
                return 0;
            }
            Status["state"] = "running";
            Status["pid"] = pid.ToString(CultureInfo.InvariantCulture);
            Status["pidstart"] = ProcessOps.StartTime(pid).ToString(CultureInfo.InvariantCulture);
            Status["startedat"] = Now();
            Status.Remove("finishedat"); Status.Remove("exitcode"); Status.Remove("oomkilled"); Status.Remove("error");
            WriteStatus();
            _health?.Started(pid);
            // the first start is recorded by the engine that asked for it; later ones are the restart policy's
            if (!first) Event("start", ("restartCount", restarts.ToString(CultureInfo.InvariantCulture)));
            if (first)
            {
                Report("ok " + pid, -1);
                int devnull = open(plan.DevNull, 2 | 0x80000, 0);
                dup2(devnull, 0); dup2(devnull, 1); dup2(devnull, 2);
                close(devnull);
                first = false;
            }

            // the joining fork and the namespace holder of a user namespace's start, told to end before the clone
            UserNamespace.ReapDeferred();
            int status = master >= 0 ? SuperviseTty(pid, master, outp[0], errp[0], ref logFd, buf, line)
                : Supervise(pid, outp[0], errp[0], ref logFd, buf, line);
            SlirpNet.Stop(); // (rootless: this run's network goes with its namespace; a restart starts another)
            // without a PID namespace of its own, the end of the first process does not end the others (they are
            // re-parented to the shared namespace's init): end them, as runc does for such a container
            if (plan.JoinPid) KillCgroup(spec.All("cgroup").FirstOrDefault());
            long oomAfter = ReadCounter(oomFile, oomKey);
            int code = ExitCodeOf(status);
            // any OOM kill in the container's cgroup during this run, of its first process or of a child (docker
            // and podman count the cgroup's events too): a child killed while the shell goes on still counts
            bool oom = oomAfter > oomBefore;
            Status["state"] = "exited";
            Status["exitcode"] = code.ToString(CultureInfo.InvariantCulture);
            Status["oomkilled"] = oom ? "1" : "0";
            Status["finishedat"] = Now();
            Status.Remove("pid"); Status.Remove("pidstart");
            // recorded here, by the process that reaps the container, so an exit is logged with no pwsh around
            if (oom) Event("oom");
            Event("die", ("exitCode", Status["exitcode"]));
            bool stopRequested = File.Exists(Path.Combine(_dir, "stop-requested"));
            // Set-Container changed the policy while this ran: "<policy> <max>"
            if (ReadPolicyUpdate() is { } upd) (policy, maxRestarts) = upd;
            // --health-on-failure restart: the unhealthy container starts again whatever its policy says (podman's)
            bool again = !stopRequested && (_health?.RestartRequested == true || policy switch
            {
                "always" or "unless-stopped" => true,
                "on-failure" => code != 0 && (maxRestarts <= 0 || restarts < maxRestarts),
                _ => false,
            });
            _health?.Ended(!again);
            if (!again) { EndAttach(); EndCgroups(); WriteStatus(); break; }
            restarts++;
            Status["restarts"] = restarts.ToString(CultureInfo.InvariantCulture);
            Status["state"] = "restarting";
            WriteStatus();
            // back off 100 ms, doubling, at most 10 s; a stop request ends the wait
            long delayMs = Math.Min(10_000, 100L << Math.Min(restarts - 1, 7));
            for (long waited = 0; waited < delayMs; waited += 50)
            {
                Sleep(50);
                if (File.Exists(Path.Combine(_dir, "stop-requested"))) { Status["state"] = "exited"; EndAttach(); EndCgroups(); WriteStatus(); return 0; }
            }
        }
        // on a full disk the end and the last lines wait in memory until a stop or removal frees room
        Drain(logFd);
        close(logFd);
        // the status is written and every file closed: skip the runtime's shutdown, which only delays the exit
        // the engine waits for
        _exit(0);
        return 0;
    }

    /// <summary>
    /// A spare maps its code and libc's now, while it waits, so the start it is handed and the status writes
    /// around the container's run do not take a page fault for each page of code they touch for the first time
    /// (MADV_POPULATE_READ; the pages are in the page cache, shared with every other monitor). The idle monitor
    /// hands the mappings back later (<see cref="ReleaseCodePages"/>). Best effort.
    /// </summary>
    private static void Prefault()
    {
        string[] maps;
        try { maps = File.ReadAllLines("/proc/self/maps"); }
        catch (IOException) { return; }
        foreach (var l in maps)
            if (ProcSelf.TryParseMapping(l, out ulong start, out ulong end, out string perms, out string path) && perms is "r-xp" or "r--p" && path.StartsWith('/'))
                madvise((void*)start, (nuint)(end - start), 22 /* MADV_POPULATE_READ */);
    }

    private static int Finish(bool first, string message, int code, int exitCode = 127)
    {
        EndCgroups();
        Status["state"] = "exited";
        Status["exitcode"] = exitCode.ToString(CultureInfo.InvariantCulture);
        Status["error"] = message;
        Status["finishedat"] = Now();
        WriteStatus();
        return first ? Report(message, code) : code;
    }

    /// <summary>
    /// A monitor mostly sleeps in poll() for the container's whole life. Start-up touched much of its own code
    /// and of libc, which stays mapped (resident) though the idle loop needs a few pages of it. File-backed
    /// mappings that are not writable and hold no private (copied-on-write) page are exactly the file's
    /// contents, so dropping their page-table entries loses nothing: the pages stay in the page cache,
    /// shared, and the few the loop needs fault back in. Writable mappings, and read-only ones with private
    /// pages (relocated data), are left alone.
    /// </summary>
    private static void ReleaseCodePages()
    {
        string[] smaps;
        try { smaps = File.ReadAllLines("/proc/self/smaps"); }
        catch (IOException) { return; }
        // all parsing first: once the ranges are dropped, running more of this code would fault it back in
        var ranges = new ulong[256];
        int n = 0;
        ulong start = 0, end = 0;
        bool candidate = false;
        foreach (var l in smaps)
        {
            if (ProcSelf.TryParseMapping(l, out ulong s, out ulong e, out string perms, out string path))
            {
                candidate = perms is "r-xp" or "r--p" && path.StartsWith('/');
                (start, end) = (s, e);
            }
            else if (candidate && l.StartsWith("Anonymous:", StringComparison.Ordinal))
            {
                candidate = false;
                if (l.AsSpan(10).Trim().StartsWith("0 ") && n + 2 <= ranges.Length) { ranges[n++] = start; ranges[n++] = end; }
            }
        }
        smaps = [];
        // start-up garbage (the spec, this file's text) goes now, so the heap pages it held can be decommitted
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers(); // the finalizer thread must be done touching code before the drop
        for (int i = 0; i < n; i += 2)
            madvise((void*)ranges[i], (nuint)(ranges[i + 1] - ranges[i]), 4 /* MADV_DONTNEED */);
    }

    /// <summary>Relays the two pipes into the log until the process is gone; returns its wait status.</summary>
    private static int Supervise(int pid, int outFd, int errFd, ref int logFd, byte[] buf, byte[] line)
    {
        int pidfd = PidfdOpen(pid);
        var fds = stackalloc PollFd[5];
        bool outOpen = true, errOpen = true;
        int status = 0;
        bool exited = false, released = false;
        while (outOpen || errOpen || !exited)
        {
            int n = 0;
            int iOut = -1, iErr = -1, iPid = -1;
            if (outOpen) { iOut = n; fds[n++] = new PollFd { Fd = outFd, Events = POLLIN }; }
            if (errOpen) { iErr = n; fds[n++] = new PollFd { Fd = errFd, Events = POLLIN }; }
            if (!exited) { iPid = n; fds[n++] = new PollFd { Fd = pidfd, Events = POLLIN }; }
            if (!exited && _health is not null) n = _health.AddFds(fds, n);
            // the first quiet half second after start-up hands back the code pages start-up touched
            int timeout = exited ? 500 : released ? -1 : 500;
            if (!exited && _health is not null) timeout = _health.Timeout(timeout);
            int r = poll(fds, (ulong)n, timeout);
            if (r < 0) { if (Errno == 4) continue; break; }
            if (r == 0 && !exited && !released) { ReleaseCodePages(); released = true; if (_health is null) continue; }
            if (r == 0 && exited) break; // orphaned writers after init died: give up on the pipes
            if (iOut >= 0 && fds[iOut].Revents != 0) outOpen = Pump(outFd, "stdout", ref logFd, buf, line);
            if (iErr >= 0 && fds[iErr].Revents != 0) errOpen = Pump(errFd, "stderr", ref logFd, buf, line);
            if (iPid >= 0 && fds[iPid].Revents != 0)
            {
                int st;
                if (wait4Blocking(pid, &st, 0, null) == pid) status = st;
                exited = true;
            }
            if (!exited) _health?.Service(fds);
        }
        if (!exited) { int st; wait4Blocking(pid, &st, 0, null); status = st; }
        close(outFd); close(errFd); close(pidfd);
        return status;
    }

    /// <summary>Reads one chunk and writes it as log records "&lt;time&gt; &lt;stream&gt; F|P &lt;text&gt;" (P = partial line).</summary>
    private static bool Pump(int fd, string stream, ref int logFd, byte[] buf, byte[] line)
    {
        nint n;
        fixed (byte* b = buf) n = read(fd, b, buf.Length);
        if (n <= 0) return n < 0 && Errno == 4;
        LogChunk(n, stream, ref logFd, buf, line);
        return true;
    }

    /// <summary>Writes the first <paramref name="n"/> bytes of <paramref name="buf"/> as log records.</summary>
    private static void LogChunk(nint n, string stream, ref int logFd, byte[] buf, byte[] line)
    {
        var ts = DateTime.UtcNow;
        int start = 0;
        while (start < n)
        {
            int nl = Array.IndexOf(buf, (byte)'\n', start, (int)n - start);
            int end = nl < 0 ? (int)n : nl;
            int len = 0;
            ts.TryFormat(line.AsSpan(), out int tl, "yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
            len = tl;
            line[len++] = (byte)' ';
            len += Encoding.ASCII.GetBytes(stream, line.AsSpan(len));
            line[len++] = (byte)' ';
            line[len++] = nl < 0 ? (byte)'P' : (byte)'F';
            line[len++] = (byte)' ';
            buf.AsSpan(start, end - start).CopyTo(line.AsSpan(len));
            len += end - start;
            line[len++] = (byte)'\n';
            fixed (byte* l = line) LogWrite(logFd, l, len);
            start = end + 1;
            _logSize += len;
            // between two records, never inside one
            if (_logMax > 0 && _logSize >= _logMax) logFd = RotateLog(logFd);
        }
    }

    /// <summary>The attach socket (run -t), listening in the state directory; -1 without a terminal.</summary>
    private static int _attachFd = -1;

    /// <summary>The container has ended for good: nobody can attach any more.</summary>
    private static void EndAttach()
    {
        if (_attachFd < 0) return;
        close(_attachFd);
        _attachFd = -1;
        byte* name = NStr.Of(Tty.SocketName);
        unlink(name);
    }

    /// <summary>Output read from the terminal before any client attached, handed to the first one (at most 64 KiB).</summary>
    private const int PendingTtyMax = 64 * 1024;

    /// <summary>
    /// <see cref="Supervise"/> for a process on a terminal: what the master gives is logged (stdout, as docker
    /// logs a tty container) and sent to the attached client; what the client sends is written to the master.
    /// One client at a time (a second one is refused: its connection is closed at once). The client gets the
    /// master as well, only to set the window size. Ends when the process has exited and the master is drained.
    /// </summary>
    private static int SuperviseTty(int pid, int master, int outFd, int errFd, ref int logFd, byte[] buf, byte[] line)
    {
        // nothing writes the pipes (the child's 0-2 are the terminal)
        close(outFd); close(errFd);
        int pidfd = PidfdOpen(pid);
        var fds = stackalloc PollFd[6];
        int client = -1, status = 0;
        bool exited = false, masterOpen = true, everAttached = false;
        byte[]? pending = null;
        int pendingLen = 0;
        while (masterOpen)
        {
            int n = 0;
            int iM = n; fds[n++] = new PollFd { Fd = master, Events = POLLIN };
            int iL = -1, iC = -1, iP = -1;
            if (_attachFd >= 0) { iL = n; fds[n++] = new PollFd { Fd = _attachFd, Events = POLLIN }; }
            if (client >= 0) { iC = n; fds[n++] = new PollFd { Fd = client, Events = POLLIN }; }
            if (!exited) { iP = n; fds[n++] = new PollFd { Fd = pidfd, Events = POLLIN }; }
            if (!exited && _health is not null) n = _health.AddFds(fds, n);
            // after the exit: what is left on the master, then done (a background process may hold the terminal)
            int r = poll(fds, (ulong)n, exited ? 100 : _health is not null ? _health.Timeout(-1) : -1);
            if (r < 0) { if (Errno == 4) continue; break; }
            if (r == 0 && exited) break;
            if ((fds[iM].Revents & (POLLIN | POLLHUP | POLLERR)) != 0)
            {
                nint got;
                fixed (byte* b = buf) got = read(master, b, buf.Length);
                if (got > 0)
                {
                    if (client >= 0) { if (!SendAll(client, buf, (int)got)) { close(client); client = -1; } }
                    else if (!everAttached)
                    {
                        pending ??= new byte[PendingTtyMax];
                        int take = Math.Min((int)got, PendingTtyMax - pendingLen);
                        Array.Copy(buf, 0, pending, pendingLen, take);
                        pendingLen += take;
                    }
                    LogChunk(got, "stdout", ref logFd, buf, line);
                }
                else if (!(got < 0 && Errno == 4)) masterOpen = false; // EIO: every holder of the terminal has closed it
            }
            if (iL >= 0 && fds[iL].Revents != 0)
            {
                int c = Tty.Accept(_attachFd);
                if (c >= 0 && client >= 0) close(c);
                else if (c >= 0)
                {
                    client = c;
                    everAttached = true;
                    if (!Tty.SendFd(client, master) || (pendingLen > 0 && !SendAll(client, pending!, pendingLen))) { close(client); client = -1; }
                    pending = null; pendingLen = 0;
                }
            }
            if (iC >= 0 && fds[iC].Revents != 0)
            {
                nint got;
                fixed (byte* b = buf) got = read(client, b, buf.Length);
                if (got > 0) { fixed (byte* b = buf) write(master, b, got); }
                else if (!(got < 0 && Errno == 4)) { close(client); client = -1; }
            }
            if (iP >= 0 && fds[iP].Revents != 0)
            {
                int st;
                if (wait4Blocking(pid, &st, 0, null) == pid) status = st;
                exited = true;
            }
            if (!exited) _health?.Service(fds);
        }
        if (!exited) { int st; wait4Blocking(pid, &st, 0, null); status = st; }
        // the client sees the end of its connection: the process has ended
        if (client >= 0) close(client);
        close(master); close(pidfd);
        return status;
    }

    private static bool SendAll(int fd, byte[] data, int len)
    {
        int off = 0;
        while (off < len)
        {
            nint w;
            fixed (byte* b = data) w = Tty.send(fd, b + off, len - off, 0x4000 /* MSG_NOSIGNAL */);
            if (w < 0 && Errno == 4) continue;
            if (w <= 0) return false;
            off += (int)w;
        }
        return true;
    }

    /// <summary>
    /// docker's max-size/max-file: ctr.log becomes ctr.log.1, ctr.log.1 becomes ctr.log.2 and so on, the oldest
    /// beyond max-file is deleted, and a new ctr.log is opened (with max-file 1, the log is emptied instead).
    /// Readers follow the rename (Get-ContainerLog reads ctr.log.N ... ctr.log.1, ctr.log). Returns the new
    /// descriptor; the old one when the rotation failed (the log then grows, rather than losing output).
    /// </summary>
    private static int RotateLog(int logFd)
    {
        try
        {
            if (_logFiles <= 1)
            {
                ftruncate(logFd, 0);
                _logSize = 0;
                return logFd;
            }
            File.Delete(_logPath + "." + (_logFiles - 1).ToString(CultureInfo.InvariantCulture));
            for (int i = _logFiles - 2; i >= 1; i--)
            {
                string from = _logPath + "." + i.ToString(CultureInfo.InvariantCulture);
                if (File.Exists(from)) File.Move(from, _logPath + "." + (i + 1).ToString(CultureInfo.InvariantCulture), true);
            }
            File.Move(_logPath, _logPath + ".1", true);
        }
        catch (IOException) { return logFd; }
        catch (UnauthorizedAccessException) { return logFd; }
        int fd = open(NStr.Of(_logPath), 0x40 | 1 | 0x400 | 0x80000 /* O_CREAT|O_WRONLY|O_APPEND|O_CLOEXEC */, 0x1a0);
        if (fd < 0) return logFd;
        close(logFd);
        _logSize = 0;
        return fd;
    }

    /// <summary>
    /// A spare is started with a long placeholder argument; once it knows its container it rewrites its argument
    /// area to read "monitor &lt;statedir&gt;", as a monitor started for the container would, so ps shows which
    /// container it serves and the engine's search for a state directory's helpers finds it. The last byte
    /// stays NUL so the kernel reports the area as NUL-separated arguments.
    /// </summary>
    private static void Retitle(string dir)
    {
        if (ProcSelf.ArgumentArea() is not var (start, length)) return;
        var area = new Span<byte>((void*)start, length);
        int arg1 = area.IndexOf((byte)0) + 1;
        byte[] title = Encoding.UTF8.GetBytes("monitor\0" + dir + "\0");
        if (arg1 <= 0 || arg1 + title.Length > area.Length) return;
        title.CopyTo(area[arg1..]);
        area[(arg1 + title.Length)..].Clear();
    }

    /// <summary>The spec file as it is now (the engine may have rewritten its networks since the start); the loaded one if it cannot be read.</summary>
    private static Spec ReloadSpec(Spec loaded)
    {
        try { return Spec.Load(Path.Combine(_dir, "spec")); }
        catch (IOException) { return loaded; }
    }

    /// <summary>One line from a descriptor, read a byte at a time (nothing past the newline is consumed); null at end of input.</summary>
    private static string? ReadLine(int fd)
    {
        var b = stackalloc byte[4096];
        int n = 0;
        while (n < 4096)
        {
            nint r = readBlocking(fd, b + n, 1);
            if (r < 0 && Errno == 4) continue;
            if (r <= 0) return null;
            if (b[n] == (byte)'\n') return Encoding.UTF8.GetString(b, n);
            n++;
        }
        return null;
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

    /// <summary>The host's network namespace, kept by a spare that has moved into a fresh one; -1 otherwise.</summary>
    private static int _hostNet = -1;

    /// <summary>
    /// A spare makes the fresh network namespace (loopback up) a container without a network gets, while it waits:
    /// creating one is the slowest part of the clone. Best effort; a failure leaves it in the host's namespace.
    /// </summary>
    private static void PrepareNetwork()
    {
        byte* self = NStr.Of("/proc/self/ns/net");
        int host = open(self, 0x80000 /* O_CLOEXEC */, 0);
        if (host < 0) return;
        if (unshare((int)CLONE_NEWNET) != 0) { close(host); return; }
        if (!ContainerChild.LoopbackUp()) { setns(host, (int)CLONE_NEWNET); close(host); return; }
        _hostNet = host;
    }

    private static string? EnterNetwork(Spec spec, ChildPlan plan)
    {
        string? ns = spec.Get("netns");
        if (ns == "new")
        {
            // the spare's prepared namespace serves as is (restarts stay in it); otherwise the clone makes one
            plan.NewNet = _hostNet < 0;
            CloseHostNet();
            return null;
        }
        if (_hostNet >= 0 && setns(_hostNet, (int)CLONE_NEWNET) != 0) return "cannot return to the host's network namespace: errno " + Errno;
        CloseHostNet();
        return EnterNetwork(ns);
    }

    private static void CloseHostNet()
    {
        if (_hostNet >= 0) close(_hostNet);
        _hostNet = -1;
    }

    /// <summary>
    /// A PID or IPC namespace to share: "host" stays in the host's (the monitor's own), a path (another container's
    /// /proc/&lt;pid&gt;/ns/...) is joined; absent: the clone makes a new one.
    /// </summary>
    private static string? EnterNamespace(string? ns, ulong type, ref bool joined)
    {
        if (ns is null) return null;
        joined = true;
        if (ns == "host") return null;
        int fd = open(NStr.Of(ns), 0x80000, 0);
        if (fd < 0) return $"cannot open {ns} (has the other container stopped?): errno {Errno}";
        int ok = setns(fd, (int)type);
        int e = Errno;
        close(fd);
        return ok == 0 ? null : $"cannot join {ns}: errno {e}";
    }

    /// <summary>Joins or creates and pins the network namespace ("host" = stay in the host's).</summary>
    private static string? EnterNetwork(string? ns)
    {
        if (ns is null or "host") return null;
        if (ns.StartsWith("join:", StringComparison.Ordinal))
        {
            // --network container:X: X's namespace as it is, never created or pinned here
            int jfd = open(NStr.Of(ns[5..]), 0x80000, 0);
            if (jfd < 0) return $"cannot open {ns[5..]} (has the other container stopped?): errno {Errno}";
            int jok = setns(jfd, (int)CLONE_NEWNET);
            int je = Errno;
            close(jfd);
            return jok == 0 ? null : $"cannot join {ns[5..]}: errno {je}";
        }
        byte* path = NStr.Of(ns);
        int fd = open(path, 0x80000, 0);
        if (fd >= 0)
        {
            int ok = setns(fd, (int)CLONE_NEWNET);
            close(fd);
            if (ok == 0) return null;
        }
        // not pinned yet: a fresh namespace for this process (its clone inherits it), loopback up, then pinned
        if (unshare((int)CLONE_NEWNET) != 0) return "unshare: errno " + Errno;
        ContainerChild.LoopbackUp();
        int f = open(path, 0x40 | 1 | 0x80000, 0x1a4);
        if (f >= 0) close(f);
        byte* self = NStr.Of("/proc/thread-self/ns/net");
        if (mount(self, path, null, MS_BIND, null) != 0) return "bind mount: errno " + Errno;
        return null;
    }

    /// <summary>SIGKILL to every process listed in a cgroup.procs file, until it lists none (a second at most).</summary>
    internal static void KillCgroup(string? procs)
    {
        if (procs is null) return;
        for (int round = 0; round < 100; round++)
        {
            string[] pids;
            try { pids = File.ReadAllLines(procs); }
            catch (IOException) { return; }
            bool any = false;
            foreach (var l in pids)
                if (int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p > 0) { kill(p, 9); any = true; }
            if (!any) return;
            Sleep(10);
        }
    }

    private static long ReadCounter(string? file, string key)
    {
        if (file is null) return 0;
        try
        {
            foreach (string l in File.ReadAllLines(file))
                if (l.StartsWith(key + " ", StringComparison.Ordinal) && long.TryParse(l.AsSpan(key.Length + 1), out long v)) return v;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }

    private static string[] _cgroupDirs = [];
    private static HealthMonitor? _health;
    private static string? _oomFile;
    private static string _oomKey = "oom_kill";

    /// <summary>
    /// The container has ended for good: its final figures go into the status (CPU time in ns, peak memory,
    /// OOM kills: what Measure-Container answers for an exited container) and its cgroup directories are
    /// removed, as docker and podman remove them when a container stops, so exited containers hold no kernel
    /// cgroups. A directory still busy after a short wait (a process that has not been reaped yet, an exec
    /// helper still leaving) stays; the engine removes it at the next start or removal, and
    /// Test-ContainerStore reports it. Called before the final status write, so a status that says exited
    /// after a monitor's end means its cgroups were dealt with.
    /// </summary>
    private static void EndCgroups()
    {
        if (_cgroupDirs.Length == 0) return;
        long cpuNs = -1, peak = -1;
        foreach (var d in _cgroupDirs)
        {
            if (cpuNs < 0 && ReadFirstLong(Path.Combine(d, "cpuacct.usage")) is long ns) cpuNs = ns;
            if (cpuNs < 0 && ReadCounter(Path.Combine(d, "cpu.stat"), "usage_usec") is long us and > 0) cpuNs = us * 1000;
            if (peak < 0 && (ReadFirstLong(Path.Combine(d, "memory.max_usage_in_bytes")) ?? ReadFirstLong(Path.Combine(d, "memory.peak"))) is long p) peak = p;
        }
        Status["cputime"] = Math.Max(0, cpuNs).ToString(CultureInfo.InvariantCulture);
        Status["memorypeak"] = Math.Max(0, peak).ToString(CultureInfo.InvariantCulture);
        Status["oomkills"] = ReadCounter(_oomFile, _oomKey).ToString(CultureInfo.InvariantCulture);
        foreach (var d in _cgroupDirs)
        {
            // rmdir (cgroup directories hold only the kernel's files); EBUSY while a dead process is still counted
            for (int attempt = 0; attempt < 50; attempt++)
            {
                try { Directory.Delete(d); break; }
                catch (DirectoryNotFoundException) { break; }
                catch (IOException) { Sleep(10); }
                catch (UnauthorizedAccessException) { break; }
            }
        }
        _cgroupDirs = [];
    }

    private static long? ReadFirstLong(string file)
    {
        try { return long.TryParse(File.ReadAllText(file).AsSpan().Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static string Now() => DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture);

    private static void Sleep(int ms)
    {
        long* ts = stackalloc long[2];
        ts[0] = ms / 1000; ts[1] = (ms % 1000) * 1_000_000L;
        nanosleep(ts, null);
    }

    private static bool _statusPending;

    /// <summary>Writes the status; on a full disk it stays pending (in memory) and <see cref="Drain"/> or the next write retries.</summary>
    private static void WriteStatus() => _statusPending = !TryWriteStatus();

    private static bool TryWriteStatus()
    {
        var sb = new StringBuilder();
        foreach (var kv in Status) sb.Append(kv.Key).Append('=').Append(kv.Value).Append('\n');
        string text = sb.ToString();
        string tmp = Path.Combine(_dir, ".status.tmp"), path = Path.Combine(_dir, "status");
        try
        {
            File.WriteAllText(tmp, text);
            // swapped in (RENAME_EXCHANGE) and the old one deleted: a rename over the existing file makes ext4 start
            // the new file's write-back first (auto_da_alloc), 0.5-4 ms here on each of the two status writes a run
            // waits for (running, exited). After a crash of the machine the status is moot anyway.
            if (Containers.Native.Sys.FileSys.Exchange(tmp, path)) { File.Delete(tmp); return true; }
            File.Move(tmp, path, true);
            return true;
        }
        catch (IOException) { try { File.Delete(tmp); } catch (IOException) { } }
        catch (UnauthorizedAccessException) { return false; }
        // no room for a new file (ENOSPC, EDQUOT): overwrite the existing one in place, whose block is allocated
        // already (the status is far below a block). Not atomic for a reader, which is why it is the fallback.
        try
        {
            byte[] b = Encoding.UTF8.GetBytes(text);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
            fs.Write(b);
            fs.SetLength(b.Length);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Log records that could not be written (full disk), oldest first; at most <see cref="PendingLogMax"/> bytes (the tail).</summary>
    private static readonly Queue<byte[]> PendingLog = new();
    private static int _pendingLogBytes;
    private const int PendingLogMax = 64 * 1024;

    /// <summary>Appends one record to the log, or keeps it in memory (after any older kept ones) when the write fails.</summary>
    private static void LogWrite(int logFd, byte* p, int len)
    {
        if (PendingLog.Count > 0 && !FlushLog(logFd)) { Keep(p, len); return; }
        nint w = write(logFd, p, len);
        if (w == len) return;
        if (w < 0) w = 0;
        Keep(p + w, len - (int)w);
    }

    private static void Keep(byte* p, int len)
    {
        PendingLog.Enqueue(new Span<byte>(p, len).ToArray());
        _pendingLogBytes += len;
        while (_pendingLogBytes > PendingLogMax && PendingLog.Count > 1) _pendingLogBytes -= PendingLog.Dequeue().Length;
    }

    /// <summary>Writes the kept records; false when the disk still refuses (what is left stays kept).</summary>
    private static bool FlushLog(int logFd)
    {
        while (PendingLog.Count > 0)
        {
            byte[] head = PendingLog.Peek();
            nint w;
            fixed (byte* b = head) w = write(logFd, b, head.Length);
            if (w == head.Length) { PendingLog.Dequeue(); _pendingLogBytes -= head.Length; continue; }
            if (w > 0)
            {
                PendingLog.Dequeue();
                _pendingLogBytes -= head.Length;
                var rest = head.AsSpan((int)w).ToArray();
                // put the remainder back at the front
                var all = PendingLog.ToArray();
                PendingLog.Clear();
                PendingLog.Enqueue(rest);
                foreach (var x in all) PendingLog.Enqueue(x);
                _pendingLogBytes += rest.Length;
            }
            return false;
        }
        return true;
    }

    /// <summary>
    /// Before the monitor ends: the kept log lines and a status it could not write are written once there is
    /// room (a stop or removal releases the root's reserve first; any freed space will do). Retries every
    /// 200 ms for at most ten minutes, and gives up at once if the state directory is gone (removed).
    /// </summary>
    private static void Drain(int logFd)
    {
        for (int i = 0; i < 3000; i++)
        {
            bool logDone = FlushLog(logFd);
            if (_statusPending) _statusPending = !TryWriteStatus();
            if (logDone && !_statusPending) return;
            if (!Directory.Exists(_dir)) return;
            Sleep(200);
        }
    }

    /// <summary>
    /// Appends one event about this container to the root's event log (EventAppend: one O_APPEND write, the
    /// engine's format); best effort. The name is the one the container had when it was started.
    /// </summary>
    internal static void Event(string action, params (string Key, string Value)[] attributes)
    {
        if (_events is null || _id is null) return;
        var attrs = new List<KeyValuePair<string, string>>(attributes.Length + 1);
        if (_image is not null) attrs.Add(new("image", _image));
        foreach (var (k, v) in attributes) attrs.Add(new(k, v));
        Containers.Native.Sys.EventAppend.Append(_events, Containers.Native.Sys.EventAppend.Format(
            DateTime.UtcNow, "container", action, _id, _name, attrs, Containers.Native.Sys.Ids.EffectiveUserId, getpid(), "containers-helper"));
    }

    private static (string, long)? ReadPolicyUpdate()
    {
        try
        {
            var parts = File.ReadAllText(Path.Combine(_dir, "restart-policy")).Split(' ');
            return parts.Length == 2 && long.TryParse(parts[1], out long max) ? (parts[0], max) : null;
        }
        catch (IOException) { return null; }
    }

        private static int Report(string line, int code)
    {
        byte[] b = Encoding.UTF8.GetBytes(line + "\n");
        fixed (byte* p = b) write(1, p, b.Length);
        return code;
    }
}
