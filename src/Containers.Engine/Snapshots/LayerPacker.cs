using System.Formats.Tar;
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
        var o = new Out(output);
        using (o.W)
        {
            var links = new Dictionary<(ulong, ulong), string>();
            Walk(o, root, "", overlayUpper, links, skipped, ct);
        }
        // TarWriter writes nothing at all, not even the end-of-archive blocks, when it wrote no entry itself (an
        // empty directory: a container that changed nothing, committed; or only entries with xattrs, which
        // PaxEntryWriter wrote): the archive must still end with two zero blocks, as docker's
        if (!o.WriterUsed) output.Write(new byte[1024]);
    }

    /// <summary>
    /// Where entries go: TarWriter for entries without xattrs, <see cref="PaxEntryWriter"/> (raw PAX records, so
    /// binary values stay byte-exact) for those with some. Both write straight to the stream, in order.
    /// </summary>
    private sealed class Out(Stream stream)
    {
        public readonly TarWriter W = new(stream, TarEntryFormat.Pax, leaveOpen: true);
        public readonly Stream Stream = stream;
        public bool WriterUsed;
        public void Write(TarEntry e) { W.WriteEntry(e); WriterUsed = true; }
    }

    /// <summary>The errors a name gives when it vanished or was replaced between listing it and opening it.</summary>
    private static bool Changed(NativeException e) => e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EINVAL or Errno.ENXIO;

    private static void Walk(Out w, SafeFileHandle dir, string rel, bool overlay, Dictionary<(ulong, ulong), string> links, Action<string>? skipped, CancellationToken ct)
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
                w.Write(e);
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
                    if (xattrs is not null)
                        PaxEntryWriter.Write(w.Stream, TarEntryType.HardLink, entryName, first, st.Mode, (uint)Owner(st).Uid, (uint)Owner(st).Gid, st.Mtime.Sec, 0, 0, 0, xattrs, null);
                    else w.Write(Entry(TarEntryType.HardLink, entryName, st, mtime, first));
                    continue;
                }
                links[(st.Dev, st.Ino)] = r;
            }
            bool dev = et is TarEntryType.CharacterDevice or TarEntryType.BlockDevice;
            if (xattrs is not null)
            {
                // raw PAX records: the values' bytes as they are (TarWriter would write them as UTF-8 strings)
                using var fs = et == TarEntryType.RegularFile ? new FileStream(fd!, FileAccess.Read, 1 << 16) : null;
                PaxEntryWriter.Write(w.Stream, et, entryName, target, st.Mode, (uint)Owner(st).Uid, (uint)Owner(st).Gid, st.Mtime.Sec,
                    et == TarEntryType.RegularFile ? st.Size : 0, dev ? LayerFs.Major(st.Rdev) : 0, dev ? LayerFs.Minor(st.Rdev) : 0,
                    xattrs, fs is null ? null : new ExactLengthStream(fs, st.Size));
            }
            else
            {
                var entry = Entry(et, entryName, st, mtime, target);
                if (dev && entry is PosixTarEntry pe)
                {
                    pe.DeviceMajor = (int)LayerFs.Major(st.Rdev);
                    pe.DeviceMinor = (int)LayerFs.Minor(st.Rdev);
                }
                if (et == TarEntryType.RegularFile)
                {
                    using var fs = new FileStream(fd!, FileAccess.Read, 1 << 16);
                    entry.DataStream = new ExactLengthStream(fs, st.Size);
                    w.Write(entry);
                }
                else w.Write(entry);
            }
            if (et == TarEntryType.Directory)
            {
                if (opaque)
                    w.Write(new PaxTarEntry(TarEntryType.RegularFile, r + "/.wh..wh..opq") { ModificationTime = mtime, Mode = (UnixFileMode)0x1a4 });
                Walk(w, fd!, r, overlay, links, skipped, ct);
            }
        }
    }

    private const int O_NOCTTY = 0x100;

    /// <summary>The owner map of the current pack (a user namespace's upper directory: its range's ids back to the container's).</summary>
    [ThreadStatic] private static Func<(int Uid, int Gid), (int Uid, int Gid)>? _mapIds;

    private static DateTimeOffset Mtime(LayerFs.Stat st) => DateTimeOffset.FromUnixTimeSeconds(st.Mtime.Sec).AddTicks(st.Mtime.Nsec / 100);

    /// <summary>The owner an entry is written with: the file's, mapped back to the container's ids when packing a user namespace's tree.</summary>
    private static (int Uid, int Gid) Owner(LayerFs.Stat st) => _mapIds is null ? ((int)st.Uid, (int)st.Gid) : _mapIds(((int)st.Uid, (int)st.Gid));

    private static TarEntry Entry(TarEntryType t, string name, LayerFs.Stat st, DateTimeOffset mtime, string? link)
    {
        TarEntry e = new GnuTarEntry(t, name);
        e.Mode = (UnixFileMode)(st.Mode & 0xFFF);
        var (uid, gid) = Owner(st);
        e.Uid = uid;
        e.Gid = gid;
        e.ModificationTime = mtime;
        if (link is not null) e.LinkName = link;
        return e;
    }

    /// <summary>
    /// File capabilities set in a user namespace are stored by the kernel as revision 3 with the namespace's root
    /// (its host id) in them; a layer of a container in a user namespace of its own gives them back as the revision 2
    /// every runtime reads when the root is the container's (0 after <see cref="_mapIds"/>), as podman does.
    /// </summary>
    private static byte[] NamespacedCapabilityToV2(byte[] val)
    {
        if (val.Length != 24) return val;
        uint magic = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(val);
        if ((magic & 0xFF000000) != 0x03000000) return val;
        uint rootid = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(val.AsSpan(20));
        if (_mapIds!(((int)rootid, 0)).Uid != 0) return val;
        var v2 = val[..20];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(v2, (magic & 0x00FFFFFF) | 0x02000000);
        return v2;
    }

    /// <summary>The entry's xattrs as (name, value bytes), sorted by name, minus overlayfs' own; null when none.</summary>
    private static List<(string Name, byte[] Value)>? Xattrs(SafeFileHandle dir, string name, string rel, bool overlay, out bool opaque)
    {
        opaque = false;
        string[] names;
        try { names = RootedFs.ListXattrAt(dir, name, rel); } catch (NativeException) { return null; }
        if (names.Length == 0) return null;
        List<(string Name, byte[] Value)>? d = null;
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
            if (n == "security.capability" && _mapIds is not null) val = NamespacedCapabilityToV2(val);
            (d ??= []).Add((n, val));
        }
        d?.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
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
