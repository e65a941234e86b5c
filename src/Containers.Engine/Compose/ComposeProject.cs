using System.Globalization;
using Map = System.Collections.Generic.OrderedDictionary<string, object?>;

namespace Containers.Engine.Compose;

/// <summary>A loaded, merged and normalised compose project (what `docker compose config` prints).</summary>
public sealed class ComposeProject
{
    private readonly Map _tree;

    internal ComposeProject(Map tree, string workingDirectory, IReadOnlyList<string> files, IReadOnlyList<string> disabled)
    {
        _tree = tree;
        Name = (string)tree["name"]!;
        WorkingDirectory = workingDirectory;
        ComposeFiles = files;
        DisabledServices = disabled;
        Services = (tree.GetValueOrDefault("services") as Map ?? new Map()).Select(kv => new ComposeService(kv.Key, (Map)kv.Value!)).ToList();
        Networks = Resources(tree, "networks").Select(kv => new ComposeNetwork(kv.Key, kv.Value)).ToList();
        Volumes = Resources(tree, "volumes").Select(kv => new ComposeVolume(kv.Key, kv.Value)).ToList();
        Secrets = Resources(tree, "secrets").Select(kv => new ComposeSecret(kv.Key, kv.Value)).ToList();
        Configs = Resources(tree, "configs").Select(kv => new ComposeSecret(kv.Key, kv.Value)).ToList();
        Extensions = V.Extensions(tree);
    }

    private static IEnumerable<KeyValuePair<string, Map>> Resources(Map tree, string kind)
        => (tree.GetValueOrDefault(kind) as Map ?? new Map()).Select(kv => new KeyValuePair<string, Map>(kv.Key, kv.Value as Map ?? new Map()));

    public string Name { get; }
    public string WorkingDirectory { get; }
    public IReadOnlyList<string> ComposeFiles { get; }
    public IReadOnlyList<ComposeService> Services { get; }
    public IReadOnlyList<ComposeNetwork> Networks { get; }
    public IReadOnlyList<ComposeVolume> Volumes { get; }
    public IReadOnlyList<ComposeSecret> Secrets { get; }
    public IReadOnlyList<ComposeSecret> Configs { get; }
    /// <summary>Services left out because none of their profiles is active.</summary>
    public IReadOnlyList<string> DisabledServices { get; }
    /// <summary>The top-level x- keys, as written.</summary>
    public IReadOnlyDictionary<string, object?> Extensions { get; }

    /// <summary>The project as `docker compose config` prints it.</summary>
    public string ToYaml() => ComposeYaml.Write(_tree);

    /// <summary>The normalised tree (mappings are ordered dictionaries).</summary>
    public IReadOnlyDictionary<string, object?> ToTree() => ComposeYaml.CloneMap(_tree);

    public override string ToString() => Name;
}

internal static class V
{
    public static string? S(Map m, string k) => ComposeYaml.Text(m.GetValueOrDefault(k));
    public static bool B(Map m, string k) => m.GetValueOrDefault(k) is true;
    public static bool? NB(Map m, string k) => m.GetValueOrDefault(k) is bool b ? b : null;
    public static long? L(Map m, string k) => m.GetValueOrDefault(k) switch
    {
        long l => l,
        double d => (long)d,
        string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => l,
        _ => null,
    };
    public static double? D(Map m, string k) => m.GetValueOrDefault(k) switch
    {
        long l => l,
        double d => d,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => null,
    };
    public static TimeSpan? T(Map m, string k) => S(m, k) is { } s && Canonical.TryParseDuration(s, out var t) ? t : null;
    public static long? Bytes(Map m, string k)
    {
        var v = m.GetValueOrDefault(k);
        if (v is long l) return l;
        if (v is double d) return (long)d;
        if (v is not string s) return null;
        var rx = System.Text.RegularExpressions.Regex.Match(s.Trim(), @"^(\d+(?:\.\d+)?)\s*([bkmgtp]?)(?:i?b)?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!rx.Success) return null;
        decimal n = decimal.Parse(rx.Groups[1].Value, CultureInfo.InvariantCulture);
        int pow = "bkmgtp".IndexOf(rx.Groups[2].Value.Length == 0 ? 'b' : char.ToLowerInvariant(rx.Groups[2].Value[0]));
        for (int i = 0; i < pow; i++) n *= 1024;
        return (long)n;
    }
    public static IReadOnlyList<string> List(Map m, string k) => m.GetValueOrDefault(k) switch
    {
        List<object?> l => l.Select(x => ComposeYaml.Text(x) ?? "").ToList(),
        null => Array.Empty<string>(),
        var x => new[] { ComposeYaml.Text(x) ?? "" },
    };
    public static IReadOnlyList<string>? NList(Map m, string k) => m.ContainsKey(k) ? List(m, k) : null;
    public static IReadOnlyDictionary<string, string?> Dict(Map m, string k)
    {
        var d = new OrderedDictionary<string, string?>(StringComparer.Ordinal);
        if (m.GetValueOrDefault(k) is Map src) foreach (var (key, v) in src) d[key] = ComposeYaml.Text(v);
        return d;
    }
    public static Map? M(Map m, string k) => m.GetValueOrDefault(k) as Map;
    public static IReadOnlyDictionary<string, object?> Extensions(Map m)
    {
        var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in m) if (k.StartsWith("x-", StringComparison.Ordinal)) d[k] = v;
        return d;
    }
}

/// <summary>One service, every key in its long form.</summary>
public sealed class ComposeService
{
    private static readonly HashSet<string> Typed = new(StringComparer.Ordinal)
    {
        "image", "build", "pull_policy", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "tmpfs",
        "networks", "network_mode", "depends_on", "healthcheck", "restart", "user", "working_dir", "hostname", "domainname",
        "labels", "cap_add", "cap_drop", "privileged", "read_only", "init", "stop_signal", "stop_grace_period", "ulimits",
        "mem_limit", "cpus", "pids_limit", "deploy", "secrets", "configs", "extra_hosts", "dns", "dns_search", "dns_opt", "sysctls",
        "logging", "devices", "shm_size", "security_opt", "userns_mode", "group_add", "stdin_open", "tty", "container_name",
        "scale", "profiles", "platform",
    };

    internal ComposeService(string name, Map m)
    {
        Name = name;
        Image = V.S(m, "image");
        Build = V.M(m, "build") is { } b ? new ComposeBuild(b) : null;
        PullPolicy = V.S(m, "pull_policy");
        Command = V.NList(m, "command");
        Entrypoint = V.NList(m, "entrypoint");
        Environment = V.Dict(m, "environment");
        EnvFiles = (m.GetValueOrDefault("env_file") as List<object?> ?? new()).OfType<Map>().Select(e => new ComposeEnvFile(V.S(e, "path")!, !(e.GetValueOrDefault("required") is false))).ToList();
        Ports = (m.GetValueOrDefault("ports") as List<object?> ?? new()).OfType<Map>().Select(p => new ComposePort(p)).ToList();
        Expose = V.List(m, "expose");
        Volumes = (m.GetValueOrDefault("volumes") as List<object?> ?? new()).OfType<Map>().Select(v => new ComposeServiceVolume(v)).ToList();
        Tmpfs = V.List(m, "tmpfs");
        Networks = (V.M(m, "networks") ?? new Map()).Select(kv => new ComposeServiceNetwork(kv.Key, kv.Value as Map ?? new Map())).ToList();
        NetworkMode = V.S(m, "network_mode");
        DependsOn = (V.M(m, "depends_on") ?? new Map()).Select(kv => new ComposeDependency(kv.Key, kv.Value as Map ?? new Map())).ToList();
        HealthCheck = V.M(m, "healthcheck") is { } hc ? new ComposeHealthCheck(hc) : null;
        Restart = V.S(m, "restart");
        User = V.S(m, "user");
        WorkingDir = V.S(m, "working_dir");
        Hostname = V.S(m, "hostname");
        Domainname = V.S(m, "domainname");
        Labels = V.Dict(m, "labels");
        CapAdd = V.List(m, "cap_add");
        CapDrop = V.List(m, "cap_drop");
        Privileged = V.B(m, "privileged");
        ReadOnly = V.B(m, "read_only");
        Init = V.NB(m, "init");
        StopSignal = V.S(m, "stop_signal");
        StopGracePeriod = V.T(m, "stop_grace_period");
        Ulimits = (V.M(m, "ulimits") ?? new Map()).Select(kv => kv.Value is Map u
            ? new ComposeUlimit(kv.Key, V.L(u, "soft") ?? 0, V.L(u, "hard") ?? 0)
            : new ComposeUlimit(kv.Key, Convert.ToInt64(kv.Value, CultureInfo.InvariantCulture), Convert.ToInt64(kv.Value, CultureInfo.InvariantCulture))).ToList();
        MemLimit = V.Bytes(m, "mem_limit");
        Cpus = V.D(m, "cpus");
        PidsLimit = V.L(m, "pids_limit");
        Deploy = V.M(m, "deploy") is { } d ? new ComposeDeploy(d) : null;
        Secrets = (m.GetValueOrDefault("secrets") as List<object?> ?? new()).OfType<Map>().Select(x => new ComposeServiceMount(x, "/run/secrets/")).ToList();
        Configs = (m.GetValueOrDefault("configs") as List<object?> ?? new()).OfType<Map>().Select(x => new ComposeServiceMount(x, "/")).ToList();
        ExtraHosts = V.List(m, "extra_hosts").Select(h => { int eq = h.IndexOf('='); return new ComposeExtraHost(eq < 0 ? h : h[..eq], eq < 0 ? "" : h[(eq + 1)..]); }).ToList();
        Dns = V.List(m, "dns");
        DnsSearch = V.List(m, "dns_search");
        DnsOpt = V.List(m, "dns_opt");
        Sysctls = V.Dict(m, "sysctls");
        Logging = V.M(m, "logging") is { } lg ? new ComposeLogging(V.S(lg, "driver"), V.Dict(lg, "options")) : null;
        Devices = (m.GetValueOrDefault("devices") as List<object?> ?? new()).OfType<Map>().Select(x => new ComposeDevice(V.S(x, "source") ?? "", V.S(x, "target") ?? "", V.S(x, "permissions") ?? "rwm")).ToList();
        ShmSize = V.Bytes(m, "shm_size");
        SecurityOpt = V.List(m, "security_opt");
        UsernsMode = V.S(m, "userns_mode");
        GroupAdd = V.List(m, "group_add");
        StdinOpen = V.B(m, "stdin_open");
        Tty = V.B(m, "tty");
        ContainerName = V.S(m, "container_name");
        Scale = (int?)V.L(m, "scale");
        Profiles = V.List(m, "profiles");
        Platform = V.S(m, "platform");
        Extensions = V.Extensions(m);
        var other = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in m) if (!Typed.Contains(k) && !k.StartsWith("x-", StringComparison.Ordinal)) other[k] = v;
        OtherKeys = other;
    }

    public string Name { get; }
    public string? Image { get; }
    public ComposeBuild? Build { get; }
    public string? PullPolicy { get; }
    public IReadOnlyList<string>? Command { get; }
    public IReadOnlyList<string>? Entrypoint { get; }
    public IReadOnlyDictionary<string, string?> Environment { get; }
    public IReadOnlyList<ComposeEnvFile> EnvFiles { get; }
    public IReadOnlyList<ComposePort> Ports { get; }
    public IReadOnlyList<string> Expose { get; }
    public IReadOnlyList<ComposeServiceVolume> Volumes { get; }
    public IReadOnlyList<string> Tmpfs { get; }
    public IReadOnlyList<ComposeServiceNetwork> Networks { get; }
    public string? NetworkMode { get; }
    public IReadOnlyList<ComposeDependency> DependsOn { get; }
    public ComposeHealthCheck? HealthCheck { get; }
    public string? Restart { get; }
    public string? User { get; }
    public string? WorkingDir { get; }
    public string? Hostname { get; }
    public string? Domainname { get; }
    public IReadOnlyDictionary<string, string?> Labels { get; }
    public IReadOnlyList<string> CapAdd { get; }
    public IReadOnlyList<string> CapDrop { get; }
    public bool Privileged { get; }
    public bool ReadOnly { get; }
    public bool? Init { get; }
    public string? StopSignal { get; }
    public TimeSpan? StopGracePeriod { get; }
    public IReadOnlyList<ComposeUlimit> Ulimits { get; }
    public long? MemLimit { get; }
    public double? Cpus { get; }
    public long? PidsLimit { get; }
    public ComposeDeploy? Deploy { get; }
    public IReadOnlyList<ComposeServiceMount> Secrets { get; }
    public IReadOnlyList<ComposeServiceMount> Configs { get; }
    public IReadOnlyList<ComposeExtraHost> ExtraHosts { get; }
    public IReadOnlyList<string> Dns { get; }
    public IReadOnlyList<string> DnsSearch { get; }
    public IReadOnlyList<string> DnsOpt { get; }
    public IReadOnlyDictionary<string, string?> Sysctls { get; }
    public ComposeLogging? Logging { get; }
    public IReadOnlyList<ComposeDevice> Devices { get; }
    public long? ShmSize { get; }
    public IReadOnlyList<string> SecurityOpt { get; }
    public string? UsernsMode { get; }
    public IReadOnlyList<string> GroupAdd { get; }
    public bool StdinOpen { get; }
    public bool Tty { get; }
    public string? ContainerName { get; }
    public int? Scale { get; }
    public IReadOnlyList<string> Profiles { get; }
    public string? Platform { get; }
    public IReadOnlyDictionary<string, object?> Extensions { get; }
    /// <summary>Keys of the specification without a typed property here (ipc, pid, cgroup...), as loaded: `up` warns about them.</summary>
    public IReadOnlyDictionary<string, object?> OtherKeys { get; }

    public override string ToString() => Name;
}

public sealed class ComposeBuild
{
    internal ComposeBuild(Map m)
    {
        Context = V.S(m, "context");
        Dockerfile = V.S(m, "dockerfile");
        DockerfileInline = V.S(m, "dockerfile_inline");
        Args = V.Dict(m, "args");
        Target = V.S(m, "target");
        Labels = V.Dict(m, "labels");
        Network = V.S(m, "network");
    }
    public string? Context { get; }
    public string? Dockerfile { get; }
    public string? DockerfileInline { get; }
    public IReadOnlyDictionary<string, string?> Args { get; }
    public string? Target { get; }
    public IReadOnlyDictionary<string, string?> Labels { get; }
    public string? Network { get; }
}

public sealed record ComposeEnvFile(string Path, bool Required);

public sealed class ComposePort
{
    internal ComposePort(Map m)
    {
        Target = (int)(V.L(m, "target") ?? 0);
        Published = V.S(m, "published");
        HostIp = V.S(m, "host_ip");
        Protocol = V.S(m, "protocol") ?? "tcp";
        Mode = V.S(m, "mode") ?? "ingress";
        Name = V.S(m, "name");
        AppProtocol = V.S(m, "app_protocol");
    }
    public int Target { get; }
    /// <summary>The host port or range ("8080", "8000-8010"); null: any free port.</summary>
    public string? Published { get; }
    public string? HostIp { get; }
    public string Protocol { get; }
    public string Mode { get; }
    public string? Name { get; }
    public string? AppProtocol { get; }
    public override string ToString() => $"{(HostIp is null ? "" : HostIp + ":")}{(Published is null ? "" : Published + ":")}{Target}/{Protocol}";
}

public sealed class ComposeServiceVolume
{
    internal ComposeServiceVolume(Map m)
    {
        Type = V.S(m, "type") ?? "volume";
        Source = V.S(m, "source");
        Target = V.S(m, "target") ?? "";
        ReadOnly = V.B(m, "read_only");
        var bind = V.M(m, "bind") ?? new Map();
        Propagation = V.S(bind, "propagation");
        CreateHostPath = V.B(bind, "create_host_path");
        SELinux = V.S(bind, "selinux");
        var vol = V.M(m, "volume") ?? new Map();
        NoCopy = V.B(vol, "nocopy");
        Subpath = V.S(vol, "subpath");
        var tmpfs = V.M(m, "tmpfs") ?? new Map();
        TmpfsSize = V.Bytes(tmpfs, "size");
        TmpfsMode = V.L(tmpfs, "mode");
    }
    /// <summary>volume, bind, tmpfs, npipe, image, cluster.</summary>
    public string Type { get; }
    /// <summary>The volume's name or the host path (absolute); null for an anonymous volume or a tmpfs.</summary>
    public string? Source { get; }
    public string Target { get; }
    public bool ReadOnly { get; }
    public string? Propagation { get; }
    public bool CreateHostPath { get; }
    public string? SELinux { get; }
    public bool NoCopy { get; }
    public string? Subpath { get; }
    public long? TmpfsSize { get; }
    public long? TmpfsMode { get; }
    public override string ToString() => $"{Source}:{Target}";
}

public sealed class ComposeServiceNetwork
{
    internal ComposeServiceNetwork(string name, Map m)
    {
        Name = name;
        Aliases = V.List(m, "aliases");
        Ipv4Address = V.S(m, "ipv4_address");
        Ipv6Address = V.S(m, "ipv6_address");
        Priority = V.L(m, "priority");
        MacAddress = V.S(m, "mac_address");
    }
    public string Name { get; }
    public IReadOnlyList<string> Aliases { get; }
    public string? Ipv4Address { get; }
    public string? Ipv6Address { get; }
    public long? Priority { get; }
    public string? MacAddress { get; }
    public override string ToString() => Name;
}

public sealed class ComposeDependency
{
    internal ComposeDependency(string service, Map m)
    {
        Service = service;
        Condition = V.S(m, "condition") ?? "service_started";
        Restart = V.B(m, "restart");
        Required = m.GetValueOrDefault("required") is not false;
    }
    public string Service { get; }
    /// <summary>service_started, service_healthy or service_completed_successfully.</summary>
    public string Condition { get; }
    public bool Restart { get; }
    public bool Required { get; }
    public override string ToString() => $"{Service} ({Condition})";
}

public sealed class ComposeHealthCheck
{
    internal ComposeHealthCheck(Map m)
    {
        Test = V.NList(m, "test");
        Interval = V.T(m, "interval");
        Timeout = V.T(m, "timeout");
        Retries = (int?)V.L(m, "retries");
        StartPeriod = V.T(m, "start_period");
        StartInterval = V.T(m, "start_interval");
        Disable = V.B(m, "disable") || Test is ["NONE", ..];
    }
    /// <summary>["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"].</summary>
    public IReadOnlyList<string>? Test { get; }
    public TimeSpan? Interval { get; }
    public TimeSpan? Timeout { get; }
    public int? Retries { get; }
    public TimeSpan? StartPeriod { get; }
    public TimeSpan? StartInterval { get; }
    public bool Disable { get; }
}

public sealed record ComposeUlimit(string Name, long Soft, long Hard);
public sealed record ComposeExtraHost(string Host, string Address);
public sealed record ComposeLogging(string? Driver, IReadOnlyDictionary<string, string?> Options);
public sealed record ComposeDevice(string Source, string Target, string Permissions);

public sealed class ComposeServiceMount
{
    internal ComposeServiceMount(Map m, string defaultDir)
    {
        Source = V.S(m, "source") ?? "";
        Target = V.S(m, "target") is { } t ? (t.StartsWith('/') ? t : defaultDir + t) : defaultDir + Source;
        Uid = V.S(m, "uid");
        Gid = V.S(m, "gid");
        Mode = V.L(m, "mode");
    }
    public string Source { get; }
    /// <summary>The path in the container (/run/secrets/&lt;name&gt; by default for a secret, /&lt;name&gt; for a config).</summary>
    public string Target { get; }
    public string? Uid { get; }
    public string? Gid { get; }
    public long? Mode { get; }
    public override string ToString() => $"{Source} -> {Target}";
}

public sealed class ComposeDeploy
{
    internal ComposeDeploy(Map m)
    {
        Replicas = (int?)V.L(m, "replicas");
        var res = V.M(m, "resources") ?? new Map();
        Limits = V.M(res, "limits") is { } l ? new ComposeResources(l) : null;
        Reservations = V.M(res, "reservations") is { } r ? new ComposeResources(r) : null;
        Labels = V.Dict(m, "labels");
        RestartPolicy = V.M(m, "restart_policy") is { } rp
            ? new ComposeRestartPolicy(V.S(rp, "condition"), V.L(rp, "max_attempts"), V.T(rp, "delay"), V.T(rp, "window")) : null;
    }
    public int? Replicas { get; }
    /// <summary>deploy.restart_policy: docker compose maps it onto the container's restart policy.</summary>
    public ComposeRestartPolicy? RestartPolicy { get; }
    public ComposeResources? Limits { get; }
    public ComposeResources? Reservations { get; }
    public IReadOnlyDictionary<string, string?> Labels { get; }
}

/// <summary>deploy.restart_policy: condition none|on-failure|any, max_attempts, delay, window.</summary>
public sealed record ComposeRestartPolicy(string? Condition, long? MaxAttempts, TimeSpan? Delay, TimeSpan? Window);

public sealed class ComposeResources
{
    internal ComposeResources(Map m)
    {
        Cpus = V.D(m, "cpus");
        Memory = V.Bytes(m, "memory");
        Pids = V.L(m, "pids");
    }
    public double? Cpus { get; }
    public long? Memory { get; }
    public long? Pids { get; }
}

public sealed class ComposeNetwork
{
    internal ComposeNetwork(string key, Map m)
    {
        Key = key;
        Name = V.S(m, "name") ?? key;
        Driver = V.S(m, "driver");
        External = V.B(m, "external");
        Internal = V.B(m, "internal");
        EnableIpv6 = V.B(m, "enable_ipv6");
        Labels = V.Dict(m, "labels");
        DriverOpts = V.Dict(m, "driver_opts");
        Subnets = (V.M(m, "ipam")?.GetValueOrDefault("config") as List<object?> ?? new()).OfType<Map>().Select(c => V.S(c, "subnet")).OfType<string>().ToList();
    }
    /// <summary>The key in the file; services refer to it.</summary>
    public string Key { get; }
    /// <summary>The engine's name: &lt;project&gt;_&lt;key&gt; unless named or external.</summary>
    public string Name { get; }
    public string? Driver { get; }
    public bool External { get; }
    public bool Internal { get; }
    public bool EnableIpv6 { get; }
    public IReadOnlyDictionary<string, string?> Labels { get; }
    public IReadOnlyDictionary<string, string?> DriverOpts { get; }
    public IReadOnlyList<string> Subnets { get; }
    public override string ToString() => Name;
}

public sealed class ComposeVolume
{
    internal ComposeVolume(string key, Map m)
    {
        Key = key;
        Name = V.S(m, "name") ?? key;
        Driver = V.S(m, "driver");
        External = V.B(m, "external");
        Labels = V.Dict(m, "labels");
        DriverOpts = V.Dict(m, "driver_opts");
    }
    public string Key { get; }
    public string Name { get; }
    public string? Driver { get; }
    public bool External { get; }
    public IReadOnlyDictionary<string, string?> Labels { get; }
    public IReadOnlyDictionary<string, string?> DriverOpts { get; }
    public override string ToString() => Name;
}

/// <summary>A top-level secret or config.</summary>
public sealed class ComposeSecret
{
    internal ComposeSecret(string key, Map m)
    {
        Key = key;
        Name = V.S(m, "name") ?? key;
        File = V.S(m, "file");
        Environment = V.S(m, "environment");
        Content = V.S(m, "content");
        External = V.B(m, "external");
    }
    public string Key { get; }
    public string Name { get; }
    /// <summary>The source file (absolute), or null.</summary>
    public string? File { get; }
    /// <summary>The environment variable whose value is the content, or null.</summary>
    public string? Environment { get; }
    /// <summary>Inline content (configs), or null.</summary>
    public string? Content { get; }
    public bool External { get; }
    public override string ToString() => Name;
}
