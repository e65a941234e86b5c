using System.Globalization;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.Cgroups.V2;

/// <summary>
/// A container's cgroup on the unified hierarchy: &lt;root&gt;/pscontainers-&lt;scope&gt;/&lt;id&gt;. The controllers are
/// delegated down through cgroup.subtree_control of the root and of the parent; the parent never holds
/// processes itself (cgroup v2's "no internal processes" rule), only container cgroups.
/// </summary>
public sealed class CgroupV2Manager : ICgroupManager
{
    /// <summary>Controllers a container uses, enabled when the kernel offers them.</summary>
    public static readonly string[] WantedControllers = ["cpuset", "cpu", "io", "memory", "pids", "hugetlb"];

    private readonly CgroupFs _fs;
    private readonly IDeviceProgramAttacher? _attacher;

    public string CgroupRoot => _fs.Root;
    public string ParentName { get; }
    /// <summary>Whether Destroy removes the parent once it is empty (the storage root's own; not a -CgroupParent).</summary>
    public bool RemoveParentWhenEmpty { get; init; } = true;
    public string ContainerId { get; }
    public string RelativePath => $"{ParentName}/{ContainerId}";
    public string ParentPath => Path.Combine(_fs.Root, ParentName);

    /// <summary>The container's cgroup directory (for CLONE_INTO_CGROUP, open it and pass the fd).</summary>
    public string CgroupPath => Path.Combine(ParentPath, ContainerId);
    public TimeSpan FreezeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The device program installed by the last Create (null when privileged).</summary>
    public DeviceProgram? DeviceProgram { get; private set; }

    internal CgroupV2Manager(CgroupFs fs, string parentName, string containerId, IDeviceProgramAttacher? attacher)
    {
        _fs = fs;
        ParentName = parentName;
        ContainerId = containerId;
        _attacher = attacher;
    }

    private string Dir => CgroupPath;

    public IReadOnlyList<string> ProcsFiles => [Path.Combine(Dir, "cgroup.procs")];

    public (string File, string Key) OomKillCounter => (Path.Combine(Dir, MemoryV2.Events), "oom_kill");

    public bool Exists => Directory.Exists(Dir);

    /// <summary>The controllers offered at the root that a container wants.</summary>
    public IReadOnlyList<string> Controllers()
    {
        var offered = (_fs.Read(_fs.Root, "cgroup.controllers") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return WantedControllers.Where(offered.Contains).ToList();
    }

    /// <summary>Enables <paramref name="controllers"/> for the children of <paramref name="dir"/> (one per write, only the missing ones).</summary>
    private void Delegate(string dir, IReadOnlyList<string> controllers)
    {
        var enabled = (_fs.Read(dir, "cgroup.subtree_control") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var missing = controllers.Where(c => !enabled.Contains(c)).ToList();
        if (missing.Count == 0) return;
        if (!_fs.IsReal)
        {
            // a fake tree keeps what was written last: record the whole set like the kernel would show it
            _fs.Write(dir, "cgroup.subtree_control", string.Join(' ', enabled.Concat(missing)));
            return;
        }
        // the kernel vets the whole set in one write; per-controller writes would enable the threaded ones
        // (cpuset, cpu, pids) first and turn a parent with processes into a thread root (EOPNOTSUPP)
        string path = Path.Combine(dir, "cgroup.subtree_control");
        string value = string.Join(' ', missing.Select(c => "+" + c));
        bool isRoot = Path.GetFullPath(dir).TrimEnd('/') == Path.GetFullPath(_fs.Root).TrimEnd('/');
        if (!isRoot && HasOwnProcesses(dir))
            throw ContainersException.Conflict("CgroupParentHasProcesses", CgroupMessages.ParentHasProcesses(dir), dir);
        try { Cgroupfs.WriteFile(path, value, create: false); }
        catch (NativeException ex) when (ex.Errno == Errno.EBUSY || (!isRoot && ex.Errno == Errno.EOPNOTSUPP))
        {
            throw ContainersException.Conflict("CgroupParentHasProcesses", CgroupMessages.ParentHasProcesses(dir), dir, ex);
        }
        catch (NativeException ex) { throw CgroupFs.WriteError(path, value, ex); }
    }

    private bool HasOwnProcesses(string dir) => !string.IsNullOrWhiteSpace(_fs.Read(dir, "cgroup.procs"));

    public void Create(CgroupResources resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        try
        {
            var controllers = Controllers();
            Delegate(_fs.Root, controllers);
            for (int attempt = 0; ; attempt++)
            {
                // a nested parent (-CgroupParent a/b): each level delegates the controllers to the next
                var levels = ParentName.Split('/');
                for (int i = 1; i < levels.Length; i++)
                {
                    string level = Path.Combine(_fs.Root, string.Join('/', levels[..i]));
                    _fs.MakeDirectory(level);
                    Delegate(level, controllers);
                }
                _fs.MakeDirectory(ParentPath);
                Delegate(ParentPath, controllers);
                // a concurrent Destroy of the last sibling may remove the parent in between: retry
                try { _fs.MakeDirectory(Dir); break; }
                catch (ContainersException) when (attempt < 3 && !Directory.Exists(ParentPath)) { }
            }
            Apply(resources);
            DeviceProgram = DevicesV2.Apply(Dir, resources, _attacher);
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
        Apply(resources);
    }

    private void Apply(CgroupResources r)
    {
        if (r.MemoryBytes is not null || r.MemorySwapBytes is not null)
            MemoryV2.Apply(_fs, Dir, r, swapAccounting: File.Exists(Path.Combine(Dir, MemoryV2.SwapMax)));
        if (r.Cpus is not null || r.CpuPeriodMicroseconds is not null || r.CpuShares is not null) CpuV2.Apply(_fs, Dir, r);
        if (r.CpusetCpus is not null || r.CpusetMems is not null) CpusetV2.Apply(_fs, Dir, r);
        if (r.PidsLimit is not null) PidsV2.Apply(_fs, Dir, r);
    }

    public void Join(int pid)
    {
        string f = ProcsFiles[0], s = pid.ToString(CultureInfo.InvariantCulture);
        try { Cgroupfs.WriteFile(f, s, create: !_fs.IsReal); }
        catch (NativeException ex) { throw CgroupFs.WriteError(f, s, ex); }
    }

    public void Freeze() => FreezerV2.Set(_fs, Dir, true, FreezeTimeout);
    public void Thaw() => FreezerV2.Set(_fs, Dir, false, FreezeTimeout);
    public bool IsFrozen => FreezerV2.IsFrozen(_fs, Dir);

    public CgroupStats Stats()
    {
        var s = new StatsBuilder();
        CpuV2.Read(_fs, Dir, s);
        MemoryV2.Read(_fs, Dir, s);
        PidsV2.Read(_fs, Dir, s);
        return s.Build();
    }

    public int[] Pids()
    {
        var set = new HashSet<int>();
        _fs.CollectPids(Dir, set);
        return set.Order().ToArray();
    }

    private bool Populated() =>
        _fs.Read(Dir, "cgroup.events") is string ev ? _fs.ReadKeyed(Dir, "cgroup.events").GetValueOrDefault("populated") == 1 : Pids().Length > 0;

    /// <summary>cgroup.kill (5.14+) kills the whole subtree atomically; older kernels: freeze, SIGKILL each pid, thaw.</summary>
    public void KillAll(TimeSpan timeout)
    {
        if (!Exists) return;
        if (_fs.IsReal && File.Exists(Path.Combine(Dir, "cgroup.kill")))
            _fs.Write(Dir, "cgroup.kill", "1");
        else
        {
            bool frozen = false;
            try { FreezerV2.Set(_fs, Dir, true, TimeSpan.FromSeconds(2)); frozen = true; }
            catch (ContainersException) { }
            try { foreach (int pid in Pids()) Cgroupfs.Kill(pid, Cgroupfs.SIGKILL); }
            finally { if (frozen) FreezerV2.Set(_fs, Dir, false, FreezeTimeout); }
        }
        bool empty = CgroupFs.WaitUntil(() =>
        {
            if (!Populated()) return true;
            foreach (int pid in Pids()) Cgroupfs.Kill(pid, Cgroupfs.SIGKILL);
            return false;
        }, timeout);
        if (!empty)
            throw new ContainersException(ErrorKind.Timeout, "CgroupKillTimeout", CgroupMessages.KillTimeout(RelativePath, Pids().Length), RelativePath);
    }

    public void Destroy()
    {
        if (Exists && _fs.IsReal && Populated()) KillAll(TimeSpan.FromSeconds(10));
        if (!_fs.RemoveTree(Dir, TimeSpan.FromSeconds(5)))
            throw ContainersException.Conflict("CgroupBusy", CgroupMessages.StillBusy(Dir), Dir);
        if (RemoveParentWhenEmpty) _fs.RemoveIfEmpty(ParentPath);
    }
}
