using Containers.Engine.Errors;
using Containers.Engine.Networking.Bridge;
using Containers.Engine.Networking.Dns;
using Containers.Engine.Networking.Ports;

namespace Containers.Engine.Networking;

public sealed partial class NetworkManager
{
    /// <summary>See <see cref="INetworkProvider.Setup"/>.</summary>
    public NetworkSetupResult Setup(ContainerNetworkContext ctx, CancellationToken ct)
    {
        using var l = Lock(ct);
        Diagnostics.StepTimes.Mark("net.lock");
        var requests = ctx.Networks.Count == 0 ? [new NetworkRequest(DefaultNetworkName, [])] : ctx.Networks;
        if (requests.Any(r => r.Network == "none")) return new NetworkSetupResult();
        var c = LoadCtr(ctx.ContainerId);
        bool firstTime = c is null;
        c ??= new ContainerNetRecord { ContainerId = ctx.ContainerId, Networks = requests.Select(r => r.Network).Distinct().ToList(), PortRequests = ctx.Ports.ToList() };
        c.ContainerName = ctx.ContainerName; c.Hostname = ctx.Hostname; c.NetNsPath = ctx.NetNsPath; c.StateDirectory = ctx.StateDirectory;
        if (firstTime) c.PortRequests = ctx.Ports.ToList();
        bool proxyAlive = HelperProcess.IsAlive(c.ProxyPid, PortProxy.Mode, ctx.ContainerId);
        if (!proxyAlive) PortProxy.Validate(c.PortRequests);
        Diagnostics.StepTimes.Mark("net.load-ctr");

        // The records are written once, after the plumbing: nothing is saved for an endpoint that failed, and the
        // lock is held throughout, so no other process can hand out the addresses picked here meanwhile.
        var created = new List<(NetworkRecord Net, EndpointRecord Ep, bool New)>();
        try
        {
            foreach (var name in c.Networks.ToList())
            {
                var net = Load(name);
                if (net is null && name == DefaultNetworkName) net = CreateLocked(new NetworkCreateOptions { Name = name }, true);
                if (net is null) throw ContainersException.NotFound("NetworkNotFound", Messages.NetworkNotFound(name), name);
                // the deferred teardowns of earlier removals: links gone free their addresses (saved with this start's record)
                FinishReleases(net, wait: false);
                var ep = net.Endpoints.FirstOrDefault(e => e.ContainerId == ctx.ContainerId);
                bool isNew = ep is null;
                if (ep is null)
                {
                    var req = requests.FirstOrDefault(r => r.Network == name) ?? new NetworkRequest(name, []);
                    ep = Allocate(net, c, req, "eth" + created.Count);
                }
                ep.ContainerName = ctx.ContainerName;
                created.Add((net, ep, isNew));
            }
            Diagnostics.StepTimes.Mark("net.load+allocate");
            bool routed = false;
            // rootless: the monitor attaches the container from inside the user's rootless network namespace
            if (Rootless.RootlessHost.Active) SetupRootless(c, created.Select(x => (x.Net, x.Ep)).ToList());
            else foreach (var (net, ep, _) in created)
            {
                BridgeDriver.Attach(net, ep, ctx.NetNsPath, defaultRoute: !routed && !net.Internal, ctx.TakeInsideNetlink());
                routed |= !net.Internal;
            }
            Diagnostics.StepTimes.Mark("net.attach");
            if (c.PortRequests.Count > 0 && !proxyAlive && !Rootless.RootlessHost.Active)
            {
                var target = created.FirstOrDefault(x => !x.Net.Internal).Ep ?? created[0].Ep;
                var (pid, bound) = PortProxy.Start(ctx.ContainerId, c.PortRequests, target.IPv4Address!);
                c.ProxyPid = pid; c.Ports = bound;
            }
        }
        catch
        {
            foreach (var (_, ep, isNew) in created)
                if (isNew) { try { BridgeDriver.Detach(ep); } catch (ContainersException) { } }
            throw;
        }
        // Written atomically but not synced (an fsync costs 2-15 ms here): a crash of the machine can at worst bring
        // back the record as it was before this start, which stops the container anyway; it then gets an address
        // from that record at its next start, so no two running containers ever share one. Releases (Teardown,
        // Disconnect) and network definitions are synced: losing those would leak an address or a network.
        foreach (var (net, ep, _) in created) { ep.Active = true; Save(net, durable: false); }
        c.Running = true;
        SaveCtr(c);
        Diagnostics.StepTimes.Mark("net.save");
        var all = LoadAll();
        Diagnostics.StepTimes.Mark("net.loadall");
        DnsService.Update(_root, all);
        Diagnostics.StepTimes.Mark("net.dns");

        var nets = created.Select(x => x.Net).ToList();
        var dnsServers = nets.Where(n => n.DnsEnabled).Select(n => n.Gateway).Distinct().ToList();
        if (dnsServers.Count == 0) dnsServers = DnsService.HostUpstreams().Where(s => !s.StartsWith("127.", StringComparison.Ordinal) && s != "::1").ToList();
        var first = created[0].Ep;
        var hosts = new List<string>();
        foreach (var (net, ep, _) in created)
        {
            var names = new[] { ctx.Hostname, ctx.ContainerName }.Concat(ep.Aliases).Where(s => !string.IsNullOrEmpty(s)).Distinct();
            if (ep.IPv4Address is not null) hosts.Add(ep.IPv4Address + " " + string.Join(' ', names));
            if (ep.IPv6Address is not null) hosts.Add(ep.IPv6Address + " " + string.Join(' ', names));
        }
        return new NetworkSetupResult
        {
            Endpoints = created.Select(x => ToInfo(x.Net, x.Ep)).ToList(),
            Ports = c.Ports.ToList(),
            Nameservers = dnsServers,
            SearchDomains = nets.Any(n => n.DnsEnabled) ? [DnsDomain] : [],
            HostsEntries = hosts,
        };
    }

    private static EndpointInfo ToInfo(NetworkRecord n, EndpointRecord e) => new(n.Name, e.Interface, e.IPv4Address,
        Ipam.IpNetwork.Parse(n.Subnet, "").PrefixLength, n.Internal ? null : n.Gateway, e.IPv6Address,
        n.IPv6Subnet is null ? 0 : Ipam.IpNetwork.Parse(n.IPv6Subnet, "").PrefixLength, n.Internal ? null : n.IPv6Gateway, e.MacAddress, e.Aliases.ToArray());

    /// <summary>See <see cref="INetworkProvider.Stopped"/>: the proxy ends and the container's names leave DNS; addresses stay allocated.</summary>
    public void Stopped(ContainerNetworkContext ctx)
    {
        using var l = Lock();
        var c = LoadCtr(ctx.ContainerId);
        if (c is null) return;
        PortProxy.Stop(c.ProxyPid, ctx.ContainerId);
        c.ProxyPid = 0; c.Running = false;
        SaveCtr(c);
        var all = LoadAll();
        if (Rootless.RootlessHost.Active) RemoveRootlessPorts(all, ctx.ContainerId);
        foreach (var n in all)
        {
            bool changed = false;
            foreach (var e in n.Endpoints.Where(e => e.ContainerId == ctx.ContainerId && e.Active)) { e.Active = false; changed = true; }
            if (changed) Save(n, durable: false);
        }
        DnsService.Update(_root, all);
    }

    /// <summary>See <see cref="INetworkProvider.Teardown"/>.</summary>
    public void Teardown(ContainerNetworkContext ctx)
    {
        using var l = Lock();
        Diagnostics.StepTimes.Mark("teardown.lock");
        var c = LoadCtr(ctx.ContainerId);
        if (c is not null) PortProxy.Stop(c.ProxyPid, ctx.ContainerId);
        var all = LoadAll();
        if (Rootless.RootlessHost.Active) RemoveRootlessPorts(all, ctx.ContainerId);
        foreach (var n in all)
        {
            var mine = n.Endpoints.Where(e => e.ContainerId == ctx.ContainerId).ToList();
            if (mine.Count == 0) continue;
            foreach (var e in mine)
            {
                // the namespace goes right after: the kernel deletes the pair with it, and the record says so until
                // the next operation sees it gone (NetworkManager.Releasing.cs); otherwise deleted here
                if (ctx.NamespaceReleased)
                    n.Releasing.Add(new ReleasingEndpoint { ContainerId = e.ContainerId, HostInterface = e.HostInterface, IPv4Address = e.IPv4Address, IPv6Address = e.IPv6Address, Since = DateTime.UtcNow });
                else { try { BridgeDriver.Detach(e); } catch (ContainersException) { } }
                Diagnostics.StepTimes.Mark("teardown.detach");
                n.Endpoints.Remove(e);
            }
            Diagnostics.StepTimes.Mark("teardown.finish");
            FinishReleases(n, wait: false);
            Diagnostics.StepTimes.Mark("teardown.finish-releases");
            // not synced when deferred: the addresses stay taken by the releasing record anyway, and the next
            // operation's write of this record carries the release further (see docs/NETWORKING.md, Teardown)
            Save(n, durable: !ctx.NamespaceReleased);
        }
        DeleteFile(CtrPath(ctx.ContainerId));
        Diagnostics.StepTimes.Mark("teardown.save");
        DnsService.Update(_root, all);
        Diagnostics.StepTimes.Mark("teardown.dns");
    }

    /// <summary>The published ports of a container as bound (empty when it has none or is unknown).</summary>
    public IReadOnlyList<PortBindingInfo> PortsOf(string containerId) => LoadCtr(containerId)?.Ports ?? [];

    /// <summary>A container's endpoints on every network of this root (empty before its first start).</summary>
    public IReadOnlyList<EndpointInfo> EndpointsOf(string containerId) =>
        LoadAll().SelectMany(n => n.Endpoints.Where(e => e.ContainerId == containerId).Select(e => ToInfo(n, e))).ToList();
}

/// <summary>The bridge <see cref="INetworkProvider"/> the runtime uses: one per storage root.</summary>
public sealed class BridgeNetworkProvider : INetworkProvider
{
    private readonly NetworkManager _manager;

    public BridgeNetworkProvider(State.StorageRoot root) => _manager = new NetworkManager(root);

    public NetworkSetupResult Setup(ContainerNetworkContext context, CancellationToken cancellationToken) => _manager.Setup(context, cancellationToken);
    public void Stopped(ContainerNetworkContext context) => _manager.Stopped(context);
    public void Teardown(ContainerNetworkContext context) => _manager.Teardown(context);

    /// <summary>Parses a -Port value ("8080:80", "127.0.0.1:8080:80/udp", "80").</summary>
    public static PortRequest ParsePort(string spec) => PortProxy.Parse(spec);

    /// <summary>Checks ports before a container is created: well formed and free (PortAlreadyAllocated otherwise).</summary>
    public static void ValidatePorts(IReadOnlyList<PortRequest> ports) => PortProxy.Validate(ports);
}

/// <summary>
/// A provider for any storage root: finds the root from the container's state directory
/// (&lt;root&gt;/containers/&lt;id&gt;), for a runtime that registers one provider for the whole process.
/// </summary>
public sealed class AnyRootNetworkProvider : INetworkProvider
{
    public static readonly AnyRootNetworkProvider Instance = new();

    private static NetworkManager ManagerFor(ContainerNetworkContext c)
    {
        string? containers = Path.GetDirectoryName(Path.GetFullPath(c.StateDirectory).TrimEnd('/'));
        string? root = containers is not null && Path.GetFileName(containers) == "containers" ? Path.GetDirectoryName(containers) : null;
        if (root is null)
            throw ContainersException.Invalid("NetworkSetupFailed", Messages.NetlinkFailed("state directory", $"'{c.StateDirectory}' is not <root>/containers/<id>"), c.StateDirectory);
        return new NetworkManager(State.StorageRoot.Resolve(root));
    }

    public NetworkSetupResult Setup(ContainerNetworkContext context, CancellationToken cancellationToken) => ManagerFor(context).Setup(context, cancellationToken);
    public void Stopped(ContainerNetworkContext context) => ManagerFor(context).Stopped(context);
    public void Teardown(ContainerNetworkContext context) => ManagerFor(context).Teardown(context);
}
