using System.Text;
using Containers.Engine.State;

namespace Containers.Engine.Networking.Dns;

/// <summary>
/// The per-root DNS server (containers-helper dns): it reads &lt;root&gt;/networks/dns.conf, which this class
/// rewrites atomically on every change, answers on each network's gateway address(es), port 53, and exits
/// when no network needs it. Lines: "N name internal domain listen,.. upstream,..|-", "R network name ip container-id",
/// "G generation".
/// </summary>
internal static class DnsService
{
    public const string Mode = "dns";
    public static string ConfigPath(StorageRoot root) => root.Sub("networks", "dns.conf");
    private static string PidPath(StorageRoot root) => root.Sub("networks", "dns.pid");
    private static string AckPath(StorageRoot root) => root.Sub("networks", "dns.ack");

    /// <summary>Rewrites the records and makes sure the server runs (or stops it when nothing needs DNS).</summary>
    public static void Update(StorageRoot root, IReadOnlyList<NetworkRecord> networks)
    {
        // Only networks with a running container need an answer: no container, no process.
        var dnsNets = networks.Where(n => n.DnsEnabled && n.Endpoints.Any(e => e.Active)).ToList();
        string conf = ConfigPath(root);
        int pid = ReadPid(root);
        if (dnsNets.Count == 0)
        {
            HelperProcess.Stop(pid, Mode, conf);
            TryDelete(conf); TryDelete(PidPath(root)); TryDelete(AckPath(root));
            return;
        }
        string old = File.Exists(conf) ? File.ReadAllText(conf) : "";
        long gen = DateTime.UtcNow.Ticks;
        var sb = new StringBuilder();
        sb.Append("G ").Append(gen).Append('\n');
        var host = HostUpstreams();
        foreach (var n in dnsNets)
        {
            var listen = new List<string> { n.Gateway };
            if (n.IPv6Gateway is not null) listen.Add(n.IPv6Gateway);
            var up = n.Internal ? [] : (n.DnsUpstream.Count > 0 ? n.DnsUpstream : host);
            sb.Append($"N {n.Name} {(n.Internal ? 1 : 0)} {n.Domain} {string.Join(',', listen)} {(up.Count == 0 ? "-" : string.Join(',', up))}\n");
        }
        foreach (var n in dnsNets)
            foreach (var e in n.Endpoints.Where(e => e.Active))
                foreach (var name in new[] { e.ContainerName }.Concat(e.Aliases).Distinct(StringComparer.OrdinalIgnoreCase))
                {
                    if (e.IPv4Address is not null) sb.Append($"R {n.Name} {name.ToLowerInvariant()} {e.IPv4Address} {e.ContainerId}\n");
                    if (e.IPv6Address is not null) sb.Append($"R {n.Name} {name.ToLowerInvariant()} {e.IPv6Address} {e.ContainerId}\n");
                }
        string text = sb.ToString();
        bool listenChanged = ListenSet(old) != ListenSet(text);
        AtomicFile.WriteAllText(conf, text, durable: false);
        if (!HelperProcess.IsAlive(pid, Mode, conf))
        {
            var (newPid, lines) = HelperProcess.Start(Mode, [conf], TimeSpan.FromSeconds(10));
            if (newPid < 0) throw Errors.ContainersException.System("DnsServerFailed", Messages.HelperFailed(Mode, string.Join("; ", lines)), conf);
            AtomicFile.WriteAllText(PidPath(root), newPid.ToString(), durable: false);
        }
        else if (listenChanged)
        {
            // The server polls for changes; wait until it has bound the new addresses so a container's first query finds it.
            var deadline = DateTime.UtcNow.AddSeconds(3);
            while (DateTime.UtcNow < deadline)
            {
                if (long.TryParse(ReadOrEmpty(AckPath(root)), out long ack) && ack >= gen) break;
                Thread.Sleep(10);
            }
        }
    }

    private static string ListenSet(string conf) =>
        string.Join("|", conf.Split('\n').Where(l => l.StartsWith("N ", StringComparison.Ordinal)).Select(l => l.Split(' ').ElementAtOrDefault(4)).Order(StringComparer.Ordinal));

    /// <summary>The host's resolvers from /etc/resolv.conf (the DNS server runs on the host, so loopback ones work too).</summary>
    public static List<string> HostUpstreams()
    {
        var list = new List<string>();
        try
        {
            foreach (var l in File.ReadAllLines("/etc/resolv.conf"))
            {
                var p = l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (p.Length >= 2 && p[0] == "nameserver") list.Add(p[1]);
            }
        }
        catch (IOException) { }
        return list;
    }

    private static int ReadPid(StorageRoot root) => int.TryParse(ReadOrEmpty(PidPath(root)), out int p) ? p : 0;
    private static string ReadOrEmpty(string p) { try { return File.ReadAllText(p).Trim(); } catch (IOException) { return ""; } }
    private static void TryDelete(string p) { try { File.Delete(p); } catch (IOException) { } }
}
