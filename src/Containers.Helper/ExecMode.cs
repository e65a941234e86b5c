using System.Globalization;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// "exec &lt;specfile&gt;": runs a process inside a running container. A single-threaded clone joins the
/// container's cgroup and namespaces (setns needs one thread), forks the process into the PID namespace,
/// waits for it and passes its exit code up. With tty=1 the process gets a pseudo-terminal whose master
/// this process relays to its own stdin/stdout (raw mode, window size followed).
/// </summary>
internal static unsafe class ExecMode
{
    /// <summary>The namespaces an exec joins, in order, and their clone flags (the health checks join the same).</summary>
    internal static readonly string[] Namespaces = ["ipc", "uts", "net", "pid", "cgroup", "mnt"];
    internal static readonly int[] NsFlags = [(int)CLONE_NEWIPC, (int)CLONE_NEWUTS, (int)CLONE_NEWNET, (int)CLONE_NEWPID, (int)CLONE_NEWCGROUP, (int)CLONE_NEWNS];

    public static int Run(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("exec: spec file missing"); return 2; }
        Spec spec = Spec.Load(args[1]);
        try { File.Delete(args[1]); } catch (IOException) { }
        int target = (int)spec.Num("pid");
        var plan = new ChildPlan
        {
            Cwd = NStr.Of(spec.Get("cwd") ?? "/"),
            Uid = (uint)spec.Num("uid"),
            Gid = (uint)spec.Num("gid"),
            Caps = ulong.Parse(spec.Get("caps") ?? "0", NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            LastCap = ChildPlan.ReadLastCap(),
            NoNewPrivs = spec.Flag("nnp"),
            Seccomp = SeccompFilter.Prepare(spec.Get("seccomp")),
            Argv = NStr.Array(spec.All("arg")),
            Envp = NStr.Array(spec.All("env")),
            ExecCandidates = spec.All("exec").Select(c => (nint)NStr.Of(c)).ToArray(),
            CgroupProcs = spec.All("cgroup").Select(c => (nint)NStr.Of(c)).ToArray(),
            Rlimits = ChildPlan.ParseRlimits(spec),
        };
        var groups = (spec.Get("groups") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
        plan.NGroups = groups.Length;
        plan.Groups = (uint*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, groups.Length), 4);
        for (int i = 0; i < groups.Length; i++) plan.Groups[i] = uint.Parse(groups[i], CultureInfo.InvariantCulture);

        var nsFds = new int[Namespaces.Length];
        for (int i = 0; i < Namespaces.Length; i++)
        {
            nsFds[i] = open(NStr.Of($"/proc/{target}/ns/{Namespaces[i]}"), 0x80000, 0);
            if (nsFds[i] < 0) { Console.Error.WriteLine($"exec: the container is not running (cannot open its {Namespaces[i]} namespace)"); return 126; }
        }
        // a container in a user namespace of its own: joined last, after the namespaces it owns (and the network
        // namespace, which the host's owns) were joined with the host's privileges
        int userNs = -1;
        bool rootless = spec.Flag("rootless");
        if (spec.Flag("userns") || rootless)
        {
            userNs = open(NStr.Of($"/proc/{target}/ns/user"), 0x80000, 0);
            if (userNs < 0) { Console.Error.WriteLine("exec: the container is not running (cannot open its user namespace)"); return 126; }
        }
        bool tty = spec.Flag("tty");
        bool detach = spec.Flag("detach");
        // the exec'd process's stdio pipes are the container root's, as the first process's (Monitor): one that
        // reopens them (/dev/stdout) is not refused a host root's pipe; a terminal or /dev/null is left as it is
        if (userNs >= 0 && !tty && !detach && RangeStart(target) is uint start)
            for (int fd = 0; fd < 3; fd++)
                if (new FileInfo($"/proc/self/fd/{fd}").LinkTarget?.StartsWith("pipe:", StringComparison.Ordinal) == true)
                    fchown(fd, start, start);
        int master = -1, slave = -1;
        if (tty)
        {
            // the pty comes from the container's own devpts instance, so ttyname() works inside
            string pts = $"/proc/{target}/root/dev/pts/";
            master = open(NStr.Of(pts + "ptmx"), 2 | 0x100 | 0x80000 /* O_RDWR|O_NOCTTY|O_CLOEXEC */, 0);
            if (master < 0) master = posix_openpt(2 | 0x100 | 0x80000);
            unlockpt(master);
            uint ptn = 0;
            ioctl(master, 0x80045430 /* TIOCGPTN */, &ptn);
            slave = open(NStr.Of(pts + ptn.ToString(CultureInfo.InvariantCulture)), 2 | 0x100 | 0x80000, 0);
            if (slave < 0)
            {
                byte* name = stackalloc byte[128];
                ptsname_r(master, name, 128);
                slave = open(name, 2 | 0x100 | 0x80000, 0);
            }
            ushort* ws = stackalloc ushort[4];
            if (ioctl(0, 0x5413 /* TIOCGWINSZ */, ws) == 0) ioctl(master, 0x5414, ws);
        }
        if (detach)
        {
            setsid();
            int dn = open(NStr.Of("/dev/null"), 2, 0);
            plan.StdinFd = dn; plan.StdoutFd = dn; plan.StderrFd = dn;
        }
        int* sync = stackalloc int[2];
        pipe2(sync, 0x80000);
        plan.ErrFd = sync[1];

        int pid = Clone((ulong)SIGCHLD);
        if (pid == 0)
        {
            // single-threaded from here: join, then fork into the PID namespace
            ulong none = 0;
            sigprocmask(2, &none, null);
            for (int sig = 1; sig < 65; sig++) if (sig != SIGKILL && sig != SIGSTOP) signal(sig, 0);
            byte zero = (byte)'0';
            for (int i = 0; i < plan.CgroupProcs.Length; i++)
            {
                int fd = open((byte*)plan.CgroupProcs[i], 1, 0);
                if (fd >= 0) { write(fd, &zero, 1); close(fd); }
            }
            // rootless: the user namespace first; it owns the others, and only in it has this process the privilege to join them
            if (rootless && setns(userNs, (int)CLONE_NEWUSER) != 0) ChildFail(plan, ChildPlan.StepUserNs);
            for (int i = 0; i < nsFds.Length; i++)
                if (setns(nsFds[i], NsFlags[i]) != 0) ChildFail(plan, ChildPlan.StepNetns - 100 - i);
            if (!rootless && userNs >= 0 && setns(userNs, (int)CLONE_NEWUSER) != 0) ChildFail(plan, ChildPlan.StepUserNs);
            int inner = Clone((ulong)SIGCHLD);
            if (inner == 0)
            {
                // a session of its own, like the container's first process: its kill 0 reaches only itself
                // and its children, never this helper or the pwsh that started it
                setsid();
                if (tty)
                {
                    ioctl(slave, 0x540E /* TIOCSCTTY */, null);
                    dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
                }
                else
                {
                    if (plan.StdinFd >= 0) dup2(plan.StdinFd, 0);
                    if (plan.StdoutFd >= 0) dup2(plan.StdoutFd, 1);
                    if (plan.StderrFd >= 0) dup2(plan.StderrFd, 2);
                }
                ContainerChild.ApplyRlimits(plan);
                if (!plan.NoNewPrivs && SeccompFilter.Load(plan.Seccomp) != 0) ChildFail(plan, ChildPlan.StepSeccomp);
                ContainerChild.SetUserAndCaps(plan);
                if (chdir(plan.Cwd) != 0) ChildFail(plan, ChildPlan.StepCwd);
                CloseRangeCloexec(3);
                if (plan.NoNewPrivs && SeccompFilter.Load(plan.Seccomp) != 0) ChildFail(plan, ChildPlan.StepSeccomp);
                ContainerChild.Exec(plan);
            }
            if (inner < 0) ChildFail(plan, ChildPlan.StepExec);
            close(plan.ErrFd);
            int st;
            while (wait4(inner, &st, 0, null) < 0 && Errno == 4) { }
            _exit(ExitCodeOf(st));
        }
        close(sync[1]);
        if (slave >= 0) close(slave);
        int* msg = stackalloc int[2];
        nint got = 0;
        while (true)
        {
            nint n = readBlocking(sync[0], (byte*)msg + got, 8 - got);
            if (n < 0 && Errno == 4) continue;
            if (n <= 0) break;
            got += n;
            if (got == 8) break;
        }
        if (got == 8)
        {
            int st0;
            wait4Blocking(pid, &st0, 0, null);
            string what = msg[0] <= ChildPlan.StepNetns - 100 ? "join the container's " + Namespaces[ChildPlan.StepNetns - 100 - msg[0]] + " namespace" : new ChildPlan().Describe(msg[0]);
            Console.Error.WriteLine($"exec: cannot {what}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(msg[1])}");
            // the shell's codes: 127 the command was not found, 126 it was found but could not be executed
            return msg[0] == ChildPlan.StepExec && msg[1] is 2 or 20 ? 127 : 126;
        }
        if (detach) return 0;
        if (tty) Relay(master, pid);
        int status;
        while (wait4Blocking(pid, &status, 0, null) < 0 && Errno == 4) { }
        return ExitCodeOf(status);
    }

    private static void ChildFail(ChildPlan p, int step)
    {
        int* m = stackalloc int[2];
        m[0] = step; m[1] = Errno;
        write(p.ErrFd, (byte*)m, 8);
        _exit(126);
    }

    /// <summary>Copies our stdin to the pty master and the master to our stdout until the process ends.</summary>
    private static void Relay(int master, int pid)
    {
        byte* saved = stackalloc byte[64];
        byte* raw = stackalloc byte[64];
        bool isTty = isatty(0) == 1 && tcgetattr(0, saved) == 0;
        if (isTty)
        {
            for (int i = 0; i < 64; i++) raw[i] = saved[i];
            cfmakeraw(raw);
            tcsetattr(0, 0, raw);
        }
        int pidfd = PidfdOpen(pid);
        var fds = stackalloc PollFd[3];
        byte* buf = stackalloc byte[8192];
        ushort* ws = stackalloc ushort[4];
        ushort* last = stackalloc ushort[4];
        bool stdinOpen = true;
        while (true)
        {
            if (isTty && ioctl(0, 0x5413, ws) == 0 && (ws[0] != last[0] || ws[1] != last[1]))
            {
                ioctl(master, 0x5414, ws);
                last[0] = ws[0]; last[1] = ws[1];
            }
            fds[0] = new PollFd { Fd = master, Events = POLLIN };
            fds[1] = new PollFd { Fd = pidfd, Events = POLLIN };
            fds[2] = new PollFd { Fd = stdinOpen ? 0 : -1, Events = POLLIN };
            int r = poll(fds, 3, 250);
            if (r < 0 && Errno != 4) break;
            if ((fds[0].Revents & POLLIN) != 0)
            {
                nint n = read(master, buf, 8192);
                if (n > 0) write(1, buf, n);
            }
            else if ((fds[0].Revents & (POLLHUP | POLLERR)) != 0) break;
            if (stdinOpen && fds[2].Revents != 0)
            {
                nint n = read(0, buf, 8192);
                if (n > 0) write(master, buf, n); else stdinOpen = false;
            }
            if (fds[1].Revents != 0)
            {
                // drain what is left on the master
                while (true)
                {
                    fds[0] = new PollFd { Fd = master, Events = POLLIN };
                    if (poll(fds, 1, 50) <= 0 || (fds[0].Revents & POLLIN) == 0) break;
                    nint n = read(master, buf, 8192);
                    if (n <= 0) break;
                    write(1, buf, n);
                }
                break;
            }
        }
        if (isTty) tcsetattr(0, 0, saved);
        close(pidfd);
    }

    /// <summary>The host id of the container's root (the first line of its uid_map), or null.</summary>
    private static uint? RangeStart(int pid)
    {
        try
        {
            var f = File.ReadAllText($"/proc/{pid}/uid_map").Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return f.Length >= 3 && f[0] == "0" && uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint s) ? s : null;
        }
        catch (IOException) { return null; }
    }
}
