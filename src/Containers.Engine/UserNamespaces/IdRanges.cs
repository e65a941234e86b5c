using System.Globalization;
using System.Text;
using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// Allocation of containers' id ranges, without overlap across containers and across storage roots. The host-wide
/// table is <see cref="HostTable"/>: one line "start count root id" per allocated range, rewritten under an flock of
/// <see cref="HostLock"/>, persistent (in /var/lib, not /run: a range must stay its container's across a reboot,
/// since its writable layer and volumes hold those ids on disk). The container's config.json holds its range too.
/// <para>
/// The hot path creates, deletes and flushes no file (a start-to-exit under Auto is to cost no more than under Host;
/// on this ext4 each file made or deleted cost 1-8 ms under load): a table line is live while its container's
/// directory exists (&lt;root&gt;/containers/&lt;id&gt;, or &lt;root&gt;/tmp/ctr-&lt;id&gt; while it is being
/// created), so a removal frees its range by the rename it does anyway and the next allocation drops the dead line;
/// the table is rewritten in place, unflushed. What a crash of the machine can lose is rebuilt: the first allocation
/// after a boot (<see cref="CheckedBoot"/> holds the boot id of the last rebuild) takes the ranges of every container
/// of the known roots from their configs, writes the table durably and only then allocates. The roots to look in are
/// <see cref="RootsFile"/>, written durably once per root (its first range). Records &lt;root&gt;/userns/&lt;id&gt;
/// were written by the first version; Test-ContainerStore reports one whose container is gone (IdRangeOrphan).
/// </para>
/// </summary>
public static class IdRanges
{
    public const string HostDirectory = "/var/lib/pscontainers-userns";
    public static string HostTable => Path.Combine(HostDirectory, "ranges");
    public static string HostLock => Path.Combine(HostDirectory, "lock");
    /// <summary>Every storage root that ever took a range (one path a line), durable: where a rebuild looks.</summary>
    public static string RootsFile => Path.Combine(HostDirectory, "roots");
    /// <summary>The boot id (/proc/sys/kernel/random/boot_id) of the last rebuild of the table from the roots.</summary>
    public static string CheckedBoot => Path.Combine(HostDirectory, "checked-boot");

    public readonly record struct Allocation(IdRange Range, string Root, string Id);

    /// <summary>The first version's per-root record of a range (no longer written; Test-ContainerStore knows it).</summary>
    public static string RecordPath(StorageRoot root, string id) => root.Sub("userns", id);

    /// <summary>The state directory of a container being created (renamed to containers/&lt;id&gt; when complete).</summary>
    public static string CreatingPath(StorageRoot root, string id) => root.Sub("tmp", "ctr-" + id);

    // roots this process knows to be in RootsFile
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> KnownRoots = new(StringComparer.Ordinal);

    private static bool Live(Allocation a) =>
        Directory.Exists(Path.Combine(a.Root, "containers", a.Id)) || Directory.Exists(Path.Combine(a.Root, "tmp", "ctr-" + a.Id));

    /// <summary>Every line of the host table, live or not (a line whose container is gone is a free range not yet dropped).</summary>
    private static List<Allocation> Lines()
    {
        var l = new List<Allocation>();
        try
        {
            foreach (var line in File.ReadLines(HostTable))
            {
                var f = line.Split(' ', 4);
                if (f.Length == 4 && uint.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint s)
                    && uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint c) && c > 0)
                    l.Add(new Allocation(new IdRange(s, c), f[2], f[3]));
            }
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
        return l;
    }

    /// <summary>Every live allocation of the host table (its container exists).</summary>
    public static List<Allocation> List() => Locked(() => Lines().Where(Live).ToList());

    private static byte[] Format(List<Allocation> all)
    {
        var sb = new StringBuilder();
        foreach (var a in all) sb.Append(CultureInfo.InvariantCulture, $"{a.Range.Start} {a.Range.Count} {a.Root} {a.Id}\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>
    /// The table rewritten in place (under the lock; no new file, no flush): what was longer is blanked with empty
    /// lines, which a reader skips. A crash may tear it; the boot's rebuild does not trust it.
    /// </summary>
    private static void SaveInPlace(List<Allocation> all)
    {
        byte[] data = Format(all);
        using var h = FileSys.OpenHandle(HostTable, FileSys.O_RDWR | FileSys.O_CREAT, 0x1a4);
        long old = RandomAccess.GetLength(h);
        if (old > data.Length)
        {
            var padded = new byte[old];
            data.CopyTo(padded, 0);
            padded.AsSpan(data.Length).Fill((byte)'\n');
            data = padded;
        }
        RandomAccess.Write(h, data, 0);
    }

    private static T Locked<T>(Func<T> f)
    {
        int fd;
        try { fd = FileSys.Open(HostLock, FileSys.O_RDWR | FileSys.O_CREAT, 0x180); }
        catch (NativeException ne) when (ne.Errno == Errno.ENOENT)
        {
            Directory.CreateDirectory(HostDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            fd = FileSys.Open(HostLock, FileSys.O_RDWR | FileSys.O_CREAT, 0x180);
        }
        try
        {
            FileSys.Flock(fd, FileSys.LOCK_EX);
            return f();
        }
        finally { FileSys.Close(fd); }
    }

    /// <summary>A first version's record of a container's range, or null.</summary>
    public static IdRange? Of(StorageRoot root, string id) => Of(root.Path, id);

    private static IdRange? Of(string root, string id)
    {
        try
        {
            var f = File.ReadAllText(Path.Combine(root, "userns", id)).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return new IdRange(uint.Parse(f[0], CultureInfo.InvariantCulture), uint.Parse(f[1], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Allocates the first free range of <paramref name="pool"/> for a container whose state directory is
    /// <see cref="CreatingPath"/> (it must exist: it makes the line live) or containers/&lt;id&gt;.
    /// </summary>
    public static IdRange Allocate(StorageRoot root, string id, IdRange pool) => Locked(() =>
    {
        Register(root.Path);
        var lines = BootChecked() ?? Lines();
        // live lines only: a removed container's directory is gone (renamed to the trash, or rm -rf'd with its root)
        var all = lines.Where(Live).ToList();
        var mine = all.FirstOrDefault(a => a.Root == root.Path && a.Id == id);
        if (mine.Id is not null) return mine.Range;
        var used = all.Select(a => a.Range).OrderBy(r => r.Start).ToList();
        for (long s = pool.Start; s + IdRange.Size <= (long)pool.Start + pool.Count; s += IdRange.Size)
        {
            var cand = new IdRange((uint)s, IdRange.Size);
            var clash = used.FirstOrDefault(u => u.Overlaps(cand));
            if (clash.Count != 0)
            {
                // skip past the clash (aligned to the pool's slots)
                long end = (long)clash.Start + clash.Count;
                s = pool.Start + (end - pool.Start + IdRange.Size - 1) / IdRange.Size * IdRange.Size - IdRange.Size;
                continue;
            }
            all.Add(new Allocation(cand, root.Path, id));
            SaveInPlace(all);
            return cand;
        }
        if (all.Count != lines.Count) SaveInPlace(all);
        throw ContainersException.System("IdRangesExhausted",
            $"Every id range of {SubordinateIds.UserName}'s subordinate ids ({pool}) is in use; remove containers or give the user a larger range.", id);
    });

    /// <summary>
    /// The root in <see cref="RootsFile"/>, durably, before its first range is handed out (once per root; roots that
    /// no longer exist are dropped then).
    /// </summary>
    private static void Register(string root)
    {
        if (KnownRoots.ContainsKey(root)) return;
        var roots = ReadRoots();
        if (!roots.Contains(root))
        {
            roots = roots.Where(Directory.Exists).Append(root).ToList();
            AtomicFile.WriteAllBytes(RootsFile, Encoding.UTF8.GetBytes(string.Concat(roots.Select(r => r + "\n"))), durable: true);
        }
        KnownRoots[root] = true;
    }

    private static List<string> ReadRoots()
    {
        try { return File.ReadAllLines(RootsFile).Where(l => l.Length > 0).Distinct(StringComparer.Ordinal).ToList(); }
        catch (FileNotFoundException) { return []; }
        catch (DirectoryNotFoundException) { return []; }
    }

    private static string BootId()
    {
        try { return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); }
        catch (IOException) { return ""; }
    }

    /// <summary>
    /// The first allocation since a boot (a crash of the machine may have lost or torn the table, which is not
    /// flushed): rebuilds it durably from the known roots' containers and returns it; null when this boot's table was
    /// already rebuilt.
    /// </summary>
    private static List<Allocation>? BootChecked()
    {
        string boot = BootId();
        string? seen = null;
        try { seen = File.ReadAllText(CheckedBoot).Trim(); } catch (IOException) { }
        if (boot.Length > 0 && seen == boot) return null;
        var all = Rebuild();
        AtomicFile.WriteAllBytes(HostTable, Format(all), durable: true);
        AtomicFile.WriteAllBytes(CheckedBoot, Encoding.UTF8.GetBytes(boot + "\n"), durable: true);
        return all;
    }

    /// <summary>
    /// The ranges of every container of the known roots: its config's (the container's own record), else its table
    /// line, else a first version's record. A container none of them gives a range to has none.
    /// </summary>
    internal static List<Allocation> Rebuild()
    {
        var result = new List<Allocation>();
        var lines = Lines();
        var roots = ReadRoots().Concat(lines.Select(a => a.Root)).Distinct(StringComparer.Ordinal).Where(Directory.Exists).ToList();
        foreach (var root in roots)
        {
            string containers = Path.Combine(root, "containers");
            if (!Directory.Exists(containers)) continue;
            foreach (var d in Directory.EnumerateDirectories(containers))
            {
                string id = Path.GetFileName(d);
                IdRange? r = ConfigRange(Path.Combine(d, "config.json"));
                if (r is null)
                {
                    var line = lines.FirstOrDefault(a => a.Root == root && a.Id == id);
                    r = line.Id is not null ? line.Range : Of(root, id);
                }
                if (r is IdRange range) result.Add(new Allocation(range, root, id));
            }
        }
        return result;
    }

    /// <summary>The range a container's config.json holds (idRangeStart, idRangeCount), or null.</summary>
    private static IdRange? ConfigRange(string config)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(config));
            if (doc.RootElement.TryGetProperty("idRangeStart", out var s) && s.ValueKind == JsonValueKind.Number
                && doc.RootElement.TryGetProperty("idRangeCount", out var c) && c.ValueKind == JsonValueKind.Number
                && s.TryGetUInt32(out uint start) && c.TryGetUInt32(out uint count) && count > 0)
                return new IdRange(start, count);
        }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>
    /// Frees a container's range now (its line dropped, its first version's record deleted): for Test-ContainerStore
    /// -Repair and for a create that failed. A removal need not: the rename of its directory frees it.
    /// </summary>
    public static void Free(StorageRoot root, string id)
    {
        try { File.Delete(RecordPath(root, id)); } catch (IOException) { }
        if (!File.Exists(HostTable)) return;
        Locked(() =>
        {
            var lines = Lines();
            if (lines.RemoveAll(a => a.Root == root.Path && a.Id == id) > 0) SaveInPlace(lines);
            return true;
        });
    }

    /// <summary>First version's records of this root whose container is gone (Test-ContainerStore).</summary>
    public static List<(string Id, IdRange Range)> Orphans(StorageRoot root, Func<string, bool> containerExists)
    {
        var l = new List<(string, IdRange)>();
        string dir = root.Sub("userns");
        if (Directory.Exists(dir))
            foreach (var f in Directory.EnumerateFiles(dir))
            {
                string id = Path.GetFileName(f);
                if (id.StartsWith('.') || containerExists(id)) continue;
                l.Add((id, Of(root, id) ?? default));
            }
        return l;
    }
}
