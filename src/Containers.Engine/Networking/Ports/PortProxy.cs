using System.Net;
using System.Net.Sockets;
using Containers.Engine.Errors;

namespace Containers.Engine.Networking.Ports;

/// <summary>
/// Published ports are carried by a small userspace proxy (containers-helper proxy), one per container: it
/// holds the host ports while the container runs (a second container asking for the same port gets
/// PortAlreadyAllocated), accepts on loopback and host addresses alike (no route_localnet, no martians),
/// and, being an ordinary listening socket, meets the host's INPUT firewall (ufw) like any service.
/// </summary>
internal static class PortProxy
{
    public const string Mode = "proxy";

    /// <summary>Checks the requests are well formed and the host ports are free right now (before anything is created).</summary>
    public static void Validate(IReadOnlyList<PortRequest> ports)
    {
        var seen = new HashSet<string>();
        foreach (var p in ports)
        {
            string proto = (p.Protocol ?? "tcp").ToLowerInvariant();
            if (proto is not ("tcp" or "udp") || p.ContainerPort is < 1 or > 65535 || p.HostPort is < 0 or > 65535
                || (!string.IsNullOrEmpty(p.HostIp) && !IsStrictIp(p.HostIp)))
                throw ContainersException.Invalid("InvalidPortSpecification", Messages.InvalidPort($"{p.HostIp}:{p.HostPort}:{p.ContainerPort}/{p.Protocol}"), p);
            if (p.HostPort != 0 && !seen.Add($"{proto}/{p.HostPort}"))
                throw ContainersException.Conflict("PortAlreadyAllocated", Messages.PortAlreadyAllocated(proto, string.IsNullOrEmpty(p.HostIp) ? "0.0.0.0" : p.HostIp, p.HostPort, "asked for twice"), p);
            if (p.HostPort != 0) Probe(proto, string.IsNullOrEmpty(p.HostIp) ? null : p.HostIp, p.HostPort);
        }
    }

    private static void Probe(string proto, string? hostIp, int port)
    {
        var ip = hostIp is null ? IPAddress.Any : IPAddress.Parse(hostIp);
        using var s = new Socket(ip.AddressFamily, proto == "udp" ? SocketType.Dgram : SocketType.Stream, proto == "udp" ? ProtocolType.Udp : ProtocolType.Tcp);
        // SO_REUSEADDR alone (a restarted proxy binds past TIME_WAIT): .NET's ReuseAddress also sets
        // SO_REUSEPORT on Linux, which let a second container bind the same host port and split its traffic
        if (proto == "tcp") s.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
        try { s.Bind(new IPEndPoint(ip, port)); if (proto == "tcp") s.Listen(1); }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw ContainersException.Conflict("PortAlreadyAllocated", Messages.PortAlreadyAllocated(proto, ip.ToString(), port, ex.Message), $"{ip}:{port}/{proto}");
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw ContainersException.Invalid("InvalidPortSpecification", Messages.InvalidPort($"{ip}:{port}/{proto}") + " " + ex.Message, $"{ip}:{port}/{proto}");
        }
    }

    /// <summary>Starts the proxy for one container; returns its PID and the bindings as bound (random ports resolved).</summary>
    public static (int Pid, List<PortBindingInfo> Bindings) Start(string marker, IReadOnlyList<PortRequest> ports, string targetIp)
    {
        var args = new List<string> { marker };
        foreach (var p in ports)
            args.Add($"{p.Protocol.ToLowerInvariant()},{(string.IsNullOrEmpty(p.HostIp) ? "0.0.0.0" : p.HostIp)},{p.HostPort},{targetIp},{p.ContainerPort}");
        var (pid, lines) = HelperProcess.Start(Mode, args, TimeSpan.FromSeconds(10));
        if (pid < 0)
        {
            // "error <proto> <ip> <port> <message>"
            var last = lines.LastOrDefault() ?? "error";
            var f = last.Split(' ', 5);
            if (f.Length == 5 && int.TryParse(f[3], out int port))
                throw ContainersException.Conflict("PortAlreadyAllocated", Messages.PortAlreadyAllocated(f[1], f[2], port, f[4]), $"{f[2]}:{port}/{f[1]}");
            throw ContainersException.System("PortProxyFailed", Messages.HelperFailed(Mode, last), marker);
        }
        var bound = new List<PortBindingInfo>();
        foreach (var l in lines)
        {
            // "bound <proto> <ip> <hostport> <containerport>"
            var f = l.Split(' ');
            if (f.Length == 5 && f[0] == "bound") bound.Add(new PortBindingInfo(f[2], int.Parse(f[3]), int.Parse(f[4]), f[1]));
        }
        return (pid, bound);
    }

    /// <summary>A dotted-quad IPv4 or an IPv6 address (not the legacy "1.2.3" forms IPAddress.TryParse accepts).</summary>
    private static bool IsStrictIp(string s) =>
        IPAddress.TryParse(s, out var a) && (a.AddressFamily == AddressFamily.InterNetworkV6 || s.Split('.').Length == 4);

    public static void Stop(int pid, string marker) => HelperProcess.Stop(pid, Mode, marker);

    /// <summary>Parses "[hostIp:][hostPort:]containerPort[/proto]" (Docker's -p form; IPv6 host IPs in brackets).</summary>
    public static PortRequest Parse(string spec)
    {
        string s = spec.Trim();
        string proto = "tcp";
        int slash = s.LastIndexOf('/');
        if (slash >= 0) { proto = s[(slash + 1)..].ToLowerInvariant(); s = s[..slash]; }
        string? ip = null;
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']');
            if (close < 0) throw ContainersException.Invalid("InvalidPortSpecification", Messages.InvalidPort(spec), spec);
            ip = s[1..close]; s = s[(close + 1)..].TrimStart(':');
        }
        var parts = s.Split(':');
        if (ip is null && parts.Length == 3) { ip = parts[0]; parts = parts[1..]; }
        int host = 0, ctr;
        bool ok;
        if (parts.Length == 2) ok = (parts[0].Length == 0 || int.TryParse(parts[0], out host)) & int.TryParse(parts[1], out ctr);
        else if (parts.Length == 1) ok = int.TryParse(parts[0], out ctr);
        else { ok = false; ctr = 0; }
        if (!ok || proto is not ("tcp" or "udp") || ctr is < 1 or > 65535 || host is < 0 or > 65535 || (ip is { Length: > 0 } && !IsStrictIp(ip)))
            throw ContainersException.Invalid("InvalidPortSpecification", Messages.InvalidPort(spec), spec);
        return new PortRequest(string.IsNullOrEmpty(ip) ? null : ip, host, ctr, proto);
    }
}
