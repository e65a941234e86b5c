using System.Buffers;
using System.Formats.Tar;
using System.Text;
using Containers.Engine.Errors;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Snapshots;

/// <summary>
/// Unpacks one layer tar into a directory (the layer's diff), preserving ownership, modes, mtimes, xattrs,
/// hard links, symbolic links and device nodes, and turning OCI whiteouts into overlayfs whiteouts
/// (<c>.wh.NAME</c> -> character device 0/0, <c>.wh..wh..opq</c> -> trusted.overlay.opaque=y).
/// Entries that would land outside the directory are refused before anything is written for them:
/// absolute or <c>..</c> names, writes through a symbolic link the layer made, hard links to outside.
/// No fsync: the caller renames the directory into place once it is complete.
/// </summary>
public static class LayerUnpacker
{
    private enum Kind : byte { Dir, File, Symlink, Other }

    /// <summary>Largest piece of file data handed to the writer thread at once.</summary>
    private const int ChunkSize = 1 << 20;

    /// <summary>
    /// Unpacks <paramref name="tar"/> (plain tar) into <paramref name="target"/>; returns the bytes of regular file content.
    /// This thread reads and checks the entries; a <see cref="LayerWriter"/> thread makes them, in order.
    /// </summary>
    public static long Unpack(Stream tar, string target, CancellationToken ct = default)
    {
        var known = new Dictionary<string, Kind>(StringComparer.Ordinal) { [""] = Kind.Dir };
        var dirTimes = new List<(string Rel, long Sec, long Nsec)>();
        long bytes = 0;
        // every write goes through descriptors of directories the layer made, resolved without following any
        // link: even a bug in the entry model below cannot write outside the target
        var tree = new StagingTree(target);
        var w = new LayerWriter();
        // rootless: this process may give files no other owner than itself (container root), so the other owners
        // are recorded and given by the helper as the user namespace's root once the layer is written (FixOwners)
        bool rootless = Rootless.RootlessHost.Active;
        var owners = new List<(string Rel, int Uid, int Gid, uint Mode, bool Link)>();
        void Own(SafeFileHandle d, string n, string rel, int uid, int gid, uint mode, bool link, string full)
        {
            if (!rootless) { RootedFs.ChownAt(d, n, uid, gid, full); return; }
            if (uid != 0 || gid != 0) owners.Add((rel, uid, gid, mode, link));
        }
        LayerWriter.FileJob? open = null; // a file whose close is not posted yet (closed here if reading it fails)
        try
        {
            // owners above 2^31-1 (up to 2^32-2, as podman and containerd take them) get past TarReader's int
            var idFilter = new TarIdFilter(tar);
            using var reader = new TarReader(idFilter, leaveOpen: true);
            TarEntry? e;
            int ordinal = -1;
            while ((e = reader.GetNextEntry(copyData: false)) is not null)
            {
                ct.ThrowIfCancellationRequested();
                ordinal++;
                if (e.EntryType is TarEntryType.GlobalExtendedAttributes or TarEntryType.ExtendedAttributes or TarEntryType.LongPath or TarEntryType.LongLink)
                    continue;
                string rel = Clean(e.Name, "LayerPathTraversal");
                string name = rel.Length == 0 ? "" : rel[(rel.LastIndexOf('/') + 1)..];
                string parent = rel.Length == 0 ? "" : (rel.LastIndexOf('/') is var i and >= 0 ? rel[..i] : "");

                if (name.StartsWith(".wh.", StringComparison.Ordinal))
                {
                    EnsureParents(w, tree, known, parent, e.Name);
                    if (name == ".wh..wh..opq")
                    {
                        var (gp, pn) = StagingTree.Split(parent);
                        w.Post(e.Name, () =>
                        {
                            // rootless: the overlay is mounted with userxattr, which reads user.overlay.* instead
                            string opaque = rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
                            if (parent.Length == 0) RootedFs.SetXattrAt(tree.Root, "", opaque, "y"u8, ".");
                            else RootedFs.SetXattrAt(tree.Dir(gp), pn, opaque, "y"u8, parent);
                        });
                    }
                    else if (!name.StartsWith(".wh..wh.", StringComparison.Ordinal))
                    {
                        string hidden = parent.Length == 0 ? name[4..] : parent + "/" + name[4..];
                        if (name.Length == 4 || name[4..] is "." or "..")
                            throw Refuse("LayerPathTraversal", e.Name, "a whiteout must name a file in its directory");
                        RemoveExisting(w, tree, known, hidden, e.Name);
                        string hn = name[4..];
                        w.Post(e.Name, () => RootedFs.MknodAt(tree.Dir(parent), hn, LayerFs.S_IFCHR | 0, 0, 0, hidden));
                        known[hidden] = Kind.Other;
                    }
                    continue;
                }

                // The layer's root is the directory we made, never replaced: a '.', './', '' or '/' entry may
                // only set its metadata. A link there would send every later entry through it (out of the store).
                if (rel.Length == 0 && e.EntryType != TarEntryType.Directory)
                    throw Refuse("LayerRootNotDirectory", e.Name, $"it names the layer's root directory but is a {e.EntryType} entry, not a directory");
                EnsureParents(w, tree, known, parent, e.Name);
                string full = rel.Length == 0 ? "." : rel; // for messages
                var big = idFilter.IdsOf(ordinal);
                // a uid_t above 2^31-1 passes to chown as the same 32 bits
                int uid = big.Uid is { } bu ? unchecked((int)bu) : e.Uid, gid = big.Gid is { } bg ? unchecked((int)bg) : e.Gid;
                uint mode = (uint)e.Mode & 0xFFF;
                var mt = e.ModificationTime.ToUniversalTime();
                long sec = mt.ToUnixTimeSeconds();
                long nsec = (mt.UtcTicks % TimeSpan.TicksPerSecond) * 100;
                var xattrs = XattrsOf(e, idFilter.XattrsOf(ordinal), rootless);

                switch (e.EntryType)
                {
                    case TarEntryType.Directory:
                    {
                        if (known.TryGetValue(rel, out var k) && k != Kind.Dir) RemoveExisting(w, tree, known, rel, e.Name);
                        bool make = !known.ContainsKey(rel);
                        known[rel] = Kind.Dir;
                        w.Post(e.Name, () =>
                        {
                            // the root is the descriptor itself (empty name)
                            var d = rel.Length == 0 ? tree.Root : tree.Dir(parent);
                            string n = rel.Length == 0 ? "" : name;
                            if (make) RootedFs.MkdirAt(d, n, 0x1ed, full, existOk: true);
                            Own(d, n, rel, uid, gid, mode, false, full);
                            RootedFs.ChmodAt(d, n, mode, full);
                            ApplyXattrs(xattrs, d, n, full);
                        });
                        dirTimes.Add((rel, sec, nsec));
                        break;
                    }
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    {
                        RemoveExisting(w, tree, known, rel, e.Name);
                        var job = open = new LayerWriter.FileJob();
                        w.Post(new LayerWriter.OpenOp(job, () => tree.Dir(parent), name, full) { Entry = e.Name });
                        if (e.DataStream is { } data)
                        {
                            for (long left = e.Length; left > 0;)
                            {
                                int n = (int)Math.Min(left, ChunkSize);
                                byte[] buf = ArrayPool<byte>.Shared.Rent(n);
                                try { data.ReadExactly(buf, 0, n); }
                                catch { ArrayPool<byte>.Shared.Return(buf); throw; }
                                w.Post(new LayerWriter.ChunkOp(job, buf, n, full) { Entry = e.Name });
                                left -= n;
                            }
                        }
                        w.Post(new LayerWriter.CloseOp(job, h =>
                        {
                            int fd = (int)h.DangerousGetHandle();
                            if (!rootless) LayerFs.Fchown(fd, uid, gid, full);
                            else if (uid != 0 || gid != 0) owners.Add((rel, uid, gid, mode, false));
                            LayerFs.Fchmod(fd, mode, full);
                            ApplyXattrs(xattrs, h, "", full);
                            LayerFs.Futimes(fd, sec, nsec, full);
                        }) { Entry = e.Name });
                        open = null;
                        bytes += e.Length;
                        known[rel] = Kind.File;
                        break;
                    }
                    case TarEntryType.SymbolicLink:
                    {
                        RemoveExisting(w, tree, known, rel, e.Name);
                        string linkName = e.LinkName;
                        w.Post(e.Name, () =>
                        {
                            var d = tree.Dir(parent);
                            RootedFs.SymlinkAt(linkName, d, name, full);
                            Own(d, name, rel, uid, gid, 0, true, full);
                            ApplyXattrs(xattrs, d, name, full);
                            RootedFs.UtimesAt(d, name, sec, nsec, full);
                        });
                        known[rel] = Kind.Symlink;
                        break;
                    }
                    case TarEntryType.HardLink:
                    {
                        string to = Clean(e.LinkName, "LayerHardlinkEscapes");
                        if (to.Length == 0 || !known.TryGetValue(to, out var tk))
                            throw Refuse("LayerHardlinkEscapes", e.Name, $"its hard link target '{e.LinkName}' is not an earlier entry of the layer");
                        if (tk == Kind.Dir) throw Refuse("LayerHardlinkEscapes", e.Name, $"its hard link target '{e.LinkName}' is a directory");
                        // every parent of the target was checked when the target was made, and it was made by us
                        if (to == rel) break;
                        // replacing a directory that holds the target would delete the target first (link: ENOENT)
                        if (to.StartsWith(rel + "/", StringComparison.Ordinal))
                            throw Refuse("LayerHardlinkTargetReplaced", e.Name, $"its hard link target '{e.LinkName}' is inside the directory this entry replaces");
                        RemoveExisting(w, tree, known, rel, e.Name);
                        var (toParent, toName) = StagingTree.Split(to);
                        w.Post(e.Name, () =>
                        {
                            using var od = tree.OpenDir(toParent);
                            using var nd = tree.OpenDir(parent);
                            RootedFs.LinkAt(od, toName, nd, name, full + " -> " + to);
                        });
                        known[rel] = tk;
                        break;
                    }
                    case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                    {
                        RemoveExisting(w, tree, known, rel, e.Name);
                        // rootless: no device node can be made in a user namespace (podman and containerd leave them
                        // out too); the container's /dev is the runtime's
                        if (rootless && e.EntryType != TarEntryType.Fifo) { known.Remove(rel); break; }
                        uint type = e.EntryType switch { TarEntryType.CharacterDevice => LayerFs.S_IFCHR, TarEntryType.BlockDevice => LayerFs.S_IFBLK, _ => LayerFs.S_IFIFO };
                        var pe = e as PosixTarEntry;
                        uint major = (uint)(pe?.DeviceMajor ?? 0), minor = (uint)(pe?.DeviceMinor ?? 0);
                        w.Post(e.Name, () =>
                        {
                            var d = tree.Dir(parent);
                            RootedFs.MknodAt(d, name, type | mode, major, minor, full);
                            Own(d, name, rel, uid, gid, mode, false, full);
                            RootedFs.ChmodAt(d, name, mode, full);
                            ApplyXattrs(xattrs, d, name, full);
                            RootedFs.UtimesAt(d, name, sec, nsec, full);
                        });
                        known[rel] = Kind.Other;
                        break;
                    }
                    default:
                        // sparse files, multi-volume parts, tape labels: not produced by image builders
                        throw Refuse("LayerEntryUnsupported", e.Name, $"its tar entry type {e.EntryType} is not supported in image layers");
                }
            }
            // directories last, deepest first, so adding children does not move their times again; only those
            // still directories of the layer: one a later entry replaced (by a link to the host, say) is not
            // there any more, and its path would now lead through that link out of the layer
            dirTimes.RemoveAll(d => !known.TryGetValue(d.Rel, out var dk) || dk != Kind.Dir);
            w.Post(".", () =>
            {
                for (int i = dirTimes.Count - 1; i >= 0; i--)
                {
                    var (rel, sec, nsec) = dirTimes[i];
                    if (rel.Length == 0) { RootedFs.UtimesAt(tree.Root, "", sec, nsec, "."); continue; }
                    var (p, n) = StagingTree.Split(rel);
                    RootedFs.UtimesAt(tree.Dir(p), n, sec, nsec, rel);
                }
            });
            w.Finish();
            if (rootless) Rootless.RootlessHost.FixOwners(target, owners);
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or ArgumentException or OverflowException
            or SharpCompress.Common.ArchiveException or SharpCompress.Compressors.ZStandard.ZstdException)
        {
            throw ContainersException.DataLoss("LayerCorrupt", $"The layer is not a readable tar stream: {ex.Message}", null, ex);
        }
        catch (NativeException ne) when (w.FailedEntry is { } failed)
        {
            throw ContainersException.System("LayerEntryWriteFailed", $"The layer entry '{failed}' could not be written: {ne.Message}", failed, ne);
        }
        finally
        {
            w.Dispose();
            open?.Close();
            tree.Dispose();
        }
        return bytes;
    }

    private static ContainersException Refuse(string id, string entry, string why)
        => ContainersException.Invalid(id, $"The layer entry '{entry}' was refused: {why}. Nothing was written outside the layer.", entry);

    /// <summary>Normalises an entry name to a relative path without '.', refusing absolute names and '..'.</summary>
    /// <summary>
    /// An entry name (or hard-link target) relative to the layer root: an absolute name is taken relative to
    /// it, as containerd, podman and docker do ('/abs/file' is 'abs/file'); '..' anywhere is refused (it could
    /// only leave the root or be a trick), as is a NUL.
    /// </summary>
    private static string Clean(string name, string traversalId)
    {
        if (name.IndexOf('\0') >= 0) throw Refuse(traversalId, name, "the name contains a NUL byte");
        var sb = new StringBuilder(name.Length);
        foreach (var part in name.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..") throw Refuse(traversalId, name, "'..' would leave the layer directory");
            if (sb.Length > 0) sb.Append('/');
            sb.Append(part);
        }
        return sb.ToString();
    }

    /// <summary>Makes sure every parent of an entry is a real directory this layer made (never a symbolic link).</summary>
    private static void EnsureParents(LayerWriter w, StagingTree tree, Dictionary<string, Kind> known, string parent, string entry)
    {
        if (parent.Length == 0 || (known.TryGetValue(parent, out var pk) && pk == Kind.Dir)) return;
        int idx = 0;
        while (idx <= parent.Length)
        {
            int next = parent.IndexOf('/', idx);
            if (next < 0) next = parent.Length;
            string p = parent[..next];
            if (known.TryGetValue(p, out var k))
            {
                if (k == Kind.Symlink) throw Refuse("LayerPathThroughSymlink", entry, $"'{p}' is a symbolic link, and writing through it could leave the layer directory");
                if (k != Kind.Dir) throw Refuse("LayerPathNotDirectory", entry, $"'{p}' is not a directory");
            }
            else
            {
                var (pp, pn) = StagingTree.Split(p);
                w.Post(entry, () => RootedFs.MkdirAt(tree.Dir(pp), pn, 0x1ed, p, existOk: true));
                known[p] = Kind.Dir;
            }
            idx = next + 1;
        }
    }

    private static void RemoveExisting(LayerWriter w, StagingTree tree, Dictionary<string, Kind> known, string rel, string entry)
    {
        if (!known.TryGetValue(rel, out var k)) return;
        var (parent, name) = StagingTree.Split(rel);
        if (k == Kind.Dir)
        {
            w.Post(entry, () =>
            {
                tree.Forget(rel);
                RootedFs.RemoveAllAt(tree.Dir(parent), name, rel);
            });
            string prefix = rel + "/";
            foreach (var key in known.Keys.Where(x => x.StartsWith(prefix, StringComparison.Ordinal)).ToList()) known.Remove(key);
        }
        else w.Post(entry, () => RootedFs.UnlinkAt(tree.Dir(parent), name, false, rel));
        known.Remove(rel);
    }

    /// <summary>The xattrs a PAX entry carries (SCHILY.xattr.*), minus overlayfs' own; null when none.</summary>
    private static List<(string Name, byte[] Value)>? XattrsOf(TarEntry e, List<(string Name, byte[] Value)>? raw, bool rootless)
    {
        var all = XattrsOf(e, raw);
        if (!rootless || all is null) return all;
        // rootless: the overlay reads user.overlay.* (a layer must not forge them), and trusted.* and security.*
        // (file capabilities among them) are not the user's to set: left out, as podman's rootless storage does
        var kept = all.Where(x => !x.Name.StartsWith("user.overlay.", StringComparison.Ordinal)
            && !x.Name.StartsWith("trusted.", StringComparison.Ordinal) && !x.Name.StartsWith("security.", StringComparison.Ordinal)).ToList();
        return kept.Count > 0 ? kept : null;
    }

    private static List<(string Name, byte[] Value)>? XattrsOf(TarEntry e, List<(string Name, byte[] Value)>? raw)
    {
        // the bytes of the PAX records when the filter saw them (binary values survive), else TarReader's strings
        if (raw is not null)
        {
            var r = raw.Where(x => !x.Name.StartsWith("trusted.overlay.", StringComparison.Ordinal)).ToList();
            return r.Count > 0 ? r : null;
        }
        if (e is not PaxTarEntry pax || pax.ExtendedAttributes.Count == 0) return null;
        List<(string, byte[])>? list = null;
        foreach (var kv in pax.ExtendedAttributes)
        {
            if (!kv.Key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal)) continue;
            string name = kv.Key["SCHILY.xattr.".Length..];
            // a layer must not forge overlayfs' own attributes (whiteouts come from .wh. entries only)
            if (name.StartsWith("trusted.overlay.", StringComparison.Ordinal)) continue;
            // .NET decodes PAX values as UTF-8; Latin-1 round-trips bytes that were not valid UTF-8 only approximately
            (list ??= []).Add((name, Encoding.UTF8.GetBytes(kv.Value)));
        }
        return list;
    }

    private static void ApplyXattrs(List<(string Name, byte[] Value)>? xattrs, Microsoft.Win32.SafeHandles.SafeFileHandle dir, string name, string full)
    {
        if (xattrs is null) return;
        foreach (var (x, value) in xattrs) RootedFs.SetXattrAt(dir, name, x, value, full);
    }
}
