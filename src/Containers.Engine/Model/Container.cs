namespace Containers.Engine.Model;

/// <summary>Where a container is in its life.</summary>
public enum ContainerStatus { Created, Running, Paused, Restarting, Exited }

/// <summary>One mount of a container: a named volume, a bind mount or a tmpfs.</summary>
public sealed class ContainerMount
{
    public required string Type { get; init; }          // volume, bind, tmpfs
    public required string Source { get; init; }        // volume name, host path, or "tmpfs"
    public required string Destination { get; init; }
    public required bool ReadOnly { get; init; }
    public string? Options { get; init; }
    /// <summary>A volume made for this container (an image VOLUME, -Volume /path, --mount without source).</summary>
    public bool Anonymous { get; init; }
    public override string ToString() => $"{Source}:{Destination}{(ReadOnly ? ":ro" : "")}";
}

/// <summary>A container as Get-Container shows it.</summary>
public sealed class ContainerInfo
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Image { get; init; }
    public string? ImageId { get; init; }
    public required string[] Command { get; init; }
    public required ContainerStatus Status { get; init; }
    /// <summary>Its health check's state (None without a check); filled from the monitor's health record.</summary>
    public Health.HealthStatus Health { get; init; }
    /// <summary>Consecutive failed checks counted toward unhealthy (docker's FailingStreak).</summary>
    public int HealthFailingStreak { get; init; }
    /// <summary>The last results of its health check (at most five, oldest first; docker's State.Health.Log).</summary>
    public Health.HealthCheckResult[] HealthLog { get; init; } = [];
    /// <summary>The effective health check (the image's HEALTHCHECK merged with -Health*); null when it has none.</summary>
    public Health.HealthCheckConfig? HealthCheck { get; init; }
    public required DateTime Created { get; init; }
    public DateTime? StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }
    public int? ExitCode { get; init; }
    public bool OomKilled { get; init; }
    public int RestartCount { get; init; }
    public string RestartPolicy { get; init; } = "no";
    public int? Pid { get; init; }
    public required string Hostname { get; init; }
    /// <summary>The container's network setting as given: none, host, or network names joined by commas.</summary>
    public required string Network { get; init; }
    /// <summary>The networks the container is attached to (empty for none and host).</summary>
    public string[] Networks { get; init; } = [];
    /// <summary>Its interfaces on those networks, with addresses (once it has started).</summary>
    public Networking.EndpointInfo[] Endpoints { get; init; } = [];
    /// <summary>The first IPv4 address it has on a bridge network, if any.</summary>
    public string? IPAddress => Endpoints.Select(e => e.IPv4Address).FirstOrDefault(a => a is not null);
    /// <summary>Published ports as bound on the host (HostIp, HostPort, ContainerPort, Protocol).</summary>
    public Networking.PortBindingInfo[] Ports { get; init; } = [];
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public required ContainerMount[] Mounts { get; init; }
    /// <summary>Resource limits set with -Ulimit, "name=soft:hard" (-1 = unlimited).</summary>
    public string[] Ulimits { get; init; } = [];
    /// <summary>The -SecurityOption values given at creation (docker's --security-opt forms).</summary>
    public string[] SecurityOptions { get; init; } = [];
    /// <summary>The seccomp filter its processes run under: default (Docker's profile), unconfined, or the profile file's path.</summary>
    public string Seccomp { get; init; } = "default";
    /// <summary>Extra /etc/hosts entries (-AddHost), name:ip.</summary>
    public string[] ExtraHosts { get; init; } = [];
    /// <summary>-Dns and -DnsSearch as given.</summary>
    public string[] Dns { get; init; } = [];
    public string[] DnsSearch { get; init; } = [];
    /// <summary>resolv.conf options set with -DnsOption.</summary>
    public string[] DnsOptions { get; init; } = [];
    /// <summary>Its NIS domain name (-Domainname); empty when none.</summary>
    public string Domainname { get; init; } = "";
    /// <summary>The cgroup its cgroup was made under (-CgroupParent); null for the storage root's own.</summary>
    public string? CgroupParent { get; init; }
    /// <summary>The size of its /dev/shm in bytes (-ShmSize; 64 MiB when not given).</summary>
    public long ShmSize { get; init; }
    /// <summary>The memory limit and memory-plus-swap limit in bytes (-Memory, -MemorySwap); null when not set
    /// (Memory: unlimited). MemorySwap -1 is what was asked: unlimited swap, which differs from not set
    /// (docker's default, swap as large as -Memory).</summary>
    public long? Memory { get; init; }
    public long? MemorySwap { get; init; }
    /// <summary>Kernel parameters set with -Sysctl, name=value.</summary>
    public string[] Sysctls { get; init; } = [];
    /// <summary>-Pid / -Ipc: "" (its own namespace), "host" or "container:&lt;id&gt;".</summary>
    public string PidMode { get; init; } = "";
    public string IpcMode { get; init; } = "";
    /// <summary>Supplementary groups added with -GroupAdd, as given.</summary>
    public string[] GroupAdd { get; init; } = [];
    /// <summary>The entrypoint part of Command (the image's ENTRYPOINT or -Entrypoint); empty when there is none.</summary>
    public string[]? Entrypoint { get; init; }
    /// <summary>The environment its processes start with, KEY=value (the image's, then -Environment's).</summary>
    public string[] Environment { get; init; } = [];
    /// <summary>The user it runs as, as given (-User or the image's USER); empty for the image's default, root.</summary>
    public string User { get; init; } = "";
    public string WorkingDirectory { get; init; } = "/";
    /// <summary>The CPU limit (-Cpus), null when unlimited.</summary>
    public double? Cpus { get; init; }
    /// <summary>The process limit (-PidsLimit), null when unlimited.</summary>
    public long? PidsLimit { get; init; }
    /// <summary>The capabilities its processes have (Docker's default set, with -CapabilityAdd/-Drop and -Privileged applied).</summary>
    public string[] Capabilities { get; init; } = [];
    public bool Privileged { get; init; }
    /// <summary>Host, or Auto/Private: its own user namespace (docker inspect's HostConfig.UsernsMode).</summary>
    public string UserNamespace { get; init; } = "Host";
    /// <summary>The host ids its user namespace maps 0..65535 onto ("first-last"), or null in the host's.</summary>
    public string? IdRange { get; init; }
    public bool NoNewPrivileges { get; init; }
    /// <summary>Whether its root file system is mounted read-only (-ReadOnly).</summary>
    public bool ReadOnly { get; init; }
    public bool Init { get; init; }
    /// <summary>Whether its first process runs on a pseudo-terminal (-Tty; Connect-Container attaches to it).</summary>
    public bool Tty { get; init; }
    public string StopSignal { get; init; } = "SIGTERM";
    /// <summary>Seconds Stop-Container waits after the stop signal before SIGKILL.</summary>
    public int StopTimeout { get; init; } = 10;
    /// <summary>Whether it is removed when it exits (-Remove).</summary>
    public bool AutoRemove { get; init; }
    /// <summary>Other names it has on its networks (-NetworkAlias).</summary>
    public string[] NetworkAliases { get; init; } = [];
    /// <summary>Names it has on one network only, by network (-Network name=n,alias=a).</summary>
    public IReadOnlyDictionary<string, string[]> NetworkAliasesByNetwork { get; init; } = new Dictionary<string, string[]>();
    public string? Error { get; init; }
    /// <summary>
    /// Why an exited container ended when the engine, not its process, decided it: <c>MonitorLost</c> (its
    /// monitor was killed; the engine stopped the unsupervised process). Null when its process ended by itself
    /// or was stopped.
    /// </summary>
    public string? ExitReason { get; init; }
    public string ShortId => Id.Length > 12 ? Id[..12] : Id;
    public override string ToString() => Name;
}

/// <summary>What a process run in a container returned: its exit code and captured output.</summary>
public sealed class ContainerProcessResult
{
    public required string ContainerId { get; init; }
    public required string ContainerName { get; init; }
    public required int ExitCode { get; init; }
    public required string Output { get; init; }
    public required string Error { get; init; }
    public bool OomKilled { get; init; }
    public override string ToString() => Output;
}

/// <summary>One record of a container's log.</summary>
public sealed class ContainerLogEntry
{
    public required DateTime Timestamp { get; init; }
    public required string Stream { get; init; }   // stdout or stderr
    public required string Message { get; init; }
    public bool Partial { get; init; }
    public override string ToString() => Message;
}

/// <summary>A process inside a container (Get-ContainerProcess).</summary>
public sealed class ContainerProcessInfo
{
    public required string ContainerName { get; init; }
    public required int HostPid { get; init; }
    public required int Pid { get; init; }
    public required int ParentPid { get; init; }
    /// <summary>The user id as the container sees it (podman top's USER): in a user namespace of its own, the offset in its range.</summary>
    public required long UserId { get; init; }
    /// <summary>The user id on the host (the same as UserId in the host's user namespace).</summary>
    public long HostUserId { get; init; }
    public required string Command { get; init; }
    public required TimeSpan CpuTime { get; init; }
    public required long ResidentBytes { get; init; }
}

/// <summary>Resource use of a container (Measure-Container), from its cgroup.</summary>
public sealed class ContainerStats
{
    public required string ContainerName { get; init; }
    public required string ContainerId { get; init; }
    public required TimeSpan CpuTime { get; init; }
    public required long MemoryBytes { get; init; }
    public required long MemoryLimitBytes { get; init; }
    public required long MemoryMaxUsageBytes { get; init; }
    public required long Pids { get; init; }
    public required long PidsLimit { get; init; }
    public required long ThrottledPeriods { get; init; }
    public required TimeSpan ThrottledTime { get; init; }
    public required long OomKills { get; init; }
}

/// <summary>A named volume.</summary>
public sealed class ContainerVolumeInfo
{
    public required string Name { get; init; }
    public required string Mountpoint { get; init; }
    public required DateTime Created { get; init; }
    public required IReadOnlyDictionary<string, string> Labels { get; init; }
    public required string[] UsedBy { get; init; }
    public override string ToString() => Name;
}
