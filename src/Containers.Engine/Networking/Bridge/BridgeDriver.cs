using System.Net;
using Containers.Engine.Errors;
using Containers.Engine.Networking.Ipam;
using Containers.Native.Netlink;
using Containers.Native.Sys;

namespace Containers.Engine.Networking.Bridge;

/// <summary>Kernel plumbing over rtnetlink: the bridge of a network and the veth pair of each endpoint.</summary>
internal static class BridgeDriver
{
    /// <summary>Creates the bridge with its gateway address(es) and sets it up (idempotent).</summary>
    public static void EnsureBridge(NetworkRecord n)
    {
        Wrap("bridge " + n.Bridge, () =>
        {
            using var rt = RtNetlink.Host();
            // A fixed MAC: otherwise the bridge takes its lowest port's and changes it as veths come and go,
            // leaving containers' ARP entries for the gateway stale.
            var gw = IPAddress.Parse(n.Gateway).GetAddressBytes();
            int idx = rt.CreateBridge(n.Bridge, [0x02, 0x50, gw[0], gw[1], gw[2], gw[3]]);
            var sub = IpNetwork.Parse(n.Subnet, "subnet");
            rt.AddAddress(idx, IPAddress.Parse(n.Gateway), sub.PrefixLength);
            if (n.IPv6Subnet is not null && n.IPv6Gateway is not null)
            {
                DisableIPv6Dad(n.Bridge);
                rt.AddAddress(idx, IPAddress.Parse(n.IPv6Gateway), IpNetwork.Parse(n.IPv6Subnet, "IPv6 subnet").PrefixLength);
            }
            rt.SetLink(idx, up: true);
        });
    }

    public static void DeleteBridge(string name) => DeleteLink(name);

    /// <summary>Deletes a link of the host by name (a veth's host side takes its peer with it); idempotent.</summary>
    public static void DeleteLink(string name) => Wrap("delete " + name, () => { using var rt = RtNetlink.Host(); rt.DeleteLink(name); });

    /// <summary>Whether the host has a link of that name.</summary>
    public static bool LinkExists(string name)
    {
        bool found = false;
        Wrap("link " + name, () => { using var rt = RtNetlink.Host(); found = rt.LinkIndex(name) != 0; });
        return found;
    }

    /// <summary>
    /// Creates the endpoint's veth pair (container side directly in the namespace), addresses and routes (idempotent).
    /// A new pair is made with its host side up and on the bridge in one request; the container side is configured through
    /// <paramref name="inside"/> when given (a socket bound to the namespace, taken over: its loopback is up), else
    /// through a socket a short-lived thread opens in the namespace.
    /// </summary>
    public static void Attach(NetworkRecord n, EndpointRecord e, string netnsPath, bool defaultRoute, NetlinkSocket? inside = null)
    {
        bool loUp = inside is not null;
        try
        {
            Wrap($"endpoint {e.HostInterface} -> {e.Interface}", () =>
            {
                using var rt = RtNetlink.Host();
                int bridge = rt.LinkIndex(n.Bridge);
                if (bridge == 0) { EnsureBridge(n); bridge = rt.LinkIndex(n.Bridge); }
                Diagnostics.StepTimes.Mark("attach.bridge-index");
                int nsfd = FileSys.Open(netnsPath, FileSys.O_RDONLY);
                try
                {
                    using var ins = new RtNetlink(inside ?? NetlinkSocket.OpenIn(nsfd, netnsPath));
                    inside = null;
                    Diagnostics.StepTimes.Mark("attach.open-inside");
                    if (rt.LinkIndex(e.HostInterface) == 0)
                    {
                        var mac = ParseMac(e.MacAddress);
                        try { rt.CreateVethPair(e.HostInterface, e.Interface, nsfd, mac, master: bridge, up: true); }
                        catch (NativeException ex) when (ex.Errno == Errno.EEXIST)
                        {
                            // a stale container-side link of the same name (e.g. after a crash) made creation fail
                            ins.DeleteLink(e.Interface);
                            rt.CreateVethPair(e.HostInterface, e.Interface, nsfd, mac, master: bridge, up: true);
                        }
                    }
                    else rt.SetLink(rt.LinkIndex(e.HostInterface), up: true, master: bridge);
                    Diagnostics.StepTimes.Mark("attach.veth");
                    if (!loUp)
                    {
                        int lo = ins.LinkIndex("lo");
                        if (lo != 0) ins.SetLink(lo, up: true);
                    }
                    int idx = ins.LinkIndex(e.Interface);
                    if (e.IPv4Address is not null) ins.AddAddress(idx, IPAddress.Parse(e.IPv4Address), IpNetwork.Parse(n.Subnet, "subnet").PrefixLength);
                    if (e.IPv6Address is not null) ins.AddAddress(idx, IPAddress.Parse(e.IPv6Address), IpNetwork.Parse(n.IPv6Subnet!, "IPv6 subnet").PrefixLength);
                    ins.SetLink(idx, up: true);
                    Diagnostics.StepTimes.Mark("attach.addresses");
                    if (defaultRoute && !n.Internal)
                    {
                        ins.AddDefaultRoute(IPAddress.Parse(n.Gateway), idx);
                        if (e.IPv6Address is not null && n.IPv6Gateway is not null) ins.AddDefaultRoute(IPAddress.Parse(n.IPv6Gateway), idx);
                    }
                    Diagnostics.StepTimes.Mark("attach.routes");
                }
                finally { FileSys.Close(nsfd); }
            });
        }
        finally { inside?.Dispose(); }
    }

    /// <summary>Deletes the endpoint's veth pair (deleting the host side removes both ends); idempotent.</summary>
    public static void Detach(EndpointRecord e) => Wrap("delete " + e.HostInterface, () => { using var rt = RtNetlink.Host(); rt.DeleteLink(e.HostInterface); });

    /// <summary>Every prefix in use on the host: routes (all tables but local) and the networks of its addresses.</summary>
    public static List<IpNetwork> HostPrefixes()
    {
        var list = new List<IpNetwork>();
        using var rt = RtNetlink.Host();
        foreach (var r in rt.Routes(Nl.AF_INET))
            if (r.Destination is not null && r.PrefixLength > 0 && r.Table != 255) list.Add(new IpNetwork(r.Destination, r.PrefixLength));
        foreach (var a in rt.Addresses(Nl.AF_INET))
            if (!IPAddress.IsLoopback(a.Address)) list.Add(new IpNetwork(a.Address, Math.Max(a.PrefixLength, 8)));
        foreach (var r in rt.Routes(Nl.AF_INET6))
            if (r.Destination is not null && r.PrefixLength > 0 && r.Table != 255) list.Add(new IpNetwork(r.Destination, r.PrefixLength));
        return list.Select(p => IpNetwork.TryParse(p.ToString(), out var n) ? n : p).ToList();
    }

    /// <summary>Names of the host's links (for cleanup and tests).</summary>
    public static List<string> HostLinks() { using var rt = RtNetlink.Host(); return rt.Links().Select(l => l.Name).ToList(); }

    private static byte[]? ParseMac(string mac)
    {
        if (string.IsNullOrEmpty(mac)) return null;
        return mac.Split(':').Select(h => Convert.ToByte(h, 16)).ToArray();
    }

    private static void DisableIPv6Dad(string ifname)
    {
        try { File.WriteAllText($"/proc/sys/net/ipv6/conf/{ifname}/accept_dad", "0"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void Wrap(string what, Action a)
    {
        try { a(); }
        catch (NativeException ex) { throw ContainersException.System("NetworkSetupFailed", Messages.NetlinkFailed(what, ex.Message), what, ex); }
    }
}
