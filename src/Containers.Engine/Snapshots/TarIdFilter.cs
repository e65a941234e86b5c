using System.Text;
using Containers.Engine.Errors;

namespace Containers.Engine.Snapshots;

/// <summary>
/// A read-only pass-through of a tar stream that lets owners above 2^31-1 through System.Formats.Tar, which
/// keeps uid and gid in an int and throws a bare OverflowException for larger ones (podman and containerd
/// take ids up to 2^32-2). It follows the tar framing (headers, PAX and GNU long-name data, entry data) and,
/// for an id that does not fit an int, in a PAX "uid"/"gid" record (digits replaced by zeros of the same
/// length) or in a GNU base-256 header field (replaced by octal zero, checksum recomputed), hands the reader
/// 0 and records the real id for that entry (<see cref="IdsOf"/>, by the entry's ordinal among the entries
/// the reader returns). An id of 2^32-1 or more (which chown would read as "unchanged") is refused
/// (LayerOwnerInvalid). SCHILY.xattr.* values are kept as bytes (<see cref="XattrsOf"/>) and handed to the
/// reader as zeros of the same length. Everything else passes unchanged, so the blob's digest and diffID are computed on
/// the original bytes upstream.
/// </summary>
internal sealed class TarIdFilter : Stream
{
    private readonly Stream _inner;
    private readonly Dictionary<int, (uint? Uid, uint? Gid)> _ids = new();
    private readonly Dictionary<int, List<(string Name, byte[] Value)>> _xattrs = new();
    private List<(string Name, byte[] Value)>? _nextXattrs; // SCHILY.xattr.* of the next entry, as raw bytes
    private readonly byte[] _block = new byte[512];
    private byte[] _pending = [];
    private int _pendingPos;
    private long _dataLeft;          // bytes of entry data (with padding) still to pass unchanged
    private int _entries;            // entries the reader will return so far (PAX 'x', 'L', 'K' headers are not entries)
    private (uint? Uid, uint? Gid) _next; // ids from a PAX header for the next entry
    private long? _nextSize;         // a PAX "size" for the next entry
    private string? _nextPath;       // a PAX "path" for the next entry (for messages)
    private ulong? _badUid, _badGid; // ids from a PAX header out of range, refused with the entry's name
    private bool _end;

    public TarIdFilter(Stream inner) => _inner = inner;

    /// <summary>The ids above 2^31-1 of the entry with this ordinal (0-based, among the entries TarReader returns).</summary>
    public (uint? Uid, uint? Gid) IdsOf(int ordinal) => _ids.TryGetValue(ordinal, out var v) ? v : default;

    /// <summary>
    /// The SCHILY.xattr.* values of the entry with this ordinal as the PAX records hold them: binary values
    /// (security.capability with a byte above 0x7f) that TarReader's UTF-8 strings would change. Null: none.
    /// </summary>
    public List<(string Name, byte[] Value)>? XattrsOf(int ordinal) => _xattrs.GetValueOrDefault(ordinal);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        if (_pendingPos < _pending.Length)
        {
            int n = Math.Min(buffer.Length, _pending.Length - _pendingPos);
            _pending.AsSpan(_pendingPos, n).CopyTo(buffer);
            _pendingPos += n;
            return n;
        }
        if (_dataLeft > 0 || _end)
        {
            int want = _end ? buffer.Length : (int)Math.Min(buffer.Length, _dataLeft);
            int got = _inner.Read(buffer[..want]);
            if (!_end) _dataLeft -= got;
            return got;
        }
        // at a header
        int have = ReadFull(_block);
        if (have < 512)
        {
            _end = true;
            return have == 0 ? 0 : Emit(buffer, _block.AsSpan(0, have).ToArray());
        }
        if (_block.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            // a zero block: the end (or its first half); what follows passes unchanged
            _end = true;
            return Emit(buffer, (byte[])_block.Clone());
        }
        byte type = _block[156];
        long size = _nextSize ?? ParseNumeric(_block.AsSpan(124, 12));
        bool meta = type is (byte)'x' or (byte)'X' or (byte)'L' or (byte)'K';
        if (type is (byte)'x' or (byte)'X')
        {
            // PAX extended header for the next entry: its records are read and fixed whole
            if (size < 0 || size > 1 << 20) throw Refuse(HeaderName(_block), "its PAX header is larger than 1 MiB");
            long padded = (size + 511) & ~511L;
            var data = new byte[padded];
            if (ReadFull(data) < padded) { _end = true; return Emit(buffer, Concat(_block, data)); }
            FixPax(data.AsSpan(0, (int)size));
            return Emit(buffer, Concat(_block, data));
        }
        var blk = (byte[])_block.Clone();
        if (!meta)
        {
            string name = _nextPath ?? HeaderName(blk);
            if (_badUid is { } bu) throw Refuse(name, $"its uid {bu} is out of range (at most 4294967294)");
            if (_badGid is { } bg) throw Refuse(name, $"its gid {bg} is out of range (at most 4294967294)");
            var ids = _next;
            if (FixBase256(blk, 108, name, "uid") is { } u) ids.Uid = u;
            if (FixBase256(blk, 116, name, "gid") is { } g) ids.Gid = g;
            if (ids.Uid is not null || ids.Gid is not null) _ids[_entries] = ids;
            if (_nextXattrs is not null) _xattrs[_entries] = _nextXattrs;
            _nextXattrs = null;
            _entries++;
            _next = default;
            _nextSize = null;
            _nextPath = null;
        }
        // data of this entry (regular files; links and directories have none; 'L'/'K' hold a name)
        // header-only types (links, devices, directories, fifos) have no data whatever their size says, as in
        // Go's archive/tar, Python's tarfile and System.Formats.Tar (which refuses a size there)
        bool hasData = type is not ((byte)'1' or (byte)'2' or (byte)'3' or (byte)'4' or (byte)'5' or (byte)'6');
        _dataLeft = hasData && size > 0 ? (size + 511) & ~511L : 0;
        return Emit(buffer, blk);
    }

    private int Emit(Span<byte> buffer, byte[] bytes)
    {
        _pending = bytes;
        _pendingPos = 0;
        return Read(buffer);
    }

    private static byte[] Concat(byte[] a, byte[] b)
    {
        var r = new byte[a.Length + b.Length];
        a.CopyTo(r, 0);
        b.CopyTo(r, a.Length);
        return r;
    }

    private int ReadFull(Span<byte> buf)
    {
        int total = 0;
        while (total < buf.Length)
        {
            int n = _inner.Read(buf[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>PAX records "len key=value\n": big uid/gid values become zeros (recorded for the next entry); "size" is noted.</summary>
    private void FixPax(Span<byte> data)
    {
        int pos = 0;
        while (pos < data.Length)
        {
            int sp = data[pos..].IndexOf((byte)' ');
            if (sp <= 0) return; // malformed: TarReader reports it
            if (!int.TryParse(Encoding.ASCII.GetString(data.Slice(pos, sp)), out int len) || len <= sp + 1 || pos + len > data.Length) return;
            var rec = data.Slice(pos + sp + 1, len - sp - 2); // without the newline
            int eq = rec.IndexOf((byte)'=');
            if (eq > 0)
            {
                string key = Encoding.ASCII.GetString(rec[..eq]);
                var val = rec[(eq + 1)..];
                if (key is "uid" or "gid" && ulong.TryParse(Encoding.ASCII.GetString(val), out ulong v) && v > int.MaxValue)
                {
                    val.Fill((byte)'0');
                    if (v > uint.MaxValue - 1) { if (key == "uid") _badUid = v; else _badGid = v; }
                    else if (key == "uid") _next.Uid = (uint)v;
                    else _next.Gid = (uint)v;
                }
                else if (key == "size" && long.TryParse(Encoding.ASCII.GetString(val), out long s)) _nextSize = s;
                else if (key == "path") _nextPath = Encoding.UTF8.GetString(val);
                else if (key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                {
                    (_nextXattrs ??= []).Add((Encoding.UTF8.GetString(rec[..eq])["SCHILY.xattr.".Length..], val.ToArray()));
                    // the unpacker takes the bytes kept here; TarReader gets a value of the same length that it
                    // cannot misread (it decodes values as UTF-8, and a newline or NUL in a binary value must
                    // not disturb how it splits the records that follow: path, size)
                    val.Fill((byte)'0');
                }
            }
            pos += len;
        }
    }

    /// <summary>A GNU base-256 id field (first byte 0x80) that does not fit an int: set to octal 0, checksum recomputed; returns the id.</summary>
    private static uint? FixBase256(byte[] hdr, int offset, string name, string what)
    {
        var f = hdr.AsSpan(offset, 8);
        if ((f[0] & 0x80) == 0) return null;
        if ((f[0] & 0x40) != 0) throw Refuse(name, $"its {what} is negative");
        ulong v = (ulong)(f[0] & 0x3f);
        for (int i = 1; i < 8; i++) v = (v << 8) | f[i];
        if (v <= int.MaxValue) return null;
        if (v > uint.MaxValue - 1) throw Refuse(name, $"its {what} {v} is out of range (at most 4294967294)");
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(f);
        // checksum: the sum of the header's bytes with the checksum field as spaces, six octal digits, NUL, space
        hdr.AsSpan(148, 8).Fill((byte)' ');
        long sum = 0;
        foreach (byte b in hdr) sum += b;
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(hdr.AsSpan(148, 8));
        return (uint)v;
    }

    /// <summary>An octal (or GNU base-256) numeric header field; -1 when it cannot be read (TarReader reports that).</summary>
    private static long ParseNumeric(ReadOnlySpan<byte> f)
    {
        if ((f[0] & 0x80) != 0)
        {
            long v = f[0] & 0x3f;
            for (int i = 1; i < f.Length; i++) { if (v > (long.MaxValue >> 8)) return -1; v = (v << 8) | f[i]; }
            return v;
        }
        long r = 0;
        bool any = false;
        foreach (byte b in f)
        {
            if (b is (byte)' ' or 0) { if (any) break; continue; }
            if (b is < (byte)'0' or > (byte)'7') return -1;
            r = r * 8 + (b - '0');
            any = true;
        }
        return r;
    }

    /// <summary>The name in a ustar header (prefix/name).</summary>
    private static string HeaderName(byte[] hdr)
    {
        static string Field(ReadOnlySpan<byte> f) => Encoding.UTF8.GetString(f.IndexOf((byte)0) is var z and >= 0 ? f[..z] : f);
        string name = Field(hdr.AsSpan(0, 100));
        string prefix = hdr.AsSpan(257, 5).SequenceEqual("ustar"u8) ? Field(hdr.AsSpan(345, 155)) : "";
        return prefix.Length > 0 ? prefix + "/" + name : name;
    }

    private static ContainersException Refuse(string entry, string why)
        => ContainersException.Invalid("LayerOwnerInvalid", $"The layer entry '{entry}' is refused: {why}.", entry);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
