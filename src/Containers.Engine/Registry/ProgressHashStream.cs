using System.Security.Cryptography;

namespace Containers.Engine.Registry;

/// <summary>
/// Read-through stream that hashes (sha256) everything read and optionally copies it to a file: the
/// compressed blob is written and verified while it is being inflated and unpacked.
/// </summary>
internal sealed class ProgressHashStream : Stream
{
    private readonly Stream _inner;
    private readonly Stream? _copy;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Action<long>? _progress;
    private long _count;
    private readonly bool _leaveOpen;

    public ProgressHashStream(Stream inner, Stream? copy = null, Action<long>? progress = null, bool leaveOpen = false)
    {
        _inner = inner; _copy = copy; _progress = progress; _leaveOpen = leaveOpen;
    }

    public long BytesRead => _count;

    /// <summary>Reads whatever is left (a tar's padding, bytes after the gzip member) so the hash covers everything.</summary>
    public void Drain()
    {
        byte[] buf = new byte[64 * 1024];
        while (Read(buf, 0, buf.Length) > 0) { }
    }

    public string Digest => "sha256:" + Convert.ToHexStringLower(_hash.GetCurrentHash());

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        if (n > 0)
        {
            var got = buffer[..n];
            _hash.AppendData(got);
            _copy?.Write(got);
            _count += n;
            _progress?.Invoke(_count);
        }
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _inner.Length;
    public override long Position { get => _count; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        // the hash stays usable after Dispose (decompressors dispose the stream they read from);
        // it is released by its SafeHandle
        if (disposing && !_leaveOpen) _inner.Dispose();
        base.Dispose(disposing);
    }
}
