using System.Text;
using System.Text.Json;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Events;

/// <summary>
/// The event log of a storage root (docker events): &lt;root&gt;/events.log, one JSON record per line, appended
/// by whoever changes the store (the engine in any pwsh, and each container's monitor for the exits it sees
/// and the restarts it makes). Bounded: once the file reaches <see cref="MaxBytes"/>, an engine writer renames
/// it to events.log.1 (replacing the previous one) under the store lock "events"; readers read .1 then the
/// current file. Writing is best effort: a full disk or a read-only root never fails the operation recorded.
/// </summary>
public static class EventLog
{
    /// <summary>The current file, relative to the root.</summary>
    public const string FileName = "events.log";

    /// <summary>The size at which the current file is rotated (so the log holds at most about twice this).</summary>
    public static long MaxBytes { get; set; } = 1L << 20;

    private static readonly Lazy<string> ProcessName = new(() =>
    {
        try { return File.ReadAllText("/proc/self/comm").Trim(); }
        catch (IOException) { return "pwsh"; }
    });

    public static string PathOf(StorageRoot root) => root.Sub(FileName);

    /// <summary>Appends one event made by this process. Never throws for I/O problems.</summary>
    public static void Record(StorageRoot root, ContainerEventType type, string action, string id, string? name, params (string Key, string? Value)[] attributes)
    {
        var attrs = attributes.Where(a => a.Value is not null).Select(a => new KeyValuePair<string, string>(a.Key, a.Value!)).ToList();
        byte[] line = EventAppend.Format(DateTime.UtcNow, type.ToString().ToLowerInvariant(), action, id, name, attrs,
            Ids.EffectiveUserId, Environment.ProcessId, ProcessName.Value);
        string path = PathOf(root);
        long size = EventAppend.Append(path, line);
        if (size >= MaxBytes) Rotate(root, path);
    }

    private static void Rotate(StorageRoot root, string path)
    {
        try
        {
            using var held = StoreLock.Acquire(root, "events", true, TimeSpan.FromSeconds(2));
            // another writer may have rotated while this one waited
            if (!LayerFs.TryLstat(path, out var st) || st.Size < MaxBytes) return;
            FileSys.Rename(path, path + ".1");
        }
        catch (Exception ex) when (ex is IOException or Errors.ContainersException or NativeException or UnauthorizedAccessException) { }
    }

    /// <summary>Parses one line; null when it is not a record (a line cut by a crash, or garbage).</summary>
    public static ContainerEvent? Parse(string line)
    {
        if (line.Length == 0 || line[0] != '{') return null;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            if (!r.TryGetProperty("time", out var time) || !time.TryGetDateTime(out var t)) return null;
            if (!r.TryGetProperty("type", out var type) || !Enum.TryParse<ContainerEventType>(type.GetString(), true, out var ty)) return null;
            var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
            if (r.TryGetProperty("attributes", out var a) && a.ValueKind == JsonValueKind.Object)
                foreach (var p in a.EnumerateObject()) attrs[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.ToString();
            string? Str(string k) => r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return new ContainerEvent
            {
                Time = DateTime.SpecifyKind(t.ToUniversalTime(), DateTimeKind.Utc),
                Type = ty,
                Action = Str("action") ?? "",
                Id = Str("id") ?? "",
                Name = Str("name"),
                Attributes = attrs,
                Uid = r.TryGetProperty("uid", out var u) && u.TryGetUInt32(out uint uid) ? uid : 0,
                Pid = r.TryGetProperty("pid", out var pp) && pp.TryGetInt32(out int pid) ? pid : 0,
                ProcessName = Str("process"),
            };
        }
        catch (JsonException) { return null; }
    }

    /// <summary>
    /// The events in the log, oldest first, that <paramref name="filter"/> accepts; with <paramref name="follow"/>,
    /// then every new one as it is written (polled every 200 ms, across rotations) until <paramref name="ct"/>
    /// is cancelled or an event passes <paramref name="until"/>.
    /// </summary>
    public static IEnumerable<ContainerEvent> Read(StorageRoot root, Func<ContainerEvent, bool> filter, DateTime? until, bool follow, CancellationToken ct)
    {
        string path = PathOf(root);
        using (var old = Tail.Open(path + ".1"))
            if (old is not null)
                foreach (var e in old.Drain())
                {
                    if (until is not null && e.Time > until) yield break;
                    if (filter(e)) yield return e;
                }
        var cur = Tail.Open(path);
        try
        {
            while (true)
            {
                if (cur is not null)
                    foreach (var e in cur.Drain())
                    {
                        if (until is not null && e.Time > until) yield break;
                        if (filter(e)) yield return e;
                    }
                if (!follow || ct.IsCancellationRequested) yield break;
                if (ct.WaitHandle.WaitOne(200)) yield break;
                // rotated (or made for the first time): finish the old file through its open handle, then go on
                // with the new one from its start
                if (cur is null || cur.Replaced())
                {
                    if (cur is not null)
                        foreach (var e in cur.Drain())
                        {
                            if (until is not null && e.Time > until) yield break;
                            if (filter(e)) yield return e;
                        }
                    cur?.Dispose();
                    cur = Tail.Open(path);
                }
            }
        }
        finally { cur?.Dispose(); }
    }

    /// <summary>An open log file read by offset: each <see cref="Drain"/> returns the complete lines written since.</summary>
    private sealed class Tail : IDisposable
    {
        private readonly string _path;
        private readonly FileStream _fs;
        private readonly ulong _ino;
        private readonly List<byte> _partial = new();
        private readonly byte[] _buf = new byte[65536];

        private Tail(string path, FileStream fs, ulong ino) { _path = path; _fs = fs; _ino = ino; }

        public static Tail? Open(string path)
        {
            // the inode names the file the handle reads: a rotation gives the path a new one
            for (int i = 0; i < 3; i++)
            {
                if (!LayerFs.TryLstat(path, out var before)) return null;
                FileStream fs;
                try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete); }
                catch (FileNotFoundException) { return null; }
                if (LayerFs.TryLstat(path, out var after) && after.Ino == before.Ino) return new Tail(path, fs, before.Ino);
                fs.Dispose();
            }
            return null;
        }

        public bool Replaced() => !LayerFs.TryLstat(_path, out var st) || st.Ino != _ino;

        public List<ContainerEvent> Drain()
        {
            var list = new List<ContainerEvent>();
            int n;
            while ((n = _fs.Read(_buf, 0, _buf.Length)) > 0)
            {
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (_buf[i] != (byte)'\n') continue;
                    string line;
                    if (_partial.Count > 0)
                    {
                        _partial.AddRange(_buf.AsSpan(start, i - start).ToArray());
                        line = Encoding.UTF8.GetString(_partial.ToArray());
                        _partial.Clear();
                    }
                    else line = Encoding.UTF8.GetString(_buf, start, i - start);
                    start = i + 1;
                    if (Parse(line) is { } e) list.Add(e);
                }
                if (start < n) _partial.AddRange(_buf.AsSpan(start, n - start).ToArray());
            }
            return list;
        }

        public void Dispose() => _fs.Dispose();
    }
}
