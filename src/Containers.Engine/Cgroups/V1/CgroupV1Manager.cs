using System.Globalization;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.Cgroups.V1;

/// <summary>
/// A container's cgroup on cgroup v1 (legacy or hybrid): one directory per hierarchy
/// (&lt;root&gt;/&lt;controller&gt;/pscontainers-&lt;scope&gt;/&lt;id&gt;), the container's processes in each.
/// </summary>
public sealed class CgroupV1Manager : ICgroupManager
{
    private static readonly string[] Known =
        ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "net_cls", "net_prio", "perf_event", "pids", "rdma", "misc", "systemd"];

    /// <summary>
    /// The controllers a container's cgroup is made in: those the engine sets or reads (limits, CPU time,
    /// cpuset, the device allowlist, freeze). Each hierarchy costs a mkdir at start, a cgroup.procs write in the
    /// child and an rmdir at removal, so hierarchies of controllers nothing uses (blkio, hugetlb, net_cls,
    /// perf_event, the named systemd one, ...) are left out; the container stays where its starter was in those.
    /// </summary>
    private static readonly string[] Used = ["cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids"];

    private readonly CgroupFs _fs;
    private readonly Dictionary<string, string> _controllerMounts = new(StringComparer.Ordinal);
    private readonly List<string> _mounts = new();

    public string CgroupRoot => _fs.Root;
    public string ParentName { get; }
    /// <summary>Whether Destroy removes the parent once it is empty (the storage root's own; not a -CgroupParent).</summary>
    public bool RemoveParentWhenEmpty { get; init; } = true;
    public string ContainerId { get; }
    public string RelativePath => $"{ParentName}/{ContainerId}";
    public TimeSpan FreezeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Controller name -> the directory its hierarchy is mounted on.</summary>
    public IReadOnlyDictionary<string, string> Hierarchies => _controllerMounts;

    internal CgroupV1Manager(CgroupFs fs, string parentName, string containerId)
    {
        _fs = fs;
        ParentName = parentName;
        ContainerId = containerId;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in Directory.GetDirectories(fs.Root).OrderBy(d => d, StringComparer.Ordinal))
        {
            string name = Path.GetFileName(dir);
            var controllers = name.Split(',');
            if (!controllers.All(c => Known.Contains(c))) continue; // "unified" and anything unknown
            if (!controllers.Any(c => Used.Contains(c))) continue;
            string real = new DirectoryInfo(dir).ResolveLinkTarget(true)?.FullName ?? dir;
            foreach (var c in controllers) _controllerMounts.TryAdd(c, dir);
            if (seen.Add(real)) _mounts.Add(dir);
        }
    }

    /// <summary>The container's directory in the hierarchy that has <paramref name="controller"/>, or null.</summary>
    public string? PathOf(string controller) =>
        _controllerMounts.TryGetValue(controller, out var m) ? Path.Combine(m, ParentName, ContainerId) : null;

    private string Require(string controller) =>
        PathOf(controller) ?? throw new ContainersException(ErrorKind.Unavailable, "CgroupControllerMissing",
            CgroupMessages.ControllerMissing(controller, _fs.Root), controller);

    private IEnumerable<string> Dirs => _mounts.Select(m => Path.Combine(m, ParentName, ContainerId));

    public IReadOnlyList<string> ProcsFiles => Dirs.Select(d => Path.Combine(d, "cgroup.procs")).ToList();

    public (string File, string Key) OomKillCounter => (Path.Combine(Require("memory"), MemoryV1.OomControl), "oom_kill");

    public bool Exists => Dirs.Any(Directory.Exists);

    public void Create(CgroupResources resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        try
        {
            foreach (var mount in _mounts)
            {
                string parent = Path.Combine(mount, ParentName), dir = Path.Combine(parent, ContainerId);
                bool cpuset = Path.GetFileName(mount).Split(',').Contains("cpuset");
                // a concurrent Destroy of the last sibling may remove the parent between the two mkdirs: retry
                for (int attempt = 0; ; attempt++)
                {
                    // a nested parent (-CgroupParent a/b): each new cpuset level needs its cpus and mems first
                    string above = mount;
                    foreach (var level in ParentName.Split('/'))
                    {
                        string here = Path.Combine(above, level);
                        _fs.MakeDirectory(here);
                        if (cpuset) CpusetV1.Inherit(_fs, above, here);
                        above = here;
                    }
                    try { _fs.MakeDirectory(dir); break; }
                    catch (ContainersException) when (attempt < 3 && !Directory.Exists(parent)) { }
                }
                if (cpuset) CpusetV1.Inherit(_fs, parent, dir);
            }
            Apply(resources, devices: true);
        }
        catch
        {
            try { Destroy(); } catch (ContainersException) { }
            throw;
        }
    }

    public void Update(CgroupResources resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        if (!Exists) throw ContainersException.NotFound("CgroupNotFound", CgroupMessages.NoSuchCgroup(RelativePath), RelativePath);
        // device rules are set once at Create: rewriting them would deny everything for a moment
        Apply(resources, devices: false);
    }

    private void Apply(CgroupResources r, bool devices)
    {
        if (r.MemoryBytes is not null || r.MemorySwapBytes is not null) MemoryV1.Apply(_fs, Require("memory"), r);
        if (r.Cpus is not null || r.CpuPeriodMicroseconds is not null || r.CpuShares is not null) CpuV1.Apply(_fs, Require("cpu"), r);
        if (r.CpusetCpus is not null || r.CpusetMems is not null) CpusetV1.Apply(_fs, Require("cpuset"), r);
        if (r.PidsLimit is not null) PidsV1.Apply(_fs, Require("pids"), r);
        if (devices && PathOf("devices") is string dev) DevicesV1.Apply(_fs, dev, r);
    }

    public void Join(int pid)
    {
        string s = pid.ToString(CultureInfo.InvariantCulture);
        foreach (var f in ProcsFiles)
        {
            try { Cgroupfs.WriteFile(f, s, create: !_fs.IsReal); }
            catch (NativeException ex) { throw CgroupFs.WriteError(f, s, ex); }
        }
    }

    public void Freeze() => FreezerV1.Freeze(_fs, Require("freezer"), FreezeTimeout);
    public void Thaw() => FreezerV1.Thaw(_fs, Require("freezer"), FreezeTimeout);
    public bool IsFrozen => PathOf("freezer") is string f && FreezerV1.IsFrozen(_fs, f);

    public CgroupStats Stats()
    {
        var s = new StatsBuilder();
        if (PathOf("cpu") is string cpu) CpuV1.Read(_fs, cpu, PathOf("cpuacct"), s);
        if (PathOf("memory") is string mem) MemoryV1.Read(_fs, mem, s);
        if (PathOf("pids") is string pids) PidsV1.Read(_fs, pids, s);
        return s.Build();
    }

    public int[] Pids()
    {
        var set = new HashSet<int>();
        foreach (var d in Dirs) _fs.CollectPids(d, set);
        return set.Order().ToArray();
    }

    private bool Populated(string dir)
    {
        var set = new HashSet<int>();
        _fs.CollectPids(dir, set);
        return set.Count > 0;
    }

    /// <summary>Freeze, SIGKILL every pid, thaw (so nothing forks in between), until the cgroup is empty.</summary>
    public void KillAll(TimeSpan timeout)
    {
        if (!Exists) return;
        string? freezer = PathOf("freezer");
        bool frozen = false;
        if (freezer is not null && Directory.Exists(freezer) && _fs.IsReal)
        {
            try { FreezerV1.Freeze(_fs, freezer, TimeSpan.FromSeconds(2)); frozen = true; }
            catch (ContainersException) { }
        }
        try { foreach (int pid in Pids()) Cgroupfs.Kill(pid, Cgroupfs.SIGKILL); }
        finally { if (frozen) FreezerV1.Thaw(_fs, freezer!, FreezeTimeout); }
        bool empty = CgroupFs.WaitUntil(() =>
        {
            var left = Pids();
            foreach (int pid in left) Cgroupfs.Kill(pid, Cgroupfs.SIGKILL);
            return left.Length == 0;
        }, timeout);
        if (!empty)
            throw new ContainersException(ErrorKind.Timeout, "CgroupKillTimeout", CgroupMessages.KillTimeout(RelativePath, Pids().Length), RelativePath);
    }

    public void Destroy()
    {
        // every process of the container joins every hierarchy, so one hierarchy tells whether any is left
        string? probe = Dirs.FirstOrDefault(Directory.Exists);
        if (probe is not null && Populated(probe)) KillAll(TimeSpan.FromSeconds(10));
        string? busy = null;
        foreach (var mount in _mounts)
        {
            string parent = Path.Combine(mount, ParentName);
            if (!_fs.RemoveTree(Path.Combine(parent, ContainerId), TimeSpan.FromSeconds(5))) busy ??= Path.Combine(parent, ContainerId);
            else if (RemoveParentWhenEmpty) _fs.RemoveIfEmpty(parent);
        }
        if (busy is not null) throw ContainersException.Conflict("CgroupBusy", CgroupMessages.StillBusy(busy), busy);
    }
}
