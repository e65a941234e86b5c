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
    /// <summary>Setup's rootless part: the bridges (after a reboot the namespace is new) and the published ports.</summary>
    private void SetupRootless(ContainerNetRecord c, List<(NetworkRecord Net, EndpointRecord Ep)> created)
    {
        foreach (var (net, _) in created) RootlessNetns.EnsureBridge(net);
        // the user's networks kept apart, as root's are (a no-op when the namespace has these rules already)
        RootlessNetns.SyncFirewall(LoadAll());
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

    /// <summary>
    /// The container's network record; rootless, a container without one is not on a user network (slirp4netns or none:
    /// its network namespace is not the rootless network namespace's to add interfaces to), said as such.
    /// </summary>
    private ContainerNetRecord RequireCtrOnUserNetwork(string container)
    {
        try { return RequireCtr(container); }
        catch (ContainersException ex) when (RootlessHost.Active && ex.ErrorId == "ContainerNotFound")
        {
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported",
                $"The container '{container}' is not on a user network: a rootless container on slirp4netns or none cannot be connected to or disconnected from one; give it a user network with -Network when it is made.", container);
        }
    }

    /// <summary>
    /// Connect of a running rootless container: the network's bridge (and the rules that keep it apart), then a veth pair
    /// into the container's network namespace made from inside the rootless network namespace (`containers-helper
    /// netns-attach`, as its monitor attaches them at a start). The container's process is found by its state file.
    /// </summary>
    private void AttachRootless(ContainerNetRecord c, NetworkRecord net, EndpointRecord ep, bool defaultRoute)
    {
        var status = Runtime.ContainerRuntime.ReadStatusFile(Path.Combine(c.StateDirectory, "status"));
        if (!status.TryGetValue("pid", out var pidText) || !int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0
            || !Directory.Exists("/proc/" + pidText))
            throw ContainersException.Conflict("ContainerNotRunning", $"The container '{c.ContainerName}' has no running process to connect.", c.ContainerName);
        RootlessNetns.EnsureBridge(net);
        RootlessNetns.SyncFirewall(LoadAll());
        string line = string.Join(',', net.Bridge, net.Gateway, Ipam.IpNetwork.Parse(net.Subnet, "subnet").PrefixLength.ToString(CultureInfo.InvariantCulture),
            ep.HostInterface, ep.Interface, ep.IPv4Address, ep.MacAddress, defaultRoute && !net.Internal ? "1" : "0");
        RootlessNetns.RunHelper("connect " + c.ContainerName + " to " + net.Name, "netns-attach", pidText, line);
    }

    /// <summary>The host side of an endpoint: the veth in the host's namespace (root) or in the rootless network namespace.</summary>
    private static void DetachEndpoint(EndpointRecord ep)
    {
        if (!Rootless.RootlessHost.Active) { Bridge.BridgeDriver.Detach(ep); return; }
        if (RootlessNetns.Find() is null) return; // gone with its namespace
        RootlessNetns.RunHelper("remove the interface " + ep.HostInterface, "netns-bridge", "del", ep.HostInterface);
    }

    /// <summary>
    /// The spec's networks ("usernet" records) made again from the records after Connect or Disconnect, so the monitor
    /// attaches the same networks when its restart policy starts the container again (it reads them at each restart).
    /// </summary>
    private void RewriteRootlessSpec(ContainerNetRecord c)
    {
        string path = Path.Combine(c.StateDirectory, "spec");
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { return; }
        catch (DirectoryNotFoundException) { return; }
        var kept = new List<byte>(data.Length + 256);
        int start = 0;
        for (int i = 0; i <= data.Length; i++)
        {
            if (i < data.Length && data[i] != 0) continue;
            if (i > start && !data.AsSpan(start, i - start).StartsWith("usernet="u8))
            {
                kept.AddRange(data.AsSpan(start, i - start).ToArray());
                kept.Add(0);
            }
            start = i + 1;
        }
        foreach (var line in RootlessAttachments(c.ContainerId))
        {
            kept.AddRange(System.Text.Encoding.UTF8.GetBytes("usernet=" + line));
            kept.Add(0);
        }
        State.AtomicFile.WriteAllBytes(path, kept.ToArray(), durable: false);
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
        else if (RootlessNetns.Find() is not null) RootlessNetns.SyncFirewall(rest);
    }
}
