using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Containers.Engine.State;

namespace Containers.Engine.Networking.Dns;

/// <summary>
/// The per-root DNS server (containers-helper dns): it reads &lt;root&gt;/networks/dns.conf, which this class
/// rewrites atomically on every change and then announces on the server's control socket (the server re-reads
/// and acknowledges, so the change is live on return); it answers on each network's gateway address(es),
/// port 53, and exits when no network needs it. Lines: "N name internal domain listen,.. upstream,..|-", "R network name ip container-id",
/// "G generation".
/// </summary>
internal static class DnsService
{
    public const string Mode = "dns";
    public static string ConfigPath(StorageRoot root) => root.Sub("networks", "dns.conf");
    private static string PidPath(StorageRoot root) => root.Sub("networks", "dns.pid");

    /// <summary>Rewrites the records and makes sure the server runs (or stops it when nothing needs DNS).</summary>
    public static void Update(StorageRoot root, IReadOnlyList<NetworkRecord> networks)
    {
        // Only networks with a running container need an answer: no container, no process. A running server listens
        // on every DNS network's gateway, so a start or removal on a network it already serves changes only names,
        // which it re-reads before each answer: nothing to wait for (below).
        if (Rootless.RootlessHost.Active) { UpdateRootless(root, networks); return; }
        var dnsNets = networks.Where(n => n.DnsEnabled && n.Endpoints.Any(e => e.Active)).ToList();
        string conf = ConfigPath(root);
        int pid = ReadPid(root);
        bool alive = HelperProcess.IsAlive(pid, Mode, conf);
        Diagnostics.StepTimes.Mark("dns.alive");
        if (networks.Count == 0 || (dnsNets.Count == 0 && !alive))
        {
            // No network at all (or nothing running and no server): nothing needs DNS now.
            HelperProcess.Stop(pid, Mode, conf);
            TryDelete(conf); TryDelete(PidPath(root));
            return;
        }
        long gen = DateTime.UtcNow.Ticks;
        string text = ConfigText(networks, dnsNets, gen, HostUpstreams());
        string listening = alive ? ListenLines(ReadOrEmpty(conf)) : "";
        AtomicFile.ReplaceVolatile(conf, Encoding.UTF8.GetBytes(text));
        Diagnostics.StepTimes.Mark("dns.write");
        string control = ControlName(root);
        // A running server that listens on the same networks already needs nothing new: it re-reads the names
        // before each answer, and is only told (no wait) so that it need not look. Otherwise it is told and answers
        // when it has re-read the config and bound any new gateway address, so the change is live when this
        // returns. With no container running it lingers a few seconds and exits by itself, so a run of
        // short-lived containers does not start one server per container.
        if (alive && listening.Length > 0 && listening == ListenLines(text) && Notify(control, gen)) { Diagnostics.StepTimes.Mark("dns.notify"); return; }
        if (alive && RequestReload(control, gen)) return;
        if (dnsNets.Count == 0) return;
        // A server this root's pid file does not name can still hold the control socket: a session killed between
        // starting it and recording its pid, or a server too slow to answer within the wait. It answers on the
        // same name (a refused send costs nothing when none listens); starting another would fail with
        // "Address already in use" (DnsServerFailed), as the first start after a killed start once did.
        if (!alive && RequestReload(control, gen))
        {
            // record it, so the root's later changes and its last network's removal reach it by pid as usual
            if (FindServer(conf) is int found and > 0) AtomicFile.WriteAllText(PidPath(root), found.ToString(), durable: false);
            return;
        }
        // No server, or one that is exiting (its control socket closed) or does not answer: start a new one.
        HelperProcess.Stop(pid, Mode, conf);
        var (newPid, lines) = HelperProcess.Start(Mode, [conf, control], TimeSpan.FromSeconds(10));
        // the holder of the name was there after all (slow to answer above): ask it again, it serves this config
        if (newPid < 0 && lines.Any(l => l.Contains("control socket", StringComparison.Ordinal)) && RequestReload(control, gen)) return;
        if (newPid < 0) throw Errors.ContainersException.System("DnsServerFailed", Messages.HelperFailed(Mode, string.Join("; ", lines)), conf);
        AtomicFile.WriteAllText(PidPath(root), newPid.ToString(), durable: false);
    }

    /// <summary>The server's config: "G", then an "N" line per DNS network and an "R" line per running container's name.</summary>
    private static string ConfigText(IReadOnlyList<NetworkRecord> networks, List<NetworkRecord> dnsNets, long gen, List<string> host)
    {
        var sb = new StringBuilder();
        sb.Append("G ").Append(gen).Append('\n');
        foreach (var n in networks.Where(n => n.DnsEnabled))
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
        return sb.ToString();
    }

    /// <summary>
    /// Rootless (Rootless/RootlessNetns.cs): the server runs in the user's rootless network namespace, started through
    /// nsenter, where the gateways are; the control socket (abstract, so per network namespace) is out of the engine's
    /// reach there, and the server re-reads the file when it changed (before each answer and every second): the
    /// engine writes it and starts a server only when none runs. Upstream: slirp4netns's forwarder, 10.0.2.3.
    /// </summary>
    private static void UpdateRootless(StorageRoot root, IReadOnlyList<NetworkRecord> networks)
    {
        var dnsNets = networks.Where(n => n.DnsEnabled && n.Endpoints.Any(e => e.Active)).ToList();
        string conf = ConfigPath(root);
        int pid = ReadPid(root);
        bool alive = HelperProcess.IsAlive(pid, Mode, conf);
        // a server in a namespace that is not the holder's any more (the holder was made again after it was lost)
        // keeps that namespace alive and serves no one: it ends
        if (alive && !Rootless.RootlessNetns.IsInside(pid)) { HelperProcess.Stop(pid, Mode, conf); alive = false; }
        if (networks.Count == 0 || (dnsNets.Count == 0 && !alive))
        {
            HelperProcess.Stop(pid, Mode, conf);
            TryDelete(conf); TryDelete(PidPath(root));
            return;
        }
        AtomicFile.ReplaceVolatile(conf, Encoding.UTF8.GetBytes(ConfigText(networks, dnsNets, DateTime.UtcNow.Ticks, ["10.0.2.3"])));
        if (alive || dnsNets.Count == 0) return;
        var enter = Rootless.RootlessNetns.EnterPrefix(Rootless.RootlessNetns.Ensure()).ToList();
        var (newPid, lines) = HelperProcess.Start(Mode, [conf], TimeSpan.FromSeconds(10), enter);
        if (newPid < 0) throw Errors.ContainersException.System("DnsServerFailed", Messages.HelperFailed(Mode, string.Join("; ", lines)), conf);
        AtomicFile.WriteAllText(PidPath(root), newPid.ToString(), durable: false);
    }

    /// <summary>The pid of this root's DNS server found by its command line (dns &lt;config&gt; ...), or 0.</summary>
    private static int FindServer(string conf)
    {
        foreach (var d in Directory.EnumerateDirectories("/proc"))
            if (int.TryParse(Path.GetFileName(d), out int pid) && HelperProcess.IsAlive(pid, Mode, conf)) return pid;
        return 0;
    }

    /// <summary>The server's control socket: an abstract name in the host's network namespace, unique per root.</summary>
    private static string ControlName(StorageRoot root) =>
        "pscontainers-dns-" + root.ScopeId + "-" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(root.Path)), 0, 6).ToLowerInvariant();

    /// <summary>The "N" lines of a config: the networks the server listens for.</summary>
    private static string ListenLines(string conf) =>
        string.Join('\n', conf.Split('\n').Where(l => l.StartsWith("N ", StringComparison.Ordinal)));

    /// <summary>Sends "reload &lt;gen&gt;" without waiting for the answer; false when no server listens.</summary>
    private static bool Notify(string control, long gen)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try { s.SendTo(Encoding.ASCII.GetBytes("reload " + gen), new UnixDomainSocketEndPoint("\0" + control)); return true; }
        catch (SocketException) { return false; }
    }

    /// <summary>Sends "reload &lt;gen&gt;" and waits for "ok &lt;gen or later&gt;"; false when no server listens or it does not answer.</summary>
    private static bool RequestReload(string control, long gen)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            s.Bind(new UnixDomainSocketEndPoint("\0" + control + "-c" + Environment.ProcessId + "-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4))));
            s.SendTo(Encoding.ASCII.GetBytes("reload " + gen), new UnixDomainSocketEndPoint("\0" + control));
            s.ReceiveTimeout = 2000;
            var buf = new byte[64];
            while (true)
            {
                int n = s.Receive(buf);
                string reply = Encoding.ASCII.GetString(buf, 0, n);
                if (reply.StartsWith("ok ", StringComparison.Ordinal) && long.TryParse(reply.AsSpan(3), out long got) && got >= gen) return true;
            }
        }
        catch (SocketException) { return false; }
    }

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
