using System.Globalization;
using System.Text;
using Containers.Engine.Model;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Reads the log the monitor writes ("&lt;RFC3339 time&gt; stdout|stderr F|P &lt;text&gt;" per record; P = a
    /// partial line continued by the next record). With <paramref name="follow"/> it keeps reading until the
    /// container has stopped for good (or <paramref name="ct"/> is cancelled).
    /// </summary>
    public IEnumerable<ContainerLogEntry> Logs(string nameOrId, int? tail = null, DateTime? since = null, DateTime? until = null, bool follow = false, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        string path = Path.Combine(rec.Dir, "ctr.log");
        string id = rec.Id;
        using var reader = new LogReader(path);
        bool In(ContainerLogEntry e) => (since is null || e.Timestamp >= since) && (until is null || e.Timestamp <= until);

        var first = reader.Drain().Where(In).ToList();
        if (!follow) first = first.Concat(reader.Leftovers().Where(In)).OrderBy(e => e.Timestamp).ToList();
        if (tail is int t && t >= 0 && first.Count > t) first = first.GetRange(first.Count - t, t);
        foreach (var e in first) yield return e;
        if (!follow || !reader.Exists) yield break;
        while (true)
        {
            var r = Load(id);
            bool done = r is null || (r.Status == ContainerStatus.Exited && !r.MonitorAlive) || r.Status == ContainerStatus.Created;
            foreach (var e in reader.Drain().Where(In)) yield return e;
            if (done || ct.IsCancellationRequested)
            {
                foreach (var e in reader.Leftovers().Where(In)) yield return e;
                yield break;
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>
    /// Reads a container's log incrementally: each <see cref="Drain"/> parses the complete records written
    /// since the last one (by offset: the stream stays open), joining partial-line records.
    /// </summary>
    private sealed class LogReader : IDisposable
    {
        private readonly string _path;
        private FileStream? _fs;
        private readonly StringBuilder _pending = new();
        private readonly Dictionary<string, StringBuilder> _partial = new();
        private readonly Dictionary<string, DateTime> _partialTimes = new();
        private readonly byte[] _buf = new byte[65536];
        private readonly char[] _chars = new char[65536];
        // a read may end inside a UTF-8 sequence the monitor is still writing: the decoder keeps it for the next
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();

        // rotated files (-LogMaxSize) still to read before the current one, oldest first; the inode of the file
        // _fs reads when it is the current one, to notice the monitor's next rotation
        private readonly Queue<string> _rotated = new();
        private ulong _ino;

        public LogReader(string path) => _path = path;

        private bool _listed;

        /// <summary>Queues the rotated files there are now, oldest first: at the first read, so a run that reads its new container's log finds what was rotated before it looked.</summary>
        private void ListRotated()
        {
            _listed = true;
            string path = _path;
            // the rotated files, sorted below by their number, highest (oldest) first: a list of strings, not of
            // (number, path) tuples through LINQ, whose generic code over a value type a session's first run compiled
            var old = new List<string>();
            string dir = Path.GetDirectoryName(path)!, name = Path.GetFileName(path);
            if (Directory.Exists(dir))
                foreach (var f in Directory.EnumerateFiles(dir, name + ".*"))
                {
                    // (the pattern matches the name itself too)
                    string fn = Path.GetFileName(f);
                    if (fn.Length > name.Length + 1 && fn[name.Length] == '.'
                        && int.TryParse(fn.AsSpan(name.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0) old.Add(f);
                }
            int Number(string f) => int.Parse(Path.GetFileName(f.AsSpan())[(name.Length + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
            if (old.Count > 1) old.Sort((a, b) => Number(b).CompareTo(Number(a)));
            foreach (var f in old) _rotated.Enqueue(f);
        }

        public bool Exists => _fs is not null || _rotated.Count > 0;


        /// <summary>The entries whose records are complete in what the files hold now (rotated ones first).</summary>
        public List<ContainerLogEntry> Drain()
        {
            var list = new List<ContainerLogEntry>();
            if (!_listed) ListRotated();
            while (true)
            {
                if (_fs is null)
                {
                    while (_fs is null && _rotated.Count > 0) _fs = OpenLog(_rotated.Dequeue());
                    if (_fs is null) (_fs, _ino) = OpenCurrent(_path);
                    if (_fs is null) return list;
                }
                bool current = _ino != 0;
                // emptied in place (a rotation with one file): start again from its beginning
                if (current && _fs.Length < _fs.Position) _fs.Position = 0;
                DrainFile(list);
                if (!current) { _fs.Dispose(); _fs = null; continue; }
                // renamed away by a rotation: everything was written to it before the rename, and it is read to
                // its end now; go on with the new file
                if (Containers.Native.Sys.LayerFs.TryLstat(_path, out var st) && st.Ino != _ino)
                {
                    DrainFile(list);
                    _fs.Dispose();
                    _fs = null;
                    _ino = 0;
                    (_fs, _ino) = OpenCurrent(_path);
                    if (_fs is null) return list;
                    continue;
                }
                return list;
            }
        }

        private static (FileStream?, ulong) OpenCurrent(string path)
        {
            for (int i = 0; i < 3; i++)
            {
                if (!Containers.Native.Sys.LayerFs.TryLstat(path, out var before)) return (null, 0);
                var fs = OpenLog(path);
                if (fs is null) return (null, 0);
                if (Containers.Native.Sys.LayerFs.TryLstat(path, out var after) && after.Ino == before.Ino) return (fs, before.Ino);
                fs.Dispose();
            }
            return (null, 0);
        }

        private void DrainFile(List<ContainerLogEntry> list)
        {
            int n;
            while ((n = _fs!.Read(_buf, 0, _buf.Length)) > 0)
            {
                _pending.Append(_chars, 0, _decoder.GetChars(_buf, 0, n, _chars, 0));
                string text = _pending.ToString();
                int last = text.LastIndexOf('\n');
                if (last < 0) continue;
                _pending.Clear().Append(text, last + 1, text.Length - last - 1);
                foreach (var line in text[..last].Split('\n'))
                    if (Parse(line, _partial, _partialTimes) is { } e) list.Add(e);
            }
        }

        /// <summary>A stream's last record may be a partial line with no newline after it: emitted when nothing follows.</summary>
        public List<ContainerLogEntry> Leftovers()
        {
            var list = new List<ContainerLogEntry>();
            foreach (var kv in _partial.Where(kv => kv.Value.Length > 0).ToList())
            {
                var ts = _partialTimes.TryGetValue(kv.Key, out var t0) ? t0 : DateTime.UtcNow;
                list.Add(new ContainerLogEntry { Timestamp = ts, Stream = kv.Key, Message = kv.Value.ToString(), Partial = true });
                kv.Value.Clear();
            }
            return list;
        }

        public void Dispose() => _fs?.Dispose();
    }

    private static FileStream? OpenLog(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    private static ContainerLogEntry? Parse(string line, Dictionary<string, StringBuilder> partial, Dictionary<string, DateTime> partialTimes)
    {
        int a = line.IndexOf(' ');
        if (a < 0) return null;
        int b = line.IndexOf(' ', a + 1);
        if (b < 0 || b + 2 > line.Length) return null;
        if (!DateTime.TryParseExact(line[..a], "yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var ts)) return null;
        string stream = line[(a + 1)..b];
        char tag = line[b + 1];
        string msg = b + 3 <= line.Length ? line[(b + 3)..] : "";
        if (tag == 'P')
        {
            if (!partial.TryGetValue(stream, out var sb)) partial[stream] = sb = new StringBuilder();
            if (sb.Length == 0) partialTimes[stream] = ts;
            sb.Append(msg);
            return null;
        }
        if (partial.TryGetValue(stream, out var pre) && pre.Length > 0)
        {
            msg = pre.Append(msg).ToString();
            pre.Clear();
        }
        return new ContainerLogEntry { Timestamp = ts, Stream = stream, Message = msg };
    }
}
