using System.Globalization;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// One prepared set-up step of the container child (all strings already in native memory). Every path
/// in the container is relative to its root and resolved inside it (openat2 RESOLVE_IN_ROOT from a
/// descriptor of the root), never against the host's: an absolute or ".." link in the image stays in the
/// image, and a mount lands on the descriptor that was resolved, so a component swapped in between
/// cannot redirect it (the class of runc's CVE-2021-30465).
/// </summary>
internal unsafe struct ChildOp
{
    public int Kind;   // 1 mount, 2 mkdir, 3 mknod, 4 symlink, 5 touch, 6 write (A into the existing file)
    // 1 ignore ENOENT, 2 ignore any error, 4 the mount source is a container path, 8 chown what mkdir made to N2,
    // 16 the source is a detached mount the monitor made before the clone (a bind clone of the host path A, or with
    // C "sysfs" a new sysfs), 32 the same made idmapped after the clone and sent to the child (user namespace)
    public int Flags;
    /// <summary>mount: source (a host path, or with flag 4 a container path); symlink: the link's target text; write: the text.</summary>
    public byte* A;
    /// <summary>The container path the step works on, relative to the root ("." is the root itself).</summary>
    public byte* Rel;
    /// <summary>Its parent directory (relative, "." for the root) and last component, for the steps that create.</summary>
    public byte* Parent, Base;
    public byte* C, D;
    public ulong N1, N2;
    /// <summary>Flags 16 and 32: the detached mount the child attaches.</summary>
    public int Fd;
}

/// <summary>
/// Everything the container's first process needs, prepared before clone() so the child only makes
/// system calls: no allocation, no locks, errors written as (step, errno) to a pipe, then _exit.
/// </summary>
internal sealed unsafe class ChildPlan
{
    public const int StepNetns = -1, StepCgroup = -2, StepCgroupNs = -3, StepPrivate = -4, StepRootfs = -5,
        StepReadOnly = -6, StepPivot = -7, StepHostname = -8, StepUser = -9, StepCaps = -10, StepCwd = -11,
        StepExec = -12, StepInit = -13, StepNnp = -14, StepRlimit = -15, StepSeccomp = -16, StepSession = -17, StepTty = -18,
        StepUserNs = -19, StepDomainname = -20;

    public int NetNsFd = -1;
    /// <summary>Cloned into a fresh network namespace (network none): the child brings loopback up itself.</summary>
    public bool NewNet;
    /// <summary>-Pid / -Ipc host or container:X: the monitor is in the namespace to share; the clone makes no new one.</summary>
    public bool JoinPid, JoinIpc;
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
    /// <summary>-Domainname (setdomainname); null: none, the new UTS namespace's "(none)".</summary>
    public byte* Domainname;
    public byte* Cwd;
    public uint Uid, Gid;
    public uint* Groups;
    public int NGroups;
    public ulong Caps;
    public int LastCap;
    public bool NoNewPrivs;
    /// <summary>The seccomp filter as a struct sock_fprog (null: unconfined); see <see cref="SeccompFilter"/>.</summary>
    public byte* Seccomp;
    public bool Init;
    /// <summary>-Init: this process's argument area (/proc/self/stat fields 48-49) and what PID 1 shows there instead.</summary>
    public byte* ArgStart;
    public int ArgLength;
    public byte* InitTitle;
    public byte** Argv;
    public byte** Envp;
    public nint[] ExecCandidates = [];
    public int StdinFd = -1, StdoutFd = -1, StderrFd = -1, ErrFd = -1;
    /// <summary>run -t: the socket the child sends its terminal's master on (Tty.cs); -1 without a terminal.</summary>
    public int TtySock = -1;
    public byte* DevNull;
    /// <summary>
    /// A user namespace of its own (UserNamespace.cs): cloned with CLONE_NEWUSER; the monitor writes the maps, joins
    /// the cgroups, applies the limits and sends the idmapped root (and idmapped binds) over <see cref="UserSock"/>.
    /// </summary>
    public bool UserNs;
    public uint IdStart, IdCount;
    /// <summary>
    /// The user namespace the child is made in when it has one already (UserNamespace.CloneJoined): the range's, made
    /// with the network namespace it owns; -1: the clone makes a new one (CLONE_NEWUSER).
    /// </summary>
    public int UserNsFd = -1;
    /// <summary>
    /// The engine's pin of that user namespace (a state directory's userns): opened for each clone only, so the monitor
    /// holds no descriptor of a path in the state directory while the container runs.
    /// </summary>
    public string? UserNsPin;
    /// <summary>The child is made in an existing user namespace (<see cref="UserNsFd"/> or <see cref="UserNsPin"/>) whose maps are written.</summary>
    public bool JoinsUserNs;
    public int UserSock = -1;
    public int OverlayFd = -1;
    public string? OverlaySpec;
    /// <summary>The overlay's lower layers are copies already owned by the range's ids (userns "start:count:copied"): not idmapped.</summary>
    public bool CopiedLayers;
    /// <summary>
    /// Rootless (Rootless.cs): cloned with CLONE_NEWUSER; the monitor has newuidmap/newgidmap write the maps and then
    /// sends one byte on <see cref="UserSock"/>; the child, then root of its namespace, does the rest itself.
    /// </summary>
    public bool Rootless;
    public string? RootlessMapping;
    /// <summary>Rootless -UserNamespace KeepId ("keepid=uid:gid"): the user's ids are the same inside (RootlessKeepId.cs).</summary>
    public string? KeepId;

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

    /// <summary>
    /// A container path made relative to the root and cleaned lexically (empty and "." parts dropped, ".."
    /// never above the root), so the last component of a step that creates is a real name; links in it are
    /// resolved inside the root by the kernel when the step runs. The root itself is ".".
    /// </summary>
    public static string RelativeInRoot(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(part);
        }
        return parts.Count == 0 ? "." : string.Join('/', parts);
    }

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
            // kind, flags, a, b, c, d, n1, n2; the container path is b for mount, symlink and write, a for the others
            int kind = f[0] switch { "mount" => 1, "mkdir" => 2, "mknod" => 3, "symlink" => 4, "touch" => 5, "write" => 6, _ => 0 };
            if (kind == 0) continue;
            int flags = int.Parse(f[1], CultureInfo.InvariantCulture);
            string a = f[2], b = f[3], c = f[4], d = f[5];
            ulong n1 = ulong.Parse(f[6], CultureInfo.InvariantCulture), n2 = ulong.Parse(f[7], CultureInfo.InvariantCulture);
            string target = kind is 1 or 4 or 6 ? b : a;
            string rel = RelativeInRoot(target);
            int slash = rel.LastIndexOf('/');
            string parent = slash < 0 ? "." : rel[..slash], last = slash < 0 ? rel : rel[(slash + 1)..];
            string src = kind == 1 && (flags & 4) != 0 ? RelativeInRoot(a) : kind is 1 or 4 or 6 ? a : "";
            ops.Add(new ChildOp
            {
                Kind = kind, Flags = flags, A = src.Length == 0 ? null : NStr.Of(src), Rel = NStr.Of(rel),
                Parent = NStr.Of(parent), Base = NStr.Of(last),
                C = c.Length == 0 ? null : NStr.Of(c), D = d.Length == 0 ? null : NStr.Of(d), N1 = n1, N2 = n2,
            });
            names.Add($"{f[0]} {f[2]} {f[3]}".TrimEnd());
        }
        p.Ops = ops.ToArray();
        p.OpNames = names.ToArray();
        p.ReadOnly = s.Flag("readonly");
        p.Hostname = NStr.Of(s.Get("hostname") ?? "container");
        p.Domainname = s.Get("domainname") is { Length: > 0 } dn ? NStr.Of(dn) : null;
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
        p.Seccomp = SeccompFilter.Prepare(s.Get("seccomp"));
        p.Init = s.Flag("init");
        if (p.Init) PrepareInitTitle(p, s.All("arg"));
        p.Argv = NStr.Array(s.All("arg"));
        p.Envp = NStr.Array(s.All("env"));
        p.ExecCandidates = s.All("exec").Select(c => (nint)NStr.Of(c)).ToArray();
        p.DevNull = NStr.Of("/dev/null");
        UserNamespace.FromSpec(p, s);
        p.RootlessMapping = s.Get("rootless");
        p.Rootless = p.RootlessMapping is not null;
        p.KeepId = s.Get("keepid");
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
        StepDomainname => "setdomainname",
        StepUser => "set the user and groups",
        StepCaps => "set the capabilities",
        StepCwd => "change to the working directory",
        StepExec => "execute the command",
        StepInit => "start the init process",
        StepNnp => "set no_new_privs",
        StepRlimit => "set a resource limit (-Ulimit)",
        StepSeccomp => "load the seccomp filter",
        StepSession => "start a session of its own (setsid)",
        StepTty => "make the pseudo-terminal (/dev/pts/ptmx)",
        StepUserNs => Rootless ? "wait for the user namespace's id maps (newuidmap, newgidmap)" : "receive the user namespace's mounts from the monitor",
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
        // user namespace: wait until the monitor has written the maps and sent the idmapped mounts
        if (p.UserNs && !UserNamespace.Receive(p)) Fail(p, ChildPlan.StepUserNs, Errno);
        if (p.Rootless)
        {
            byte go = 0;
            if (read(p.UserSock, &go, 1) != 1) Fail(p, ChildPlan.StepUserNs, Errno == 0 ? 71 : Errno);
            close(p.UserSock);
            // root of its own namespace (the user's uid and gid are its 0 now): what the steps make is the container root's
            // (KeepId of the single mapping has no 0: the child stays the user's uid, with every capability of its namespace)
            if ((setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) && !(p.KeepId is not null && Errno == 22)) Fail(p, ChildPlan.StepUser, Errno);
        }
        // its own session and process group, as runc and crun make it: a signal the container sends to its
        // process group (kill 0, an Apache stop) or session must not reach the monitor
        if (setsid() < 0) Fail(p, ChildPlan.StepSession, Errno);

        umask(0);
        if (p.NetNsFd >= 0 && setns(p.NetNsFd, (int)CLONE_NEWNET) != 0) Fail(p, ChildPlan.StepNetns, Errno);
        if (p.NewNet && !LoopbackUp()) Fail(p, ChildPlan.StepNetns, Errno);
        byte zero = (byte)'0';
        // (user namespace: the monitor has moved it into the cgroups already; the files are not the child's to write)
        for (int i = 0; i < (p.UserNs ? 0 : p.CgroupProcs.Length); i++)
        {
            int fd = open((byte*)p.CgroupProcs[i], 1 /* O_WRONLY */, 0);
            if (fd < 0 || write(fd, &zero, 1) != 1) Fail(p, ChildPlan.StepCgroup, Errno);
            close(fd);
        }
        // (rootless: always, so an exec, which joins every namespace from inside the user namespace, never has to join the host's)
        if ((p.CgroupProcs.Length > 0 || p.Rootless) && unshare((int)CLONE_NEWCGROUP) != 0) Fail(p, ChildPlan.StepCgroupNs, Errno);

        byte* slash = stackalloc byte[2] { (byte)'/', 0 };
        byte* dot = stackalloc byte[2] { (byte)'.', 0 };
        byte* overlay = stackalloc byte[8] { (byte)'o', (byte)'v', (byte)'e', (byte)'r', (byte)'l', (byte)'a', (byte)'y', 0 };
        if (mount(null, slash, null, MS_REC | MS_PRIVATE, null) != 0) Fail(p, ChildPlan.StepPrivate, Errno);
        int r = p.UserNs ? MountApi.Attach(p.OverlayFd, -1, p.Root)
            : p.OverlayData != null
            ? mount(overlay, p.Root, overlay, 0, p.OverlayData)
            : mount(p.BindRoot, p.Root, null, MS_BIND | MS_REC, null);
        if (r != 0) Fail(p, ChildPlan.StepRootfs, Errno);

        // every container path from here on is resolved inside this descriptor of the new root
        int rootFd = open(p.Root, AtSys.O_PATH | AtSys.O_DIRECTORY | AtSys.O_CLOEXEC, 0);
        if (rootFd < 0) Fail(p, ChildPlan.StepRootfs, Errno);
        // user namespace: become the container's root (the first id of the range) now, so what the steps make is
        // owned by it; from here no host path is resolved (the storage root is not the range's to enter)
        if (p.UserNs && (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)) Fail(p, ChildPlan.StepUser, Errno);
        byte* srcPath = stackalloc byte[32];
        byte* dstPath = stackalloc byte[32];
        for (int i = 0; i < p.Ops.Length; i++)
        {
            ref ChildOp op = ref p.Ops[i];
            int rc = RunOp(rootFd, ref op, srcPath, dstPath);
            if (rc != 0)
            {
                int e = Errno;
                if (op.Kind == 2 && e == 17 /* EEXIST */) continue;
                if ((op.Flags & 2) != 0) continue;
                if ((op.Flags & 1) != 0 && (e == 2 || e == 20)) continue;
                Fail(p, i, e);
            }
        }
        if (fchdir(rootFd) != 0) Fail(p, ChildPlan.StepPivot, Errno);
        close(rootFd);
        if (p.ReadOnly && mount(null, dot, null, MS_REMOUNT | MS_BIND | MS_RDONLY, null) != 0) Fail(p, ChildPlan.StepReadOnly, Errno);

        if (PivotRoot(dot, dot) != 0 || umount2(dot, MNT_DETACH) != 0 || chdir(slash) != 0)
            Fail(p, ChildPlan.StepPivot, Errno);
        if (sethostname(p.Hostname, NStr.Len(p.Hostname)) != 0) Fail(p, ChildPlan.StepHostname, Errno);
        if (p.Domainname != null && setdomainname(p.Domainname, NStr.Len(p.Domainname)) != 0) Fail(p, ChildPlan.StepDomainname, Errno);

        if (p.StdinFd >= 0) dup2(p.StdinFd, 0);
        if (p.StdoutFd >= 0) dup2(p.StdoutFd, 1);
        if (p.StderrFd >= 0) dup2(p.StderrFd, 2);
        if (p.TtySock >= 0 && Tty.SetUpInChild(p.TtySock) is int ttyErr and not 0) Fail(p, ChildPlan.StepTty, ttyErr);

        if (!p.UserNs) ApplyRlimits(p); // user namespace: the monitor raised them (CAP_SYS_RESOURCE is the host's)
        // seccomp where runc loads it: without no_new_privs it needs CAP_SYS_ADMIN, so before the capabilities go
        if (!p.NoNewPrivs && SeccompFilter.Load(p.Seccomp) != 0) Fail(p, ChildPlan.StepSeccomp, Errno);
        SetUserAndCaps(p);
        if (chdir(p.Cwd) != 0) Fail(p, ChildPlan.StepCwd, Errno);
        umask(0x12);
        CloseRangeCloexec(3);
        if (p.NoNewPrivs && SeccompFilter.Load(p.Seccomp) != 0) Fail(p, ChildPlan.StepSeccomp, Errno);
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

    /// <summary>
    /// One step, inside the root: the parent of what is made is resolved in the root and the new entry made
    /// relative to it (mkdirat, mknodat, symlinkat); a mount goes onto the descriptor of its destination as
    /// resolved in the root (through /proc/self/fd, as runc does), and a container-path source likewise.
    /// Returns 0 or -1 with errno set.
    /// </summary>
    private static int RunOp(int rootFd, ref ChildOp op, byte* srcPath, byte* dstPath)
    {
        if (op.Kind == 1)
        {
            int dst = AtSys.OpenInRoot(rootFd, op.Rel, AtSys.O_PATH);
            if (dst < 0) return -1;
            if ((op.Flags & 48) != 0)
            {
                int arc = MountApi.Attach(op.Fd, dst, null);
                int aerr = Errno;
                close(dst);
                *__errno_location() = aerr;
                return arc;
            }
            int src = -1;
            byte* source = op.A;
            if ((op.Flags & 4) != 0)
            {
                src = AtSys.OpenInRoot(rootFd, op.A, AtSys.O_PATH);
                if (src < 0) { int e = Errno; close(dst); *__errno_location() = e; return -1; }
                source = AtSys.FdPath(srcPath, src);
            }
            int rc = mount(source, AtSys.FdPath(dstPath, dst), op.C, op.N1, op.D);
            int err = Errno;
            if (src >= 0) close(src);
            close(dst);
            *__errno_location() = err;
            return rc;
        }
        if (op.Kind == 5) return Touch(rootFd, ref op);
        if (op.Kind == 6) return WriteFile(rootFd, ref op);
        int parent = AtSys.OpenInRoot(rootFd, op.Parent, AtSys.O_PATH | AtSys.O_DIRECTORY);
        if (parent < 0) return -1;
        int r = op.Kind switch
        {
            2 => AtSys.mkdirat(parent, op.Base, (uint)op.N1),
            3 => AtSys.mknodat(parent, op.Base, (uint)op.N1, op.N2),
            4 => AtSys.symlinkat(op.A, parent, op.Base),
            _ => 0,
        };
        // flag 8: a directory this step made belongs to N2 (uid << 32 | gid)
        if (r == 0 && op.Kind == 2 && (op.Flags & 8) != 0)
            r = AtSys.fchownat(parent, op.Base, (uint)(op.N2 >> 32), (uint)op.N2, 0x100 /* AT_SYMLINK_NOFOLLOW */);
        int saved = Errno;
        close(parent);
        *__errno_location() = saved;
        return r;
    }

    /// <summary>
    /// Makes sure a file exists for a bind mount onto it. What exists (in a lower layer too, or as a link
    /// to a file in the root) is left alone: opening it for writing would copy it up. Otherwise it is
    /// created, through a dangling link inside the root too (where runc's createIfNotExists puts it).
    /// </summary>
    private static int Touch(int rootFd, ref ChildOp op)
    {
        int fd = AtSys.OpenInRoot(rootFd, op.Rel, AtSys.O_PATH);
        if (fd >= 0) { close(fd); return 0; }
        if (Errno != 2 /* ENOENT */) return -1;
        fd = AtSys.OpenInRoot(rootFd, op.Rel, AtSys.O_CREAT | AtSys.O_WRONLY, 0x1a4);
        if (fd < 0) return Errno == 21 /* EISDIR */ ? 0 : -1;
        close(fd);
        return 0;
    }

    /// <summary>
    /// -Sysctl: writes the text into a file that exists (a /proc/sys entry), opened in the root like every
    /// other step, so a link in the container's tree cannot send the write to a host file.
    /// </summary>
    private static int WriteFile(int rootFd, ref ChildOp op)
    {
        int fd = AtSys.OpenInRoot(rootFd, op.Rel, AtSys.O_WRONLY);
        if (fd < 0) return -1;
        nint len = NStr.Len(op.A);
        nint n = write(fd, op.A, len);
        int e = Errno;
        close(fd);
        if (n == len) return 0;
        *__errno_location() = n < 0 ? e : 5 /* EIO */;
        return -1;
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

    /// <summary>True when /proc/self/setgroups says "deny" (raw calls: runs in a cloned child).</summary>
    private static bool SetgroupsDenied()
    {
        byte* path = stackalloc byte[] { (byte)'/', (byte)'p', (byte)'r', (byte)'o', (byte)'c', (byte)'/', (byte)'s', (byte)'e', (byte)'l', (byte)'f', (byte)'/',
            (byte)'s', (byte)'e', (byte)'t', (byte)'g', (byte)'r', (byte)'o', (byte)'u', (byte)'p', (byte)'s', 0 };
        int fd = open(path, 0x80000 /* O_RDONLY | O_CLOEXEC */, 0);
        if (fd < 0) return false;
        byte* buf = stackalloc byte[8];
        nint n = read(fd, buf, 8);
        close(fd);
        return n >= 4 && buf[0] == (byte)'d' && buf[1] == (byte)'e' && buf[2] == (byte)'n' && buf[3] == (byte)'y';
    }

    /// <summary>Bounding set, user and groups (keeping capabilities), then the capability sets (inheritable and ambient empty).</summary>
    public static void SetUserAndCaps(ChildPlan p)
    {
        for (int cap = 0; cap <= p.LastCap; cap++)
            if ((p.Caps & (1UL << cap)) == 0 && prctl(PR_CAPBSET_DROP, (ulong)cap, 0, 0, 0) != 0 && Errno != 22) Fail(p, ChildPlan.StepCaps, Errno);
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) Fail(p, ChildPlan.StepCaps, Errno);
        // a user namespace of the single mapping (rootless without subordinate ids) denies setgroups: the process keeps
        // the groups it has (the user's, unmapped inside), as under podman's single mapping
        if (setgroups(p.NGroups, p.Groups) != 0 && !(Errno == 1 && SetgroupsDenied())) Fail(p, ChildPlan.StepUser, Errno);
        if (setresgid(p.Gid, p.Gid, p.Gid) != 0) Fail(p, ChildPlan.StepUser, Errno);
        if (setresuid(p.Uid, p.Uid, p.Uid) != 0) Fail(p, ChildPlan.StepUser, Errno);
        // inheritable empty, as docker >= 20.10.14 and podman do (CVE-2022-24769): a file's inheritable
        // capabilities must not become permitted ones on execve
        if (CapSet(p.Caps, p.Caps, 0) != 0) Fail(p, ChildPlan.StepCaps, Errno);
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
