using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Containers.Engine.Networking.Bridge;
using Containers.Engine.Networking.Dns;
using Containers.Engine.Networking.Ipam;
using Containers.Engine.Networking.Ports;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Networking;

/// <summary>
/// Bridge networks of one storage root: their state (&lt;root&gt;/networks, atomic writes, one StoreLock for
/// every change so concurrent pwsh processes never hand out one address twice), the kernel plumbing, the
/// firewall chains, the DNS server and the port proxies.
/// </summary>
public sealed partial class NetworkManager
{
    public const string DefaultNetworkName = "bridge";
    public const string DnsDomain = "containers.internal";
    private const string LockName = "networks";

    private readonly StorageRoot _root;

    public NetworkManager(StorageRoot root) => _root = root;

    private string NetDir => _root.Sub("networks", "n");
    private string CtrDir => _root.Sub("networks", "c");
    private string NetPath(string name) => Path.Combine(NetDir, name + ".json");
    private string CtrPath(string id) => Path.Combine(CtrDir, id + ".json");

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    private static partial Regex NameRegex();

    // ---------------------------------------------------------------- state

    private StoreLock Lock(CancellationToken ct = default) => StoreLock.Acquire(_root, LockName, true, TimeSpan.FromSeconds(120), ct);

    private List<NetworkRecord> LoadAll()
    {
        if (!Directory.Exists(NetDir)) return [];
        var list = new List<NetworkRecord>();
        foreach (var f in Directory.GetFiles(NetDir, "*.json"))
            if (ReadNet(f) is { } r) list.Add(r);
        return list.OrderBy(r => r.Created).ToList();
    }

    // a network record that does not parse is reported and skipped (as if absent): one bad network must not
    // break listings, starts or DNS of containers on other networks
    private static NetworkRecord? ReadNet(string path)
    {
        try { return AtomicFile.ReadRecord<NetworkRecord>(path, "NetworkRecordCorrupt", "network record"); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { return SkippedRecords.Skip<NetworkRecord>(ex); }
    }

    // a network this call must use, change or create: an unreadable record of that name is this call's error
    // (NetworkRecordCorrupt), never read as absent, so it is not overwritten by a new network of the same name
    private NetworkRecord? Load(string name) =>
        NameRegex().IsMatch(name) ? AtomicFile.ReadRecord<NetworkRecord>(NetPath(name), "NetworkRecordCorrupt", "network record") : null;
    private void Save(NetworkRecord r, bool durable = true) => AtomicFile.WriteJson(NetPath(r.Name), r, durable);

    // What the provider set up for a container is written atomically but not synced: after a crash of the
    // machine nothing it describes (veths, proxy, running state) exists any more, and teardown works from the
    // network records (which hold the allocations, durably). A record torn by such a crash reads as absent.
    private ContainerNetRecord? LoadCtr(string id)
    {
        try { return AtomicFile.ReadJson<ContainerNetRecord>(CtrPath(id)); }
        catch (System.Text.Json.JsonException) { return null; }
    }

    private void SaveCtr(ContainerNetRecord r) => AtomicFile.WriteJson(CtrPath(r.ContainerId), r, durable: false);

    private static void DeleteFile(string path)
    {
        try { File.Delete(path); } catch (DirectoryNotFoundException) { }
    }

    private NetworkRecord Require(string name) =>
        Load(name) ?? throw ContainersException.NotFound("NetworkNotFound", Messages.NetworkNotFound(name), name);

    private ContainerNetRecord RequireCtr(string nameOrId)
    {
        if (Directory.Exists(CtrDir))
        {
            var all = Directory.GetFiles(CtrDir, "*.json").Select(f => LoadCtr(Path.GetFileNameWithoutExtension(f))).Where(r => r is not null).Select(r => r!).ToList();
            var hit = all.FirstOrDefault(r => r.ContainerName == nameOrId || r.ContainerId == nameOrId)
                ?? (nameOrId.Length >= 4 ? all.SingleOrDefault(r => r.ContainerId.StartsWith(nameOrId, StringComparison.Ordinal)) : null);
            if (hit is not null) return hit;
        }
        throw ContainersException.NotFound("ContainerNotFound", Messages.ContainerNotRunning(nameOrId), nameOrId);
    }

    // ---------------------------------------------------------------- networks

    public IReadOnlyList<ContainerNetworkInfo> List() => LoadAll().Select(r => new ContainerNetworkInfo(r, _root.Path)).ToList();

    public ContainerNetworkInfo Get(string name) => new(Require(name), _root.Path);

    public ContainerNetworkInfo Create(NetworkCreateOptions o, CancellationToken ct = default)
    {
        using var l = Lock(ct);
        return new ContainerNetworkInfo(CreateLocked(o, isDefault: false), _root.Path);
    }

    private NetworkRecord CreateLocked(NetworkCreateOptions o, bool isDefault)
    {
        if (!NameRegex().IsMatch(o.Name) || o.Name is "none" or "host")
            throw ContainersException.Invalid("InvalidNetworkName", Messages.InvalidName(o.Name), o.Name);
        if (Load(o.Name) is not null) throw ContainersException.Exists("NetworkExists", Messages.NetworkExists(o.Name), o.Name);
        var others = LoadAll();
        string id = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        var rec = new NetworkRecord
        {
            Name = o.Name, Id = id, Bridge = Firewall.BridgePrefix(_root) + "-" + id[..6], Internal = o.Internal, DnsEnabled = !o.DisableDns,
            IsDefault = isDefault, Labels = o.Labels is null ? new() : new Dictionary<string, string>(o.Labels), Created = DateTime.UtcNow,
            DnsUpstream = (o.DnsUpstream ?? []).Select(ValidateUpstream).ToList(),
        };
        // Subnet choice and bridge creation hold a host-wide lock: two storage roots never pick the same free subnet.
        // Rootless: the bridge is in the user's rootless network namespace (Rootless/RootlessNetns.cs), where only
        // slirp4netns's 10.0.2.0/24 is taken besides; the host's prefixes are still avoided, so a container's
        // address never shadows a host the user's containers should reach.
        bool rootless = Rootless.RootlessHost.Active;
        if (rootless && (o.IPv6 || o.IPv6Subnet is not null))
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported", "IPv6 on a rootless user network is not available yet; leave out -IPv6 and -IPv6Subnet.", o.Name);
        using (rootless ? null : HostLock())
        {
            var hostPrefixes = BridgeDriver.HostPrefixes();
            if (rootless) hostPrefixes.Add(IpNetwork.Parse("10.0.2.0/24", "subnet"));
            IpNetwork subnet;
            if (o.Subnet is not null)
            {
                subnet = IpNetwork.Parse(o.Subnet, "subnet");
                if (subnet.IsIPv6) throw ContainersException.Invalid("InvalidSubnet", Messages.InvalidSubnet("IPv4 subnet", o.Subnet), o.Subnet);
                CheckFree(subnet, others, hostPrefixes);
            }
            else subnet = PickSubnet(o.Name, others, hostPrefixes);
            if (subnet.PrefixLength > 30) throw ContainersException.Invalid("InvalidSubnet", Messages.SubnetTooSmall(subnet.ToString()), subnet.ToString());
            rec.Subnet = subnet.ToString();
            rec.Gateway = o.Gateway is null ? subnet.At(1).ToString() : CheckHost(o.Gateway, subnet, "gateway");
            if (o.IPRange is not null)
            {
                var r = IpNetwork.Parse(o.IPRange, "IP range");
                if (!subnet.Contains(r)) throw ContainersException.Invalid("InvalidIPRange", Messages.NotInSubnet("IP range", o.IPRange, rec.Subnet), o.IPRange);
                rec.IPRange = r.ToString();
            }
            if (o.IPv6 || o.IPv6Subnet is not null)
            {
                IpNetwork v6;
                if (o.IPv6Subnet is not null)
                {
                    v6 = IpNetwork.Parse(o.IPv6Subnet, "IPv6 subnet");
                    if (!v6.IsIPv6) throw ContainersException.Invalid("InvalidSubnet", Messages.InvalidSubnet("IPv6 subnet", o.IPv6Subnet), o.IPv6Subnet);
                    if (v6.PrefixLength > 126) throw ContainersException.Invalid("InvalidSubnet", Messages.SubnetTooSmall(v6.ToString()), v6.ToString());
                    CheckFree(v6, others, hostPrefixes);
                }
                else
                {
                    byte[] h = SHA256.HashData(Encoding.UTF8.GetBytes(_root.ScopeId + "/" + id));
                    var b = new byte[16]; b[0] = 0xfd; Array.Copy(h, 0, b, 1, 7);
                    v6 = new IpNetwork(new IPAddress(b), 64);
                }
                rec.IPv6Subnet = v6.ToString();
                rec.IPv6Gateway = v6.At(1).ToString();
            }
            // The firewall transaction (an iptables-restore process: the slowest step) runs while the record is
            // written and the bridge made; its rules name the bridge, which need not exist yet.
            var firewall = rootless ? Task.CompletedTask : Task.Run(() => Firewall.Sync(_root, [.. others, rec]));
            try
            {
                Save(rec);
                if (rootless) Rootless.RootlessNetns.EnsureBridge(rec);
                else BridgeDriver.EnsureBridge(rec);
                firewall.GetAwaiter().GetResult();
            }
            catch
            {
                try { firewall.Wait(); } catch (AggregateException) { } // never roll back under a running sync
                DeleteFile(NetPath(rec.Name));
                if (rootless)
                {
                    try { Rootless.RootlessNetns.DeleteBridge(rec.Bridge); } catch (ContainersException) { }
                    if (others.Count == 0) { try { Rootless.RootlessNetns.Remove(); } catch (ContainersException) { } }
                    throw;
                }
                try { BridgeDriver.DeleteBridge(rec.Bridge); } catch (ContainersException) { }
                try { Firewall.Sync(_root, others); } catch (ContainersException) { }
                throw;
            }
        }
        Events.EventLog.Record(_root, Model.ContainerEventType.Network, "create", rec.Id, rec.Name, ("bridge", rec.Bridge));
        return rec;
    }

    private static string ValidateUpstream(string s)
    {
        string host = s;
        if (s.StartsWith('[')) host = s[1..s.IndexOf(']')];
        else if (s.Count(c => c == ':') == 1) host = s[..s.IndexOf(':')];
        if (!IPAddress.TryParse(host, out _)) throw ContainersException.Invalid("InvalidDnsUpstream", Messages.InvalidAddress("DNS upstream", s), s);
        return s;
    }

    private static string CheckHost(string address, IpNetwork subnet, string what)
    {
        if (!IPAddress.TryParse(address, out var a)) throw ContainersException.Invalid("InvalidIPAddress", Messages.InvalidAddress(what, address), address);
        if (!subnet.Contains(a)) throw ContainersException.Invalid("AddressNotInSubnet", Messages.NotInSubnet(what, address, subnet.ToString()), address);
        var n = IpNetwork.ToNumber(a);
        if (n == subnet.First || (!subnet.IsIPv6 && n == subnet.Last))
            throw ContainersException.Invalid("AddressReserved", Messages.AddressReserved(address, subnet.ToString()), address);
        return a.ToString();
    }

    private static readonly IpNetwork[] Reserved =
    [
        IpNetwork.Parse("10.86.0.0/16", ""), IpNetwork.Parse("10.87.0.0/24", ""), IpNetwork.Parse("10.88.0.0/16", ""),
        IpNetwork.Parse("10.89.0.0/16", ""), IpNetwork.Parse("192.0.2.0/24", ""), IpNetwork.Parse("127.0.0.0/8", ""),
    ];

    private void CheckFree(IpNetwork subnet, List<NetworkRecord> others, List<IpNetwork> host)
    {
        foreach (var n in others)
        {
            if (IpNetwork.Parse(n.Subnet, "").Overlaps(subnet) || (n.IPv6Subnet is not null && IpNetwork.Parse(n.IPv6Subnet, "").Overlaps(subnet)))
                throw ContainersException.Conflict("SubnetInUse", Messages.SubnetInUse(subnet.ToString(), "network '" + n.Name + "'"), subnet.ToString());
        }
        foreach (var p in host.Concat(Reserved))
            if (p.Overlaps(subnet)) throw ContainersException.Conflict("SubnetInUse", Messages.SubnetInUse(subnet.ToString(), "a route on the host (" + p + ")"), subnet.ToString());
    }

    private IpNetwork PickSubnet(string name, List<NetworkRecord> others, List<IpNetwork> host)
    {
        // /24s in 10.90.0.0 - 10.127.255.0; the start depends on the root and the name, so roots spread out.
        const int count = 38 * 256;
        byte[] h = SHA256.HashData(Encoding.UTF8.GetBytes(_root.ScopeId + "/" + name));
        int start = (int)(BitConverter.ToUInt32(h, 0) % count);
        var taken = others.Select(n => IpNetwork.Parse(n.Subnet, "")).Concat(host).Concat(Reserved).ToList();
        for (int i = 0; i < count; i++)
        {
            int k = (start + i) % count;
            var cand = new IpNetwork(new IPAddress([10, (byte)(90 + k / 256), (byte)(k % 256), 0]), 24);
            if (!taken.Any(t => t.Overlaps(cand))) return cand;
        }
        throw ContainersException.Conflict("NoFreeSubnet", Messages.NoFreeSubnet);
    }

    private static IDisposable HostLock()
    {
        int fd = FileSys.Open("/run/pscontainers-subnets.lock", FileSys.O_RDWR | FileSys.O_CREAT, 0x180);
        FileSys.Flock(fd, FileSys.LOCK_EX);
        return new FdLock(fd);
    }

    private sealed class FdLock(int fd) : IDisposable
    {
        public void Dispose() { FileSys.Flock(fd, FileSys.LOCK_UN); FileSys.Close(fd); }
    }

    public void Remove(string name, bool force, CancellationToken ct = default)
    {
        using var l = Lock(ct);
        var rec = Require(name);
        if (rec.Endpoints.Count > 0 && !force)
            throw ContainersException.Conflict("NetworkInUse", Messages.NetworkInUse(name, rec.Endpoints.Count), name);
        foreach (var e in rec.Endpoints)
        {
            try { BridgeDriver.Detach(e); } catch (ContainersException) { }
            if (LoadCtr(e.ContainerId) is { } c) { c.Networks.Remove(name); SaveCtr(c); }
        }
        // removed containers' veths the kernel is still deleting: nothing of the network may stay behind
        FinishReleases(rec, wait: true);
        if (Rootless.RootlessHost.Active) { RemoveRootless(rec); return; }
        BridgeDriver.DeleteBridge(rec.Bridge);
        DeleteFile(NetPath(name));
        Events.EventLog.Record(_root, Model.ContainerEventType.Network, "remove", rec.Id, rec.Name);
        var rest = LoadAll();
        Firewall.Sync(_root, rest);
        DnsService.Update(_root, rest);
    }

    // ---------------------------------------------------------------- containers

    /// <summary>Connects a container the provider set up to one more network (live when it runs).</summary>
    public ContainerNetworkInfo Connect(string container, string network, IReadOnlyList<string>? aliases, string? ipv4, string? ipv6, CancellationToken ct = default)
    {
        using var l = Lock(ct);
        var c = RequireCtrOnUserNetwork(container);
        var net = network == DefaultNetworkName && Load(network) is null ? CreateLocked(new NetworkCreateOptions { Name = network }, true) : Require(network);
        if (net.Endpoints.Any(e => e.ContainerId == c.ContainerId))
            throw ContainersException.Conflict("ContainerAlreadyConnected", Messages.ContainerAlreadyConnected(c.ContainerName, network), container);
        var ep = Allocate(net, c, new NetworkRequest(network, aliases ?? [], ipv4, ipv6), NextInterface(c));
        Save(net);
        c.Networks.Add(network);
        if (c.Running)
        {
            try
            {
                if (Rootless.RootlessHost.Active) AttachRootless(c, net, ep, defaultRoute: !HasDefaultRoute(c, net));
                else BridgeDriver.Attach(net, ep, c.NetNsPath, defaultRoute: !HasDefaultRoute(c, net));
                ep.Active = true;
                Save(net);
            }
            catch
            {
                try { DetachEndpoint(ep); } catch (ContainersException) { }
                net.Endpoints.Remove(ep); Save(net);
                throw;
            }
        }
        SaveCtr(c);
        if (Rootless.RootlessHost.Active) RewriteRootlessSpec(c);
        DnsService.Update(_root, LoadAll());
        Events.EventLog.Record(_root, Model.ContainerEventType.Network, "connect", net.Id, net.Name, ("container", c.ContainerId), ("containerName", c.ContainerName));
        return new ContainerNetworkInfo(net, _root.Path);
    }

    public ContainerNetworkInfo Disconnect(string container, string network, CancellationToken ct = default)
    {
        using var l = Lock(ct);
        var c = RequireCtrOnUserNetwork(container);
        var net = Require(network);
        var ep = net.Endpoints.FirstOrDefault(e => e.ContainerId == c.ContainerId)
            ?? throw ContainersException.Conflict("ContainerNotConnected", Messages.ContainerNotConnected(c.ContainerName, network), container);
        DetachEndpoint(ep);
        net.Endpoints.Remove(ep);
        Save(net);
        c.Networks.Remove(network);
        SaveCtr(c);
        if (Rootless.RootlessHost.Active) RewriteRootlessSpec(c);
        DnsService.Update(_root, LoadAll());
        Events.EventLog.Record(_root, Model.ContainerEventType.Network, "disconnect", net.Id, net.Name, ("container", c.ContainerId), ("containerName", c.ContainerName));
        return new ContainerNetworkInfo(net, _root.Path);
    }

    private bool HasDefaultRoute(ContainerNetRecord c, NetworkRecord except) =>
        c.Networks.Where(n => n != except.Name).Select(Load).Any(n => n is { Internal: false } && n.Endpoints.Any(e => e.ContainerId == c.ContainerId && e.Active));

    private string NextInterface(ContainerNetRecord c)
    {
        var used = c.Networks.Select(Load).Where(n => n is not null)
            .SelectMany(n => n!.Endpoints.Where(e => e.ContainerId == c.ContainerId).Select(e => e.Interface)).ToHashSet();
        for (int i = 0; ; i++) if (!used.Contains("eth" + i)) return "eth" + i;
    }

    private EndpointRecord Allocate(NetworkRecord net, ContainerNetRecord c, NetworkRequest req, string ifname)
    {
        var subnet = IpNetwork.Parse(net.Subnet, "subnet");
        var ep = new EndpointRecord
        {
            ContainerId = c.ContainerId, ContainerName = c.ContainerName, Interface = ifname,
            Aliases = req.Aliases.Where(a => !string.IsNullOrWhiteSpace(a)).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
            HostInterface = "pv" + _root.ScopeId + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(c.ContainerId + "/" + net.Id)), 0, 4).ToLowerInvariant()[..7],
        };
        ReleaseAddressNow(net, req.IPv4Address);
        ReleaseAddressNow(net, req.IPv6Address);
        ep.IPv4Address = PickAddress(net, subnet, net.IPRange is null ? subnet : IpNetwork.Parse(net.IPRange, ""), net.Gateway, req.IPv4Address, e => e.IPv4Address);
        if (net.IPv6Subnet is not null)
        {
            var s6 = IpNetwork.Parse(net.IPv6Subnet, "");
            ep.IPv6Address = PickAddress(net, s6, s6, net.IPv6Gateway!, req.IPv6Address, e => e.IPv6Address);
        }
        var ip = IPAddress.Parse(ep.IPv4Address).GetAddressBytes();
        ep.MacAddress = $"02:50:{ip[0]:x2}:{ip[1]:x2}:{ip[2]:x2}:{ip[3]:x2}";
        net.Endpoints.Add(ep);
        return ep;
    }

    private static string PickAddress(NetworkRecord net, IpNetwork subnet, IpNetwork range, string gateway, string? wanted, Func<EndpointRecord, string?> sel)
    {
        // a deferred teardown's addresses are taken until its veth is gone (the same address and MAC on two ports)
        var used = net.Endpoints.Select(sel)
            .Concat(net.Releasing.Select(r => sel(new EndpointRecord { IPv4Address = r.IPv4Address, IPv6Address = r.IPv6Address })))
            .Where(a => a is not null).Select(a => IpNetwork.ToNumber(IPAddress.Parse(a!))).ToHashSet();
        UInt128 gw = IpNetwork.ToNumber(IPAddress.Parse(gateway));
        if (!string.IsNullOrEmpty(wanted))
        {
            string a = CheckHost(wanted, subnet, "IP address");
            var n = IpNetwork.ToNumber(IPAddress.Parse(a));
            if (n == gw) throw ContainersException.Invalid("AddressReserved", Messages.AddressReserved(a, net.Name), a);
            if (used.Contains(n))
            {
                var by = net.Endpoints.First(e => sel(e) is { } s && IpNetwork.ToNumber(IPAddress.Parse(s)) == n).ContainerName;
                throw ContainersException.Conflict("AddressInUse", Messages.AddressInUse(a, net.Name, by), a);
            }
            return a;
        }
        UInt128 limit = UInt128.Min(range.Size, 1 << 20);
        for (UInt128 k = 0; k < limit; k++)
        {
            UInt128 n = range.First + k;
            if (n == subnet.First || n == gw || (!subnet.IsIPv6 && n == subnet.Last) || used.Contains(n)) continue;
            return IpNetwork.FromNumber(n, subnet.IsIPv6).ToString();
        }
        throw ContainersException.Conflict("NoFreeAddress", Messages.NoFreeAddress(net.Name), net.Name);
    }
}
