using System.Globalization;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.Cgroups;

/// <summary>
/// File access to one cgroup file system tree (the real /sys/fs/cgroup or a fake tree a test made): writes
/// with the errno kept (EBUSY, ENOSPC, EINVAL mean different things here), parsing of the flat
/// ("key value") and single-value files, and removal that knows real cgroup directories are rmdir'd.
/// </summary>
internal sealed class CgroupFs
{
    /// <summary>False for a fake tree in an ordinary directory (unit tests): then directories are deleted with their files.</summary>
    public bool IsReal { get; }
    public string Root { get; }

    public CgroupFs(string root)
    {
        Root = root;
        IsReal = IsCgroupFileSystem(root) || Directory.EnumerateDirectories(root).Take(32).Any(IsCgroupFileSystem);
    }

    /// <summary>
    /// The first write to any cgroup.procs in a while waits for an RCU grace period (the kernel switches its
    /// threadgroup rwsem to the slow, writer-friendly mode; 5-10 ms here), and the rwsem drops back to the
    /// fast mode one grace period after the last writer left. A start writes cgroup.procs some 15-20 ms after
    /// it begins (when the container's child joins), too late to find the mode a single early write set up.
    /// So a background thread moves this process into the cgroup it is already in (a no-op migration) right
    /// away and then every few milliseconds until the returned handle is disposed (a start once the child has
    /// joined, a run after the removal; at most a quarter second): the first write pays the wait while the caller
    /// prepares the container, the later ones are cheap and keep the mode, and the child's own join does not
    /// wait. Call it after creating cgroups: the waiting write holds the kernel's cgroup mutex, which mkdir needs.
    /// Best effort: errors change nothing.
    /// </summary>
    public static IDisposable HoldMigrationFastPath()
    {
        string? own = OwnProcsFile.Value;
        // rootless: this process may not migrate itself (the cgroup is root's), and its containers have no cgroup here
        if (own is null || Rootless.RootlessHost.Active) return NoHold.Instance;
        var hold = new FastPathHold(own);
        new Thread(hold.Run, 64 * 1024) { IsBackground = true, Name = "cgroup-fast-path" }.Start();
        return hold;
    }

    /// <summary>The cgroup.procs of this process's own cgroup (v1 pids hierarchy, else pure v2); read once per process.</summary>
    private static readonly Lazy<string?> OwnProcsFile = new(() =>
    {
        string? own = null;
        try
        {
            foreach (var l in File.ReadAllLines("/proc/self/cgroup"))
            {
                var parts = l.Split(':', 3);
                if (parts.Length != 3) continue;
                if (parts[1] == "pids") return "/sys/fs/cgroup/pids" + parts[2].TrimEnd('/') + "/cgroup.procs";
                if (parts[0] == "0" && parts[1].Length == 0 && File.Exists("/sys/fs/cgroup/cgroup.controllers"))
                    own = "/sys/fs/cgroup" + parts[2].TrimEnd('/') + "/cgroup.procs";
            }
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        return own;
    });

    internal sealed class NoHold : IDisposable
    {
        public static readonly NoHold Instance = new();
        public void Dispose() { }
    }

    private sealed class FastPathHold(string procsFile) : IDisposable
    {
        private volatile bool _done;
        public void Dispose() => _done = true;
        public void Run()
        {
            var until = Environment.TickCount64 + 250;
            while (!_done && Environment.TickCount64 < until)
            {
                try { Cgroupfs.WriteFile(procsFile, "0", create: false); }
                catch (NativeException) { return; }
                Thread.Sleep(2);
            }
        }
    }

    public static bool IsCgroupFileSystem(string path)
    {
        long t = Cgroupfs.FileSystemType(path);
        return t == Cgroupfs.CGROUP_SUPER_MAGIC || t == Cgroupfs.CGROUP2_SUPER_MAGIC;
    }

    public void Write(string dir, string file, string value)
    {
        string path = Path.Combine(dir, file);
        try { Cgroupfs.WriteFile(path, value, create: !IsReal); }
        catch (NativeException ex) { throw WriteError(path, value, ex); }
    }

    /// <summary>Writes only when the file exists (optional kernel features such as swap accounting).</summary>
    public bool WriteIfExists(string dir, string file, string value)
    {
        if (!File.Exists(Path.Combine(dir, file))) return false;
        Write(dir, file, value);
        return true;
    }

    public static ContainersException WriteError(string path, string value, NativeException ex)
    {
        if (ex.Errno == Errno.EINVAL || ex.Errno == Cgroupfs.ERANGE)
            return ContainersException.Invalid("CgroupValueInvalid", CgroupMessages.ValueRejected(path, value, ex.Message), path, ex);
        if (ex.Errno == Errno.EBUSY)
            return ContainersException.Conflict("CgroupBusy", CgroupMessages.Busy(path, value, ex.Message), path, ex);
        return ContainersException.System("CgroupWriteFailed", CgroupMessages.WriteFailed(path, value, ex.Message), path, ex);
    }

    public string? Read(string dir, string file)
    {
        try { return File.ReadAllText(Path.Combine(dir, file)).Trim(); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (IOException) { return null; }
    }

    /// <summary>A single-number file; "max" and the v1 "unlimited" sentinels become -1; missing = <paramref name="missing"/>.</summary>
    public long ReadLong(string dir, string file, long missing = 0)
    {
        string? s = Read(dir, file);
        if (s is null) return missing;
        return ParseLimit(s.Split(' ', '\n')[0], missing);
    }

    public static long ParseLimit(string s, long fallback = 0)
    {
        if (s == "max") return -1;
        if (!long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
        {
            // v1 reports "unlimited" as 2^63 rounded down to the page size; ulong values past long are unlimited too
            return ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? -1 : fallback;
        }
        return v >= Unlimited ? -1 : v;
    }

    /// <summary>Values at or above this (v1's 0x7FFFFFFFFFFFF000 for "no limit") mean unlimited.</summary>
    public const long Unlimited = 0x7FFFFFFFFFFFF000;

    /// <summary>A flat keyed file ("key value" per line: cpu.stat, memory.stat, memory.events, oom_control).</summary>
    public Dictionary<string, long> ReadKeyed(string dir, string file)
    {
        var d = new Dictionary<string, long>(StringComparer.Ordinal);
        string? s = Read(dir, file);
        if (s is null) return d;
        foreach (var line in s.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
                d[parts[0]] = v;
        }
        return d;
    }

    /// <summary>Pids in cgroup.procs of <paramref name="dir"/> and every cgroup below it.</summary>
    public void CollectPids(string dir, HashSet<int> into)
    {
        if (!Directory.Exists(dir)) return;
        string? procs = Read(dir, "cgroup.procs");
        if (procs is not null)
            foreach (var l in procs.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                if (int.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out int pid)) into.Add(pid);
        foreach (var sub in SafeSubdirectories(dir)) CollectPids(sub, into);
    }

    private static IEnumerable<string> SafeSubdirectories(string dir)
    {
        try { return Directory.GetDirectories(dir); }
        catch (IOException) { return []; }
    }

    /// <summary>mkdir -p; EEXIST is fine.</summary>
    public void MakeDirectory(string dir)
    {
        try { Directory.CreateDirectory(dir); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ContainersException.System("CgroupCreateFailed", CgroupMessages.CreateFailed(dir, ex.Message), dir, ex);
        }
    }

    /// <summary>
    /// Removes a cgroup directory and the cgroups below it (deepest first), retrying EBUSY while the kernel
    /// finishes tearing down exited tasks. Returns false when it is still busy at the deadline.
    /// </summary>
    public bool RemoveTree(string dir, TimeSpan timeout)
    {
        if (!Directory.Exists(dir)) return true;
        if (!IsReal)
        {
            try { Directory.Delete(dir, recursive: true); return true; }
            catch (DirectoryNotFoundException) { return true; }
        }
        foreach (var sub in SafeSubdirectories(dir))
            if (!RemoveTree(sub, timeout)) return false;
        var deadline = DateTime.UtcNow + timeout;
        int delay = 1;
        while (true)
        {
            int e = Cgroupfs.Rmdir(dir);
            if (e == 0 || e == Errno.ENOENT) return true;
            if (e != Errno.EBUSY && e != Errno.EAGAIN && e != Errno.ENOTEMPTY)
                throw ContainersException.System("CgroupRemoveFailed", CgroupMessages.RemoveFailed(dir, new NativeException("rmdir", e, dir).Message), dir);
            if (DateTime.UtcNow >= deadline) return false;
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 50);
        }
    }

    /// <summary>Removes the shared parent if no container cgroup is left in it (another root's process may race: EBUSY/ENOTEMPTY is fine).</summary>
    public void RemoveIfEmpty(string dir)
    {
        if (!Directory.Exists(dir)) return;
        if (!IsReal)
        {
            if (!Directory.EnumerateDirectories(dir).Any()) Directory.Delete(dir, recursive: true);
            return;
        }
        Cgroupfs.Rmdir(dir);
    }

    /// <summary>Polls until <paramref name="done"/> or the deadline; returns whether it became true.</summary>
    public static bool WaitUntil(Func<bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        int delay = 1;
        while (true)
        {
            if (done()) return true;
            if (DateTime.UtcNow >= deadline) return false;
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 20);
        }
    }
}
