using Containers.Engine.State;

namespace Containers.Engine.Cgroups;

/// <summary>
/// Cgroups of a rootless run. The user may only make cgroups in a subtree delegated to it: on cgroup v2 a directory
/// the user owns with its cgroup.procs and cgroup.subtree_control, as systemd's user@.service gives one (Delegate=yes:
/// user.slice/user-UID.slice/user@UID.service, chowned, with the controllers enabled down to it). The engine finds it
/// from the cgroup it runs in (/proc/self/cgroup, "0::/path"): that cgroup holds this process, so by cgroup v2's "no
/// internal processes" rule it cannot give controllers to children; its parent can, when the user owns it (moving a
/// process between two of the user's cgroups needs write access to their common ancestor's cgroup.procs, the parent's)
/// and it offers memory or pids. Containers then go below that parent as root's go below /sys/fs/cgroup:
/// &lt;parent&gt;/pscontainers-&lt;scope&gt;/&lt;id&gt;, a sibling of the cgroup the session runs in (no device program:
/// the user namespace keeps device nodes out already, and attaching one needs CAP_SYS_ADMIN). Where there is none (cgroup
/// v1, where nothing is ever delegated; or v2 without delegation) a container gets no cgroup
/// (<see cref="NoCgroupManager"/>) and -Memory, -Cpus, -PidsLimit are refused (RootlessCgroupsNotDelegated).
/// </summary>
public static class RootlessCgroups
{
    /// <summary>The delegated cgroup directory containers go below, or null (<see cref="Reason"/> says why).</summary>
    public static string? DelegatedRoot(string cgroupRoot = CgroupManagers.DefaultRoot) => Find(cgroupRoot, null, Rootless.RootlessHost.Uid, out _);

    /// <summary>Why a rootless run has no cgroup (for RootlessCgroupsNotDelegated).</summary>
    public static string Reason(string cgroupRoot = CgroupManagers.DefaultRoot)
    {
        Find(cgroupRoot, null, Rootless.RootlessHost.Uid, out string why);
        return why;
    }

    /// <summary>
    /// The search behind <see cref="DelegatedRoot"/> for any cgroupfs root (a fake tree in unit tests), the process's
    /// own cgroup path (null: read from /proc/self/cgroup) and uid; <paramref name="why"/> says what failed.
    /// </summary>
    public static string? Find(string cgroupRoot, string? ownCgroup, uint uid, out string why)
    {
        if (CgroupManagers.Detect(cgroupRoot) != CgroupVersion.V2)
        {
            why = "this host uses cgroup v1, whose hierarchies are root's and are never delegated to a user";
            return null;
        }
        string? own = ownCgroup;
        if (own is null)
        {
            try
            {
                foreach (var line in File.ReadLines("/proc/self/cgroup"))
                    if (line.StartsWith("0::", StringComparison.Ordinal)) own = line[3..];
            }
            catch (IOException) { }
        }
        if (own is null || own.Trim('/').Length == 0)
        {
            why = "this process is in the root cgroup (or its cgroup is unknown), which is never delegated";
            return null;
        }
        var parts = own.Trim('/').Split('/');
        if (parts.Any(p => p is "." or ".." || p.Length == 0))
        {
            why = $"its cgroup '{own}' is not a plain path";
            return null;
        }
        if (parts.Length < 2)
        {
            why = $"its cgroup '{own}' is directly below the root, whose children are root's";
            return null;
        }
        string parent = Path.Combine(cgroupRoot, string.Join('/', parts[..^1]));
        foreach (var f in new[] { "", "cgroup.procs", "cgroup.subtree_control" })
            if (!Containers.Native.Sys.LayerFs.TryLstat(Path.Combine(parent, f), out var st) || st.Uid != uid)
            {
                why = $"the parent '{parent}' of its cgroup is not delegated to uid {uid} ({(f.Length == 0 ? "the directory" : f)} is not its own). Delegation is a subtree chowned to the user, as systemd's user@.service makes; start pwsh in a cgroup below it (systemd-run --user --scope pwsh)";
                return null;
            }
        var offered = Controllers(parent);
        if (!offered.Contains("memory") && !offered.Contains("pids"))
        {
            why = $"the delegated cgroup '{parent}' offers neither the memory nor the pids controller (its cgroup.controllers: '{string.Join(' ', offered)}'); they are enabled in the cgroup.subtree_control of the cgroups above it";
            return null;
        }
        why = "";
        return parent;
    }

    /// <summary>The controllers a cgroup directory offers (its cgroup.controllers; none when unreadable).</summary>
    public static IReadOnlyList<string> Controllers(string dir)
    {
        try { return File.ReadAllText(Path.Combine(dir, "cgroup.controllers")).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return []; }
    }

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
