using Containers.Engine.Cgroups;
using Containers.Engine.Runtime;
using Containers.Engine.Volumes;
using Containers.Native.Sys;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// The host-side work a start of a user-namespaced container needs before its monitor runs: what the container's
/// root must own (its cgroup, its /etc files, a new volume's root, :U sources). The clone, the maps and the
/// idmapped mounts are the helper's (src/Containers.Helper/UserNamespace.cs).
/// </summary>
internal static class UserNamespaceSetup
{
    /// <summary>
    /// Delegates the container's cgroup to its root, as the kernel's delegation model asks: the directory and its
    /// cgroup.procs (v1: tasks too; v2: cgroup.subtree_control and cgroup.threads) owned by the range's first id, so
    /// the container can make sub-cgroups and move its processes between them; its limits stay the host's.
    /// </summary>
    public static void DelegateCgroup(ICgroupManager cg, IdRange r)
    {
        // the files each version has (no stat of the ones it has not: one call a file on the start's path)
        string[] files = cg is Cgroups.V2.CgroupV2Manager ? ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"] : ["cgroup.procs", "tasks"];
        foreach (var procs in cg.ProcsFiles)
        {
            string dir = Path.GetDirectoryName(procs)!;
            FileSys.Lchown(dir, (int)r.Start, (int)r.Start);
            foreach (var f in files)
            {
                try { FileSys.Lchown(Path.Combine(dir, f), (int)r.Start, (int)r.Start); }
                catch (NativeException ne) when (ne.Errno == Errno.ENOENT) { } // a hierarchy without it (a hybrid host's unified one)
            }
        }
    }

    /// <summary>Where a container's user namespace is pinned, beside its network namespace, in its state directory.</summary>
    public const string UserNsPin = "userns";

    private const long NsfsMagic = 0x6e736673;

    /// <summary>True when <paramref name="path"/> is a pinned namespace (an nsfs file bind mounted there).</summary>
    public static bool IsPinned(string path) => Cgroupfs.FileSystemType(path) == NsfsMagic;

    /// <summary>
    /// Before the network provider configures a user-namespaced container's network namespace: pins the container's
    /// user namespace (its range's maps) and a network namespace that user namespace owns, at userns and netns in the
    /// state directory (`containers-helper userns-netns`: the engine has many threads and cannot enter a user
    /// namespace itself). The monitor then makes the container in that user namespace, so its root holds the network
    /// capabilities of its own network namespace (raw sockets, as busybox's ping opens; its sysctls; its interfaces),
    /// as under docker's userns-remap, while the engine, host root, configures it from outside as before. Both pins live
    /// until removal, as the network namespace alone did. Nothing to do when they are pinned already; a network
    /// namespace an earlier version pinned alone is kept (that container's root goes on without those capabilities).
    /// </summary>
    public static void PinNamespaces(string dir, IdRange r)
    {
        string net = Path.Combine(dir, "netns"), user = Path.Combine(dir, UserNsPin);
        if (IsPinned(net)) return;
        // a user namespace pinned without its network namespace (a kill between the helper's two mounts): made again
        while (IsPinned(user)) if (!Containers.Native.Proc.ProcessOps.Unmount(user)) break;
        // the session's spare has such a pair made already: pinned by it, no process started here
        if (Runtime.SpareMonitors.Pin(dir, r, out string? spareError))
        {
            if (spareError is null) return;
            throw Errors.ContainersException.System("NetworkNamespaceFailed", "Cannot create the container's user and network namespaces: " + spareError, net);
        }
        var psi = new System.Diagnostics.ProcessStartInfo(State.EngineFiles.HelperPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("userns-netns");
        psi.ArgumentList.Add(dir);
        psi.ArgumentList.Add(r.Start.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(r.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string output, errors;
        int code;
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            output = p.StandardOutput.ReadToEnd().Trim();
            errors = p.StandardError.ReadToEnd().Trim();
            p.WaitForExit();
            code = p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw Errors.ContainersException.System("HelperNotStartable", $"Cannot run {State.EngineFiles.HelperPath}: {ex.Message}", net, ex);
        }
        if (code != 0 || output != "ok")
        {
            string why = output.StartsWith("error: ", StringComparison.Ordinal) ? output[7..] : (output + " " + errors).Trim();
            if (why.Length == 0) why = $"the helper exited with code {code}";
            throw Errors.ContainersException.System("NetworkNamespaceFailed", "Cannot create the container's user and network namespaces: " + why, net);
        }
    }

    public static void PrepareStart(ContainerRuntime rt, ContainerRuntime.Record rec, IdRange r, bool sharedEtc)
    {
        int root = (int)r.Start;
        // /etc/hosts, /etc/hostname, /etc/resolv.conf: the container's root may edit them, as without a user namespace
        if (!sharedEtc)
            foreach (var f in new[] { "hosts", "hostname", "resolv.conf" })
            {
                try { FileSys.Lchown(Path.Combine(rec.Dir, f), root, root); }
                catch (NativeException ne) when (ne.Errno == Errno.ENOENT) { }
            }
        var volumes = new VolumeStore(rt.Root);
        UserResolver.Ids? user = null;
        foreach (var m in rec.Config.Mounts)
        {
            if (m.Type is not ("volume" or "bind")) continue;
            string src = m.Type == "volume" ? volumes.DataPath(m.Source) : m.Source;
            if (m.Chown)
            {
                user ??= UserResolver.Resolve(rec.Config, rec.Dir);
                ChownTree(src, r.ToHost(user.Uid), r.ToHost(user.Gid));
                continue;
            }
            // a named volume's root that is still the engine's (new, or seeded) becomes the container's root's;
            // what a container of another range or of the host's user namespace made in it keeps its owner
            if (m.Type == "volume" && !m.IdMap && LayerFs.TryLstat(src, out var st) && st.Uid == 0 && st.Gid == 0)
                FileSys.Lchown(src, root, root);
        }
    }

    /// <summary>
    /// podman's :U: the tree's owner becomes the container user's host ids; links are changed, never followed. Below
    /// the source the walk goes by descriptor (RootedFs): a directory that another container sharing the tree swaps
    /// for a link while the walk runs is changed itself, never walked into, so no host file outside is chowned.
    /// </summary>
    internal static void ChownTree(string path, int uid, int gid)
    {
        FileSys.Lchown(path, uid, gid);
        if (!LayerFs.TryLstat(path, out var st) || (st.Mode & LayerFs.S_IFMT) != LayerFs.S_IFDIR) return;
        using var top = FileSys.OpenHandle(path, FileSys.O_RDONLY | FileSys.O_DIRECTORY | FileSys.O_NOFOLLOW);
        ChownBelow(top, path, uid, gid);
    }

    private static void ChownBelow(Microsoft.Win32.SafeHandles.SafeFileHandle dir, string what, int uid, int gid)
    {
        foreach (var (name, _) in RootedFs.ReadDir(dir, what))
        {
            string entry = what + "/" + name;
            try
            {
                RootedFs.ChownAt(dir, name, uid, gid, entry);
                if (!RootedFs.TryStatAt(dir, name, out var st, entry) || (st.Mode & LayerFs.S_IFMT) != LayerFs.S_IFDIR) continue;
                using var sub = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, entry);
                ChownBelow(sub, entry, uid, gid);
            }
            // gone, or swapped for something else (a link: ELOOP, a file: ENOTDIR) since it was listed: left as it is
            catch (NativeException ne) when (ne.Errno is Errno.ENOENT or Errno.ELOOP or Errno.ENOTDIR) { }
        }
    }
}
