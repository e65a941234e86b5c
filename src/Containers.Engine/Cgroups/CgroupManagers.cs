using System.Text.RegularExpressions;
using Containers.Engine.Cgroups.V1;
using Containers.Engine.Cgroups.V2;
using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.Cgroups;

public enum CgroupVersion { V1 = 1, V2 = 2 }

/// <summary>
/// Makes the cgroup manager for a container: detects cgroup v1 (legacy or hybrid: controllers mounted
/// one per directory under the root) or v2 (unified: cgroup.controllers at the root), and places every
/// container of one storage root under one parent, "pscontainers-&lt;scopeid&gt;", removed with its last child.
/// </summary>
public static partial class CgroupManagers
{
    public const string DefaultRoot = "/sys/fs/cgroup";
    public const string ParentPrefix = "pscontainers-";

    public static string ParentName(string scopeId) => ParentPrefix + scopeId;

    /// <summary>v2 when the root itself is a cgroup2 mount (it has cgroup.controllers); v1 otherwise (hybrid counts as v1).</summary>
    public static CgroupVersion Detect(string cgroupRoot = DefaultRoot) =>
        File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers")) ? CgroupVersion.V2 : CgroupVersion.V1;

    /// <summary>The manager for container <paramref name="containerId"/> of <paramref name="root"/> on this host.</summary>
    public static ICgroupManager Create(StorageRoot root, string containerId) =>
        Rootless.RootlessHost.Active ? RootlessCgroups.Create(root, containerId) : Create(DefaultRoot, root.ScopeId, containerId);

    /// <summary>A rootless container's cgroup below a v2 subtree delegated to the user (no device program: see RootlessCgroups).</summary>
    internal static ICgroupManager CreateDelegated(string delegatedRoot, string scopeId, string containerId)
    {
        Validate(scopeId);
        Validate(containerId);
        return new CgroupV2Manager(new CgroupFs(delegatedRoot), ParentName(scopeId), containerId, null);
    }

    /// <summary>The manager for a container made under <paramref name="cgroupParent"/> (-CgroupParent; null = the root's own parent).</summary>
    public static ICgroupManager Create(StorageRoot root, string containerId, string? cgroupParent) => Create(DefaultRoot, root.ScopeId, containerId, cgroupParent);

    /// <summary>The manager for a container under any cgroupfs root (a fake tree in unit tests).</summary>
    public static ICgroupManager Create(string cgroupRoot, string scopeId, string containerId, string? cgroupParent = null)
    {
        Validate(scopeId);
        Validate(containerId);
        if (!Directory.Exists(cgroupRoot))
            throw ContainersException.NotFound("CgroupRootNotFound", CgroupMessages.NoSuchCgroup(cgroupRoot), cgroupRoot);
        var fs = new CgroupFs(cgroupRoot);
        // the root's own parent is removed with its last child; a parent the user named is theirs and stays (docker's rule)
        string parent = cgroupParent is null ? ParentName(scopeId) : CheckParent(cgroupParent);
        bool own = cgroupParent is null;
        return Detect(cgroupRoot) == CgroupVersion.V2
            ? new CgroupV2Manager(fs, parent, containerId, fs.IsReal ? new BpfDeviceProgramAttacher() : null) { RemoveParentWhenEmpty = own }
            : new CgroupV1Manager(fs, parent, containerId) { RemoveParentWhenEmpty = own };
    }

    /// <summary>
    /// A -CgroupParent value (docker's --cgroup-parent with the cgroupfs driver): a path below the hierarchy's root,
    /// "/a/b" or "a/b", normalised to "a/b". Each level is a plain name (no "." or "..", no other separator), so
    /// the container's cgroup cannot land outside the hierarchy or climb out of the parent; a storage root's own
    /// parents (pscontainers-*) are refused, so a container cannot be put among another root's containers.
    /// </summary>
    public static string CheckParent(string value)
    {
        var parts = (value ?? "").Trim().Split('/', StringSplitOptions.RemoveEmptyEntries);
        bool ok = parts.Length is > 0 and <= 16 && parts.Sum(p => p.Length + 1) <= 512
            && parts.All(p => p is not ("." or "..") && p.Length <= 200 && NameRegex().IsMatch(p))
            && !parts[0].StartsWith(ParentPrefix, StringComparison.Ordinal);
        if (!ok)
            throw ContainersException.Invalid("InvalidCgroupParent", CgroupMessages.ParentInvalid(value ?? ""), value);
        return string.Join('/', parts);
    }

    private static void Validate(string name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or ".." || name.Length > 200 || !NameRegex().IsMatch(name))
            throw ContainersException.Invalid("CgroupNameInvalid", CgroupMessages.NameInvalid(name ?? ""), name);
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]+$")]
    private static partial Regex NameRegex();
}

/// <summary>Mutable collector the controllers fill; becomes the immutable <see cref="CgroupStats"/>.</summary>
internal sealed class StatsBuilder
{
    public TimeSpan CpuTime;
    public long ThrottledPeriods;
    public TimeSpan ThrottledTime;
    public long MemoryBytes;
    public long MemoryLimitBytes = -1;
    public long MemoryMaxUsageBytes;
    public long Pids;
    public long PidsLimit = -1;
    public long OomKills;

    public CgroupStats Build() => new()
    {
        CpuTime = CpuTime, ThrottledPeriods = ThrottledPeriods, ThrottledTime = ThrottledTime, MemoryBytes = MemoryBytes,
        MemoryLimitBytes = MemoryLimitBytes, MemoryMaxUsageBytes = MemoryMaxUsageBytes, Pids = Pids, PidsLimit = PidsLimit, OomKills = OomKills,
    };
}

/// <summary>Checks shared by both versions, so v1 and v2 reject the same input the same way.</summary>
internal static class ResourceChecks
{
    public const long MinMemory = 6 * 1024 * 1024;
    public const long DefaultPeriod = 100_000;

    /// <summary>Docker's rules: memory at least 6 MiB; swap only with memory, and not below it; default memory+swap = 2x memory.</summary>
    public static (long? Memory, long? MemorySwap) Memory(CgroupResources r, bool swapAccounting)
    {
        long? mem = r.MemoryBytes is <= 0 ? -1 : r.MemoryBytes;
        if (mem is > 0 and < MinMemory) throw ContainersException.Invalid("CgroupMemoryTooLow", CgroupMessages.MemoryTooLow(mem.Value), mem);
        long? swap = r.MemorySwapBytes;
        if (swap is not null && swap != -1)
        {
            if (mem is null or -1) throw ContainersException.Invalid("CgroupSwapWithoutMemory", CgroupMessages.SwapWithoutMemory, swap);
            if (swap < mem) throw ContainersException.Invalid("CgroupSwapBelowMemory", CgroupMessages.SwapBelowMemory(swap.Value, mem.Value), swap);
        }
        if (swap is null && mem is > 0 && swapAccounting) swap = mem * 2;
        if (swap is null && mem == -1 && swapAccounting) swap = -1; // lifting the memory limit lifts memory+swap too
        if (!swapAccounting) swap = null;
        return (mem, swap);
    }

    /// <summary>Quota and period for -Cpus: quota = cpus * period, at least 1 ms.</summary>
    public static (long Quota, long Period)? Cpu(CgroupResources r)
    {
        if (r.Cpus is null && r.CpuPeriodMicroseconds is null) return null;
        long period = r.CpuPeriodMicroseconds ?? DefaultPeriod;
        if (period is < 1000 or > 1_000_000) throw ContainersException.Invalid("CgroupCpuPeriodOutOfRange", CgroupMessages.PeriodOutOfRange(period), period);
        if (r.Cpus is null) return (-1, period);
        double cpus = r.Cpus.Value;
        int max = Environment.ProcessorCount;
        if (cpus < 0.01 || cpus > max || double.IsNaN(cpus))
            throw ContainersException.Invalid("CgroupCpusOutOfRange", CgroupMessages.CpusOutOfRange(cpus, max), cpus);
        return (Math.Max(1000, (long)Math.Round(cpus * period)), period);
    }

    /// <summary>Docker's shares range (the kernel clamps to it too).</summary>
    public static long? Shares(CgroupResources r) => r.CpuShares is null or 0 ? null : Math.Clamp(r.CpuShares.Value, 2, 262144);

    public static string Pids(long limit) => limit <= 0 ? "max" : limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
