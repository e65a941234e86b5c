using System.Security.Cryptography;

namespace Containers.Engine.Content;

/// <summary>
/// A read-only pass-through stream that hashes (sha256) everything read through it and optionally copies
/// it to a second stream (the blob file), so reading, hashing and storing happen in one pass.
/// </summary>
public sealed class HashingStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly Stream? _tee;
    private readonly bool _leaveOpen;
    private readonly long _limit;
    private readonly Action<long>? _progress;
    private long _count;

    /// <param name="limit">Read at most this many bytes of the inner stream (-1: to its end).</param>
    /// <param name="progress">Called with the running byte count after each read (e.g. a download's progress).</param>
    public HashingStream(Stream inner, Stream? tee = null, bool leaveOpen = true, long limit = -1, Action<long>? progress = null)
    {
        _inner = inner;
        _tee = tee;
        _leaveOpen = leaveOpen;
        _limit = limit;
        _progress = progress;
    }

    public long BytesRead => _count;

    /// <summary>Reads what is left to the end, then returns the digest of everything read.</summary>
    public string Finish()
    {
        var buf = new byte[81920];
        while (Read(buf, 0, buf.Length) > 0) { }
        return Spec.Digest.FromHash(_hash.GetHashAndReset());
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_limit >= 0)
        {
            long left = _limit - _count;
            if (left <= 0) return 0;
            if (buffer.Length > left) buffer = buffer[..(int)left];
        }
        int n = _inner.Read(buffer);
        if (n > 0)
        {
            var got = buffer[..n];
            _hash.AppendData(got);
            _tee?.Write(got);
            _count += n;
            _progress?.Invoke(_count);
        }
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _count; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            if (!_leaveOpen) _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A write-only stream that hashes what is written and passes it on (for tar writing while hashing).</summary>
public sealed class HashingWriteStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _count;

    public HashingWriteStream(Stream inner) => _inner = inner;
    public long BytesWritten => _count;
    public string Digest => Spec.Digest.FromHash(_hash.GetCurrentHash());

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        _inner.Write(buffer);
        _count += buffer.Length;
    }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _count;
    public override long Position { get => _count; set => throw new NotSupportedException(); }
    public override void Flush() => _inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
