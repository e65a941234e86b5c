using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Containers.Engine.Compose;
using Containers.Engine.Errors;
using Containers.Engine.Runtime;

namespace Containers.Engine.Projects;

/// <summary>
/// Maps a compose service onto the runtime's create options, one set per replica. Every key of the service is
/// either honoured here or refused with ComposeKeyNotSupported naming it: nothing is dropped silently.
/// </summary>
public static class ServiceMapper
{
    /// <summary>Keys whose values this mapper reads (or that only matter to the loader or the runner).</summary>
    private static readonly HashSet<string> Honoured = new(StringComparer.Ordinal)
    {
        "image", "build", "pull_policy", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "tmpfs",
        "networks", "network_mode", "depends_on", "healthcheck", "restart", "user", "working_dir", "hostname", "domainname", "labels",
        "cap_add", "cap_drop", "privileged", "read_only", "init", "stop_signal", "stop_grace_period", "ulimits", "mem_limit", "memswap_limit",
        "cpus", "pids_limit", "deploy", "secrets", "configs", "extra_hosts", "dns", "dns_search", "dns_opt", "sysctls", "logging", "devices",
        "shm_size", "security_opt", "userns_mode", "group_add", "stdin_open", "tty", "container_name", "scale", "profiles", "platform",
        "pid", "ipc", "cgroup_parent",
    };

    /// <summary>
    /// Keys the engine has no feature for whose loss changes only tuning, accounting or metadata: the service runs
    /// without them, with a warning naming the key. Any other unknown key (runtime, volumes_from, ...) would make it
    /// run as something else, so it is refused.
    /// </summary>
    private static readonly HashSet<string> WarnOnly = new(StringComparer.Ordinal)
    {
        "cpu_shares", "cpu_quota", "cpu_period", "cpu_rt_runtime", "cpu_rt_period", "cpu_count", "cpu_percent", "cpuset",
        "mem_reservation", "mem_swappiness", "oom_kill_disable", "oom_score_adj", "blkio_config", "storage_opt", "annotations",
        "attach", "mac_address", "links", "external_links", "cgroup", "device_cgroup_rules", "credential_spec", "isolation", "uts",
        "label_file", "post_start", "pre_stop", "develop", "gpus", "models", "provider", "use_api_socket",
    };

    private static readonly HashSet<string> DeployHonoured = new(StringComparer.Ordinal) { "replicas", "resources", "labels", "mode", "restart_policy" };

    internal static object? Get(IDictionary<string, object?> d, string key) => d.TryGetValue(key, out var v) ? v : null;

    private static ContainersException NotSupported(string service, string key, string why = "the engine has no such feature")
        => new(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"services.{service}.{key}: {why}; remove the key or change it.", $"services.{service}.{key}");

    private static string Ignored(string service, string key, string why = "the engine has no such feature")
        => $"services.{service}.{key} is ignored: {why}.";

    private static IDictionary<string, object?> RawService(ComposeProject p, string service)
        => (IDictionary<string, object?>)((IDictionary<string, object?>)p.ToTree()["services"]!)[service]!;

    /// <summary>
    /// Throws ComposeKeyNotSupported for the first key of the service the engine cannot honour and that cannot be
    /// left out; returns a warning naming each key that is left out (never a silent drop).
    /// </summary>
    public static List<string> CheckKeys(ComposeProject p, ComposeService s)
    {
        var warnings = new List<string>();
        var raw = RawService(p, s.Name);
        foreach (var k in raw.Keys)
        {
            if (Honoured.Contains(k) || k.StartsWith("x-", StringComparison.Ordinal)) continue;
            if (WarnOnly.Contains(k)) warnings.Add(Ignored(s.Name, k));
            else throw NotSupported(s.Name, k);
        }
        if (s.Deploy is { } d)
        {
            var dm = (IDictionary<string, object?>)raw["deploy"]!;
            foreach (var k in dm.Keys)
                if (!DeployHonoured.Contains(k) && !k.StartsWith("x-", StringComparison.Ordinal))
                    warnings.Add(Ignored(s.Name, "deploy." + k, "it is a swarm setting (docker compose ignores it too)"));
            if (ServiceMapper.Get(dm, "mode") is string mode && mode != "replicated") throw NotSupported(s.Name, "deploy.mode", $"mode '{mode}' needs a swarm");
            if (d.Reservations is not null) warnings.Add(Ignored(s.Name, "deploy.resources.reservations", "reservations (soft limits, devices) are not implemented"));
            if (ServiceMapper.Get(dm, "resources") is IDictionary<string, object?> res)
                foreach (var k in res.Keys) if (k is not ("limits" or "reservations")) warnings.Add(Ignored(s.Name, "deploy.resources." + k));
            if (ServiceMapper.Get(dm, "resources") is IDictionary<string, object?> r2 && ServiceMapper.Get(r2, "limits") is IDictionary<string, object?> lim)
                foreach (var k in lim.Keys) if (k is not ("cpus" or "memory" or "pids")) warnings.Add(Ignored(s.Name, "deploy.resources.limits." + k));
            if (d.RestartPolicy is { } rp)
            {
                if (rp.Condition is not (null or "none" or "no" or "on-failure" or "any" or "always" or "unless-stopped"))
                    throw ContainersException.Invalid("ComposeInvalidValue", $"services.{s.Name}.deploy.restart_policy.condition: '{rp.Condition}' is not none, on-failure or any.", $"services.{s.Name}.deploy.restart_policy.condition");
                if (rp.Delay is not null)
                    warnings.Add(Ignored(s.Name, "deploy.restart_policy.delay", "the container's monitor restarts with its own back-off (docker's: 100 ms doubling), not a fixed delay"));
                if (rp.Window is not null)
                    warnings.Add(Ignored(s.Name, "deploy.restart_policy.window", "every exit counts towards max_attempts; there is no window to judge a restart by"));
                if (rp.MaxAttempts is not null && MapCondition(rp.Condition) != "on-failure")
                    warnings.Add(Ignored(s.Name, "deploy.restart_policy.max_attempts", $"a maximum applies only to the on-failure condition (docker's rule), not to '{rp.Condition ?? "any"}'"));
            }
        }
        if (s.UsernsMode is { Length: > 0 } um && UserNamespaceOf(um) is null)
            warnings.Add(Ignored(s.Name, "userns_mode", $"'{um}' is not a mode here: host and auto are (the storage root's default applies)"));
        if (s.Logging is { } lg)
        {
            if (lg.Driver is not (null or "json-file" or "local" or "k8s-file"))
                warnings.Add(Ignored(s.Name, "logging.driver", $"the log driver '{lg.Driver}' is not available (the engine writes its own log file: json-file's max-size and max-file apply)"));
            foreach (var k in lg.Options.Keys)
                if (k is not ("max-size" or "max-file")) warnings.Add(Ignored(s.Name, "logging.options." + k, "only max-size and max-file are honoured"));
        }
        foreach (var n in s.Networks)
        {
            if (n.Ipv6Address is not null) warnings.Add(Ignored(s.Name, $"networks.{n.Name}.ipv6_address", "a fixed IPv6 address is not implemented (the network gives one)"));
            if (n.MacAddress is not null) warnings.Add(Ignored(s.Name, $"networks.{n.Name}.mac_address", "a fixed MAC address is not implemented"));
        }
        foreach (var v in s.Volumes)
        {
            if (v.Type is not ("volume" or "bind" or "tmpfs")) throw NotSupported(s.Name, "volumes", $"the mount type '{v.Type}' is not implemented");
            if (v.Subpath is not null) throw NotSupported(s.Name, "volumes.volume.subpath", "volume subpaths are not implemented");
            if (v.SELinux is not null) warnings.Add(Ignored(s.Name, "volumes.bind.selinux", "SELinux relabelling is not done here"));
        }
        foreach (var (list, kind) in new[] { (s.Secrets, "secrets"), (s.Configs, "configs") })
            foreach (var m in list)
            {
                if (m.Uid is not null) warnings.Add(Ignored(s.Name, kind + ".uid", "the owner of a mounted secret or config cannot be set (it keeps the file's)"));
                if (m.Gid is not null) warnings.Add(Ignored(s.Name, kind + ".gid", "the group of a mounted secret or config cannot be set (it keeps the file's)"));
                if (m.Mode is not null) warnings.Add(Ignored(s.Name, kind + ".mode", "the mode of a mounted secret or config cannot be set (it keeps the file's)"));
            }
        if (s.Platform is { } plat)
        {
            string arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
            {
                System.Runtime.InteropServices.Architecture.X64 => "amd64",
                System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
                var a => a.ToString().ToLowerInvariant(),
            };
            if (!plat.Equals("linux/" + arch, StringComparison.OrdinalIgnoreCase) && !plat.Equals("linux", StringComparison.OrdinalIgnoreCase))
                throw NotSupported(s.Name, "platform", $"only this host's platform, linux/{arch}, runs here");
        }
        if (s.Build is { } b && b.Network is not (null or "host" or "none" or "default"))
            throw NotSupported(s.Name, "build.network", "builds run on the host network, none or the default network");
        if (s.ContainerName is not null && Replicas(s) > 1)
            throw ContainersException.Invalid("ComposeContainerNameWithReplicas", $"services.{s.Name}: container_name '{s.ContainerName}' names one container; the service asks for {Replicas(s)}.", $"services.{s.Name}.container_name");
        return warnings;
    }

    /// <summary>docker compose's mapping of deploy.restart_policy.condition onto a container restart policy.</summary>
    private static string MapCondition(string? condition) => condition switch
    {
        "none" or "no" => "no",
        "on-failure" => "on-failure",
        "unless-stopped" => "unless-stopped",
        _ => "always", // any (the default), always
    };

    /// <summary>The restart policy: deploy.restart_policy wins over restart, as in docker compose v2.</summary>
    public static string RestartPolicyOf(ComposeService s)
    {
        if (s.Deploy?.RestartPolicy is not { } rp) return s.Restart ?? "no";
        string policy = MapCondition(rp.Condition);
        return policy == "on-failure" && rp.MaxAttempts is > 0 ? "on-failure:" + rp.MaxAttempts.Value.ToString(CultureInfo.InvariantCulture) : policy;
    }

    /// <summary>userns_mode: host and podman's auto map onto -UserNamespace; anything else is null (a warning).</summary>
    private static UserNamespaces.UserNamespaceMode? UserNamespaceOf(string mode) => mode.ToLowerInvariant() switch
    {
        "host" => UserNamespaces.UserNamespaceMode.Host,
        "auto" => UserNamespaces.UserNamespaceMode.Auto,
        _ => null,
    };

    /// <summary>How many containers the service runs (deploy.replicas, else scale, else 1).</summary>
    public static int Replicas(ComposeService s) => s.Deploy?.Replicas ?? s.Scale ?? 1;

    /// <summary>The image the service runs: its image key, else the name its build gets (&lt;project&gt;-&lt;service&gt;).</summary>
    public static string ImageOf(ComposeProject p, ComposeService s) => s.Image ?? $"{p.Name}-{s.Name}";

    /// <summary>The name of replica <paramref name="number"/> of a service.</summary>
    public static string ContainerName(ComposeProject p, ComposeService s, int number) => s.ContainerName ?? $"{p.Name}-{s.Name}-{number}";

    /// <summary>
    /// The config hash: what decides whether a re-up recreates the service's containers. The service's
    /// normalised definition (without what only scales or builds it) plus the image id it resolves to, the
    /// content of its secrets and configs, and the names of the containers whose network it joins.
    /// </summary>
    public static string ConfigHash(ComposeProject p, ComposeService s, string? imageId, IEnumerable<string> extra)
    {
        var raw = new SortedDictionary<string, object?>(RawService(p, s.Name), StringComparer.Ordinal);
        raw.Remove("build"); raw.Remove("pull_policy"); raw.Remove("scale"); raw.Remove("depends_on");
        if (ServiceMapper.Get(raw, "deploy") is IDictionary<string, object?> d)
        {
            var copy = new SortedDictionary<string, object?>(d, StringComparer.Ordinal);
            copy.Remove("replicas");
            raw["deploy"] = copy;
        }
        var sb = new StringBuilder(JsonSerializer.Serialize(raw));
        sb.Append('\n').Append(imageId);
        foreach (var e in extra) sb.Append('\n').Append(e);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    private static string Quote(string v) => v.Contains(',') || v.Contains('"') ? "\"" + v.Replace("\"", "\"\"") + "\"" : v;

    /// <summary>The create options of replica <paramref name="number"/>.</summary>
    /// <param name="files">Host files of the service's secrets and configs: (source file, target in the container).</param>
    /// <param name="containerOfService">The name of the first running container of a service (network_mode service:x).</param>
    public static ContainerCreateOptions Map(ComposeProject p, ComposeService s, int number, IReadOnlyDictionary<string, string> labels,
        IEnumerable<(string File, string Target)> files, Func<string, string> containerOfService)
    {
        var o = new ContainerCreateOptions
        {
            Image = ImageOf(p, s),
            Name = ContainerName(p, s, number),
            Command = s.Command?.ToArray(),
            Entrypoint = s.Entrypoint?.ToArray() is { } ep ? (ep.Length == 0 ? [""] : ep) : null,
            WorkingDirectory = s.WorkingDir,
            User = s.User,
            Hostname = s.Hostname,
            Domainname = s.Domainname,
            CgroupParent = RawService(p, s.Name) is var rs && Get(rs, "cgroup_parent") is string cgp && cgp.Length > 0 ? cgp : null,
            UserNamespace = s.UsernsMode is { Length: > 0 } um ? UserNamespaceOf(um) : null,
            Memory = s.MemLimit ?? s.Deploy?.Limits?.Memory,
            Cpus = s.Cpus ?? s.Deploy?.Limits?.Cpus,
            PidsLimit = s.PidsLimit ?? s.Deploy?.Limits?.Pids,
            ReadOnly = s.ReadOnly,
            RestartPolicy = RestartPolicyOf(s),
            Privileged = s.Privileged,
            Init = s.Init ?? false,
            Tty = s.Tty,
            Interactive = s.StdinOpen,
            StopSignal = s.StopSignal,
            StopTimeout = s.StopGracePeriod is { } g ? (int)Math.Ceiling(g.TotalSeconds) : null,
            ShmSize = s.ShmSize,
        };
        var raw = RawService(p, s.Name);
        if (V.Bytes(new OrderedDictionary<string, object?>(raw), "memswap_limit") is long swap) o.MemorySwap = swap;
        if (ServiceMapper.Get(raw, "pid") is string pid) o.Pid = pid.StartsWith("service:", StringComparison.Ordinal) ? "container:" + containerOfService(pid[8..]) : pid;
        if (ServiceMapper.Get(raw, "ipc") is string ipc)
            o.Ipc = ipc.StartsWith("service:", StringComparison.Ordinal) ? "container:" + containerOfService(ipc[8..]) : ipc is "private" or "" ? null : ipc;
        foreach (var (k, v) in s.Environment) if (v is not null) o.Environment[k] = v;
        foreach (var (k, v) in s.Labels) o.Labels[k] = v ?? "";
        foreach (var (k, v) in labels) o.Labels[k] = v;
        foreach (var port in s.Ports)
            o.Ports.Add((port.HostIp is { Length: > 0 } ip ? (ip.Contains(':') ? $"[{ip}]" : ip) + ":" : "")
                + (port.Published is { Length: > 0 } pub ? pub + ":" : port.HostIp is { Length: > 0 } ? ":" : "")
                + port.Target.ToString(CultureInfo.InvariantCulture) + "/" + port.Protocol);
        foreach (var v in s.Volumes)
        {
            var f = new List<string> { "type=" + v.Type };
            switch (v.Type)
            {
                case "volume":
                    if (v.Source is { Length: > 0 } src)
                        f.Add("source=" + Quote(p.Volumes.FirstOrDefault(x => x.Key == src)?.Name ?? src));
                    if (v.NoCopy) f.Add("volume-nocopy");
                    break;
                case "bind":
                    f.Add("source=" + Quote(v.Source ?? ""));
                    if (v.Propagation is { } prop) f.Add("bind-propagation=" + prop);
                    // docker compose makes a missing host directory of a bind (the short syntax sets create_host_path)
                    if (v.CreateHostPath && v.Source is { Length: > 0 } hp && !Path.Exists(hp)) Directory.CreateDirectory(hp);
                    break;
                case "tmpfs":
                    if (v.TmpfsSize is long size) f.Add("tmpfs-size=" + size.ToString(CultureInfo.InvariantCulture));
                    if (v.TmpfsMode is long mode) f.Add("tmpfs-mode=" + Convert.ToString(mode, 8));
                    break;
            }
            f.Add("target=" + Quote(v.Target));
            if (v.ReadOnly) f.Add("readonly");
            o.Mounts.Add(string.Join(',', f));
        }
        foreach (var (file, target) in files)
            o.Mounts.Add($"type=bind,source={Quote(file)},target={Quote(target)},readonly");
        o.Tmpfs.AddRange(s.Tmpfs);
        // networks: network_mode, else the service's networks (highest priority first), the service's name an alias on each
        if (s.NetworkMode is { } nm)
        {
            o.Network = nm.StartsWith("service:", StringComparison.Ordinal) ? "container:" + containerOfService(nm[8..])
                : nm is "bridge" or "default" ? Networking.NetworkManager.DefaultNetworkName : nm;
        }
        else
        {
            var nets = s.Networks.OrderByDescending(n => n.Priority ?? 0).ToList();
            o.Network = string.Join(',', nets.Select(n => p.Networks.FirstOrDefault(x => x.Key == n.Name)?.Name ?? n.Name));
            // the service's name on every network; each network's aliases on that network only (docker compose's rule)
            o.NetworkAliases.Add(s.Name);
            foreach (var n in nets)
                if (n.Aliases.Count > 0)
                    o.NetworkAliasesByNetwork[p.Networks.FirstOrDefault(x => x.Key == n.Name)?.Name ?? n.Name] = n.Aliases.Where(a => a != s.Name).ToList();
            for (int i = 0; i < nets.Count; i++)
                if (nets[i].Ipv4Address is { } addr)
                {
                    if (Replicas(s) > 1) throw ContainersException.Invalid("ComposeFixedAddressWithReplicas", $"services.{s.Name}.networks.{nets[i].Name}.ipv4_address: one address cannot serve {Replicas(s)} replicas.", $"services.{s.Name}");
                    o.IPAddressByNetwork[p.Networks.FirstOrDefault(x => x.Key == nets[i].Name)?.Name ?? nets[i].Name] = addr;
                }
        }
        if (s.HealthCheck is { } hc)
        {
            if (hc.Disable) o.NoHealthCheck = true;
            else o.Health = new Health.HealthCheckConfig
            {
                Test = hc.Test?.ToList() ?? new List<string>(),
                Interval = hc.Interval,
                Timeout = hc.Timeout,
                Retries = hc.Retries,
                StartPeriod = hc.StartPeriod,
                StartInterval = hc.StartInterval,
            };
        }
        o.CapabilityAdd.AddRange(s.CapAdd);
        o.CapabilityDrop.AddRange(s.CapDrop);
        foreach (var u in s.Ulimits) o.Ulimits.Add($"{u.Name}={u.Soft}:{u.Hard}");
        foreach (var h in s.ExtraHosts) o.AddHost.Add(h.Host + ":" + h.Address);
        o.Dns.AddRange(s.Dns);
        o.DnsSearch.AddRange(s.DnsSearch);
        o.DnsOptions.AddRange(s.DnsOpt);
        foreach (var (k, v) in s.Sysctls) o.Sysctls.Add(k + "=" + v);
        foreach (var d in s.Devices) o.Devices.Add(d.Source + (d.Target.Length > 0 ? ":" + d.Target : "") + (d.Permissions is { Length: > 0 } pm && pm != "rwm" ? ":" + pm : ""));
        o.SecurityOptions.AddRange(s.SecurityOpt);
        o.GroupAdd.AddRange(s.GroupAdd);
        if (s.Logging is { } lg)
        {
            if (lg.Options.GetValueOrDefault("max-size") is { } ms)
                o.LogMaxSize = V.Bytes(new OrderedDictionary<string, object?> { ["v"] = ms }, "v")
                    ?? throw ContainersException.Invalid("ComposeInvalidValue", $"services.{s.Name}.logging.options.max-size: '{ms}' is not a size.", $"services.{s.Name}.logging");
            if (lg.Options.GetValueOrDefault("max-file") is { } mf)
                o.LogMaxFiles = int.TryParse(mf, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
                    : throw ContainersException.Invalid("ComposeInvalidValue", $"services.{s.Name}.logging.options.max-file: '{mf}' is not a number.", $"services.{s.Name}.logging");
        }
        return o;
    }
}
