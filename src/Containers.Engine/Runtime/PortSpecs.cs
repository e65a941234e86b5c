using System.Globalization;
using Containers.Engine.Errors;

namespace Containers.Engine.Runtime;

/// <summary>
/// docker run -p port ranges and -P, turned into the single-port forms the network provider takes, at creation:
/// "8000-8002:80-82" is three mappings (pairwise), "127.0.0.1:8000-8001:80-81/udp" two, "80-82" three with a free
/// host port each. Ranges of different lengths are an argument error (InvalidPortRange), as docker's "invalid ranges
/// specified for container and host Ports".
/// </summary>
internal static class PortSpecs
{
    private static ContainersException BadRange(string spec, string why)
        => ContainersException.Invalid("InvalidPortRange", $"The port mapping '{spec}' is not valid: {why}.", spec);

    private static (int First, int Last)? Range(string spec, string part)
    {
        int dash = part.IndexOf('-');
        if (dash < 0) return null;
        if (!int.TryParse(part[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int a)
            || !int.TryParse(part[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int b)
            || a is < 1 or > 65535 || b is < 1 or > 65535 || b < a)
            throw BadRange(spec, $"'{part}' is not a port range (first-last, 1-65535, first not above last)");
        return (a, b);
    }

    public static IEnumerable<string> Expand(string spec)
    {
        string s = spec.Trim();
        if (!s.Contains('-')) return [spec];
        string proto = "";
        int slash = s.LastIndexOf('/');
        if (slash >= 0) { proto = s[slash..]; s = s[..slash]; }
        string ip = "";
        if (s.StartsWith('['))
        {
            int close = s.IndexOf(']');
            if (close < 0) return [spec]; // the provider's parser names the error
            ip = s[..(close + 1)];
            s = s[(close + 1)..].TrimStart(':');
        }
        var parts = s.Split(':');
        if (ip.Length == 0 && parts.Length == 3) { ip = parts[0]; parts = parts[1..]; }
        string hostPart = parts.Length == 2 ? parts[0] : "", ctrPart = parts[^1];
        if (parts.Length > 2) return [spec];
        var ctr = Range(spec, ctrPart);
        var host = hostPart.Length == 0 ? null : Range(spec, hostPart);
        if (ctr is null && host is null) return [spec];
        string prefix = ip.Length > 0 ? ip + ":" : "";
        if (ctr is null)
            throw BadRange(spec, "a range of host ports for one container port is not supported: give one host port, or a container range of the same length");
        var (c0, c1) = ctr.Value;
        if (host is null)
        {
            if (hostPart.Length > 0) // one host port for a range of container ports
                throw BadRange(spec, $"the host port {hostPart} is one port but the container ports {ctrPart} are {c1 - c0 + 1}");
            return Enumerable.Range(c0, c1 - c0 + 1).Select(c => $"{prefix}{(prefix.Length > 0 ? ":" : "")}{c}{proto}").ToList();
        }
        var (h0, h1) = host.Value;
        if (h1 - h0 != c1 - c0)
            throw BadRange(spec, $"the host range {hostPart} has {h1 - h0 + 1} ports and the container range {ctrPart} has {c1 - c0 + 1}");
        return Enumerable.Range(0, c1 - c0 + 1).Select(i => $"{prefix}{h0 + i}:{c0 + i}{proto}").ToList();
    }

    /// <summary>-PublishAll: "ip::port/proto" (a free host port) for each EXPOSEd port not already published.</summary>
    public static IEnumerable<string> PublishAll(IEnumerable<string>? exposed, IReadOnlyList<Networking.PortRequest> published, string? hostIp)
    {
        string prefix = string.IsNullOrEmpty(hostIp) ? "" : (hostIp.Contains(':') ? "[" + hostIp + "]" : hostIp) + ":";
        foreach (var e in exposed ?? [])
        {
            var p = e.Split('/');
            if (!int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535) continue;
            string proto = p.Length > 1 ? p[1].ToLowerInvariant() : "tcp";
            if (proto is not ("tcp" or "udp")) continue; // sctp is not published (the provider carries tcp and udp)
            if (published.Any(x => x.ContainerPort == port && x.Protocol == proto)) continue;
            yield return prefix.Length > 0 ? $"{prefix}:{port}/{proto}" : $"{port}/{proto}";
        }
    }
}
