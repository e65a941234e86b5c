using System.Globalization;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// A container in a user namespace of its own ("userns=start:count" in the spec): root inside is the range's first
/// host id. The monitor stays host root and does what needs the host's privileges: before the clone it makes every
/// host path the child mounts a detached bind clone (open_tree; the child, no longer privileged on the host, only
/// attaches it), and sysfs of the container's network namespace (which the host's user namespace owns); after the
/// clone (CLONE_NEWUSER) it writes uid_map/gid_map, moves the child into its cgroups, raises its limits, makes each
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
        if (WriteText($"/proc/{pid}/uid_map", map) is int e1) return "cannot write the id map: " + Plain(e1);
        if (WriteText($"/proc/{pid}/gid_map", map) is int e2) return "cannot write the id map: " + Plain(e2);
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
