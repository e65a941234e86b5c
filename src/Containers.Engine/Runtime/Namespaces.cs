using Containers.Engine.Errors;

namespace Containers.Engine.Runtime;

/// <summary>
/// docker run's --network container:&lt;name|id&gt;, --pid and --ipc: a container may share the host's PID or IPC
/// namespace, or join another running container's network, PID or IPC namespace. Stored as "", "host" or
/// "container:&lt;id&gt;" (the id, so a rename of the other container does not break it); the other container must
/// be running at each start, and its namespaces are joined through /proc/&lt;pid&gt;/ns of its first process.
/// </summary>
public sealed partial class ContainerRuntime
{
    internal const string ContainerModePrefix = "container:";

    internal static bool IsContainerMode(string mode) => mode.StartsWith(ContainerModePrefix, StringComparison.Ordinal);

    /// <summary>A network setting that is a set of networks of the root (not none, host or container:).</summary>
    internal static bool HasOwnNetworks(string network) => network is not ("none" or "host" or Rootless.RootlessChecks.SlirpNetwork) && !IsContainerMode(network);

    /// <summary>-Pid / -Ipc: "" (the container's own namespace), "host" or "container:&lt;id&gt;" (the other container resolved now).</summary>
    internal string ParseNamespaceMode(string? value, string what)
    {
        string v = (value ?? "").Trim();
        if (v.Length == 0 || v == "private" || (what == "ipc" && v is "shareable")) return "";
        if (v == "host") return "host";
        if (IsContainerMode(v) && v.Length > ContainerModePrefix.Length)
            return ContainerModePrefix + Find(v[ContainerModePrefix.Length..]).Id;
        throw ContainersException.Invalid("InvalidNamespaceMode",
            $"The {what} mode '{value}' is not valid: give host or container:<name|id> (or nothing for the container's own namespace).", value);
    }

    /// <summary>
    /// The other container of a container: mode, which must be running now: its first process's pid (the caller
    /// joins /proc/&lt;pid&gt;/ns/...). ContainerNotFound when it was removed, JoinedContainerNotRunning otherwise.
    /// </summary>
    private int JoinTarget(ContainerConfig c, string mode, string what)
    {
        string id = mode[ContainerModePrefix.Length..];
        var t = Load(id) ?? throw ContainersException.NotFound("ContainerNotFound",
            $"The container '{c.Name}' joins the {what} namespace of container {id[..Math.Min(12, id.Length)]}, which no longer exists.", id);
        if (t.Status is not (Model.ContainerStatus.Running or Model.ContainerStatus.Paused) || t.Pid <= 0 || !Containers.Native.Proc.ProcessOps.IsAlive(t.Pid, t.PidStart))
            throw new ContainersException(ErrorKind.Unavailable, "JoinedContainerNotRunning",
                $"Cannot start '{c.Name}': it joins the {what} namespace of container '{t.Name}', which is not running. Start '{t.Name}' first.", t.Name);
        return t.Pid;
    }

    /// <summary>
    /// --network container:X at creation: the other container's name or id becomes its id; the options docker refuses
    /// with that mode (the network is the other container's) are refused with NetworkModeConflict; the hostname is the
    /// other container's, as docker gives it.
    /// </summary>
    private void ResolveContainerNetwork(ContainerCreateOptions o, ContainerConfig cfg)
    {
        string target = cfg.Network[ContainerModePrefix.Length..];
        if (target.Length == 0)
            throw ContainersException.Invalid("InvalidNamespaceMode", "The network mode 'container:' names no container: give container:<name|id>.", cfg.Network);
        var t = Find(target);
        cfg.Network = ContainerModePrefix + t.Id;
        void Conflict(bool given, string option)
        {
            if (given)
                throw ContainersException.Invalid("NetworkModeConflict",
                    $"Conflicting options: {option} and the network mode container:{target} (the container uses the network of '{t.Name}'; give {option} to that container instead).", option);
        }
        Conflict(!string.IsNullOrEmpty(o.Hostname), "-Hostname");
        Conflict(o.Ports.Count > 0 || o.PublishAll, "-Port/-PublishAll (port publishing)");
        Conflict(o.Dns.Count > 0 || o.DnsSearch.Count > 0 || o.DnsOptions.Count > 0, "-Dns/-DnsSearch/-DnsOption");
        Conflict(o.AddHost.Count > 0, "-AddHost");
        Conflict(o.NetworkAliases.Count > 0 || o.NetworkAliasesByNetwork.Count > 0, "-NetworkAlias");
        Conflict(!string.IsNullOrEmpty(o.IPAddress) || o.IPAddressByNetwork.Count > 0, "-IPAddress");
        cfg.Hostname = t.Config.Hostname;
    }
}
