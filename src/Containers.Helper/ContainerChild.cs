using System.Globalization;
using Containers.Native.Proc;
using RootedFs = Containers.Native.Sys.RootedFs;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>One prepared set-up step of the container child (all strings already in native memory).</summary>
internal unsafe struct ChildOp
{
    public int Kind;   // 1 mount, 2 mkdir, 3 mknod, 4 symlink, 5 touch
    public int Flags;  // 1 ignore ENOENT, 2 ignore any error, 4 the mount source is a container path
    public byte* A, B, C, D;
    public ulong N1, N2;
    /// <summary>
    /// What kinds 2-5 make: its directory (relative to the container's root, "." for the root) and its name.
    /// Container paths (these, a mount's target, a flag-4 source) are relative and resolved in the root by the child.
    /// </summary>
    public byte* Parent, Name;
}

/// <summary>
/// Everything the container's first process needs, prepared before clone() so the child only makes
/// system calls: no allocation, no locks, errors written as (step, errno) to a pipe, then _exit.
/// </summary>
internal sealed unsafe class ChildPlan
{
    public const int StepNetns = -1, StepCgroup = -2, StepCgroupNs = -3, StepPrivate = -4, StepRootfs = -5,
        StepReadOnly = -6, StepPivot = -7, StepHostname = -8, StepUser = -9, StepCaps = -10, StepCwd = -11,
        StepExec = -12, StepInit = -13, StepNnp = -14, StepRlimit = -15;

    public int NetNsFd = -1;
    /// <summary>Cloned into a fresh network namespace (network none): the child brings loopback up itself.</summary>
    public bool NewNet;
    public nint[] CgroupProcs = [];
    /// <summary>(resource, soft, hard) triples; ulong.MaxValue = unlimited.</summary>
    public ulong[] Rlimits = [];
    public byte* Root;
    public byte* OverlayData;
    public byte* BindRoot;
    public ChildOp[] Ops = [];
    public string[] OpNames = [];
    public bool ReadOnly;
    public byte* Hostname;
    public byte* Cwd;
    public uint Uid, Gid;
    public uint* Groups;
    public int NGroups;
    public ulong Caps;
    public int LastCap;
    public bool NoNewPrivs;
    public bool Init;
    /// <summary>-Init: this process's argument area (/proc/self/stat fields 48-49) and what PID 1 shows there instead.</summary>
    public byte* ArgStart;
    public int ArgLength;
    public byte* InitTitle;
    public byte** Argv;
    public byte** Envp;
    public nint[] ExecCandidates = [];
    public int StdinFd = -1, StdoutFd = -1, StderrFd = -1, ErrFd = -1;
    public byte* DevNull;

    /// <summary>
    /// PID 1 of an -Init container is a clone of the monitor, so its command line would be the monitor's
    /// (the helper's host path and the container's state directory). It overwrites its copy of the argument
    /// area with "init -- &lt;command&gt;" (cut to fit, NUL-padded), prepared here before clone.
    /// </summary>
    private static void PrepareInitTitle(ChildPlan p, IEnumerable<string> args)
    {
        if (ProcSelf.ArgumentArea() is not var (start, len)) return;
        byte[] title = System.Text.Encoding.UTF8.GetBytes("init\0--\0" + string.Join("\0", args));
        p.InitTitle = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed((nuint)len);
        // keep the last byte NUL so the kernel reports the area as NUL-separated arguments
        new ReadOnlySpan<byte>(title, 0, Math.Min(title.Length, len - 1)).CopyTo(new Span<byte>(p.InitTitle, len));
        p.ArgStart = (byte*)start;
        p.ArgLength = len;
    }

    /// <summary>The spec's "rlimit=resource:soft:hard" values as triples (-1 -> unlimited).</summary>
    public static ulong[] ParseRlimits(Spec s) => s.All("rlimit").SelectMany(r =>
    {
        var f = r.Split(':');
        static ulong L(string v) => v == "-1" ? ulong.MaxValue : ulong.Parse(v, CultureInfo.InvariantCulture);
        return new[] { ulong.Parse(f[0], CultureInfo.InvariantCulture), L(f[1]), L(f[2]) };
    }).ToArray();

    public static ChildPlan FromSpec(Spec s)
    {
        var p = new ChildPlan();
        string root = s.Req("merged");
        p.Root = NStr.Of(root);
        p.OverlayData = NStr.Of(s.Get("overlay"));
        p.BindRoot = NStr.Of(s.Get("bindroot"));
        p.CgroupProcs = s.All("cgroup").Select(c => (nint)NStr.Of(c)).ToArray();
        p.Rlimits = ParseRlimits(s);
        var ops = new List<ChildOp>();
        var names = new List<string>();
        foreach (string raw in s.All("op"))
        {
            string[] f = raw.Split('\x1f');
            // kind, flags, a, b, c, d, n1, n2 ; a/b are container paths when the kind says so: made relative to
            // the root here and resolved inside it by the child (openat2 RESOLVE_IN_ROOT), never as host paths,
            // so a link the container left in its writable layer (/data -> /etc) cannot send a mkdir, a touch or a
            // mount to the host
            int kind = f[0] switch { "mount" => 1, "mkdir" => 2, "mknod" => 3, "symlink" => 4, "touch" => 5, _ => 0 };
            int flags = int.Parse(f[1], CultureInfo.InvariantCulture);
            string a = f[2], b = f[3], c = f[4], d = f[5];
            ulong n1 = ulong.Parse(f[6], CultureInfo.InvariantCulture), n2 = ulong.Parse(f[7], CultureInfo.InvariantCulture);
            static string In(string x) => x.Length == 0 ? "" : RootedFs.Clean(x) is { Length: > 0 } r ? r : ".";
            string made = "";
            switch (kind)
            {
                case 1: if ((flags & 4) != 0) a = In(a); b = In(b); break;
                case 2: case 3: case 5: made = a = In(a); break;
                case 4: made = b = In(b); break;
                default: continue;
            }
            int slash = made.LastIndexOf('/');
            ops.Add(new ChildOp
            {
                Kind = kind, Flags = flags, A = a.Length == 0 ? null : NStr.Of(a), B = b.Length == 0 ? null : NStr.Of(b),
                C = c.Length == 0 ? null : NStr.Of(c), D = d.Length == 0 ? null : NStr.Of(d), N1 = n1, N2 = n2,
                Parent = made.Length == 0 ? null : NStr.Of(slash < 0 ? "." : made[..slash]),
                Name = made.Length == 0 ? null : NStr.Of(made[(slash + 1)..]),
            });
            names.Add($"{f[0]} {f[2]} {f[3]}".TrimEnd());
        }
        p.Ops = ops.ToArray();
        p.OpNames = names.ToArray();
        p.ReadOnly = s.Flag("readonly");
        p.Hostname = NStr.Of(s.Get("hostname") ?? "container");
        p.Cwd = NStr.Of(s.Get("cwd") ?? "/");
        p.Uid = (uint)s.Num("uid");
        p.Gid = (uint)s.Num("gid");
        var groups = (s.Get("groups") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(g => uint.Parse(g, CultureInfo.InvariantCulture)).ToArray();
        p.NGroups = groups.Length;
        p.Groups = (uint*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(1, groups.Length), 4);
        for (int i = 0; i < groups.Length; i++) p.Groups[i] = groups[i];
        p.Caps = ulong.Parse(s.Get("caps") ?? "0", NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        p.LastCap = ReadLastCap();
        p.NoNewPrivs = s.Flag("nnp");
        p.Init = s.Flag("init");
        if (p.Init) PrepareInitTitle(p, s.All("arg"));
        p.Argv = NStr.Array(s.All("arg"));
        p.Envp = NStr.Array(s.All("env"));
        p.ExecCandidates = s.All("exec").Select(c => (nint)NStr.Of(c)).ToArray();
        p.DevNull = NStr.Of("/dev/null");
        return p;
    }

    public static int ReadLastCap()
    {
        try { return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim(), CultureInfo.InvariantCulture); }
        catch (IOException) { return 40; }
    }

    public string Describe(int step) => step switch
    {
        >= 0 when step < OpNames.Length => OpNames[step],
        StepNetns => "join the network namespace",
        StepCgroup => "join the cgroup",
        StepCgroupNs => "create the cgroup namespace",
        StepPrivate => "make / private",
        StepRootfs => "mount the root file system",
        StepReadOnly => "make the root file system read-only",
        StepPivot => "pivot_root",
        StepHostname => "sethostname",
        StepUser => "set the user and groups",
        StepCaps => "set the capabilities",
        StepCwd => "change to the working directory",
        StepExec => "execute the command",
        StepInit => "start the init process",
        StepNnp => "set no_new_privs",
        StepRlimit => "set a resource limit (-Ulimit)",
        _ => "step " + step,
    };
}

/// <summary>The code that runs in the cloned child: only system calls until execve.</summary>
internal static unsafe class ContainerChild
{
    private static void Fail(ChildPlan p, int step, int err)
    {
        int* msg = stackalloc int[2];
        msg[0] = step; msg[1] = err;
        write(p.ErrFd, (byte*)msg, 8);
        _exit(127);
    }

    /// <summary>Runs in the child after clone(); never returns.</summary>
    public static void Run(ChildPlan p)
    {
        ulong none = 0;
        sigprocmask(2 /* SIG_SETMASK */, &none, null);
        for (int sig = 1; sig < 65; sig++) if (sig != SIGKILL && sig != SIGSTOP) signal(sig, 0);

        umask(0);
        if (p.NetNsFd >= 0 && setns(p.NetNsFd, (int)CLONE_NEWNET) != 0) Fail(p, ChildPlan.StepNetns, Errno);
        if (p.NewNet && !LoopbackUp()) Fail(p, ChildPlan.StepNetns, Errno);
        byte zero = (byte)'0';
        for (int i = 0; i < p.CgroupProcs.Length; i++)
        {
            int fd = open((byte*)p.CgroupProcs[i], 1 /* O_WRONLY */, 0);
            if (fd < 0 || write(fd, &zero, 1) != 1) Fail(p, ChildPlan.StepCgroup, Errno);
            close(fd);
        }
        if (p.CgroupProcs.Length > 0 && unshare((int)CLONE_NEWCGROUP) != 0) Fail(p, ChildPlan.StepCgroupNs, Errno);

        byte* slash = stackalloc byte[2] { (byte)'/', 0 };
        byte* dot = stackalloc byte[2] { (byte)'.', 0 };
        byte* overlay = stackalloc byte[8] { (byte)'o', (byte)'v', (byte)'e', (byte)'r', (byte)'l', (byte)'a', (byte)'y', 0 };
        if (mount(null, slash, null, MS_REC | MS_PRIVATE, null) != 0) Fail(p, ChildPlan.StepPrivate, Errno);
        int r = p.OverlayData != null
            ? mount(overlay, p.Root, overlay, 0, p.OverlayData)
            : mount(p.BindRoot, p.Root, null, MS_BIND | MS_REC, null);
        if (r != 0) Fail(p, ChildPlan.StepRootfs, Errno);
        // the container's root as a descriptor: every set-up step resolves its container path from here
        int rootFd = open(p.Root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (rootFd < 0) Fail(p, ChildPlan.StepRootfs, Errno);

        for (int i = 0; i < p.Ops.Length; i++)
        {
            ref ChildOp op = ref p.Ops[i];
            int rc = op.Kind switch
            {
                1 => MountIn(rootFd, ref op),
                2 or 3 or 4 or 5 => MakeIn(rootFd, ref op),
                _ => 0,
            };
            if (rc != 0)
            {
                int e = Errno;
                if (op.Kind == 2 && e == 17 /* EEXIST */) continue;
                if ((op.Flags & 2) != 0) continue;
                if ((op.Flags & 1) != 0 && (e == 2 || e == 20)) continue;
                Fail(p, i, e);
            }
        }
        close(rootFd);
        if (p.ReadOnly && mount(null, p.Root, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null) != 0) Fail(p, ChildPlan.StepReadOnly, Errno);

        if (chdir(p.Root) != 0 || PivotRoot(dot, dot) != 0 || umount2(dot, MNT_DETACH) != 0 || chdir(slash) != 0)
            Fail(p, ChildPlan.StepPivot, Errno);
        if (sethostname(p.Hostname, NStr.Len(p.Hostname)) != 0) Fail(p, ChildPlan.StepHostname, Errno);

        if (p.StdinFd >= 0) dup2(p.StdinFd, 0);
        if (p.StdoutFd >= 0) dup2(p.StdoutFd, 1);
        if (p.StderrFd >= 0) dup2(p.StderrFd, 2);

        ApplyRlimits(p);
        SetUserAndCaps(p);
        if (chdir(p.Cwd) != 0) Fail(p, ChildPlan.StepCwd, Errno);
        umask(0x12);
        CloseRangeCloexec(3);
        if (p.Init) RunInit(p);
        Exec(p);
    }

    /// <summary>Sets IFF_UP on "lo" in this process's network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS).</summary>
    public static bool LoopbackUp()
    {
        int s = socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0x80000, 0);
        if (s < 0) return false;
        byte* ifr = stackalloc byte[40];
        for (int i = 0; i < 40; i++) ifr[i] = 0;
        ifr[0] = (byte)'l'; ifr[1] = (byte)'o';
        bool ok = ioctl(s, 0x8913, ifr) == 0;
        *(short*)(ifr + 16) |= 1;
        ok = ok && ioctl(s, 0x8914, ifr) == 0;
        close(s);
        return ok;
    }

    private const int O_PATH = 0x200000, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000, O_NOFOLLOW = 0x20000, EINTR = 4, EAGAIN = 11;

    /// <summary>openat2(root, rel, flags) with the container's root as "/" (RESOLVE_IN_ROOT, no magic links); -1 and errno on failure.</summary>
    private static int OpenInRoot(int root, byte* rel, int flags)
    {
        RootedFs.OpenHow how;
        how.Flags = (ulong)(flags | O_CLOEXEC);
        how.Mode = 0;
        how.Resolve = RootedFs.RESOLVE_IN_ROOT | RootedFs.RESOLVE_NO_MAGICLINKS;
        for (int tries = 0; tries < 64; tries++)
        {
            long fd = syscall(RootedFs.SYS_openat2, root, (long)rel, (long)&how, sizeof(RootedFs.OpenHow), 0, 0);
            if (fd >= 0) return (int)fd;
            if (Errno is not (EINTR or EAGAIN)) return -1;
        }
        return -1;
    }

    /// <summary>"/proc/self/fd/N": how mount(2) is handed a target or source resolved by descriptor.</summary>
    private static void FdPath(int fd, byte* buf)
    {
        ReadOnlySpan<byte> prefix = "/proc/self/fd/"u8;
        for (int i = 0; i < prefix.Length; i++) buf[i] = prefix[i];
        int n = prefix.Length, start = n;
        do { buf[n++] = (byte)('0' + fd % 10); fd /= 10; } while (fd > 0);
        for (int i = start, j = n - 1; i < j; i++, j--) (buf[i], buf[j]) = (buf[j], buf[i]);
        buf[n] = 0;
    }

    private static int Keep(int rc, int e) { *__errno_location() = e; return rc; }

    /// <summary>A mount whose target (and flag-4 source) is resolved in the container's root, then mounted through /proc/self/fd.</summary>
    private static int MountIn(int root, ref ChildOp op)
    {
        byte* target = stackalloc byte[32], source = stackalloc byte[32];
        int t = OpenInRoot(root, op.B, O_PATH);
        if (t < 0) return -1;
        FdPath(t, target);
        int s = -1;
        byte* src = op.A;
        if ((op.Flags & 4) != 0 && op.A != null)
        {
            s = OpenInRoot(root, op.A, O_PATH);
            if (s < 0) { int e0 = Errno; close(t); return Keep(-1, e0); }
            FdPath(s, source);
            src = source;
        }
        int rc = mount(src, target, op.C, op.N1, op.D);
        int e = Errno;
        close(t);
        if (s >= 0) close(s);
        return Keep(rc, e);
    }

    /// <summary>mkdir, mknod, symlink or touch of one name in a directory resolved in the container's root; the name is never followed.</summary>
    private static int MakeIn(int root, ref ChildOp op)
    {
        int d = OpenInRoot(root, op.Parent, O_PATH | O_DIRECTORY);
        if (d < 0) return -1;
        int rc;
        switch (op.Kind)
        {
            case 2: rc = mkdirat(d, op.Name, (uint)op.N1); break;
            case 3: rc = mknodat(d, op.Name, (uint)op.N1, op.N2); break;
            case 4: rc = symlinkat(op.A, d, op.Name); break;
            default:
            {
                // O_EXCL (never follows): a file that exists (in a lower layer too) is left alone, opening it for
                // writing would copy it up; a link there stays, and the mount onto it resolves it in the root
                int fd = openat(d, op.Name, 0x40 | 0x80 | 1 | O_CLOEXEC | O_NOFOLLOW /* O_CREAT|O_EXCL|O_WRONLY */, 0x1a4);
                if (fd >= 0) { close(fd); rc = 0; }
                else rc = Errno is 17 /* EEXIST */ or 21 /* EISDIR */ ? 0 : -1;
                break;
            }
        }
        int e = Errno;
        close(d);
        return Keep(rc, e);
    }

    /// <summary>-Ulimit: before the user and capabilities change, since raising a hard limit needs CAP_SYS_RESOURCE.</summary>
    public static void ApplyRlimits(ChildPlan p)
    {
        ulong* lim = stackalloc ulong[2];
        for (int i = 0; i + 2 < p.Rlimits.Length; i += 3)
        {
            lim[0] = p.Rlimits[i + 1]; lim[1] = p.Rlimits[i + 2];
            if (prlimit(0, (int)p.Rlimits[i], lim, null) != 0) Fail(p, ChildPlan.StepRlimit, Errno);
        }
    }

    /// <summary>Bounding set, user and groups (keeping capabilities), then the capability sets; ambient cleared.</summary>
    public static void SetUserAndCaps(ChildPlan p)
    {
        for (int cap = 0; cap <= p.LastCap; cap++)
            if ((p.Caps & (1UL << cap)) == 0 && prctl(PR_CAPBSET_DROP, (ulong)cap, 0, 0, 0) != 0 && Errno != 22) Fail(p, ChildPlan.StepCaps, Errno);
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) Fail(p, ChildPlan.StepCaps, Errno);
        if (setgroups(p.NGroups, p.Groups) != 0) Fail(p, ChildPlan.StepUser, Errno);
        if (setresgid(p.Gid, p.Gid, p.Gid) != 0) Fail(p, ChildPlan.StepUser, Errno);
        if (setresuid(p.Uid, p.Uid, p.Uid) != 0) Fail(p, ChildPlan.StepUser, Errno);
        if (CapSet(p.Caps, p.Caps, p.Caps) != 0) Fail(p, ChildPlan.StepCaps, Errno);
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
        if (p.NoNewPrivs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(p, ChildPlan.StepNnp, Errno);
    }

    public static void Exec(ChildPlan p)
    {
        int err = 2;
        for (int i = 0; i < p.ExecCandidates.Length; i++)
        {
            execve((byte*)p.ExecCandidates[i], p.Argv, p.Envp);
            int e = Errno;
            if (e != 2 && e != 20) err = e;
        }
        Fail(p, ChildPlan.StepExec, err);
    }

    /// <summary>-Init: this process stays PID 1, reaps every zombie and forwards signals to the command.</summary>
    private static void RunInit(ChildPlan p)
    {
        for (int i = 0; i < p.ArgLength; i++) p.ArgStart[i] = p.InitTitle[i];
        ulong all = ~0UL & ~((1UL << (SIGKILL - 1)) | (1UL << (SIGSTOP - 1)));
        ulong none = 0;
        sigprocmask(0 /* SIG_BLOCK */, &all, null);
        int sfd = signalfd(-1, &all, 0x80000);
        if (sfd < 0) Fail(p, ChildPlan.StepInit, Errno);
        int pid = Clone((ulong)SIGCHLD);
        if (pid < 0) Fail(p, ChildPlan.StepInit, Errno);
        if (pid == 0)
        {
            sigprocmask(2, &none, null);
            Exec(p);
        }
        close(p.ErrFd);
        byte* info = stackalloc byte[128];
        int status = 0;
        while (true)
        {
            nint n = read(sfd, info, 128);
            if (n != 128) continue;
            int sig = *(int*)info;
            if (sig == SIGCHLD)
            {
                int got;
                while ((got = wait4(-1, &status, WNOHANG, null)) > 0)
                    if (got == pid) _exit(ExitCodeOf(status));
            }
            else kill(pid, sig);
        }
    }
}
