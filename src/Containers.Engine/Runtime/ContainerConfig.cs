namespace Containers.Engine.Runtime;

/// <summary>What New-Container asks for (the cmdlet fills it; the runtime validates it).</summary>
public sealed class ContainerCreateOptions
{
    public string? Image { get; set; }
    /// <summary>A plain root file system directory instead of an image (like podman --rootfs).</summary>
    public string? RootFs { get; set; }
    /// <summary>
    /// The bind mounts (-Mount type=bind) are the engine's own trees whose owners are the container's ids (a build's
    /// cache, secret and context mounts): in a user namespace they are idmapped (as :idmap), so the container's root
    /// owns what host root owns there, whatever its range.
    /// </summary>
    internal bool BindsHoldContainerIds { get; set; }
    public string? Name { get; set; }
    public string[]? Command { get; set; }
    public string[]? Entrypoint { get; set; }
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
    public string? WorkingDirectory { get; set; }
    public string? User { get; set; }
    public string? Hostname { get; set; }
    public long? Memory { get; set; }
    public long? MemorySwap { get; set; }
    public double? Cpus { get; set; }
    public long? PidsLimit { get; set; }
    /// <summary>Resource limits as Docker's --ulimit writes them: name=soft[:hard].</summary>
    public List<string> Ulimits { get; } = new();
    public List<string> Volumes { get; } = new();
    public List<string> Tmpfs { get; } = new();
    /// <summary>docker's --mount: type=bind|volume|tmpfs,source=...,target=...[,readonly][,...] (see MountSpec).</summary>
    public List<string> Mounts { get; } = new();
    public bool ReadOnly { get; set; }
    public string RestartPolicy { get; set; } = "no";
    public List<string> CapabilityAdd { get; } = new();
    public List<string> CapabilityDrop { get; } = new();
    public bool Privileged { get; set; }
    public bool NoNewPrivileges { get; set; }
    /// <summary>docker's --security-opt values: seccomp=&lt;file&gt;|unconfined, no-new-privileges[=true|false].</summary>
    public List<string> SecurityOptions { get; } = new();
    public Dictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
    public bool Init { get; set; }
    /// <summary>docker run -t: the first process runs on a pseudo-terminal (ContainerRuntime.Tty.cs).</summary>
    public bool Tty { get; set; }
    /// <summary>docker run -i with -t: an attached console's input goes to the terminal (Connect-Container relays it).</summary>
    public bool Interactive { get; set; }
    public bool Replace { get; set; }
    public string? StopSignal { get; set; }
    public int? StopTimeout { get; set; }
    public string Network { get; set; } = "none";
    public List<string> NetworkAliases { get; } = new();
    /// <summary>Aliases on one network only (docker's --network name=n,alias=a; compose's networks.n.aliases), beside NetworkAliases, which apply on every network.</summary>
    public Dictionary<string, List<string>> NetworkAliasesByNetwork { get; } = new(StringComparer.Ordinal);
    /// <summary>A fixed IPv4 address on one network (docker's --network name=n,ip=a; compose's networks.n.ipv4_address); IPAddress is the first network's.</summary>
    public Dictionary<string, string> IPAddressByNetwork { get; } = new(StringComparer.Ordinal);
    public string? IPAddress { get; set; }
    public List<string> Ports { get; } = new();
    public bool AutoRemove { get; set; }
    /// <summary>docker's --domainname: the container's NIS domain name (its UTS namespace's, setdomainname).</summary>
    public string? Domainname { get; set; }
    /// <summary>docker's --dns-option: resolv.conf options (ndots:2, timeout:1, rotate, ...).</summary>
    public List<string> DnsOptions { get; } = new();
    /// <summary>docker's --cgroup-parent: the cgroup (relative to the hierarchy's root) the container's cgroup is made under; null = the storage root's own parent.</summary>
    public string? CgroupParent { get; set; }
    /// <summary>docker's --add-host: name:ip, the ip an address or host-gateway.</summary>
    public List<string> AddHost { get; } = new();
    /// <summary>docker's --dns and --dns-search.</summary>
    public List<string> Dns { get; } = new();
    public List<string> DnsSearch { get; } = new();
    /// <summary>docker's --shm-size: the size of the /dev/shm tmpfs in bytes (64 MiB when not given).</summary>
    public long? ShmSize { get; set; }
    /// <summary>docker's --group-add: supplementary groups, names (from the image's /etc/group) or numbers.</summary>
    public List<string> GroupAdd { get; } = new();
    /// <summary>docker's --sysctl: name=value, namespaced ones only.</summary>
    public List<string> Sysctls { get; } = new();
    /// <summary>docker's --pid and --ipc: host or container:&lt;name|id&gt;; null = the container's own namespace.</summary>
    public string? Pid { get; set; }
    public string? Ipc { get; set; }
    /// <summary>docker's -P: publish every port the image EXPOSEs on a free host port.</summary>
    public bool PublishAll { get; set; }
    /// <summary>The host address -PublishAll binds (null: every address, as -Port without one).</summary>
    public string? PublishAllAddress { get; set; }
    /// <summary>docker's --device: /dev/host[:/dev/container][:rwm].</summary>
    public List<string> Devices { get; } = new();
    /// <summary>docker's --log-opt max-size: the log is rotated when it reaches this many bytes (null: never).</summary>
    public long? LogMaxSize { get; set; }
    /// <summary>docker's --log-opt max-file: how many log files are kept, the current one included (default 1 with LogMaxSize).</summary>
    public int? LogMaxFiles { get; set; }
    /// <summary>The health check to run (overrides the image's HEALTHCHECK field by field where set); null = the image's.</summary>
    public Health.HealthCheckConfig? Health { get; set; }
    /// <summary>docker's --no-healthcheck: no check, whatever the image says.</summary>
    public bool NoHealthCheck { get; set; }
    /// <summary>-UserNamespace (podman's --userns); null = the storage root's default (Set-ContainerHostConfiguration).</summary>
    public UserNamespaces.UserNamespaceMode? UserNamespace { get; set; }
    /// <summary>Where a warning goes (Auto fell back to Host); the cmdlet writes it.</summary>
    public Action<string>? Warning { get; set; }
}

/// <summary>The persisted, validated configuration of one container (config.json in its state directory).</summary>
public sealed class ContainerConfig
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Image { get; set; } = "";
    public string? ImageId { get; set; }
    public string? RootFs { get; set; }
    public List<string> LowerDirs { get; set; } = new();
    public DateTime Created { get; set; }
    public List<string> Args { get; set; } = new();
    /// <summary>The entrypoint part of Args (the image's or -Entrypoint's); null in configs written before it was kept.</summary>
    public List<string>? Entrypoint { get; set; }
    public List<string> Env { get; set; } = new();
    public string WorkingDirectory { get; set; } = "/";
    /// <summary>The working directory is the image's WORKDIR (made for the container's user when missing).</summary>
    public bool WorkingDirectoryFromImage { get; set; }
    public string User { get; set; } = "";
    public string Hostname { get; set; } = "";
    public long? Memory { get; set; }
    public long? MemorySwap { get; set; }
    public double? Cpus { get; set; }
    public long? PidsLimit { get; set; }
    /// <summary>Validated resource limits, "name=soft:hard" (-1 = unlimited).</summary>
    public List<string> Ulimits { get; set; } = new();
    public List<MountConfig> Mounts { get; set; } = new();
    public bool ReadOnly { get; set; }
    public string RestartPolicy { get; set; } = "no";
    public int RestartMax { get; set; }
    public ulong Capabilities { get; set; }
    public bool Privileged { get; set; }
    public bool NoNewPrivileges { get; set; }
    /// <summary>The -SecurityOption values as given.</summary>
    public List<string> SecurityOptions { get; set; } = new();
    /// <summary>"default" (Docker's profile, shipped with the engine), "unconfined", or the path of the profile file given.</summary>
    public string Seccomp { get; set; } = Security.SecurityOptions.SeccompDefault;
    /// <summary>The profile file's text as read at creation, so a restart uses the same profile even if the file changes.</summary>
    public string? SeccompProfile { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
    public bool Init { get; set; }
    /// <summary>The first process runs on a pseudo-terminal, relayed by the monitor's attach socket.</summary>
    public bool Tty { get; set; }
    /// <summary>An attached console's input goes to the terminal (run -i -t).</summary>
    public bool Interactive { get; set; }
    public string StopSignal { get; set; } = "SIGTERM";
    public int StopTimeout { get; set; } = 10;
    public string Network { get; set; } = "none";
    public List<string> NetworkAliases { get; set; } = new();
    /// <summary>Aliases on one network only, by network name (docker's --network name=n,alias=a).</summary>
    public Dictionary<string, List<string>> NetworkAliasesByNetwork { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Fixed IPv4 addresses on networks other than by -IPAddress (the first), by network name.</summary>
    public Dictionary<string, string> IPAddressByNetwork { get; set; } = new(StringComparer.Ordinal);
    public string? IPAddress { get; set; }
    public List<string> Ports { get; set; } = new();
    public bool AutoRemove { get; set; }
    /// <summary>Extra /etc/hosts entries, "name:ip" (ip may be host-gateway, resolved at each start).</summary>
    public List<string> ExtraHosts { get; set; } = new();
    /// <summary>Name servers and search domains for /etc/resolv.conf instead of the network's or the host's.</summary>
    public List<string> Dns { get; set; } = new();
    public List<string> DnsSearch { get; set; } = new();
    /// <summary>resolv.conf options (-DnsOption), replacing the network's or the host's options line.</summary>
    public List<string> DnsOptions { get; set; } = new();
    /// <summary>The UTS NIS domain name (-Domainname); "" = none, as docker leaves it.</summary>
    public string Domainname { get; set; } = "";
    /// <summary>-CgroupParent, validated (relative, no "..", not the root); null = the storage root's parent.</summary>
    public string? CgroupParent { get; set; }
    /// <summary>The /dev/shm tmpfs size in bytes; null = 64 MiB (docker's default).</summary>
    public long? ShmSize { get; set; }
    /// <summary>Supplementary groups added to the user's (-GroupAdd), names or numbers as given; names resolve at each start.</summary>
    public List<string> GroupAdd { get; set; } = new();
    /// <summary>Validated kernel parameters, "name=value" (dotted name), written under the container's /proc/sys at each start.</summary>
    public List<string> Sysctls { get; set; } = new();
    /// <summary>"" (own namespace), "host" or "container:&lt;id&gt;".</summary>
    public string PidMode { get; set; } = "";
    public string IpcMode { get; set; } = "";
    /// <summary>-Device values as given (validated at creation, looked up on the host at each start).</summary>
    public List<string> Devices { get; set; } = new();
    /// <summary>The monitor rotates ctr.log when it reaches this many bytes (null: never), keeping LogMaxFiles files in all.</summary>
    public long? LogMaxSize { get; set; }
    public int LogMaxFiles { get; set; } = 1;
    /// <summary>The effective health check (image's merged with the options); null = none.</summary>
    public Health.HealthCheckConfig? Health { get; set; }
    /// <summary>The image's SHELL, kept only for a CMD-SHELL health check, which runs with it (docker's rule); null = /bin/sh -c.</summary>
    public List<string>? HealthShell { get; set; }
    /// <summary>"Host", or "Auto"/"Private": a user namespace of its own mapping 0..IdRangeCount-1 onto IdRangeStart.. (UserNamespaces/).</summary>
    public string UserNamespace { get; set; } = "Host";
    public uint? IdRangeStart { get; set; }
    public uint IdRangeCount { get; set; }
    /// <summary>The lower layers are copies with owners shifted into the range (a root without idmapped mounts: UserNamespaces/LayerCopies), not idmapped mounts.</summary>
    public bool CopiedLayers { get; set; }

    /// <summary>The container's id range, or null in the host's user namespace.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public UserNamespaces.IdRange? IdRange => IdRangeStart is uint s ? new UserNamespaces.IdRange(s, IdRangeCount) : null;
}

public sealed class MountConfig
{
    public string Type { get; set; } = "bind";
    public string Source { get; set; } = "";
    public string Destination { get; set; } = "";
    public bool ReadOnly { get; set; }
    public string? Options { get; set; }
    /// <summary>A volume made for this container alone (an image VOLUME, -Volume /path): removed with it by -Remove or Remove-Container -Volumes.</summary>
    public bool Anonymous { get; set; }
    /// <summary>A new volume is not seeded from the image's content at the destination (docker's volume-nocopy).</summary>
    public bool NoCopy { get; set; }
    /// <summary>Bind propagation (private, rprivate, shared, rshared, slave, rslave); null = rprivate.</summary>
    public string? Propagation { get; set; }
    /// <summary>podman's :idmap: the bind is an idmapped mount through the container's user namespace (host 0 is root inside).</summary>
    public bool IdMap { get; set; }
    /// <summary>podman's :U: the source is chowned (recursively) to the container's user as the host sees it, at each start.</summary>
    public bool Chown { get; set; }
}
