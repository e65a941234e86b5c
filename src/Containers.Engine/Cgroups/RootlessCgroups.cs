using Containers.Engine.State;

namespace Containers.Engine.Cgroups;

/// <summary>
/// Cgroups of a rootless run. The user may only make cgroups in a subtree delegated to it: on cgroup v2 a directory
/// the user owns (with its cgroup.procs and cgroup.subtree_control), as systemd's user@.service gives one; the engine
/// takes the parent of the cgroup pwsh runs in when the user owns it and its controllers include memory or pids, and
/// puts the root's containers below it as the root's containers go below /sys/fs/cgroup (no device program: the
/// user namespace keeps device nodes out already, and attaching one needs CAP_SYS_ADMIN). On cgroup v1 nothing is
/// ever delegated: a container gets no cgroup (<see cref="NoCgroupManager"/>) and -Memory, -Cpus, -PidsLimit are
/// refused (RootlessCgroupsNotDelegated).
/// </summary>
public static class RootlessCgroups
{
    /// <summary>The delegated cgroup directory containers go below, or null (<see cref="Reason"/> says why).</summary>
    public static string? DelegatedRoot(string cgroupRoot = CgroupManagers.DefaultRoot)
    {
        if (CgroupManagers.Detect(cgroupRoot) != CgroupVersion.V2) return null;
        string? own = null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/cgroup"))
                if (line.StartsWith("0::", StringComparison.Ordinal)) own = line[3..];
        }
        catch (IOException) { return null; }
        if (own is null || own == "/") return null;
        string parent = Path.GetDirectoryName(Path.Combine(cgroupRoot, own.TrimStart('/')))!;
        if (parent.TrimEnd('/') == cgroupRoot.TrimEnd('/')) return null;
        uint uid = Rootless.RootlessHost.Uid;
        foreach (var f in new[] { "", "cgroup.procs", "cgroup.subtree_control" })
            if (!Containers.Native.Sys.LayerFs.TryLstat(Path.Combine(parent, f), out var st) || st.Uid != uid) return null;
        string controllers;
        try { controllers = File.ReadAllText(Path.Combine(parent, "cgroup.controllers")); } catch (IOException) { return null; }
        return controllers.Contains("memory", StringComparison.Ordinal) || controllers.Contains("pids", StringComparison.Ordinal) ? parent : null;
    }

    /// <summary>Why a rootless run has no cgroup (for RootlessCgroupsNotDelegated).</summary>
    public static string Reason(string cgroupRoot = CgroupManagers.DefaultRoot) =>
        CgroupManagers.Detect(cgroupRoot) == CgroupVersion.V1
            ? "this host uses cgroup v1, whose hierarchies are root's and are never delegated to a user"
            : "the cgroup tree is not delegated to this user (the parent of its cgroup is not its own, or offers neither memory nor pids)";

    /// <summary>The manager of a rootless container: below the delegated subtree, or none.</summary>
    public static ICgroupManager Create(StorageRoot root, string containerId)
    {
        string? delegated = DelegatedRoot();
        return delegated is null ? new NoCgroupManager(containerId) : CgroupManagers.CreateDelegated(delegated, root.ScopeId, containerId);
    }
}

/// <summary>
/// A rootless container without a cgroup: nothing to make, join or remove. The PID namespace holds its processes
/// (SIGKILL to its first process ends them all), so KillAll has nothing more to do; limits are refused before a
/// container is made, and pause needs the freezer (RootlessCgroupsNotDelegated).
/// </summary>
public sealed class NoCgroupManager(string containerId) : ICgroupManager
{
    public string RelativePath => containerId;
    public IReadOnlyList<string> ProcsFiles => [];
    public (string File, string Key) OomKillCounter => ("", "oom_kill");

    public void Create(CgroupResources resources)
    {
        if (resources.MemoryBytes is not null || resources.Cpus is not null || resources.PidsLimit is not null || resources.MemorySwapBytes is not null
            || resources.CpuShares is not null || resources.CpusetCpus is not null || resources.CpusetMems is not null)
            throw Rootless.RootlessHost.CgroupsNotDelegated("A resource limit");
    }

    public void Update(CgroupResources resources) => throw Rootless.RootlessHost.CgroupsNotDelegated("Changing a resource limit");
    public void Join(int pid) { }
    public void Freeze() => throw Rootless.RootlessHost.CgroupsNotDelegated("Pausing a container");
    public void Thaw() { }
    public bool IsFrozen => false;
    public CgroupStats Stats() => new() { MemoryLimitBytes = -1, PidsLimit = -1 };
    public int[] Pids() => [];
    public void KillAll(TimeSpan timeout) { }
    public void Destroy() { }
    public bool Exists => false;
}
