using System.Formats.Tar;
using Containers.Engine.Errors;

namespace Containers.Engine.Images;

/// <summary>
/// Where each member of an (uncompressed) archive file lies: read the headers once, then open any member
/// as a bounded stream over the file without extracting it (docker-archives put manifest.json last).
/// </summary>
public sealed class TarIndex
{
    private readonly string _path;
    private readonly Dictionary<string, (long Offset, long Length, TarEntryType Type, string Link)> _entries = new(StringComparer.Ordinal);

    private TarIndex(string path) => _path = path;

    public IEnumerable<string> Names => _entries.Keys;

    public static TarIndex Read(string path)
    {
        var idx = new TarIndex(path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var r = new TarReader(fs, leaveOpen: true);
            TarEntry? e;
            while ((e = r.GetNextEntry(copyData: false)) is not null)
            {
                // on a seekable stream the reader has skipped the data and its padding to the next 512-byte block
                long offset = fs.Position - ((e.Length + 511) / 512 * 512);
                idx._entries[Normalize(e.Name)] = (offset, e.Length, e.EntryType, e.LinkName);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or FormatException or ArgumentException)
        {
            throw ContainersException.Invalid("ArchiveUnreadable", $"'{path}' is not a readable tar archive: {ex.Message}", path, ex);
        }
        return idx;
    }

    public static string Normalize(string name)
    {
        while (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
        return name.TrimStart('/').TrimEnd('/');
    }

    public bool Contains(string name) => TryGet(Normalize(name), out _);

    private bool TryGet(string name, out (long Offset, long Length, TarEntryType Type, string Link) e)
    {
        for (int hops = 0; hops < 8; hops++)
        {
            if (!_entries.TryGetValue(name, out e)) return false;
            if (e.Type is TarEntryType.SymbolicLink)
            {
                string dir = name.Contains('/') ? name[..name.LastIndexOf('/')] : "";
                name = Normalize(e.Link.StartsWith('/') ? e.Link : Path.GetFullPath("/" + Path.Combine(dir, e.Link)).TrimStart('/'));
                continue;
            }
            if (e.Type is TarEntryType.HardLink) { name = Normalize(e.Link); continue; }
            return true;
        }
        e = default;
        return false;
    }

    public long LengthOf(string name) => TryGet(Normalize(name), out var e) ? e.Length : -1;

    /// <summary>Opens a member; throws BlobNotFound naming it when the archive lacks it.</summary>
    public Stream Open(string name)
    {
        if (!TryGet(Normalize(name), out var e))
            throw ContainersException.NotFound("BlobNotFound", $"The archive '{_path}' has no member '{name}' that its manifest refers to.", name);
        var fs = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        fs.Seek(e.Offset, SeekOrigin.Begin);
        return new BoundedStream(fs, e.Length);
    }

    public byte[] ReadAll(string name, long max = 64 << 20)
    {
        long len = LengthOf(name);
        if (len > max) throw ContainersException.Invalid("ArchiveMemberTooLarge", $"The archive member '{name}' is too large ({len} bytes) for a JSON document.", name);
        using var s = Open(name);
        var buf = new byte[len];
        s.ReadExactly(buf);
        return buf;
    }
}

/// <summary>A read-only window of <c>length</c> bytes of a stream; owns it.</summary>
public sealed class BoundedStream : Stream
{
    private readonly Stream _inner;
    private long _left;
    public BoundedStream(Stream inner, long length) { _inner = inner; _left = length; }
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        if (_left <= 0 || buffer.Length == 0) return 0;
        if (buffer.Length > _left) buffer = buffer[..(int)_left];
        int n = _inner.Read(buffer);
        if (n == 0) throw new EndOfStreamException("The archive ends inside a member.");
        _left -= n;
        return n;
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
}
