namespace Containers.Engine.Cgroups;

/// <summary>Resource limits of one container (null = not limited / kernel default).</summary>
public sealed class CgroupResources
{
    public long? MemoryBytes { get; set; }
    /// <summary>Memory plus swap (Docker's --memory-swap); -1 = unlimited swap.</summary>
    public long? MemorySwapBytes { get; set; }
    /// <summary>CPUs as a fraction (0.5 = half a CPU): quota = Cpus * period.</summary>
    public double? Cpus { get; set; }
    public long? CpuPeriodMicroseconds { get; set; }
    /// <summary>Relative weight in Docker's shares scale (2..262144, default 1024); v2 converts to weight.</summary>
    public long? CpuShares { get; set; }
    public string? CpusetCpus { get; set; }
    public string? CpusetMems { get; set; }
    public long? PidsLimit { get; set; }
    /// <summary>Allow every device (privileged); otherwise Docker's default allowlist plus <see cref="Devices"/>.</summary>
    public bool AllowAllDevices { get; set; }
    public List<DeviceRule> Devices { get; } = new();
}

/// <summary>One device rule: type 'a', 'c' or 'b'; major/minor -1 = any; access of "rwm".</summary>
public sealed record DeviceRule(char Type, long Major, long Minor, string Access, bool Allow = true)
{
    public override string ToString() =>
        $"{Type} {(Major < 0 ? "*" : Major.ToString())}:{(Minor < 0 ? "*" : Minor.ToString())} {Access}";
}

/// <summary>Usage figures read from the cgroup, as numbers.</summary>
public sealed class CgroupStats
{
    public TimeSpan CpuTime { get; init; }
    public long ThrottledPeriods { get; init; }
    public TimeSpan ThrottledTime { get; init; }
    public long MemoryBytes { get; init; }
    public long MemoryLimitBytes { get; init; }
    public long MemoryMaxUsageBytes { get; init; }
    public long Pids { get; init; }
    public long PidsLimit { get; init; }
    public long OomKills { get; init; }
}

/// <summary>
/// The cgroup of one container, behind the runc/youki lifecycle vocabulary. V1 and V2 implement it
/// (one controller per file). Everything a container gets lives under one parent named after the
/// storage root's scope id, so two roots never share cgroups.
/// </summary>
public interface ICgroupManager
{
    /// <summary>The cgroup path relative to each hierarchy's mount, e.g. "pscontainers-1a2b3c/&lt;id&gt;".</summary>
    string RelativePath { get; }

    /// <summary>The cgroup.procs files a process must be written into to join (v1: one per hierarchy; v2: one).</summary>
    IReadOnlyList<string> ProcsFiles { get; }

    /// <summary>The file and key whose counter rises when the kernel OOM-kills in this cgroup.</summary>
    (string File, string Key) OomKillCounter { get; }

    /// <summary>Makes the cgroup (idempotent) and applies the limits and the device rules.</summary>
    void Create(CgroupResources resources);

    /// <summary>Changes limits of an existing cgroup (live update).</summary>
    void Update(CgroupResources resources);

    /// <summary>Adds a process (e.g. an exec'd process) to the cgroup.</summary>
    void Join(int pid);

    void Freeze();
    void Thaw();
    bool IsFrozen { get; }

    CgroupStats Stats();

    /// <summary>Every process in the cgroup (and below it).</summary>
    int[] Pids();

    /// <summary>Kills every process in the cgroup with SIGKILL and waits until it is empty.</summary>
    void KillAll(TimeSpan timeout);

    /// <summary>Removes the cgroup from every hierarchy, killing what is left; idempotent.</summary>
    void Destroy();

    bool Exists { get; }
}
