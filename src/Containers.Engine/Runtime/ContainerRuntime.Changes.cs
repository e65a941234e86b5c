using Containers.Engine.Model;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    private const string OpaqueXattr = "trusted.overlay.opaque";

    /// <summary>
    /// docker diff: the paths the container added, changed or deleted, read from its writable layer (the overlay
    /// upper directory) and compared with its image's layers. The rules are podman's and docker's (containers/storage
    /// and moby archive.OverlayChanges): an entry of the upper directory is Deleted when it is a whiteout (a
    /// character device 0/0) or an opaque directory over one the image has; Added when no layer has it (or a layer
    /// whites it or a parent out); else Changed, except a directory whose size, mode and modification time equal
    /// the image's, which only copy-up put there. The parents of an added or deleted path that are not listed
    /// yet are listed as Changed just before it. Walk order: names sorted bytewise, parents first.
    /// The walk of the upper directory goes by descriptor and never follows a link; the image's layers are
    /// looked up without following any link either (RootedFs, RESOLVE_NO_SYMLINKS).
    /// </summary>
    public IReadOnlyList<ContainerChange> Changes(string nameOrId, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        var c = rec.Config;
        var list = new List<ContainerChange>();
        string upperPath = Path.Combine(rec.Dir, "upper");
        if (!Directory.Exists(upperPath)) return list;
        var layers = new List<RootedFs>();
        try
        {
            // top first: the runtime's mount-point layer, then the image's layers from the top down
            foreach (var dir in Enumerable.Reverse(c.LowerDirs).Prepend(SharedRuntimeDirs().MountPoints))
                layers.Add(RootedFs.Open(dir, RootedFs.Resolution.NoSymlinks));
            using var upper = FileSys.OpenHandle(upperPath, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
            var walk = new ChangeWalk(layers, list, c.Name, c.Id, ct);
            walk.Walk(upper, "");
        }
        finally { foreach (var l in layers) l.Dispose(); }
        return list;
    }

    private sealed class ChangeWalk(List<RootedFs> layers, List<ContainerChange> changes, string name, string id, CancellationToken ct)
    {
        private readonly HashSet<string> _changedDirs = new(StringComparer.Ordinal);

        private static bool Gone(NativeException e) => e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EINVAL or Errno.ENXIO;

        public void Walk(SafeFileHandle dir, string rel)
        {
            List<string> names;
            try { names = RootedFs.ReadDir(dir, rel).Select(e => e.Name).ToList(); }
            catch (NativeException e) when (Gone(e)) { return; }
            names.Sort(StringComparer.Ordinal);
            foreach (var entry in names)
            {
                ct.ThrowIfCancellationRequested();
                string r = rel.Length == 0 ? entry : rel + "/" + entry;
                string path = "/" + r;
                // a running container may remove or replace a name between the listing and here: left out
                if (!RootedFs.TryStatAt(dir, entry, out var st, r)) continue;
                uint type = st.Mode & LayerFs.S_IFMT;
                bool isDir = type == LayerFs.S_IFDIR;
                ContainerChangeKind kind;
                bool record = true;
                if (type == LayerFs.S_IFCHR && st.Rdev == 0) kind = ContainerChangeKind.Deleted;
                else if (isDir && IsOpaque(dir, entry, r) && LowerStat(r, out _)) kind = ContainerChangeKind.Deleted;
                else if (LowerStat(r, out var lower))
                {
                    kind = ContainerChangeKind.Changed;
                    // a directory only copied up (its own size, mode and time as in the image) is not a change
                    if (isDir && (lower.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR && lower.Size == st.Size && lower.Mode == st.Mode && SameTime(lower, st))
                        record = false;
                }
                else kind = ContainerChangeKind.Added;
                if (record)
                {
                    if (isDir) _changedDirs.Add(path);
                    if (kind is ContainerChangeKind.Added or ContainerChangeKind.Deleted)
                    {
                        // the parents not listed yet, outermost first, just before the change
                        var tail = new List<string>();
                        for (string p = Parent(path); p != "/"; p = Parent(p))
                            if (_changedDirs.Add(p)) tail.Insert(0, p);
                        foreach (var p in tail) Add(p, ContainerChangeKind.Changed);
                    }
                    Add(path, kind);
                }
                if (!isDir) continue;
                SafeFileHandle sub;
                try { sub = RootedFs.OpenAt(dir, entry, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, r); }
                catch (NativeException e) when (Gone(e)) { continue; }
                using (sub) Walk(sub, r);
            }
        }

        private void Add(string path, ContainerChangeKind kind) =>
            changes.Add(new ContainerChange { Path = path, Kind = kind, ContainerName = name, ContainerId = id });

        private static string Parent(string path)
        {
            int i = path.LastIndexOf('/');
            return i <= 0 ? "/" : path[..i];
        }

        /// <summary>Equal times, or the same second with one of them without nanoseconds (tar keeps whole seconds), as containers/storage compares.</summary>
        private static bool SameTime(LayerFs.Stat a, LayerFs.Stat b) =>
            a.Mtime.Sec == b.Mtime.Sec && (a.Mtime.Nsec == b.Mtime.Nsec || a.Mtime.Nsec == 0 || b.Mtime.Nsec == 0);

        private static bool IsOpaque(SafeFileHandle dir, string entry, string r)
        {
            try { return RootedFs.GetXattrAt(dir, entry, OpaqueXattr, r) is [(byte)'y']; }
            catch (NativeException) { return false; }
        }

        /// <summary>
        /// The path as the image's layers show it (overlay's lookup, top layer first): absent when a layer has a
        /// whiteout for it or for a directory above it, or an opaque directory above it (which hides the layers
        /// below), before one that has it.
        /// </summary>
        private bool LowerStat(string rel, out LayerFs.Stat st)
        {
            st = default;
            var parts = rel.Split('/');
            foreach (var layer in layers)
            {
                bool hidden = false;
                for (int i = 1; i <= parts.Length; i++)
                {
                    string prefix = string.Join('/', parts, 0, i);
                    LayerFs.Stat s;
                    try { if (!layer.TryStat(prefix, out s)) break; }
                    catch (NativeException e) when (Gone(e)) { break; } // a link on the way: nothing of this path here
                    uint t = s.Mode & LayerFs.S_IFMT;
                    if (t == LayerFs.S_IFCHR && s.Rdev == 0) return false;  // whited out here
                    if (i == parts.Length) { st = s; return true; }
                    if (t != LayerFs.S_IFDIR) return false;                  // a file over the directory hides it
                    if (!hidden && IsOpaqueIn(layer, prefix)) hidden = true; // layers below do not show through
                }
                if (hidden) return false;
            }
            return false;
        }

        private static bool IsOpaqueIn(RootedFs layer, string rel)
        {
            try
            {
                using var parent = layer.OpenParent(rel, out string leaf);
                return RootedFs.GetXattrAt(parent, leaf, OpaqueXattr, rel) is [(byte)'y'];
            }
            catch (NativeException) { return false; }
        }
    }
}
