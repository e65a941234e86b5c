namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Copies one stream of a container's log back into the bytes the process wrote, unchanged (for
    /// Invoke-ContainerImage -OutFile, docker run ... &gt; file): each record "&lt;time&gt; &lt;stream&gt; F|P &lt;bytes&gt;"
    /// holds the bytes as the monitor read them, up to a newline (F: the newline followed, P: it did not), so
    /// joining a stream's records, with a newline after each F, gives its output byte for byte: no newline added
    /// at the end, no decoding. Reads by offset like <see cref="LogReader"/>, so it can follow a running container.
    /// </summary>
    private sealed class RawLogReader : IDisposable
    {
        private readonly string _path;
        private readonly byte[] _stream;
        private readonly Stream _sink;
        private FileStream? _fs;
        private readonly byte[] _buf = new byte[65536];
        // the start of a record whose newline has not been read yet
        private byte[] _pending = new byte[16384];
        private int _pendingLength;

        public RawLogReader(string path, string stream, Stream sink)
        {
            _path = path;
            _stream = System.Text.Encoding.ASCII.GetBytes(stream);
            _sink = sink;
        }

        /// <summary>Writes the stream's bytes of every record complete in the file now.</summary>
        public void Drain()
        {
            _fs ??= OpenLog(_path);
            if (_fs is null) return;
            int n;
            while ((n = _fs.Read(_buf, 0, _buf.Length)) > 0)
            {
                int start = 0;
                while (start < n)
                {
                    int nl = Array.IndexOf(_buf, (byte)'\n', start, n - start);
                    if (nl < 0) { Keep(_buf.AsSpan(start, n - start)); break; }
                    if (_pendingLength > 0)
                    {
                        Keep(_buf.AsSpan(start, nl - start));
                        Record(_pending.AsSpan(0, _pendingLength));
                        _pendingLength = 0;
                    }
                    else Record(_buf.AsSpan(start, nl - start));
                    start = nl + 1;
                }
            }
            _sink.Flush();
        }

        private void Keep(ReadOnlySpan<byte> part)
        {
            if (_pendingLength + part.Length > _pending.Length) Array.Resize(ref _pending, Math.Max(_pending.Length * 2, _pendingLength + part.Length));
            part.CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += part.Length;
        }

        private void Record(ReadOnlySpan<byte> line)
        {
            int a = line.IndexOf((byte)' ');
            if (a < 0) return;
            int b = line[(a + 1)..].IndexOf((byte)' ');
            if (b < 0) return;
            b += a + 1;
            if (!line[(a + 1)..b].SequenceEqual(_stream) || b + 2 > line.Length) return;
            byte tag = line[b + 1];
            if (b + 3 <= line.Length) _sink.Write(line[(b + 3)..]);
            if (tag == (byte)'F') _sink.WriteByte((byte)'\n');
        }

        public void Dispose() => _fs?.Dispose();
    }
}
