using System.Net;
using Containers.Engine.Errors;

namespace Containers.Engine.Registry;

/// <summary>
/// A blob download as one continuous stream: when the connection drops mid-body, the next read asks
/// again with <c>Range: bytes=N-</c> (or skips N bytes when the registry ignores ranges) and goes on,
/// up to a number of retries. The consumer (hashing, inflating, untarring) never notices.
/// </summary>
internal sealed class ResumableBlobStream : Stream
{
    private readonly RegistryClient _client;
    private readonly string _repo, _digest;
    private readonly long _size;
    private readonly object _target;
    private readonly int _retries;
    private HttpResponseMessage? _resp;
    private Stream? _body;
    private long _pos;
    private int _resumes;

    /// <summary>How many times the download was resumed after a drop.</summary>
    public int Resumes => _resumes;

    public ResumableBlobStream(RegistryClient client, string repo, string digest, long size, object target, int retries)
    {
        _client = client; _repo = repo; _digest = digest; _size = size; _target = target; _retries = retries;
    }

    internal async Task ConnectAsync(long offset, CancellationToken ct)
    {
        CloseBody();
        var resp = await _client.GetBlobAsync(_repo, _digest, offset, _target, ct).ConfigureAwait(false);
        var body = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        if (offset > 0 && resp.StatusCode != HttpStatusCode.PartialContent)
        {
            // the registry sent the whole blob again: skip what we already have
            byte[] skip = new byte[81920];
            long left = offset;
            while (left > 0)
            {
                int n = await body.ReadAsync(skip.AsMemory(0, (int)Math.Min(skip.Length, left)), ct).ConfigureAwait(false);
                if (n == 0) throw new IOException("The blob ended before the resume offset.");
                left -= n;
            }
        }
        _resp = resp;
        _body = body;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>
    /// Synchronous reads stay synchronous (the HTTP body supports them), so a decompressor reading on a
    /// dedicated thread never waits for a thread-pool thread to complete its I/O.
    /// </summary>
    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            try
            {
                if (_body is null) ConnectAsync(_pos, CancellationToken.None).GetAwaiter().GetResult();
                int n = _body!.Read(buffer);
                if (n == 0 && _size > 0 && _pos < _size)
                    throw new IOException($"The connection closed after {_pos} of {_size} bytes.");
                _pos += n;
                return n;
            }
            catch (Exception ex) when (IsTransient(ex) && _resumes < _retries)
            {
                _resumes++;
                CloseBody();
                Thread.Sleep(Math.Min(100 * _resumes * _resumes, 2000));
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                throw new ContainersException(ErrorKind.Unavailable, "BlobDownloadFailed", Messages.DownloadFailed(_digest, _resumes, ex.Message), _target, ex);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        while (true)
        {
            try
            {
                if (_body is null) await ConnectAsync(_pos, ct).ConfigureAwait(false);
                int n = await _body!.ReadAsync(buffer, ct).ConfigureAwait(false);
                if (n == 0 && _size > 0 && _pos < _size)
                    throw new IOException($"The connection closed after {_pos} of {_size} bytes.");
                _pos += n;
                return n;
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && IsTransient(ex) && _resumes < _retries)
            {
                _resumes++;
                CloseBody();
                await Task.Delay(Math.Min(100 * _resumes * _resumes, 2000), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && IsTransient(ex))
            {
                throw new ContainersException(ErrorKind.Unavailable, "BlobDownloadFailed", Messages.DownloadFailed(_digest, _resumes, ex.Message), _target, ex);
            }
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex is IOException or HttpRequestException
        || (ex is ContainersException ce && ce.Kind is ErrorKind.Unavailable);

    private void CloseBody()
    {
        _body?.Dispose();
        _resp?.Dispose();
        _body = null;
        _resp = null;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _size;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) CloseBody(); base.Dispose(disposing); }
}
