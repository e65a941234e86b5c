using System.Text;
using Containers.Engine.Images;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Events;

/// <summary>
/// Test-ContainerStore's check of the event log (events.log and the rotated events.log.1): a line that does not
/// parse as a record (torn by a full disk or a crash of the machine, or garbled) is a finding; -Repair rewrites
/// the file keeping its good lines, byte for byte and in order. A missing file is fine (no event yet, or not
/// rotated yet).
/// </summary>
public static class EventLogCheck
{
    public static IEnumerable<StoreProblem> Check(StorageRoot root, bool repair)
    {
        var problems = new List<StoreProblem>();
        string cur = EventLog.PathOf(root);
        foreach (var path in new[] { cur + ".1", cur })
        {
            var (good, bad) = Scan(path);
            if (bad == 0) continue;
            bool done = false;
            if (repair)
            {
                try { done = Rewrite(root, path); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NativeException or Errors.ContainersException) { }
            }
            problems.Add(new StoreProblem
            {
                Kind = "EventLogCorrupt", Severity = "Error", Target = path, Repaired = done,
                Message = done
                    ? $"{bad} line(s) of the event log did not parse (torn or garbled); the file was rewritten with its {good} good line(s)."
                    : $"{bad} line(s) of the event log do not parse (torn or garbled); Get-ContainerEvent skips them. -Repair rewrites the file keeping its {good} good line(s).",
            });
        }
        return problems;
    }

    /// <summary>Counts the good and bad lines of a log file; (0, 0) when it does not exist.</summary>
    private static (int Good, int Bad) Scan(string path)
    {
        byte[]? data = Read(path);
        if (data is null) return (0, 0);
        // a last line without its newline may be a record being appended right now: look again shortly
        if (data.Length > 0 && data[^1] != (byte)'\n')
        {
            Thread.Sleep(100);
            data = Read(path) ?? [];
        }
        var (good, bad, _) = Split(data);
        return (good.Count, bad);
    }

    private static byte[]? Read(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    /// <summary>The good lines (each with its newline), the number of bad ones, and the bytes consumed.</summary>
    private static (List<ArraySegment<byte>> Good, int Bad, int Used) Split(byte[] data)
    {
        var good = new List<ArraySegment<byte>>();
        int bad = 0, start = 0;
        while (start < data.Length)
        {
            int nl = Array.IndexOf(data, (byte)'\n', start);
            int end = nl < 0 ? data.Length : nl;
            var line = new ArraySegment<byte>(data, start, end - start);
            bool ok = nl >= 0 && EventLog.Parse(DecodeStrict(line)) is not null;
            if (ok) good.Add(new ArraySegment<byte>(data, start, end - start + 1));
            else bad++;
            start = end + 1;
        }
        return (good, bad, data.Length);
    }

    private static string DecodeStrict(ArraySegment<byte> b)
    {
        try { return new UTF8Encoding(false, true).GetString(b); }
        catch (DecoderFallbackException) { return ""; }
    }

    /// <summary>
    /// Rewrites the file with its good lines, under the store lock "events" (no rotation meanwhile). Monitors
    /// append without a lock: what they appended while the good lines were written is copied over as it is
    /// before the rename, so only an append in the last instant before the rename can be lost.
    /// </summary>
    private static bool Rewrite(StorageRoot root, string path)
    {
        using var held = StoreLock.Acquire(root, "events", true, TimeSpan.FromSeconds(10));
        byte[]? data = Read(path);
        if (data is null) return true;
        var (good, bad, used) = Split(data);
        if (bad == 0) return true;
        string dir = Path.GetDirectoryName(path)!;
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp-" + Environment.ProcessId + "-" + Environment.CurrentManagedThreadId);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                foreach (var g in good) fs.Write(g);
                // what was appended since the read, as it is
                long at = used;
                for (int i = 0; i < 5; i++)
                {
                    using var src = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                    if (src.Length <= at) break;
                    src.Position = at;
                    src.CopyTo(fs);
                    at = src.Position;
                }
                fs.Flush(true);
            }
            try { File.SetUnixFileMode(tmp, File.GetUnixFileMode(path)); } catch (IOException) { }
            FileSys.Rename(tmp, path);
            FileSys.FsyncDirectory(dir);
        }
        finally
        {
            try { File.Delete(tmp); } catch (IOException) { }
        }
        return true;
    }
}
