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
        using var fs = OpenLog(path);
        var pending = new StringBuilder();
        var partial = new Dictionary<string, StringBuilder>();
        var partialTimes = new Dictionary<string, DateTime>();
        var initial = new List<ContainerLogEntry>();

        IEnumerable<ContainerLogEntry> Drain(bool collect)
        {
            if (fs is null) yield break;
            var buf = new byte[65536];
            int n;
            while ((n = fs.Read(buf, 0, buf.Length)) > 0)
            {
                pending.Append(Encoding.UTF8.GetString(buf, 0, n));
                string text = pending.ToString();
                int last = text.LastIndexOf('\n');
                if (last < 0) continue;
                pending.Clear().Append(text, last + 1, text.Length - last - 1);
                foreach (var line in text[..last].Split('\n'))
                {
                    var e = Parse(line, partial, partialTimes);
                    if (e is null) continue;
                    if (since is not null && e.Timestamp < since) continue;
                    if (until is not null && e.Timestamp > until) continue;
                    yield return e;
                }
            }
        }

        // a stream's last record may be a partial line with no newline after it: emit it when nothing follows
        IEnumerable<ContainerLogEntry> Leftovers()
        {
            foreach (var kv in partial.Where(kv => kv.Value.Length > 0).ToList())
            {
                var ts = partialTimes.TryGetValue(kv.Key, out var t0) ? t0 : DateTime.UtcNow;
                var e = new ContainerLogEntry { Timestamp = ts, Stream = kv.Key, Message = kv.Value.ToString(), Partial = true };
                kv.Value.Clear();
                if (since is not null && e.Timestamp < since) continue;
                if (until is not null && e.Timestamp > until) continue;
                yield return e;
            }
        }

        var first = Drain(true).ToList();
        if (!follow) first = first.Concat(Leftovers()).OrderBy(e => e.Timestamp).ToList();
        if (tail is int t && t >= 0 && first.Count > t) first = first.GetRange(first.Count - t, t);
        foreach (var e in first) yield return e;
        if (!follow || fs is null) yield break;
        while (true)
        {
            var r = Load(id);
            bool done = r is null || (r.Status == ContainerStatus.Exited && !r.MonitorAlive) || r.Status == ContainerStatus.Created;
            foreach (var e in Drain(false)) yield return e;
            if (done || ct.IsCancellationRequested)
            {
                foreach (var e in Leftovers()) yield return e;
                yield break;
            }
            Thread.Sleep(50);
        }
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
