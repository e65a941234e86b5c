using System.Globalization;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// A container in a user namespace of its own ("userns=start:count" in the spec): root inside is the range's first
/// host id. The monitor stays host root and does what needs the host's privileges: before the clone it makes every
/// host path the child mounts a detached bind clone (open_tree; the child, no longer privileged on the host, only
/// attaches it), and sysfs of the container's network namespace; after the clone (CLONE_NEWUSER) it writes
/// uid_map/gid_map (where the container has its own network namespace, the user namespace was made with it, the
/// maps written then, and the child is made in it: MakeUserAndNet, CloneJoined), moves the child into its cgroups, raises its limits, makes each
/// image layer an idmapped mount through the child's user namespace, mounts the overlay over them (fsopen/fsmount:
/// the overlay's superblock stays the host's, so whiteouts and trusted xattrs work as without a user namespace, and
/// what the container writes lands in the upper directory with the range's ids) and sends it, with any idmapped
/// bind (:idmap), over a socket. The child waits for that message before it does anything.
/// </summary>
internal static unsafe class UserNamespace
{
    public static void FromSpec(ChildPlan p, Spec s)
    {
        string? u = s.Get("userns");
        if (u is null) return;
        var f = u.Split(':');
        p.UserNs = true;
        p.IdStart = uint.Parse(f[0], CultureInfo.InvariantCulture);
        p.IdCount = uint.Parse(f[1], CultureInfo.InvariantCulture);
        p.CopiedLayers = f.Length > 2 && f[2] == "copied";
        p.OverlaySpec = s.Get("overlay");
    }

    /// <summary>
    /// Monitor, before the clone: the detached mounts that need no user namespace (flag 16). Kept open by the monitor
    /// for its lifetime (a restart's child inherits them again); close-on-exec, so the container never holds them.
    /// </summary>
    public static string? Prepare(ChildPlan p)
    {
        byte* sysfs = NStr.Of("sysfs");
        for (int i = 0; i < p.Ops.Length; i++)
        {
            ref ChildOp op = ref p.Ops[i];
            if ((op.Flags & 16) == 0) continue;
            int fd;
            if (op.C != null && NStr.Len(op.C) == 5 && Eq(op.C, sysfs))
            {
                int fs = MountApi.FsOpen(sysfs);
                fd = fs < 0 ? -1 : MountApi.FsCreateMount(fs, Attrs(op.N1));
                if (fs >= 0) close(fs);
            }
            else fd = MountApi.OpenTree(op.A, (op.N1 & MS_REC) != 0);
            if (fd < 0)
            {
                if ((op.Flags & 3) != 0) { op.Fd = -1; continue; } // an optional step: its attach fails later and is ignored
                return $"cannot prepare the mount of {p.OpNames[i]}: errno {Errno}";
            }
            op.Fd = fd;
        }
        return null;
    }

    /// <summary>Monitor, after the clone: the child has its copies; the monitor keeps no descriptor of a host mount.</summary>
    public static void ClosePrepared(ChildPlan p)
    {
        for (int i = 0; i < p.Ops.Length; i++)
        {
            ref ChildOp op = ref p.Ops[i];
            if ((op.Flags & 16) == 0) continue;
            if (op.Fd > 0) close(op.Fd);
            op.Fd = 0;
        }
    }

    /// <summary>
    /// -Sysctl net.*: written by the monitor in the container's network namespace (which the host's user namespace
    /// owns, so the container's root may not), once per monitor: the namespace and its values outlive restarts.
    /// </summary>
    public static string? WriteNetSysctls(Spec spec)
    {
        foreach (var kv in spec.All("netsysctl"))
        {
            int eq = kv.IndexOf('=');
            string path = "/proc/sys/" + kv[..eq], value = kv[(eq + 1)..];
            try { File.WriteAllText(path, value); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                string why = ex is FileNotFoundException or DirectoryNotFoundException ? "No such file or directory (errno 2)" : ex.Message;
                return $"cannot write {value} {path}: {why}";
            }
        }
        return null;
    }

    /// <summary>
    /// A user namespace with the range's maps and a network namespace that it owns, made together by one clone
    /// (CLONE_NEWUSER | CLONE_NEWNET) of a child that only holds them until this process has opened both. Owned by the
    /// container's user namespace, the network namespace is its root's, as under docker's userns-remap: raw and packet
    /// sockets (busybox's ping), its sysctls and its interfaces answer to the container's root, while this process and
    /// the engine (host root, privileged over every user namespace below the host's) still configure it from outside.
    /// Loopback is up. Null, or what failed (no descriptor left open).
    /// </summary>
    public static string? MakeUserAndNet(uint start, uint count, out int userFd, out int netFd)
    {
        userFd = netFd = -1;
        return Hold() ?? MapHeld(start, count, out userFd, out netFd);
    }

    /// <summary>
    /// The pair being made: its holder (a child that only waits on <see cref="_heldPipe"/>, so the maps can be written
    /// through /proc/&lt;holder&gt;) and descriptors of both namespaces. A spare makes it before it knows its container
    /// (off a start's path: making a network namespace is the slowest step of a clone) and keeps it until
    /// <see cref="TakePrepared"/> or <see cref="ReleasePrepared"/>. -1 when there is none.
    /// </summary>
    private static int _heldHolder = -1, _heldPipe = -1, _heldUser = -1, _heldNet = -1;

    /// <summary>Spare: prepares the pair (best effort: a failure leaves none, and the start makes one as it would).</summary>
    public static void Prepare() => Hold();

    /// <summary>Makes the held pair, loopback up (host root is privileged over the new user namespace before it has maps). Null, or what failed.</summary>
    private static string? Hold()
    {
        ReleasePrepared();
        int* fds = stackalloc int[2];
        if (pipe2(fds, 0x80000) != 0) return "pipe: " + Plain(Errno);
        int pid = Clone(CLONE_NEWUSER | CLONE_NEWNET | (ulong)SIGCHLD);
        if (pid == 0)
        {
            close(fds[1]);
            byte b;
            readBlocking(fds[0], &b, 1);
            _exit(0);
        }
        close(fds[0]);
        if (pid < 0) { int ce = Errno; close(fds[1]); return "clone: " + Plain(ce); }
        _heldHolder = pid;
        _heldPipe = fds[1];
        string? err = (_heldUser = open(NStr.Of($"/proc/{pid}/ns/user"), 0x80000, 0)) < 0 ? "cannot open the user namespace: " + Plain(Errno)
            : (_heldNet = open(NStr.Of($"/proc/{pid}/ns/net"), 0x80000, 0)) < 0 ? "cannot open the network namespace: " + Plain(Errno)
            : LoopbackUpIn(_heldNet);
        if (err is not null) ReleasePrepared();
        return err;
    }

    /// <summary>Writes the range's maps through the holder and hands out the held pair (the holder then ends). Null, or what failed (nothing is left open).</summary>
    private static string? MapHeld(uint start, uint count, out int userFd, out int netFd)
    {
        userFd = netFd = -1;
        string map = $"0 {start} {count}\n";
        string? err = WriteText($"/proc/{_heldHolder}/uid_map", map) is int e1 ? "cannot write the id map: " + Plain(e1)
            : WriteText($"/proc/{_heldHolder}/gid_map", map) is int e2 ? "cannot write the id map: " + Plain(e2) : null;
        if (err is null)
        {
            userFd = _heldUser; netFd = _heldNet;
            _heldUser = _heldNet = -1;
        }
        ReleasePrepared();
        return err;
    }

    /// <summary>
    /// The prepared pair with the range's maps written, or false when there is none or the maps could not be written
    /// (the pair is dropped; the caller makes one).
    /// </summary>
    public static bool TakePrepared(uint start, uint count, out int userFd, out int netFd)
    {
        userFd = netFd = -1;
        return _heldHolder > 0 && MapHeld(start, count, out userFd, out netFd) is null;
    }

    /// <summary>Ends the holder (reaped later: <see cref="ReapDeferred"/>) and closes what is left of the prepared pair.</summary>
    public static void ReleasePrepared()
    {
        if (_heldHolder <= 0) return;
        close(_heldPipe);
        Defer(_heldHolder);
        if (_heldUser >= 0) close(_heldUser);
        if (_heldNet >= 0) close(_heldNet);
        _heldHolder = _heldPipe = _heldUser = _heldNet = -1;
    }

    /// <summary>
    /// Spare, asked by the engine ("pin START COUNT DIR" on stdin) before it configures a container's network: the
    /// prepared pair (or a new one) with the range's maps, pinned at DIR/userns and DIR/netns, as `userns-netns` does.
    /// Returns the line for the engine: "pinned" or "error: ...".
    /// </summary>
    public static string PinFromSpare(string request)
    {
        // "pin START COUNT DIR": the directory last, whole (a storage root's path may hold spaces)
        var f = request.Split(' ', 4);
        if (f.Length != 4 || !uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint start)
            || !uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint count) || f[3].Length == 0 || f[3][0] != '/')
            return "error: bad pin request";
        string? err = TakePrepared(start, count, out int user, out int net) ? null : MakeUserAndNet(start, count, out user, out net);
        if (err is null)
        {
            err = PinBoth(f[3], user, net);
            close(user);
            close(net);
        }
        return err is null ? "pinned" : "error: " + err;
    }

    private static string? PinBoth(string dir, int user, int net)
    {
        string userPath = Path.Combine(dir, "userns"), netPath = Path.Combine(dir, "netns");
        string? err = BindNamespace(user, userPath);
        if (err is null && (err = BindNamespace(net, netPath)) is not null) umount2(NStr.Of(userPath), MNT_DETACH);
        return err;
    }

    private static readonly List<int> Deferred = new();

    /// <summary>
    /// A short-lived child (a holder, the joining fork) that has been told to end: reaped once the start has answered,
    /// so its exit (the teardown of its copy of this process) is not on the start's path.
    /// </summary>
    private static void Defer(int pid) { if (pid > 0) Deferred.Add(pid); }

    /// <summary>Reaps the children <see cref="Defer"/> named (each has ended or is about to).</summary>
    public static void ReapDeferred()
    {
        int st;
        foreach (int pid in Deferred) while (wait4Blocking(pid, &st, 0, null) < 0 && Errno == 4) { }
        Deferred.Clear();
    }

    /// <summary>Brings loopback up in the network namespace <paramref name="netFd"/>, and comes back to this one.</summary>
    private static string? LoopbackUpIn(int netFd)
    {
        int self = open(NStr.Of("/proc/thread-self/ns/net"), 0x80000, 0);
        if (self < 0) return "cannot open the network namespace: " + Plain(Errno);
        try
        {
            if (setns(netFd, (int)CLONE_NEWNET) != 0) return "cannot enter the network namespace: " + Plain(Errno);
            bool up = ContainerChild.LoopbackUp();
            int e = Errno;
            if (setns(self, (int)CLONE_NEWNET) != 0) return "cannot return to the host's network namespace: " + Plain(Errno);
            return up ? null : "cannot bring loopback up: " + Plain(e);
        }
        finally { close(self); }
    }

    /// <summary>
    /// `containers-helper userns-netns DIR START COUNT`: the engine's pin of a container's user namespace (the range
    /// START:COUNT) and of the network namespace it owns, bind mounted at DIR/userns and DIR/netns, before the engine
    /// configures the network namespace (the engine, many threads, cannot enter a user namespace itself). The monitor
    /// then makes the container in that user namespace (spec "userns-join"). Prints "ok" (exit 0) or "error: ..." (1).
    /// </summary>
    public static int Pin(string[] args)
    {
        if (args.Length != 4 || !uint.TryParse(args[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint start)
            || !uint.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out uint count))
        {
            Console.Error.WriteLine("usage: containers-helper userns-netns DIR START COUNT");
            return 2;
        }
        string? err = MakeUserAndNet(start, count, out int user, out int net);
        if (err is null)
        {
            err = PinBoth(args[1], user, net);
            close(user);
            close(net);
        }
        Console.WriteLine(err is null ? "ok" : "error: " + err);
        return err is null ? 0 : 1;
    }

    private static string? BindNamespace(int fd, string path)
    {
        byte* target = NStr.Of(path);
        int f = open(target, 0x40 | 1 | 0x80000 /* O_CREAT|O_WRONLY|O_CLOEXEC */, 0x1a4);
        if (f < 0) return $"cannot make {path}: {Plain(Errno)}";
        close(f);
        if (mount(NStr.Of("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture)), target, null, MS_BIND, null) != 0)
            return $"cannot pin {path}: {Plain(Errno)}";
        return null;
    }

    /// <summary>
    /// The container's process made in the user namespace <see cref="ChildPlan.UserNsFd"/> (see MakeUserAndNet) rather
    /// than a new one: setns into a user namespace needs a single-threaded caller that shares no file system data, so a
    /// fresh fork of the monitor joins it and clones the child there with CLONE_PARENT: the child's mount, PID, UTS,
    /// IPC and cgroup namespaces are the user namespace's (its root may mount /proc and sysfs), and the child is the
    /// monitor's own, waited for as before. <paramref name="flags"/> has no CLONE_NEWUSER. Returns the child's pid, or
    /// -1 with errno set.
    /// </summary>
    public static int CloneJoined(ulong flags, ChildPlan plan)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, 0x80000) != 0) return -1;
        int mid = Clone((ulong)SIGCHLD);
        if (mid == 0)
        {
            close(fds[0]);
            int r = -1;
            if (setns(plan.UserNsFd, (int)CLONE_NEWUSER) == 0)
            {
                r = Clone(flags | CLONE_PARENT);
                if (r == 0) { close(fds[1]); ContainerChild.Run(plan); }
            }
            int v = r > 0 ? r : -Errno;
            write(fds[1], (byte*)&v, 4);
            _exit(0);
        }
        close(fds[1]);
        int e = mid < 0 ? Errno : 71 /* EPROTO: the joining process ended without a word */, got = 0;
        if (mid > 0)
        {
            int v = 0;
            nint n;
            do n = readBlocking(fds[0], (byte*)&v, 4); while (n < 0 && Errno == 4);
            if (n == 4) got = v;
            Defer(mid);
        }
        close(fds[0]);
        if (got > 0) return got;
        *__errno_location() = got < 0 ? -got : e;
        return -1;
    }

    private static bool Eq(byte* a, byte* b) { for (int i = 0; ; i++) { if (a[i] != b[i]) return false; if (a[i] == 0) return true; } }

    private static ulong Attrs(ulong msFlags) =>
        ((msFlags & MS_RDONLY) != 0 ? MountApi.MOUNT_ATTR_RDONLY : 0) | ((msFlags & MS_NOSUID) != 0 ? MountApi.MOUNT_ATTR_NOSUID : 0)
        | ((msFlags & MS_NODEV) != 0 ? MountApi.MOUNT_ATTR_NODEV : 0) | ((msFlags & MS_NOEXEC) != 0 ? MountApi.MOUNT_ATTR_NOEXEC : 0);

    /// <summary>
    /// Monitor, after the clone: maps, cgroups, limits, the idmapped overlay and binds, sent to the child. Null on
    /// success; otherwise what failed (the caller kills the child).
    /// </summary>
    public static string? SetUp(int pid, ChildPlan p, Spec spec, int sock)
    {
        string map = $"0 {p.IdStart} {p.IdCount}\n";
        // plain open/write/close (a FileStream adds an flock and an fstat a file): on a start's critical path
        // (a child made in the range's user namespace, JoinsUserNs, finds the maps written already)
        if (!p.JoinsUserNs && WriteText($"/proc/{pid}/uid_map", map) is int e1) return "cannot write the id map: " + Plain(e1);
        if (!p.JoinsUserNs && WriteText($"/proc/{pid}/gid_map", map) is int e2) return "cannot write the id map: " + Plain(e2);
        string pidText = pid.ToString(CultureInfo.InvariantCulture);
        foreach (string procs in spec.All("cgroup"))
            if (WriteText(procs, pidText) is int e3) return $"cannot join the cgroup {procs}: {Plain(e3)}";
        ulong* lim = stackalloc ulong[2];
        for (int i = 0; i + 2 < p.Rlimits.Length; i += 3)
        {
            lim[0] = p.Rlimits[i + 1]; lim[1] = p.Rlimits[i + 2];
            if (prlimit(pid, (int)p.Rlimits[i], lim, null) != 0) return $"cannot set a resource limit (-Ulimit): errno {Errno}";
        }
        int userns = open(NStr.Of($"/proc/{pid}/ns/user"), 0x80000, 0);
        if (userns < 0) return "cannot open the user namespace: errno " + Errno;
        var fds = new List<int>();
        try
        {
            int overlay = MountOverlay(p.OverlaySpec ?? "", p.CopiedLayers ? -1 : userns, out string? err);
            if (overlay < 0) return err;
            fds.Add(overlay);
            for (int i = 0; i < p.Ops.Length; i++)
            {
                ref ChildOp op = ref p.Ops[i];
                if ((op.Flags & 32) == 0) continue;
                int fd = MountApi.OpenTree(op.A, (op.N1 & MS_REC) != 0);
                if (fd < 0 || MountApi.Idmap(fd, userns) != 0)
                    return $"cannot make the idmapped mount of {p.OpNames[i]}: {Describe(Errno)}";
                fds.Add(fd);
            }
            if (fds.Count > MountApi.MaxFds) return "too many idmapped mounts";
            int* arr = stackalloc int[fds.Count];
            for (int i = 0; i < fds.Count; i++) arr[i] = fds[i];
            if (!MountApi.SendFds(sock, arr, fds.Count)) return "cannot send the mounts to the container's process: errno " + Errno;
            return null;
        }
        finally
        {
            foreach (int fd in fds) close(fd);
            close(userns);
        }
    }

    /// <summary>Writes <paramref name="text"/> to an existing file in one write; null, or the errno.</summary>
    private static int? WriteText(string path, string text)
    {
        byte* p = NStr.Of(path);
        int fd = open(p, 1 | 0x80000 /* O_WRONLY|O_CLOEXEC */, 0);
        System.Runtime.InteropServices.NativeMemory.Free(p);
        if (fd < 0) return Errno;
        byte[] b = System.Text.Encoding.UTF8.GetBytes(text);
        nint n;
        fixed (byte* bp = b) n = write(fd, bp, b.Length);
        int err = n == b.Length ? 0 : n < 0 ? Errno : 5 /* EIO: short write */;
        close(fd);
        return err == 0 ? null : err;
    }

    private static string Plain(int errno) => System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno) + $" (errno {errno})";

    private static string Describe(int errno) => errno switch
    {
        22 => "the file system does not support idmapped mounts (EINVAL)",
        1 => "not permitted (EPERM)",
        _ => System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno) + $" (errno {errno})",
    };

    /// <summary>
    /// The container's root: each lowerdir of the overlay options made an idmapped detached mount, then an overlay
    /// over them (by /proc/self/fd path) with the upper and work directories as they are. Returns the mount's fd.
    /// </summary>
    private static int MountOverlay(string options, int userns, out string? error)
    {
        error = null;
        var layerFds = new List<int>();
        int fs = -1;
        try
        {
            string lower = "", upper = "", work = "";
            foreach (var kv in options.Split(','))
            {
                if (kv.StartsWith("lowerdir=", StringComparison.Ordinal)) lower = kv[9..];
                else if (kv.StartsWith("upperdir=", StringComparison.Ordinal)) upper = kv[9..];
                else if (kv.StartsWith("workdir=", StringComparison.Ordinal)) work = kv[8..];
            }
            var paths = new List<string>();
            foreach (var dir in lower.Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                int fd = MountApi.OpenTree(NStr.Of(dir), false);
                if (fd < 0) { error = $"cannot clone the layer {dir}: errno {Errno}"; return -1; }
                layerFds.Add(fd);
                // userns -1: the layers are copies whose owners are in the range already (a file system without idmapped mounts)
                if (userns >= 0 && MountApi.Idmap(fd, userns) != 0) { error = $"cannot make the layer {dir} an idmapped mount: {Describe(Errno)}"; return -1; }
                paths.Add("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture));
            }
            fs = MountApi.FsOpen(NStr.Of("overlay"));
            if (fs < 0) { error = "fsopen overlay: errno " + Errno; return -1; }
            if (MountApi.FsConfigString(fs, NStr.Of("lowerdir"), NStr.Of(string.Join(':', paths))) != 0
                || MountApi.FsConfigString(fs, NStr.Of("upperdir"), NStr.Of(upper)) != 0
                || MountApi.FsConfigString(fs, NStr.Of("workdir"), NStr.Of(work)) != 0)
            { error = "cannot configure the overlay: errno " + Errno; return -1; }
            int m = MountApi.FsCreateMount(fs, 0);
            if (m < 0) error = "cannot mount the overlay over the idmapped layers: " + Describe(Errno);
            return m;
        }
        finally
        {
            foreach (int fd in layerFds) close(fd);
            if (fs >= 0) close(fs);
        }
    }

    /// <summary>Child: waits for the monitor's message (the overlay first, then the idmapped binds in op order).</summary>
    public static bool Receive(ChildPlan p)
    {
        int* fds = stackalloc int[MountApi.MaxFds];
        int n = MountApi.RecvFds(p.UserSock, fds, MountApi.MaxFds);
        if (n < 1) { if (n >= 0) *__errno_location() = 71 /* EPROTO */; return false; }
        p.OverlayFd = fds[0];
        int k = 1;
        for (int i = 0; i < p.Ops.Length && k < n; i++)
            if ((p.Ops[i].Flags & 32) != 0) p.Ops[i].Fd = fds[k++];
        close(p.UserSock);
        return true;
    }
}
