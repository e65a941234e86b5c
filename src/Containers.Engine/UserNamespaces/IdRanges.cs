using System.Globalization;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// Allocation of containers' id ranges, without overlap across containers and across storage roots. The host-wide
/// table is <see cref="HostTable"/>: one line "start count root id" per allocated range, rewritten atomically under
/// an flock of <see cref="HostLock"/>, persistent (in /var/lib, not /run: a range must stay its container's across a
/// reboot, since its writable layer and volumes hold those ids on disk). Each root also keeps its own record,
/// &lt;root&gt;/userns/&lt;id&gt; ("start count"), which Test-ContainerStore checks (a record whose container is gone
/// is an IdRangeOrphan; -Repair frees it).
/// </summary>
public static class IdRanges
{
    public const string HostDirectory = "/var/lib/pscontainers-userns";
    public static string HostTable => Path.Combine(HostDirectory, "ranges");
    public static string HostLock => Path.Combine(HostDirectory, "lock");

    public readonly record struct Allocation(IdRange Range, string Root, string Id);

    public static string RecordPath(StorageRoot root, string id) => root.Sub("userns", id);

    /// <summary>Every allocation of the host table.</summary>
    public static List<Allocation> List()
    {
        var l = new List<Allocation>();
        try
        {
            foreach (var line in File.ReadLines(HostTable))
            {
                var f = line.Split(' ', 4);
                if (f.Length == 4 && uint.TryParse(f[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint s)
                    && uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint c))
                    l.Add(new Allocation(new IdRange(s, c), f[2], f[3]));
            }
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
        return l;
    }

    /// <summary>
    /// Durable when a range is taken (a power loss must not give the ids of a container whose files hold them to
    /// another); a freed range may be lost to a power loss (it stays taken until Test-ContainerStore -Repair).
    /// </summary>
    private static void Save(List<Allocation> all, bool durable = true)
    {
        var sb = new StringBuilder();
        foreach (var a in all) sb.Append(CultureInfo.InvariantCulture, $"{a.Range.Start} {a.Range.Count} {a.Root} {a.Id}\n");
        AtomicFile.WriteAllBytes(HostTable, Encoding.UTF8.GetBytes(sb.ToString()), durable);
    }

    private static T Locked<T>(Func<T> f)
    {
        Directory.CreateDirectory(HostDirectory);
        File.SetUnixFileMode(HostDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        int fd = FileSys.Open(HostLock, FileSys.O_RDWR | FileSys.O_CREAT, 0x180);
        try
        {
            FileSys.Flock(fd, FileSys.LOCK_EX);
            return f();
        }
        finally { FileSys.Close(fd); }
    }

    /// <summary>The range of a container of the root (its record), or null.</summary>
    public static IdRange? Of(StorageRoot root, string id)
    {
        try
        {
            var f = File.ReadAllText(RecordPath(root, id)).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return new IdRange(uint.Parse(f[0], CultureInfo.InvariantCulture), uint.Parse(f[1], CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException) { return null; }
    }

    /// <summary>Allocates the first free range of <paramref name="pool"/> for a container and records it (host table and root).</summary>
    public static IdRange Allocate(StorageRoot root, string id, IdRange pool) => Locked(() =>
    {
        var all = List();
        // a storage root deleted outside the engine (rm -rf) took its containers with it: their ranges are free
        if (all.RemoveAll(a => !Directory.Exists(a.Root)) > 0) Save(all);
        var mine = all.FirstOrDefault(a => a.Root == root.Path && a.Id == id);
        if (mine.Id is not null) { WriteRecord(root, id, mine.Range); return mine.Range; }
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
            Save(all);
            WriteRecord(root, id, cand);
            return cand;
        }
        throw ContainersException.System("IdRangesExhausted",
            $"Every id range of {SubordinateIds.UserName}'s subordinate ids ({pool}) is in use; remove containers or give the user a larger range.", id);
    });

    private static void WriteRecord(StorageRoot root, string id, IdRange r)
    {
        Directory.CreateDirectory(root.Sub("userns"));
        // the host table is the one that must survive a power loss; the root's record is its copy for Test-ContainerStore
        AtomicFile.WriteAllBytes(RecordPath(root, id), Encoding.UTF8.GetBytes($"{r.Start} {r.Count}\n"), durable: false);
    }

    /// <summary>Frees a container's range (host table and root record); nothing when it has none.</summary>
    public static void Free(StorageRoot root, string id)
    {
        if (!File.Exists(RecordPath(root, id)) && !File.Exists(HostTable)) return;
        Locked(() =>
        {
            var all = List();
            int n = all.RemoveAll(a => a.Root == root.Path && a.Id == id);
            if (n > 0) Save(all, durable: false);
            try { File.Delete(RecordPath(root, id)); } catch (IOException) { }
            return true;
        });
    }

    /// <summary>Ranges of this root whose container is gone: its records and its host-table lines (Test-ContainerStore).</summary>
    public static List<(string Id, IdRange Range)> Orphans(StorageRoot root, Func<string, bool> containerExists)
    {
        var l = new List<(string, IdRange)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string dir = root.Sub("userns");
        if (Directory.Exists(dir))
            foreach (var f in Directory.EnumerateFiles(dir))
            {
                string id = Path.GetFileName(f);
                if (containerExists(id) || !seen.Add(id)) continue;
                l.Add((id, Of(root, id) ?? default));
            }
        // (rootless: the host-wide table is root's, and a rootless root takes no range from it)
        if (Rootless.RootlessHost.Active) return l;
        foreach (var a in List())
            if (a.Root == root.Path && !containerExists(a.Id) && seen.Add(a.Id)) l.Add((a.Id, a.Range));
        return l;
    }
}
