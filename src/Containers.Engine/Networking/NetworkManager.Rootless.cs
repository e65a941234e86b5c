using System.Globalization;
using Containers.Engine.Errors;
using Containers.Engine.Networking.Dns;
using Containers.Engine.Rootless;

namespace Containers.Engine.Networking;

/// <summary>
/// User networks of a rootless engine (Rootless/RootlessNetns.cs): the records, addresses and DNS names are the same
/// as root's; the bridges live in the user's rootless network namespace, the container's monitor attaches its veth
/// pairs from inside it (the "usernet" spec lines made here), and published ports are host forwards of that
/// namespace's slirp4netns to the container's address.
/// </summary>
public sealed partial class NetworkManager
{
    private static void RefuseRootless(string what, string network)
    {
        if (RootlessHost.Active)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported",
                $"{what} is not available to rootless containers yet: give the container its networks with -Network when it is made.", network);
    }

    /// <summary>Setup's rootless part: the bridges (after a reboot the namespace is new) and the published ports.</summary>
    private void SetupRootless(ContainerNetRecord c, List<(NetworkRecord Net, EndpointRecord Ep)> created)
    {
        foreach (var (net, _) in created) RootlessNetns.EnsureBridge(net);
        if (c.PortRequests.Count == 0) return;
        var target = created.FirstOrDefault(x => !x.Net.Internal).Ep ?? created[0].Ep;
        RootlessNetns.RemovePorts(target.IPv4Address);
        try { c.Ports = c.PortRequests.Select(p => RootlessNetns.AddPort(p, target.IPv4Address!)).ToList(); }
        catch
        {
            RootlessNetns.RemovePorts(target.IPv4Address);
            throw;
        }
        c.ProxyPid = 0;
    }

    private static void RemoveRootlessPorts(List<NetworkRecord> all, string containerId)
    {
        foreach (var e in all.SelectMany(n => n.Endpoints).Where(e => e.ContainerId == containerId))
            RootlessNetns.RemovePorts(e.IPv4Address);
    }

    /// <summary>
    /// The monitor's "usernet" lines for a rootless container set up on its networks:
    /// "bridge,gateway,prefix,host-if,if,ip,mac,route" (route: 1 on the first network that is not internal).
    /// </summary>
    public IReadOnlyList<string> RootlessAttachments(string containerId)
    {
        var c = LoadCtr(containerId);
        if (c is null) return [];
        var all = LoadAll();
        var lines = new List<string>();
        bool routed = false;
        foreach (var name in c.Networks)
        {
            var n = all.FirstOrDefault(x => x.Name == name);
            var e = n?.Endpoints.FirstOrDefault(x => x.ContainerId == containerId);
            if (n is null || e?.IPv4Address is null) continue;
            bool route = !routed && !n.Internal;
            routed |= route;
            lines.Add(string.Join(',', n.Bridge, n.Gateway, Ipam.IpNetwork.Parse(n.Subnet, "subnet").PrefixLength.ToString(CultureInfo.InvariantCulture),
                e.HostInterface, e.Interface, e.IPv4Address, e.MacAddress, route ? "1" : "0"));
        }
        return lines;
    }

    /// <summary>Remove's rootless part: the bridge in the namespace, the record, DNS; the namespace goes with the last network.</summary>
    private void RemoveRootless(NetworkRecord rec)
    {
        RootlessNetns.DeleteBridge(rec.Bridge);
        DeleteFile(NetPath(rec.Name));
        Events.EventLog.Record(_root, Model.ContainerEventType.Network, "remove", rec.Id, rec.Name);
        var rest = LoadAll();
        DnsService.Update(_root, rest);
        if (rest.Count == 0) RootlessNetns.Remove();
    }
}
