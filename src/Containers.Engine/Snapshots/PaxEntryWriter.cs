using System.Formats.Tar;
using System.Text;

namespace Containers.Engine.Snapshots;

/// <summary>
/// Writes one tar entry in PAX form byte by byte: a PAX extended header ('x') whose records are raw bytes
/// ("LEN KEY=VALUE\n", LEN counting the whole record, itself included), then a ustar header, then the data.
/// System.Formats.Tar holds PAX values as strings and writes them as UTF-8, so an xattr value that is not valid
/// UTF-8 (security.capability set by setcap cap_setuid, any binary user.* value, a NUL) would change on the way;
/// here SCHILY.xattr.* values are the attribute's bytes as the kernel gave them, as in Go's archive/tar (docker,
/// podman, containerd) and GNU tar. The layer packer writes the entries that have xattrs this way and the others
/// with TarWriter; both are plain tar, so they mix in one archive.
/// </summary>
internal static class PaxEntryWriter
{
    private const long MaxOctal7 = 0x1FFFFF;           // 07777777: uid, gid in a ustar field
    private const long MaxOctal11 = 0x1FFFFFFFF;       // 077777777777: size, mtime in a ustar field

    /// <summary>One entry. <paramref name="data"/> gives exactly <paramref name="size"/> bytes (regular files only).</summary>
    public static void Write(Stream output, TarEntryType type, string name, string? link, uint mode, uint uid, uint gid,
        long mtimeSec, long size, uint devMajor, uint devMinor, IReadOnlyList<(string Name, byte[] Value)> xattrs, Stream? data)
    {
        var records = new List<(byte[] Key, byte[] Value)>();
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        byte[]? linkBytes = link is null ? null : Encoding.UTF8.GetBytes(link);
        if (nameBytes.Length > 100 || !IsAscii(nameBytes)) records.Add(("path"u8.ToArray(), nameBytes));
        if (linkBytes is not null && (linkBytes.Length > 100 || !IsAscii(linkBytes))) records.Add(("linkpath"u8.ToArray(), linkBytes));
        if (uid > MaxOctal7) records.Add(("uid"u8.ToArray(), Ascii(uid.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        if (gid > MaxOctal7) records.Add(("gid"u8.ToArray(), Ascii(gid.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        if (size > MaxOctal11) records.Add(("size"u8.ToArray(), Ascii(size.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        if (mtimeSec < 0 || mtimeSec > MaxOctal11) records.Add(("mtime"u8.ToArray(), Ascii(mtimeSec.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        foreach (var (x, v) in xattrs) records.Add((Encoding.UTF8.GetBytes("SCHILY.xattr." + x), v));
        // sorted by key, so one tree always gives the same bytes
        records.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));

        if (records.Count > 0)
        {
            var pax = new MemoryStream();
            foreach (var (k, v) in records) WriteRecord(pax, k, v);
            byte[] body = pax.ToArray();
            var ph = Header(PaxHeaderName(name), (byte)'x', 0x1a4, 0, 0, body.Length, Math.Clamp(mtimeSec, 0, MaxOctal11), null, 0, 0);
            output.Write(ph);
            output.Write(body);
            Pad(output, body.Length);
        }
        long hsize = type is TarEntryType.RegularFile or TarEntryType.V7RegularFile ? size : 0;
        var h = Header(Truncate(nameBytes, 100), (byte)type, mode & 0xFFF, uid <= MaxOctal7 ? uid : 0, gid <= MaxOctal7 ? gid : 0,
            hsize <= MaxOctal11 ? hsize : 0, mtimeSec is >= 0 and <= MaxOctal11 ? mtimeSec : 0,
            linkBytes is null ? null : Truncate(linkBytes, 100), devMajor, devMinor);
        output.Write(h);
        if (hsize > 0 && data is not null)
        {
            var buf = new byte[1 << 16];
            long left = hsize;
            while (left > 0)
            {
                int n = data.Read(buf, 0, (int)Math.Min(buf.Length, left));
                if (n <= 0) throw new EndOfStreamException($"The data of '{name}' ended {left} bytes early.");
                output.Write(buf, 0, n);
                left -= n;
            }
            Pad(output, hsize);
        }
    }

    /// <summary>"LEN KEY=VALUE\n" where LEN is the decimal length of the whole record, its own digits included.</summary>
    internal static void WriteRecord(Stream s, byte[] key, byte[] value)
    {
        int rest = 1 + key.Length + 1 + value.Length + 1; // ' ' key '=' value '\n'
        int len = rest + Digits(rest);
        if (Digits(len) != Digits(rest)) len = rest + Digits(len);
        s.Write(Ascii(len.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        s.WriteByte((byte)' ');
        s.Write(key);
        s.WriteByte((byte)'=');
        s.Write(value);
        s.WriteByte((byte)'\n');
    }

    private static int Digits(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture).Length;

    private static byte[] Header(byte[] name, byte type, uint mode, long uid, long gid, long size, long mtime, byte[]? link, uint devMajor, uint devMinor)
    {
        var h = new byte[512];
        name.AsSpan(0, Math.Min(100, name.Length)).CopyTo(h);
        Octal(h.AsSpan(100, 8), mode);
        Octal(h.AsSpan(108, 8), uid);
        Octal(h.AsSpan(116, 8), gid);
        Octal(h.AsSpan(124, 12), size);
        Octal(h.AsSpan(136, 12), mtime);
        h[156] = type;
        link?.AsSpan(0, Math.Min(100, link.Length)).CopyTo(h.AsSpan(157));
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        Octal(h.AsSpan(329, 8), devMajor <= MaxOctal7 ? devMajor : 0);
        Octal(h.AsSpan(337, 8), devMinor <= MaxOctal7 ? devMinor : 0);
        // checksum: the sum of the header's bytes with the field as spaces; six octal digits, NUL, space
        h.AsSpan(148, 8).Fill((byte)' ');
        long sum = 0;
        foreach (byte b in h) sum += b;
        Ascii(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(h.AsSpan(148));
        return h;
    }

    /// <summary>A zero-padded octal number filling the field but its last byte, which is NUL.</summary>
    private static void Octal(Span<byte> field, long v)
    {
        string s = Convert.ToString(v, 8).PadLeft(field.Length - 1, '0');
        Ascii(s).CopyTo(field);
        field[^1] = 0;
    }

    /// <summary>The name of the PAX header entry, as Go's archive/tar makes it: DIR/PaxHeaders.0/FILE, ASCII, at most 100 bytes.</summary>
    private static byte[] PaxHeaderName(string name)
    {
        string clean = name.TrimEnd('/');
        int slash = clean.LastIndexOf('/');
        string p = (slash >= 0 ? clean[..(slash + 1)] : "") + "PaxHeaders.0/" + clean[(slash + 1)..];
        var b = Encoding.UTF8.GetBytes(p);
        for (int i = 0; i < b.Length; i++) if (b[i] >= 0x80) b[i] = (byte)'_';
        return Truncate(b, 100);
    }

    private static byte[] Truncate(byte[] b, int max) => b.Length <= max ? b : b[..max];

    private static bool IsAscii(byte[] b) => b.AsSpan().IndexOfAnyInRange((byte)0x80, (byte)0xff) < 0;

    private static byte[] Ascii(string s) => Encoding.ASCII.GetBytes(s);

    private static void Pad(Stream s, long written)
    {
        int pad = (int)((512 - written % 512) % 512);
        if (pad > 0) s.Write(new byte[pad]);
    }
}
