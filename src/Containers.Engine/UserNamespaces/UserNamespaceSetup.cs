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
