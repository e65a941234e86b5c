using System.Buffers.Binary;
using System.IO.Compression;

namespace Containers.Engine.Audit;

/// <summary>
/// Reads apt's list files: plain, gzip, or LZ4 frames (apt's default on Debian stores the Packages lists as
/// .lz4). The LZ4 frame decoder follows the format description (lz4_Frame_format.md, lz4_Block_format.md):
/// linked or independent blocks, optional checksums skipped (apt wrote the file; we only read it).
/// </summary>
internal static class AptListReader
{
    private const uint Lz4Magic = 0x184D2204;

    public static byte[]? Read(string path, long max = 1L << 30)
    {
        byte[] raw = File.ReadAllBytes(path);
        if (path.EndsWith(".lz4", StringComparison.Ordinal)) return DecodeLz4(raw, max);
        if (path.EndsWith(".gz", StringComparison.Ordinal))
        {
            using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            var ms = new MemoryStream();
            gz.CopyTo(ms);
            return ms.ToArray();
        }
        if (path.EndsWith("_Packages", StringComparison.Ordinal)) return raw;
        return null;   // .xz, .zst: not read (apt's defaults are lz4 or plain)
    }

    public static byte[] DecodeLz4(ReadOnlySpan<byte> src, long max)
    {
        var outBuf = new byte[Math.Max(1 << 16, src.Length * 3)];
        int o = 0, p = 0;
        while (p + 4 <= src.Length)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(src[p..]);
            p += 4;
            if ((magic & 0xFFFFFFF0) == 0x184D2A50) { p += 4 + (int)BinaryPrimitives.ReadUInt32LittleEndian(src[p..]); continue; }
            if (magic != Lz4Magic) throw new InvalidDataException("not an LZ4 frame");
            byte flg = src[p], bd = src[p + 1];
            p += 2;
            if ((flg >> 6) != 1) throw new InvalidDataException("unknown LZ4 frame version");
            bool blockSum = (flg & 0x10) != 0, contentSize = (flg & 0x08) != 0, contentSum = (flg & 0x04) != 0, dict = (flg & 0x01) != 0;
            if (contentSize) p += 8;
            if (dict) p += 4;
            p += 1;   // header checksum
            _ = bd;
            while (true)
            {
                uint size = BinaryPrimitives.ReadUInt32LittleEndian(src[p..]);
                p += 4;
                if (size == 0) break;
                bool stored = (size & 0x80000000) != 0;
                int n = (int)(size & 0x7FFFFFFF);
                if (n > src.Length - p) throw new InvalidDataException("truncated LZ4 block");
                var block = src.Slice(p, n);
                p += n + (blockSum ? 4 : 0);
                if (stored) { Ensure(ref outBuf, o + n, max); block.CopyTo(outBuf.AsSpan(o)); o += n; }
                else o = DecodeBlock(block, ref outBuf, o, max);
            }
            if (contentSum) p += 4;
        }
        return outBuf.AsSpan(0, o).ToArray();
    }

    private static void Ensure(ref byte[] buf, long need, long max)
    {
        if (need > max) throw new InvalidDataException("the list is larger than allowed");
        if (need <= buf.Length) return;
        long size = Math.Min(Math.Max(need, (long)buf.Length * 2), Math.Min(max, Array.MaxLength));
        Array.Resize(ref buf, (int)size);
    }

    private static int DecodeBlock(ReadOnlySpan<byte> s, ref byte[] buf, int o, long max)
    {
        int i = 0;
        while (i < s.Length)
        {
            int token = s[i++];
            int lit = token >> 4;
            if (lit == 15) { int b; do { b = s[i++]; lit += b; } while (b == 255); }
            if (lit > s.Length - i) throw new InvalidDataException("corrupt LZ4 block");
            Ensure(ref buf, (long)o + lit, max);
            s.Slice(i, lit).CopyTo(buf.AsSpan(o));
            i += lit; o += lit;
            if (i >= s.Length) break;   // the last sequence has literals only
            int off = s[i] | s[i + 1] << 8;
            i += 2;
            if (off == 0 || off > o) throw new InvalidDataException("corrupt LZ4 offset");
            int len = token & 15;
            if (len == 15) { int b; do { b = s[i++]; len += b; } while (b == 255); }
            len += 4;
            Ensure(ref buf, (long)o + len, max);
            int from = o - off;
            if (off >= len) { Buffer.BlockCopy(buf, from, buf, o, len); o += len; }
            else for (int k = 0; k < len; k++) buf[o++] = buf[from + k];
        }
        return o;
    }
}
