using Containers.Engine.Errors;
using Containers.Engine.Runtime;

namespace Containers.Engine.Rootless;

/// <summary>
/// What a rootless container may ask for, checked when it is created so nothing is set up for a request that cannot
/// be met. Each refusal has its ErrorId: RootlessCgroupsNotDelegated (a limit without a delegated cgroup),
/// RootlessUnsupported (what needs host privilege: -Privileged, -Device, the host's or another container's PID or IPC
/// namespace), RootlessNetworkUnsupported (a network mode this rootless engine does not give).
/// </summary>
internal static class RootlessChecks
{
    /// <summary>ContainerInfo.UserNamespace of a rootless container.</summary>
    public const string ModeName = "Rootless";

    /// <summary>The user-mode network (slirp4netns, one per running container: Helper/SlirpNet.cs), podman's name for it.</summary>
    public const string SlirpNetwork = "slirp4netns";

    /// <summary>The network a rootless container gets without -Network.</summary>
    public const string DefaultNetwork = SlirpNetwork;

    public const string SlirpBinary = "/usr/bin/slirp4netns";

    /// <summary>The spec's slirp keys: the API socket (in the user's runtime directory: a state directory's path is too long for sun_path) and the ports.</summary>
    public static void AddSlirp(Action<string, string?> add, ContainerConfig c)
    {
        add("slirp", Path.Combine(RootlessHost.RuntimeDirectory(), "slirp-" + c.Id[..12] + ".sock"));
        foreach (var p in c.Ports.Select(ContainerRuntime.ParsePort))
            add("port", $"{p.Protocol}:{p.HostIp ?? ""}:{p.HostPort}:{p.ContainerPort}");
    }

    /// <summary>Removes what a killed monitor's slirp4netns left in the runtime directory (its API socket).</summary>
    public static void RemoveSlirpSocket(ContainerConfig c)
    {
        try { File.Delete(Path.Combine(RootlessHost.RuntimeDirectory(), "slirp-" + c.Id[..12] + ".sock")); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ContainersException) { }
    }

    /// <summary>resolv.conf of a slirp4netns container without -Dns: slirp4netns's forwarder to the host's resolver.</summary>
    public static void WriteSlirpResolvConf(ContainerConfig c, string dir)
    {
        if (c.Network != SlirpNetwork || c.Dns.Count > 0) return;
        string search = string.Join(' ', c.DnsSearch.Where(d => d != "."));
        File.WriteAllText(Path.Combine(dir, "resolv.conf"), "nameserver 10.0.2.3\n" + (search.Length > 0 ? "search " + search + "\n" : ""));
    }

    /// <summary>
    /// The single mapping (no subordinate ids or no newuidmap: RootlessHost.SingleMappingReason): warns
    /// (RootlessSingleMapping, once per session) and refuses a user other than root (RootlessUserNotMapped), which has no id inside.
    /// </summary>
    public static void CheckSingleMapping(ContainerConfig c, Action<string>? warn)
    {
        if (!RootlessHost.SingleMapping) return;
        string user = c.User.Trim();
        int colon = user.IndexOf(':');
        string u = colon < 0 ? user : user[..colon], g = colon < 0 ? "" : user[(colon + 1)..];
        if (u is not ("" or "0" or "root") || g is not ("" or "0" or "root"))
            throw ContainersException.Invalid("RootlessUserNotMapped",
                $"The user '{user}' (-User or the image's USER) has no id in a rootless container of the single mapping, where only root (you) exists: {RootlessHost.SingleMappingReason()}. Give -User root, or have subordinate ids given to you (usermod --add-subuids, package uidmap).", c.Name);
        if (Interlocked.Exchange(ref s_singleWarned, 1) == 0) warn?.Invoke(RootlessHost.SingleMappingWarning());
    }

    private static int s_singleWarned;

    public static void Check(ContainerConfig c, bool publishAll, UserNamespaces.UserNamespaceMode? userNamespace = null)
    {
        // every rootless container has the user's own mapping (uid 0 = the user): -UserNamespace Host names it, as
        // podman's --userns=host does rootless; KeepId keeps the user's ids (RootlessKeepId.cs); a range of its own
        // (Auto, Private) is not given yet
        if (userNamespace is UserNamespaces.UserNamespaceMode.Auto or UserNamespaces.UserNamespaceMode.Private)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessUnsupported",
                $"-UserNamespace {userNamespace} is not available to rootless containers yet: each runs in a user namespace with your own mapping (uid 0 inside is you, 1.. your subordinate ids); give -UserNamespace Host or KeepId, or leave it out.", c.Name);
        var limits = new List<(string Flag, string Controller)>();
        if (c.Memory is not null) limits.Add(("-Memory", "memory"));
        if (c.MemorySwap is not null) limits.Add(("-MemorySwap", "memory"));
        if (c.Cpus is not null) limits.Add(("-Cpus", "cpu"));
        if (c.PidsLimit is not null) limits.Add(("-PidsLimit", "pids"));
        if (limits.Count > 0)
        {
            // a delegated cgroup (Cgroups/RootlessCgroups.cs) that offers each limit's controller
            string? delegated = Cgroups.RootlessCgroups.DelegatedRoot();
            if (delegated is null) throw RootlessHost.CgroupsNotDelegated(string.Join(", ", limits.Select(l => l.Flag)));
            var offered = Cgroups.RootlessCgroups.Controllers(delegated);
            var missing = limits.Where(l => !offered.Contains(l.Controller)).ToList();
            if (missing.Count > 0)
                throw new ContainersException(ErrorKind.NotImplemented, "RootlessCgroupsNotDelegated",
                    $"{string.Join(", ", missing.Select(l => l.Flag))} needs the {string.Join(", ", missing.Select(l => l.Controller).Distinct())} controller, which the cgroup delegated to you ('{delegated}') does not offer (its cgroup.controllers: '{string.Join(' ', offered)}'); it is enabled in cgroup.subtree_control above it (systemd: Delegate= of user@.service).",
                    string.Join(", ", missing.Select(l => l.Flag)));
        }
        // the rootless cgroup manager puts containers below the user's delegated subtree only: a parent elsewhere in
        // the hierarchy would be silently ignored (and is not the user's to write)
        if (c.CgroupParent is not null)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessUnsupported",
                "-CgroupParent is not available to rootless containers: they go below the cgroup delegated to you, if any.", c.Name);
        string? what = c.Privileged ? "-Privileged" : c.Devices.Count > 0 ? "-Device" : c.PidMode.Length > 0 ? "-Pid " + c.PidMode : c.IpcMode.Length > 0 ? "-Ipc " + c.IpcMode : null;
        if (what is not null)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessUnsupported",
                $"{what} needs privileges on the host that a rootless container does not have; run it as root.", c.Name);
        // user networks (bridges in the user's rootless network namespace: RootlessNetns.cs) are; host and container:X are not
        if (c.Network == "host" || ContainerRuntime.IsContainerMode(c.Network))
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported",
                $"The network '{c.Network}' is not available to rootless containers yet; give -Network {SlirpNetwork} (the default), a user network (New-ContainerNetwork) or none.", c.Network);
        if (c.Network == SlirpNetwork && !File.Exists(SlirpBinary))
            throw ContainersException.System("RootlessNetworkUnavailable",
                $"{SlirpBinary} is missing: the network of rootless containers needs slirp4netns (Debian package slirp4netns); or give -Network none.", SlirpBinary);
        if ((c.Ports.Count > 0 || publishAll) && c.Network == "none")
            throw ContainersException.Invalid("PortsNeedBridgeNetwork", $"Published ports need a network; the container's network is '{c.Network}'.", c.Network);
        if (publishAll)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported", "-PublishAll is not available to rootless containers yet; give each port with -Port.", c.Name);
        foreach (var p in c.Ports.Select(ContainerRuntime.ParsePort))
            if (p.HostPort == 0)
                throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported",
                    $"A rootless container's published port needs its host port (give host:{p.ContainerPort}).", c.Name);
    }
}
