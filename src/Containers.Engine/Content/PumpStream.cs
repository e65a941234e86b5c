using System.Buffers;
using System.Collections.Concurrent;

namespace Containers.Engine.Content;

/// <summary>
/// Reads a source stream on its own thread into a small bounded queue of chunks, so reading, hashing and
/// storing the blob (the source's work) overlap with inflating and untarring (the reader's work).
/// Errors of the source surface on the next Read. Read to the end before using the source again.
/// </summary>
public sealed class PumpStream : Stream
{
    private const int ChunkSize = 1 << 17;
    private readonly BlockingCollection<(byte[] Buf, int Len)> _queue = new(boundedCapacity: 16);
    private readonly Thread _thread;
    private readonly CancellationTokenSource _cts = new();
    private Exception? _error;
    private byte[]? _cur;
    private int _curPos, _curLen;
    private bool _eof, _disposed;

    public PumpStream(Stream source)
    {
        _thread = new Thread(() => Pump(source)) { IsBackground = true, Name = "layer-read" };
        _thread.Start();
    }

    private void Pump(Stream source)
    {
        try
        {
            while (true)
            {
                // pooled: a fresh 128 KB array per chunk was ~100 MB of large-object garbage per layer
                var buf = ArrayPool<byte>.Shared.Rent(ChunkSize);
                int n;
                try
                {
                    n = source.ReadAtLeast(buf.AsSpan(0, ChunkSize), ChunkSize, throwOnEndOfStream: false);
                    if (n > 0) { _queue.Add((buf, n), _cts.Token); buf = null; }
                }
                finally { if (buf is not null) ArrayPool<byte>.Shared.Return(buf); }
                if (n < ChunkSize) break;
            }
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested) { }
        catch (Exception ex) { _error = ex; }
        finally { _queue.CompleteAdding(); }
    }

    /// <summary>Waits until the source thread has stopped (after EOF was read, or after Dispose).</summary>
    public void Join() => _thread.Join();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        while (_cur is null || _curPos >= _curLen)
        {
            if (_eof) return 0;
            if (_cur is not null) { ArrayPool<byte>.Shared.Return(_cur); _cur = null; }
            if (!_queue.TryTake(out var item, Timeout.Infinite))
            {
                _thread.Join();
                if (_error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_error).Throw();
                _eof = true;
                return 0;
            }
            (_cur, _curLen, _curPos) = (item.Buf, item.Len, 0);
        }
        int take = Math.Min(buffer.Length, _curLen - _curPos);
        _cur.AsSpan(_curPos, take).CopyTo(buffer);
        _curPos += take;
        return take;
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

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _cts.Cancel();
            // unblock a producer waiting on a full queue; then hand back what it queued before it stopped
            while (_queue.TryTake(out var queued)) ArrayPool<byte>.Shared.Return(queued.Buf);
            _thread.Join();
            while (_queue.TryTake(out var left)) ArrayPool<byte>.Shared.Return(left.Buf);
            if (_cur is not null) { ArrayPool<byte>.Shared.Return(_cur); _cur = null; }
            _queue.Dispose();
            _cts.Dispose();
        }
        base.Dispose(disposing);
    }
}
