using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Containers.Helper.Net;

/// <summary>
/// containers-helper dns &lt;config&gt;: the per-root DNS server. Answers A/AAAA for container names and aliases
/// on each network's gateway address (port 53, UDP), NXDOMAIN for unknown single-label names and names under
/// the network's domain, forwards the rest to the network's upstreams (none on internal networks). Re-reads
/// its config when the engine asks on the control socket after rewriting it, and when the file changed, before
/// each answer and every second; listens on every network the config lists, and exits when it has listed no
/// container for 5 s.
/// </summary>
internal static class DnsServer
{
    private sealed class Net
    {
        public string Name = "";
        public bool Internal;
        public string Domain = "";
        public List<IPEndPoint> Upstreams = new();
        public Dictionary<string, List<IPAddress>> Records = new(StringComparer.Ordinal);
        /// <summary>Reverse records: each container address to the container's name (the first name the config
        /// lists for it; aliases follow it), for PTR queries.</summary>
        public Dictionary<IPAddress, string> Reverse = new();
    }

    private sealed class Config
    {
        public long Generation;
        public Dictionary<string, Net> ByName = new();
        public Dictionary<IPAddress, Net> ByListen = new();
        public Dictionary<IPAddress, List<Net>> BySource = new();
    }

    private static string _path = "";
    private static Config _cfg = new();
    private static readonly Dictionary<IPAddress, Socket> Sockets = new();

    public static int Run(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("usage: containers-helper dns <config> [<control socket name>]"); return 2; }
        _path = args[1];
        Detach.NewSession();
        if (!File.Exists(_path)) { Console.Out.WriteLine("error no config"); return 1; }
        // The control socket (abstract, in the host's network namespace): the engine sends "reload <generation>"
        // after rewriting the config and waits for "ok <generation>", so a change is live the moment the engine
        // returns, with no polling on either side.
        Socket? control = null;
        if (args.Length >= 3)
        {
            control = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            try { control.Bind(new UnixDomainSocketEndPoint("\0" + args[2])); }
            catch (SocketException ex) { Console.Out.WriteLine("error control socket: " + ex.Message); return 1; }
        }
        Reload(force: true);
        Detach.Ready();
        var buf = new byte[4096];
        var ready = new List<Socket>();
        var lastCheck = DateTime.UtcNow;
        DateTime? idleSince = null;
        while (true)
        {
            ready.Clear();
            ready.AddRange(Sockets.Values);
            if (control is not null) ready.Add(control);
            if (ready.Count > 0) Socket.Select(ready, null, null, 1_000_000);
            else Thread.Sleep(1000);
            if (control is not null && ready.Remove(control))
            {
                bool any = ServeControl(control);
                if (any) idleSince = null;
            }
            if ((DateTime.UtcNow - lastCheck).TotalMilliseconds >= 1000)
            {
                // Nothing to serve for 5 s (or the config is gone): exit. The control socket closes first, so an
                // engine that rewrites the config now finds no server and starts a new one.
                lastCheck = DateTime.UtcNow;
                if (!File.Exists(_path)) { control?.Dispose(); return 0; }
                if (Reload()) idleSince = null;
                else if ((idleSince ??= DateTime.UtcNow) < DateTime.UtcNow.AddSeconds(-5)) { control?.Dispose(); return 0; }
            }
            foreach (var s in ready)
            {
                EndPoint from = new IPEndPoint(s.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
                int n;
                try { n = s.ReceiveFrom(buf, ref from); }
                catch (SocketException) { continue; }
                catch (ObjectDisposedException) { continue; }
                var local = ((IPEndPoint)s.LocalEndPoint!).Address;
                try { Handle(s, local, (IPEndPoint)from, buf.AsSpan(0, n).ToArray()); }
                catch (Exception ex) { Log("query failed: " + ex); /* a malformed query gets no answer */ }
            }
        }
    }

    /// <summary>Answers one "reload &lt;generation&gt;" datagram: re-reads the config (binding new addresses) and replies "ok &lt;generation read&gt;".</summary>
    private static bool ServeControl(Socket control)
    {
        var buf = new byte[256];
        EndPoint from = new UnixDomainSocketEndPoint("\0-");
        int n;
        try { n = control.ReceiveFrom(buf, ref from); }
        catch (SocketException) { return false; }
        string msg = Encoding.ASCII.GetString(buf, 0, n);
        if (!msg.StartsWith("reload", StringComparison.Ordinal)) return false;
        bool any = Reload(force: true);
        try { control.SendTo(Encoding.ASCII.GetBytes("ok " + _cfg.Generation), from); }
        catch (SocketException) { } // the engine gave up waiting; it will start a new server
        return any;
    }

    /// <summary>
    /// Re-reads the config if it changed (its generation line differs: the engine may rewrite it several times within
    /// one tick of the file system's clock, and no longer waits for an answer when only names changed); false when
    /// the server should exit: no container's names to serve.
    /// </summary>
    private static bool Reload(bool force = false)
    {
        string[] lines;
        try { lines = File.ReadAllLines(_path); }
        catch (FileNotFoundException) { return false; }
        catch (DirectoryNotFoundException) { return false; }
        catch (IOException) { return true; }
        long gen = lines.Length > 0 && lines[0].StartsWith("G ", StringComparison.Ordinal) && long.TryParse(lines[0].AsSpan(2), out long g) ? g : -1;
        if (!force && gen >= 0 && gen == _cfg.Generation) return _cfg.BySource.Count > 0;
        var cfg = new Config();
        var byCtr = new Dictionary<string, (List<IPAddress> Ips, List<Net> Nets)>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var f = line.Split(' ');
            if (f.Length >= 2 && f[0] == "G") long.TryParse(f[1], out cfg.Generation);
            else if (f.Length >= 6 && f[0] == "N")
            {
                var net = new Net { Name = f[1], Internal = f[2] == "1", Domain = f[3].ToLowerInvariant() };
                if (f[5] != "-") foreach (var u in f[5].Split(',')) if (ParseEndpoint(u) is { } ep) net.Upstreams.Add(ep);
                cfg.ByName[net.Name] = net;
                foreach (var l in f[4].Split(',')) if (IPAddress.TryParse(l, out var a)) cfg.ByListen[a] = net;
            }
            else if (f.Length >= 4 && f[0] == "R" && cfg.ByName.TryGetValue(f[1], out var rn) && IPAddress.TryParse(f[3], out var ip))
            {
                if (!rn.Records.TryGetValue(f[2], out var list)) rn.Records[f[2]] = list = new List<IPAddress>();
                list.Add(ip);
                rn.Reverse.TryAdd(ip, f[2]);
                string cid = f.Length >= 5 ? f[4] : f[3];
                if (!byCtr.TryGetValue(cid, out var c)) byCtr[cid] = c = (new List<IPAddress>(), new List<Net>());
                if (!c.Ips.Contains(ip)) c.Ips.Add(ip);
                if (!c.Nets.Contains(rn)) c.Nets.Add(rn);
            }
        }
        // A query from any of a container's addresses sees the names of every network the container is on.
        foreach (var (ips, nets) in byCtr.Values)
            foreach (var ip in ips) cfg.BySource[ip] = nets;
        _cfg = cfg;
        // Bind new listen addresses, close the ones no longer listed.
        foreach (var a in Sockets.Keys.Where(a => !cfg.ByListen.ContainsKey(a)).ToList()) { Sockets[a].Dispose(); Sockets.Remove(a); }
        foreach (var a in cfg.ByListen.Keys.Where(a => !Sockets.ContainsKey(a)))
        {
            var s = new Socket(a.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                // IP_FREEBIND / IPV6_FREEBIND: bind even while the bridge address is still tentative.
                if (a.AddressFamily == AddressFamily.InterNetwork) s.SetRawSocketOption(0 /* SOL_IP */, 15, BitConverter.GetBytes(1));
                else s.SetRawSocketOption(41 /* SOL_IPV6 */, 78, BitConverter.GetBytes(1));
                s.Bind(new IPEndPoint(a, 53));
                Sockets[a] = s;
            }
            catch (SocketException ex) { Log($"cannot listen on {a}:53: {ex.Message}"); s.Dispose(); }
        }
        return cfg.BySource.Count > 0;
    }

    private static void Log(string text)
    {
        try { File.AppendAllText(Path.Combine(Path.GetDirectoryName(_path)!, "dns.log"), DateTime.UtcNow.ToString("o") + " " + text + "\n"); } catch (IOException) { }
    }

    private static IPEndPoint? ParseEndpoint(string s)
    {
        if (IPAddress.TryParse(s, out var a)) return new IPEndPoint(a, 53);
        return IPEndPoint.TryParse(s, out var ep) ? ep : null;
    }

    private static void Handle(Socket s, IPAddress local, IPEndPoint from, byte[] q)
    {
        if (q.Length < 12) return;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(2));
        if ((flags & 0x8000) != 0) return; // a response, not a query
        int qd = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(4));
        if (qd != 1) { Reply(s, from, q, 12, 4, []); return; }
        int pos = 12;
        var name = new StringBuilder();
        while (true)
        {
            int len = q[pos++];
            if (len == 0) break;
            if (len > 63) return;
            if (name.Length > 0) name.Append('.');
            name.Append(Encoding.ASCII.GetString(q, pos, len));
            pos += len;
        }
        ushort qtype = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(pos));
        int qend = pos + 4;
        Reload();
        var cfg = _cfg;
        if (!cfg.ByListen.TryGetValue(local, out var listenNet)) return;
        var nets = new List<Net> { listenNet };
        if (cfg.BySource.TryGetValue(Normalize(from.Address), out var srcNets)) foreach (var n in srcNets) if (!nets.Contains(n)) nets.Add(n);

        string qn = name.ToString().ToLowerInvariant().TrimEnd('.');
        // PTR for a container's address (docker's embedded DNS answers them too): the container's name on the
        // network, under the network's domain. Other addresses go on as unknown names do (upstream, or refused).
        if ((qtype == 12 || qtype == 255) && ReverseAddress(qn) is { } rip)
        {
            foreach (var n in nets)
                if (n.Reverse.TryGetValue(rip, out var host))
                {
                    ReplyPtr(s, from, q, qend, n.Domain.Length > 0 ? host + "." + n.Domain : host);
                    return;
                }
        }
        string domain = listenNet.Domain;
        string local1 = qn.EndsWith("." + domain, StringComparison.Ordinal) ? qn[..^(domain.Length + 1)] : qn;
        List<IPAddress>? found = null;
        foreach (var n in nets)
        {
            if (n.Records.TryGetValue(local1, out var l) || n.Records.TryGetValue(qn, out l))
                (found ??= new()).AddRange(l);
        }
        if (found is not null)
        {
            var want = qtype switch { 1 => AddressFamily.InterNetwork, 28 => AddressFamily.InterNetworkV6, 255 => AddressFamily.Unspecified, _ => (AddressFamily)(-1) };
            var answers = found.Distinct().Where(a => want == AddressFamily.Unspecified || a.AddressFamily == want).ToList();
            Reply(s, from, q, qend, 0, answers);
            return;
        }
        bool ours = !local1.Contains('.') || qn == domain || qn.EndsWith("." + domain, StringComparison.Ordinal);
        if (ours) { Reply(s, from, q, qend, 3, []); return; }
        if (listenNet.Internal || listenNet.Upstreams.Count == 0) { Reply(s, from, q, qend, 5, []); return; }
        var ups = listenNet.Upstreams;
        ThreadPool.QueueUserWorkItem(_ => Forward(s, from, q, qend, ups));
    }

    /// <summary>The address a reverse name stands for: d.c.b.a.in-addr.arpa, or 32 nibbles.ip6.arpa; null otherwise.</summary>
    internal static IPAddress? ReverseAddress(string qn)
    {
        if (qn.EndsWith(".in-addr.arpa", StringComparison.Ordinal))
        {
            var p = qn[..^".in-addr.arpa".Length].Split('.');
            if (p.Length != 4) return null;
            var b = new byte[4];
            for (int i = 0; i < 4; i++)
                if (!byte.TryParse(p[3 - i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out b[i]) || p[3 - i].Length > 3) return null;
            return new IPAddress(b);
        }
        if (qn.EndsWith(".ip6.arpa", StringComparison.Ordinal))
        {
            var p = qn[..^".ip6.arpa".Length].Split('.');
            if (p.Length != 32) return null;
            var b = new byte[16];
            for (int i = 0; i < 32; i++)
            {
                string nib = p[31 - i];
                if (nib.Length != 1 || !Uri.IsHexDigit(nib[0])) return null;
                int v = Convert.ToInt32(nib, 16);
                b[i / 2] |= (byte)(i % 2 == 0 ? v << 4 : v);
            }
            return new IPAddress(b);
        }
        return null;
    }

    /// <summary>Answers a PTR query with one name (the query's name, compressed, then the target's labels).</summary>
    private static void ReplyPtr(Socket s, EndPoint to, byte[] q, int qend, string target)
    {
        var labels = target.Split('.', StringSplitOptions.RemoveEmptyEntries);
        var rdata = new List<byte>();
        foreach (var l in labels)
        {
            var bytes = Encoding.ASCII.GetBytes(l);
            if (bytes.Length is 0 or > 63) return;
            rdata.Add((byte)bytes.Length);
            rdata.AddRange(bytes);
        }
        rdata.Add(0);
        var r = new byte[qend + 12 + rdata.Count];
        Array.Copy(q, r, qend);
        ushort qflags = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(2));
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(2), (ushort)(0x8000 | (qflags & 0x7800) | 0x0400 | (qflags & 0x0100) | 0x0080));
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(10), 0);
        int pos = qend;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), 0xC00C); pos += 2;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), 12); pos += 2;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), 1); pos += 2;
        BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(pos), 5); pos += 4;
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), (ushort)rdata.Count); pos += 2;
        rdata.CopyTo(r, pos);
        s.SendTo(r, to);
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    private static void Forward(Socket listener, IPEndPoint client, byte[] q, int qend, List<IPEndPoint> ups)
    {
        var buf = new byte[4096];
        foreach (var up in ups)
        {
            try
            {
                using var u = new Socket(up.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                u.ReceiveTimeout = 2000;
                u.Connect(up);
                u.Send(q);
                int n = u.Receive(buf);
                if (n >= 12 && buf[0] == q[0] && buf[1] == q[1]) { listener.SendTo(buf.AsSpan(0, n), client); return; }
            }
            catch (SocketException) { }
        }
        try { Reply(listener, client, q, qend, 2, []); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    private static void Reply(Socket s, EndPoint to, byte[] q, int qend, int rcode, List<IPAddress> answers)
    {
        var r = new byte[qend + answers.Count * 28 + 16];
        Array.Copy(q, r, qend);
        ushort qflags = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(2));
        ushort flags = (ushort)(0x8000 | (qflags & 0x7800) | 0x0400 | (qflags & 0x0100) | 0x0080 | (rcode & 0xf));
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(2), flags);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(4), (ushort)(qend > 12 ? 1 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(6), (ushort)answers.Count);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(10), 0);
        int pos = qend;
        foreach (var a in answers)
        {
            byte[] data = a.GetAddressBytes();
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), 0xC00C); pos += 2;
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), (ushort)(data.Length == 4 ? 1 : 28)); pos += 2;
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), 1); pos += 2;
            BinaryPrimitives.WriteUInt32BigEndian(r.AsSpan(pos), 5); pos += 4;
            BinaryPrimitives.WriteUInt16BigEndian(r.AsSpan(pos), (ushort)data.Length); pos += 2;
            data.CopyTo(r, pos); pos += data.Length;
        }
        s.SendTo(r.AsSpan(0, pos), to);
    }
}
