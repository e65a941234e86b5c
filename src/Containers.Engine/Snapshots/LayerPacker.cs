using System.Formats.Tar;
using System.Text;
using Containers.Native.Sys;

namespace Containers.Engine.Snapshots;

/// <summary>
/// Writes a directory as a layer tar (sorted, so the same tree gives the same bytes): ownership, modes,
/// mtimes, xattrs, hard links, symbolic links and device nodes. For an overlayfs upper directory the
/// overlay whiteouts become OCI whiteouts: a character device 0/0 -> <c>.wh.NAME</c>, a directory with
/// trusted.overlay.opaque=y -> <c>DIR/.wh..wh..opq</c>.
/// </summary>
public static class LayerPacker
{
    public static void PackDirectory(string dir, Stream output, bool overlayUpper, CancellationToken ct = default)
    {
        using var w = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var links = new Dictionary<(ulong, ulong), string>();
        Walk(w, dir, "", overlayUpper, links, ct);
    }

    private static void Walk(TarWriter w, string root, string rel, bool overlay, Dictionary<(ulong, ulong), string> links, CancellationToken ct)
    {
        string full = rel.Length == 0 ? root : Path.Combine(root, rel);
        var names = Directory.EnumerateFileSystemEntries(full).Select(p => Path.GetFileName(p)!).ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            string r = rel.Length == 0 ? name : rel + "/" + name;
            string p = Path.Combine(root, r);
            if (!LayerFs.TryLstat(p, out var st)) continue;
            uint type = st.Mode & LayerFs.S_IFMT;
            var mtime = DateTimeOffset.FromUnixTimeSeconds(st.Mtime.Sec).AddTicks(st.Mtime.Nsec / 100);
            if (overlay && type == LayerFs.S_IFCHR && st.Rdev == 0)
            {
                string wh = rel.Length == 0 ? ".wh." + name : rel + "/.wh." + name;
                var e = new PaxTarEntry(TarEntryType.RegularFile, wh) { ModificationTime = mtime, Mode = (UnixFileMode)0x1a4 };
                w.WriteEntry(e);
                continue;
            }
            var xattrs = Xattrs(p, overlay, out bool opaque);
            TarEntryType et = type switch
            {
                LayerFs.S_IFDIR => TarEntryType.Directory,
                LayerFs.S_IFREG => TarEntryType.RegularFile,
                LayerFs.S_IFLNK => TarEntryType.SymbolicLink,
                LayerFs.S_IFCHR => TarEntryType.CharacterDevice,
                LayerFs.S_IFBLK => TarEntryType.BlockDevice,
                LayerFs.S_IFIFO => TarEntryType.Fifo,
                _ => (TarEntryType)0xFF,
            };
            if ((byte)et == 0xFF) continue; // sockets are not archived
            string entryName = et == TarEntryType.Directory ? r + "/" : r;
            if (et == TarEntryType.RegularFile && st.Nlink > 1)
            {
                if (links.TryGetValue((st.Dev, st.Ino), out var first))
                {
                    w.WriteEntry(Entry(TarEntryType.HardLink, entryName, xattrs, st, mtime, first));
                    continue;
                }
                links[(st.Dev, st.Ino)] = r;
            }
            var entry = Entry(et, entryName, xattrs, st, mtime, et == TarEntryType.SymbolicLink ? LayerFs.Readlink(p) : null);
            if (et is TarEntryType.CharacterDevice or TarEntryType.BlockDevice && entry is PosixTarEntry pe)
            {
                pe.DeviceMajor = (int)LayerFs.Major(st.Rdev);
                pe.DeviceMinor = (int)LayerFs.Minor(st.Rdev);
            }
            if (et == TarEntryType.RegularFile)
            {
                using var fs = new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
                entry.DataStream = fs;
                w.WriteEntry(entry);
            }
            else w.WriteEntry(entry);
            if (et == TarEntryType.Directory)
            {
                if (opaque)
                    w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, r + "/.wh..wh..opq") { ModificationTime = mtime, Mode = (UnixFileMode)0x1a4 });
                Walk(w, root, r, overlay, links, ct);
            }
        }
    }

    private static TarEntry Entry(TarEntryType t, string name, Dictionary<string, string>? xattrs, LayerFs.Stat st, DateTimeOffset mtime, string? link)
    {
        TarEntry e = xattrs is { Count: > 0 } ? new PaxTarEntry(t, name, xattrs) : new GnuTarEntry(t, name);
        e.Mode = (UnixFileMode)(st.Mode & 0xFFF);
        e.Uid = (int)st.Uid;
        e.Gid = (int)st.Gid;
        e.ModificationTime = mtime;
        if (link is not null) e.LinkName = link;
        return e;
    }

    private static Dictionary<string, string>? Xattrs(string path, bool overlay, out bool opaque)
    {
        opaque = false;
        string[] names;
        try { names = LayerFs.Llistxattr(path); } catch (NativeException) { return null; }
        if (names.Length == 0) return null;
        Dictionary<string, string>? d = null;
        foreach (var n in names)
        {
            if (n.StartsWith("trusted.overlay.", StringComparison.Ordinal))
            {
                if (overlay && n == "trusted.overlay.opaque" && LayerFs.Lgetxattr(path, n) is { } v && v.Length > 0 && v[0] == (byte)'y') opaque = true;
                continue;
            }
            var val = LayerFs.Lgetxattr(path, n);
            if (val is null) continue;
            (d ??= new())["SCHILY.xattr." + n] = Encoding.UTF8.GetString(val);
        }
        return d;
    }
}
