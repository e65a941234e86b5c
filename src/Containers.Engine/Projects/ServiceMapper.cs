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
        "networks", "network_mode", "depends_on", "healthcheck", "restart", "user", "working_dir", "hostname", "labels", "cap_add",
        "cap_drop", "privileged", "read_only", "init", "stop_signal", "stop_grace_period", "ulimits", "mem_limit", "memswap_limit",
        "cpus", "pids_limit", "deploy", "secrets", "configs", "extra_hosts", "dns", "dns_search", "sysctls", "logging", "devices",
        "shm_size", "security_opt", "group_add", "stdin_open", "tty", "container_name", "scale", "profiles", "platform", "pid", "ipc",
    };

    private static readonly HashSet<string> DeployHonoured = new(StringComparer.Ordinal) { "replicas", "resources", "labels", "mode" };

    internal static object? Get(IDictionary<string, object?> d, string key) => d.TryGetValue(key, out var v) ? v : null;

    private static ContainersException NotSupported(string service, string key, string why = "the engine has no such feature")
        => new(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"services.{service}.{key}: {why}; remove the key or change it.", $"services.{service}.{key}");

    private static IDictionary<string, object?> RawService(ComposeProject p, string service)
        => (IDictionary<string, object?>)((IDictionary<string, object?>)p.ToTree()["services"]!)[service]!;

    /// <summary>Throws ComposeKeyNotSupported for the first key of the service the engine cannot honour.</summary>
    public static void CheckKeys(ComposeProject p, ComposeService s)
    {
        var raw = RawService(p, s.Name);
        foreach (var k in raw.Keys)
            if (!Honoured.Contains(k) && !k.StartsWith("x-", StringComparison.Ordinal)) throw NotSupported(s.Name, k);
        if (s.Deploy is { } d)
        {
            var dm = (IDictionary<string, object?>)raw["deploy"]!;
            foreach (var k in dm.Keys)
                if (!DeployHonoured.Contains(k) && !k.StartsWith("x-", StringComparison.Ordinal)) throw NotSupported(s.Name, "deploy." + k, "only deploy.replicas and deploy.resources.limits apply outside a swarm");
            if (ServiceMapper.Get(dm, "mode") is string mode && mode != "replicated") throw NotSupported(s.Name, "deploy.mode", $"mode '{mode}' needs a swarm");
            if (d.Reservations is not null) throw NotSupported(s.Name, "deploy.resources.reservations", "reservations (soft limits, devices) are not implemented");
            if (ServiceMapper.Get(dm, "resources") is IDictionary<string, object?> res)
                foreach (var k in res.Keys) if (k is not ("limits" or "reservations")) throw NotSupported(s.Name, "deploy.resources." + k);
            if (ServiceMapper.Get(dm, "resources") is IDictionary<string, object?> r2 && ServiceMapper.Get(r2, "limits") is IDictionary<string, object?> lim)
                foreach (var k in lim.Keys) if (k is not ("cpus" or "memory" or "pids")) throw NotSupported(s.Name, "deploy.resources.limits." + k);
        }
        if (s.Logging is { } lg)
        {
            if (lg.Driver is not (null or "json-file" or "local" or "k8s-file"))
                throw NotSupported(s.Name, "logging.driver", $"the log driver '{lg.Driver}' is not available (the engine writes its own log file: json-file's max-size and max-file apply)");
            foreach (var k in lg.Options.Keys)
                if (k is not ("max-size" or "max-file")) throw NotSupported(s.Name, "logging.options." + k, "only max-size and max-file are honoured");
        }
        foreach (var n in s.Networks)
        {
            if (n.Ipv6Address is not null) throw NotSupported(s.Name, $"networks.{n.Name}.ipv6_address", "a fixed IPv6 address is not implemented");
            if (n.MacAddress is not null) throw NotSupported(s.Name, $"networks.{n.Name}.mac_address", "a fixed MAC address is not implemented");
        }
        foreach (var v in s.Volumes)
        {
            if (v.Type is not ("volume" or "bind" or "tmpfs")) throw NotSupported(s.Name, "volumes", $"the mount type '{v.Type}' is not implemented");
            if (v.Subpath is not null) throw NotSupported(s.Name, "volumes.volume.subpath", "volume subpaths are not implemented");
            if (v.SELinux is not null) throw NotSupported(s.Name, "volumes.bind.selinux", "SELinux relabelling is not done here");
        }
        foreach (var (list, kind) in new[] { (s.Secrets, "secrets"), (s.Configs, "configs") })
            foreach (var m in list)
            {
                if (m.Uid is not null) throw NotSupported(s.Name, kind + ".uid", "the owner of a mounted secret or config cannot be set (it keeps the file's)");
                if (m.Gid is not null) throw NotSupported(s.Name, kind + ".gid", "the group of a mounted secret or config cannot be set (it keeps the file's)");
                if (m.Mode is not null) throw NotSupported(s.Name, kind + ".mode", "the mode of a mounted secret or config cannot be set (it keeps the file's)");
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
    }

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
            Memory = s.MemLimit ?? s.Deploy?.Limits?.Memory,
            Cpus = s.Cpus ?? s.Deploy?.Limits?.Cpus,
            PidsLimit = s.PidsLimit ?? s.Deploy?.Limits?.Pids,
            ReadOnly = s.ReadOnly,
            RestartPolicy = s.Restart ?? "no",
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
            o.NetworkAliases.Add(s.Name);
            foreach (var n in nets) foreach (var a in n.Aliases) if (!o.NetworkAliases.Contains(a)) o.NetworkAliases.Add(a);
            for (int i = 0; i < nets.Count; i++)
                if (nets[i].Ipv4Address is { } addr)
                {
                    if (i > 0) throw NotSupported(s.Name, $"networks.{nets[i].Name}.ipv4_address", "a fixed address is only possible on the service's first network");
                    if (Replicas(s) > 1) throw ContainersException.Invalid("ComposeFixedAddressWithReplicas", $"services.{s.Name}.networks.{nets[i].Name}.ipv4_address: one address cannot serve {Replicas(s)} replicas.", $"services.{s.Name}");
                    o.IPAddress = addr;
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
