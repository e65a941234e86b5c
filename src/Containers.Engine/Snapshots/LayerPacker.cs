using System.Formats.Tar;
using System.Text;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Snapshots;

/// <summary>
/// Writes a directory as a layer tar (sorted, so the same tree gives the same bytes): ownership, modes,
/// mtimes, xattrs, hard links, symbolic links and device nodes. For an overlayfs upper directory the
/// overlay whiteouts become OCI whiteouts: a character device 0/0 -> <c>.wh.NAME</c>, a directory with
/// trusted.overlay.opaque=y -> <c>DIR/.wh..wh..opq</c>.
/// </summary>
public static class LayerPacker
{
    /// <summary>
    /// Packs <paramref name="dir"/>. The walk goes by descriptor from that directory down (never by path, never
    /// through a link), so a tree that changes while it is packed (a running container's) cannot send it
    /// elsewhere; a name that vanishes or changes type mid-walk is left out and reported to
    /// <paramref name="skipped"/> (a file that shrinks is padded with zeros, one that grows is cut, as
    /// its tar header already gave the size).
    /// </summary>
    public static void PackDirectory(string dir, Stream output, bool overlayUpper, CancellationToken ct = default, Action<string>? skipped = null,
        Func<(int Uid, int Gid), (int Uid, int Gid)>? mapIds = null)
    {
        using var root = FileSys.OpenHandle(dir, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
        PackDirectory(root, output, overlayUpper, ct, skipped, mapIds);
    }

    /// <summary>Packs the directory an O_RDONLY descriptor holds (a container's root as a <see cref="RootedFs"/> has it).</summary>
    internal static void PackDirectory(SafeFileHandle root, Stream output, bool overlayUpper, CancellationToken ct = default, Action<string>? skipped = null,
        Func<(int Uid, int Gid), (int Uid, int Gid)>? mapIds = null)
    {
        _mapIds = mapIds;
        using (var w = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            var links = new Dictionary<(ulong, ulong), string>();
            Walk(w, root, "", overlayUpper, links, skipped, ct);
        }
        // TarWriter writes nothing at all, not even the end-of-archive blocks, when it wrote no entry; an empty
        // directory (a container that changed nothing, committed) must still be a tar: two zero blocks, as docker's
        if (RootedFs.ReadDir(root, "").Count == 0) output.Write(new byte[1024]);
    }

    /// <summary>The errors a name gives when it vanished or was replaced between listing it and opening it.</summary>
    private static bool Changed(NativeException e) => e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EINVAL or Errno.ENXIO;

    private static void Walk(TarWriter w, SafeFileHandle dir, string rel, bool overlay, Dictionary<(ulong, ulong), string> links, Action<string>? skipped, CancellationToken ct)
    {
        var names = RootedFs.ReadDir(dir, rel).Select(e => e.Name).ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            string r = rel.Length == 0 ? name : rel + "/" + name;
            if (!RootedFs.TryStatAt(dir, name, out var st, r)) { skipped?.Invoke(r); continue; }
            uint type = st.Mode & LayerFs.S_IFMT;
            if (overlay && type == LayerFs.S_IFCHR && st.Rdev == 0)
            {
                string wh = rel.Length == 0 ? ".wh." + name : rel + "/.wh." + name;
                var e = new PaxTarEntry(TarEntryType.RegularFile, wh) { ModificationTime = Mtime(st), Mode = (UnixFileMode)0x1a4 };
                w.WriteEntry(e);
                continue;
            }
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
            // open what we will read before writing anything for it: a name that changed since the lstat is skipped
            SafeFileHandle? fd = null;
            string? target = null;
            try
            {
                if (et == TarEntryType.Directory) fd = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, r);
                else if (et == TarEntryType.RegularFile) fd = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_NONBLOCK | O_NOCTTY, 0, r);
                else if (et == TarEntryType.SymbolicLink) target = RootedFs.ReadlinkAt(dir, name, r);
                if (fd is not null)
                {
                    var now = RootedFs.Fstat(fd, r);
                    if ((now.Mode & LayerFs.S_IFMT) != type) { fd.Dispose(); skipped?.Invoke(r); continue; }
                    st = now;
                }
            }
            catch (NativeException ne) when (Changed(ne)) { fd?.Dispose(); skipped?.Invoke(r); continue; }
            using var _ = fd;
            var mtime = Mtime(st);
            var xattrs = Xattrs(dir, name, r, overlay, out bool opaque);
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
            var entry = Entry(et, entryName, xattrs, st, mtime, target);
            if (et is TarEntryType.CharacterDevice or TarEntryType.BlockDevice && entry is PosixTarEntry pe)
            {
                pe.DeviceMajor = (int)LayerFs.Major(st.Rdev);
                pe.DeviceMinor = (int)LayerFs.Minor(st.Rdev);
            }
            if (et == TarEntryType.RegularFile)
            {
                using var fs = new FileStream(fd!, FileAccess.Read, 1 << 16);
                entry.DataStream = new ExactLengthStream(fs, st.Size);
                w.WriteEntry(entry);
            }
            else w.WriteEntry(entry);
            if (et == TarEntryType.Directory)
            {
                if (opaque)
                    w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, r + "/.wh..wh..opq") { ModificationTime = mtime, Mode = (UnixFileMode)0x1a4 });
                Walk(w, fd!, r, overlay, links, skipped, ct);
            }
        }
    }

    private const int O_NOCTTY = 0x100;

    /// <summary>The owner map of the current pack (a user namespace's upper directory: its range's ids back to the container's).</summary>
    [ThreadStatic] private static Func<(int Uid, int Gid), (int Uid, int Gid)>? _mapIds;

    private static DateTimeOffset Mtime(LayerFs.Stat st) => DateTimeOffset.FromUnixTimeSeconds(st.Mtime.Sec).AddTicks(st.Mtime.Nsec / 100);

    private static TarEntry Entry(TarEntryType t, string name, Dictionary<string, string>? xattrs, LayerFs.Stat st, DateTimeOffset mtime, string? link)
    {
        TarEntry e = xattrs is { Count: > 0 } ? new PaxTarEntry(t, name, xattrs) : new GnuTarEntry(t, name);
        e.Mode = (UnixFileMode)(st.Mode & 0xFFF);
        var (uid, gid) = _mapIds is null ? ((int)st.Uid, (int)st.Gid) : _mapIds(((int)st.Uid, (int)st.Gid));
        e.Uid = uid;
        e.Gid = gid;
        e.ModificationTime = mtime;
        if (link is not null) e.LinkName = link;
        return e;
    }

    private static Dictionary<string, string>? Xattrs(SafeFileHandle dir, string name, string rel, bool overlay, out bool opaque)
    {
        opaque = false;
        string[] names;
        try { names = RootedFs.ListXattrAt(dir, name, rel); } catch (NativeException) { return null; }
        if (names.Length == 0) return null;
        Dictionary<string, string>? d = null;
        foreach (var n in names)
        {
            byte[]? val;
            try { val = RootedFs.GetXattrAt(dir, name, n, rel); } catch (NativeException) { continue; }
            if (n.StartsWith("trusted.overlay.", StringComparison.Ordinal))
            {
                if (overlay && n == "trusted.overlay.opaque" && val is { Length: > 0 } && val[0] == (byte)'y') opaque = true;
                continue;
            }
            if (val is null) continue;
            (d ??= new())["SCHILY.xattr." + n] = Encoding.UTF8.GetString(val);
        }
        return d;
    }

    /// <summary>
    /// A file's data as exactly <c>length</c> bytes: what the tar header promised when the file was opened. A file
    /// that a running container shrinks meanwhile is padded with zeros, one it grows is cut.
    /// </summary>
    private sealed class ExactLengthStream(Stream inner, long length) : Stream
    {
        private long _pos;
        private bool _eof;
        public override bool CanRead => true;
        public override bool CanSeek => true; // so TarWriter takes Length for the header instead of buffering
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _pos; set { if (value != _pos) throw new NotSupportedException(); } }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            long left = length - _pos;
            if (left <= 0) return 0;
            if (buffer.Length > left) buffer = buffer[..(int)left];
            int n = _eof ? 0 : inner.Read(buffer);
            if (n == 0) { _eof = true; n = buffer.Length; buffer.Clear(); }
            _pos += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin)
        {
            long to = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _pos + offset, _ => length + offset };
            if (to != _pos) throw new NotSupportedException();
            return _pos;
        }
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
