namespace Containers.Engine.Networking;

/// <summary>One network a container asks to join.</summary>
public sealed record NetworkRequest(string Network, IReadOnlyList<string> Aliases, string? IPv4Address = null, string? IPv6Address = null);

/// <summary>A published port as asked: host IP (null = all), host port (0 = pick one), container port, "tcp"/"udp".</summary>
public sealed record PortRequest(string? HostIp, int HostPort, int ContainerPort, string Protocol = "tcp");

/// <summary>What the runtime hands the network provider for one container.</summary>
public sealed class ContainerNetworkContext
{
    public required string ContainerId { get; init; }
    public required string ContainerName { get; init; }
    public required string Hostname { get; init; }
    /// <summary>The pinned network namespace (a bind mount of the container's nsfs file).</summary>
    public required string NetNsPath { get; init; }
    /// <summary>The container's state directory (the provider may keep files there).</summary>
    public required string StateDirectory { get; init; }
    public required IReadOnlyList<NetworkRequest> Networks { get; init; }
    public required IReadOnlyList<PortRequest> Ports { get; init; }
    /// <summary>
    /// Teardown only: the caller releases the network namespace right after (unmounts its pin, and nothing else holds
    /// it), so the kernel deletes the container's veth pairs with the namespace. Teardown then records them as
    /// releasing and returns without waiting for the deletion (25-40 ms of the kernel's per veth here).
    /// </summary>
    public bool NamespaceReleased { get; init; }

    /// <summary>
    /// Setup only: a netlink socket already bound to the namespace (the one that pinned it), for the first endpoint's
    /// configuration inside, which then needs no thread to join the namespace; taken once, disposed by the taker.
    /// </summary>
    internal Containers.Native.Netlink.NetlinkSocket? InsideNetlink { get; set; }

    internal Containers.Native.Netlink.NetlinkSocket? TakeInsideNetlink()
    {
        var s = InsideNetlink;
        InsideNetlink = null;
        return s;
    }
}

/// <summary>One network endpoint as configured.</summary>
public sealed record EndpointInfo(string Network, string InterfaceName, string? IPv4Address, int IPv4PrefixLength, string? IPv4Gateway,
    string? IPv6Address, int IPv6PrefixLength, string? IPv6Gateway, string MacAddress, IReadOnlyList<string> Aliases)
{
    public override string ToString() => $"{Network}: {IPv4Address}/{IPv4PrefixLength}" + (IPv6Address is null ? "" : $" {IPv6Address}/{IPv6PrefixLength}");
}

/// <summary>A port as bound on the host.</summary>
public sealed record PortBindingInfo(string HostIp, int HostPort, int ContainerPort, string Protocol)
{
    /// <summary>Docker's notation, e.g. 127.0.0.1:8080->80/tcp.</summary>
    public override string ToString() => $"{(HostIp.Contains(':') ? "[" + HostIp + "]" : HostIp)}:{HostPort}->{ContainerPort}/{Protocol}";
}

/// <summary>What the provider set up: endpoints, ports, and what /etc/hosts and /etc/resolv.conf inside should say.</summary>
public sealed class NetworkSetupResult
{
    public IReadOnlyList<EndpointInfo> Endpoints { get; init; } = [];
    public IReadOnlyList<PortBindingInfo> Ports { get; init; } = [];
    public IReadOnlyList<string> Nameservers { get; init; } = [];
    public IReadOnlyList<string> SearchDomains { get; init; } = [];
    /// <summary>Extra /etc/hosts lines ("10.0.0.2 name alias").</summary>
    public IReadOnlyList<string> HostsEntries { get; init; } = [];
}

/// <summary>
/// Bridge networking for containers. The runtime creates and pins the container's network namespace,
/// then calls <see cref="Setup"/> before the container's first process starts (and again on each start:
/// it must be idempotent), and <see cref="Teardown"/> when the container is removed.
/// </summary>
public interface INetworkProvider
{
    NetworkSetupResult Setup(ContainerNetworkContext context, CancellationToken cancellationToken);

    /// <summary>Called when the container stops for good (not between restarts by its monitor): release ports held for it.</summary>
    void Stopped(ContainerNetworkContext context);

    /// <summary>
    /// Removes everything made for the container: veths, addresses, rules, DNS entries; idempotent. With
    /// <see cref="ContainerNetworkContext.NamespaceReleased"/> the veth pairs go with the namespace (deferred teardown).
    /// </summary>
    void Teardown(ContainerNetworkContext context);
}
