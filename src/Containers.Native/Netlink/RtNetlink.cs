using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Containers.Native.Sys;

namespace Containers.Native.Netlink;

/// <summary>A route as dumped: destination prefix (null = default) and the output interface index.</summary>
internal readonly record struct RouteEntry(IPAddress? Destination, int PrefixLength, int OutputInterface, byte Table);

/// <summary>An address as dumped.</summary>
internal readonly record struct AddressEntry(int InterfaceIndex, IPAddress Address, int PrefixLength);

/// <summary>Link, address and route operations over one <see cref="NetlinkSocket"/> (in that socket's namespace).</summary>
internal sealed partial class RtNetlink : IDisposable
{
    private readonly NetlinkSocket _sock;

    public RtNetlink(NetlinkSocket sock) => _sock = sock;

    public static RtNetlink Host() => new(NetlinkSocket.Open());
    public static RtNetlink InNamespace(string netnsPath) => new(NetlinkSocket.OpenIn(netnsPath));

    public void Dispose() => _sock.Dispose();

    /// <summary>Index of the named link, or 0 when there is none.</summary>
    public int LinkIndex(string name)
    {
        int found = 0;
        var m = new NetlinkMessage(Nl.RTM_GETLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK).IfInfo(Nl.AF_UNSPEC, 0).Attr(Nl.IFLA_IFNAME, name);
        try
        {
            // A GETLINK by name answers with one RTM_NEWLINK message, then the ack (NLM_F_ACK): Dump reads both.
            _sock.Dump(m, "getlink " + name, (type, payload) =>
            {
                if (type == Nl.RTM_NEWLINK && payload.Length >= Nl.IfInfoMsgSize) found = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            });
        }
        catch (NativeException ex) when (ex.Errno is 19 /* ENODEV */) { return 0; }
        return found;
    }

    /// <summary>Names of all links in this namespace.</summary>
    public List<(int Index, string Name, int Master)> Links()
    {
        var list = new List<(int, string, int)>();
        var m = new NetlinkMessage(Nl.RTM_GETLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_DUMP).IfInfo(Nl.AF_UNSPEC, 0);
        _sock.Dump(m, "dump links", (type, payload) =>
        {
            if (type != Nl.RTM_NEWLINK || payload.Length < Nl.IfInfoMsgSize) return;
            int index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            string name = ""; int master = 0;
            var r = new NlAttrReader(payload[Nl.IfInfoMsgSize..]);
            while (r.Next(out var a))
            {
                if (a.Type == Nl.IFLA_IFNAME) name = a.AsString();
                else if (a.Type == Nl.IFLA_MASTER) master = (int)a.AsUInt32();
            }
            list.Add((index, name, master));
        });
        return list;
    }

    /// <summary>Creates a bridge (EEXIST tolerated: idempotent) and returns its index.</summary>
    public int CreateBridge(string name, byte[]? mac = null, int mtu = 0)
    {
        var m = new NetlinkMessage(Nl.RTM_NEWLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK | Nl.NLM_F_CREATE | Nl.NLM_F_EXCL)
            .IfInfo(Nl.AF_UNSPEC, 0).Attr(Nl.IFLA_IFNAME, name);
        if (mtu > 0) m.Attr(Nl.IFLA_MTU, (uint)mtu);
        if (mac is not null) m.Attr(Nl.IFLA_ADDRESS, mac);
        m.BeginNest(Nl.IFLA_LINKINFO).Attr(Nl.IFLA_INFO_KIND, "bridge").EndNest();
        _sock.Request(m, "create bridge " + name, Errno.EEXIST);
        return LinkIndex(name);
    }

    /// <summary>
    /// Creates a veth pair: <paramref name="hostName"/> here and <paramref name="peerName"/> created directly in the
    /// namespace given by <paramref name="peerNetnsFd"/>.
    /// </summary>
    /// <remarks>
    /// With <paramref name="master"/> and <paramref name="up"/> the one request also enslaves the host side to that
    /// bridge and sets it up, which would otherwise be two more round trips (the peer is set up by the caller).
    /// </remarks>
    public void CreateVethPair(string hostName, string peerName, int peerNetnsFd, byte[]? peerMac = null, int mtu = 0, int master = 0, bool up = false)
    {
        uint flags = up ? Nl.IFF_UP : 0;
        var m = new NetlinkMessage(Nl.RTM_NEWLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK | Nl.NLM_F_CREATE | Nl.NLM_F_EXCL)
            .IfInfo(Nl.AF_UNSPEC, 0, flags, flags).Attr(Nl.IFLA_IFNAME, hostName);
        if (mtu > 0) m.Attr(Nl.IFLA_MTU, (uint)mtu);
        if (master > 0) m.Attr(Nl.IFLA_MASTER, (uint)master);
        m.BeginNest(Nl.IFLA_LINKINFO).Attr(Nl.IFLA_INFO_KIND, "veth")
            .BeginNest(Nl.IFLA_INFO_DATA)
            .BeginNest(Nl.VETH_INFO_PEER)
            .IfInfo(Nl.AF_UNSPEC, 0) // the peer cannot be set up in this request: veth_open fails (ENOTCONN) until the pair is linked
            .Attr(Nl.IFLA_IFNAME, peerName);
        if (peerMac is not null) m.Attr(Nl.IFLA_ADDRESS, peerMac);
        if (peerNetnsFd >= 0) m.Attr(Nl.IFLA_NET_NS_FD, (uint)peerNetnsFd);
        if (mtu > 0) m.Attr(Nl.IFLA_MTU, (uint)mtu);
        m.EndNest().EndNest().EndNest();
        _sock.Request(m, $"create veth {hostName}/{peerName}");
    }

    /// <summary>Sets a link up (or down) and optionally enslaves it to a bridge.</summary>
    public void SetLink(int index, bool up, int master = -1)
    {
        var m = new NetlinkMessage(Nl.RTM_NEWLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK)
            .IfInfo(Nl.AF_UNSPEC, index, up ? Nl.IFF_UP : 0, Nl.IFF_UP);
        if (master >= 0) m.Attr(Nl.IFLA_MASTER, (uint)master);
        _sock.Request(m, "set link " + index);
    }

    /// <summary>Deletes a link by name; a missing link is fine (idempotent). Returns true when one was deleted.</summary>
    public bool DeleteLink(string name)
    {
        int index = LinkIndex(name);
        if (index == 0) return false;
        var m = new NetlinkMessage(Nl.RTM_DELLINK, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK).IfInfo(Nl.AF_UNSPEC, index);
        _sock.Request(m, "delete link " + name, 19 /* ENODEV */);
        return true;
    }

    /// <summary>Adds an address (EEXIST tolerated).</summary>
    public void AddAddress(int index, IPAddress address, int prefixLength)
    {
        int family = address.AddressFamily == AddressFamily.InterNetworkV6 ? Nl.AF_INET6 : Nl.AF_INET;
        byte[] a = address.GetAddressBytes();
        var m = new NetlinkMessage(Nl.RTM_NEWADDR, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK | Nl.NLM_F_CREATE | Nl.NLM_F_EXCL)
            .IfAddr(family, prefixLength, family == Nl.AF_INET6 ? Nl.IFA_F_NODAD : (byte)0, Nl.RT_SCOPE_UNIVERSE, index)
            .Attr(Nl.IFA_LOCAL, a).Attr(Nl.IFA_ADDRESS, a);
        _sock.Request(m, $"add address {address}/{prefixLength}", Errno.EEXIST);
    }

    /// <summary>Adds a default route via <paramref name="gateway"/> (EEXIST tolerated).</summary>
    public void AddDefaultRoute(IPAddress gateway, int outputIndex)
    {
        int family = gateway.AddressFamily == AddressFamily.InterNetworkV6 ? Nl.AF_INET6 : Nl.AF_INET;
        var m = new NetlinkMessage(Nl.RTM_NEWROUTE, Nl.NLM_F_REQUEST | Nl.NLM_F_ACK | Nl.NLM_F_CREATE | Nl.NLM_F_EXCL)
            .Rt(family, 0, Nl.RT_TABLE_MAIN, Nl.RTPROT_BOOT, Nl.RT_SCOPE_UNIVERSE, Nl.RTN_UNICAST)
            .Attr(Nl.RTA_GATEWAY, gateway.GetAddressBytes())
            .Attr(Nl.RTA_OIF, (uint)outputIndex);
        _sock.Request(m, "add default route via " + gateway, Errno.EEXIST);
    }

    /// <summary>All routes of the given family (main and local tables included).</summary>
    public List<RouteEntry> Routes(int family)
    {
        var list = new List<RouteEntry>();
        var m = new NetlinkMessage(Nl.RTM_GETROUTE, Nl.NLM_F_REQUEST | Nl.NLM_F_DUMP).Rt(family, 0, 0, 0, 0, 0);
        _sock.Dump(m, "dump routes", (type, payload) =>
        {
            if (type != 24 || payload.Length < Nl.RtMsgSize) return;
            int fam = payload[0], dstLen = payload[1]; byte table = payload[4];
            IPAddress? dst = null; int oif = 0;
            var r = new NlAttrReader(payload[Nl.RtMsgSize..]);
            while (r.Next(out var a))
            {
                if (a.Type == Nl.RTA_DST) dst = new IPAddress(a.Data);
                else if (a.Type == Nl.RTA_OIF) oif = (int)a.AsUInt32();
                else if (a.Type == Nl.RTA_TABLE) table = (byte)a.AsUInt32();
            }
            list.Add(new RouteEntry(dst, dstLen, oif, table));
        });
        return list;
    }

    /// <summary>All addresses of the given family.</summary>
    public List<AddressEntry> Addresses(int family)
    {
        var list = new List<AddressEntry>();
        var m = new NetlinkMessage(Nl.RTM_GETADDR, Nl.NLM_F_REQUEST | Nl.NLM_F_DUMP).IfAddr(family, 0, 0, 0, 0);
        _sock.Dump(m, "dump addresses", (type, payload) =>
        {
            if (type != Nl.RTM_NEWADDR || payload.Length < Nl.IfAddrMsgSize) return;
            int prefix = payload[1]; int index = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
            IPAddress? addr = null;
            var r = new NlAttrReader(payload[Nl.IfAddrMsgSize..]);
            while (r.Next(out var a))
                if (a.Type == Nl.IFA_LOCAL || (a.Type == Nl.IFA_ADDRESS && addr is null)) addr = new IPAddress(a.Data);
            if (addr is not null) list.Add(new AddressEntry(index, addr, prefix));
        });
        return list;
    }
}
