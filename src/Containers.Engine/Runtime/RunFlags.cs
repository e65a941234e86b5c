using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Containers.Engine.Errors;

namespace Containers.Engine.Runtime;

/// <summary>
/// Validation of docker run's --add-host, --dns, --dns-search, --group-add and --sysctl values, at creation, so a
/// bad value fails New-Container rather than a later start.
/// </summary>
internal static class RunFlags
{
    public const string HostGateway = "host-gateway";

    /// <summary>"name:ip" (docker's form; "name=ip" too): the ip an address or host-gateway. Returns (name, ip).</summary>
    public static (string Name, string Ip) ParseAddHost(string spec, string network)
    {
        int sep = spec.IndexOfAny([':', '=']);
        string name = sep < 0 ? "" : spec[..sep].Trim(), ip = sep < 0 ? "" : spec[(sep + 1)..].Trim();
        if (ip.StartsWith('[') && ip.EndsWith(']')) ip = ip[1..^1];
        if (name.Length == 0 || ip.Length == 0 || name.Any(ch => char.IsWhiteSpace(ch) || char.IsControl(ch) || ch == '#'))
            throw ContainersException.Invalid("InvalidAddHost",
                $"The extra host '{spec}' is not valid: give name:ip, e.g. db:10.0.0.5 or host.docker.internal:host-gateway.", spec);
        if (ip == HostGateway)
        {
            if (network is "none" or "host" || network.StartsWith("container:", StringComparison.Ordinal))
                throw ContainersException.Invalid("HostGatewayNeedsBridgeNetwork",
                    $"The extra host '{spec}' asks for host-gateway, the gateway of the container's network, but the container's network is '{network}', which has none. Give an address or use a bridge network.", spec);
            return (name, ip);
        }
        if (!IPAddress.TryParse(ip, out var addr) || addr.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw ContainersException.Invalid("InvalidAddHost", $"The extra host '{spec}' is not valid: '{ip}' is not an IP address or host-gateway.", spec);
        return (name, addr.ToString());
    }

    /// <summary>
    /// "name=value" for --sysctl: only what the container's own namespaces hold, as docker allows (IPC:
    /// kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*; network: net.*, not with the host's network). The name
    /// may be written with '/' as in /proc/sys; it is kept dotted.
    /// </summary>
    public static (string Name, string Value) ParseSysctl(string spec, string network)
    {
        int eq = spec.IndexOf('=');
        string name = eq < 0 ? "" : spec[..eq].Trim().Replace('/', '.'), value = eq < 0 ? "" : spec[(eq + 1)..].Trim();
        if (name.Length == 0 || value.Length == 0 || value.Any(char.IsControl)
            || name.Split('.').Any(p => p.Length == 0 || p == ".." || !p.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-')))
            throw ContainersException.Invalid("InvalidSysctl", $"The sysctl '{spec}' is not valid: give name=value, e.g. net.ipv4.ip_forward=1 or kernel.shmmax=1073741824.", spec);
        bool ipc = name is "kernel.sem" || name.StartsWith("kernel.msg", StringComparison.Ordinal)
            || name.StartsWith("kernel.shm", StringComparison.Ordinal) || name.StartsWith("fs.mqueue.", StringComparison.Ordinal);
        bool net = name.StartsWith("net.", StringComparison.Ordinal);
        if (net && (network == "host" || network.StartsWith("container:", StringComparison.Ordinal)))
            throw ContainersException.Invalid("SysctlNotNamespaced", $"The sysctl '{name}' would change the host: the container shares the host's network (-Network host).", spec);
        if (!ipc && !net)
            throw ContainersException.Invalid("SysctlNotNamespaced",
                $"The sysctl '{name}' is not namespaced: it would change the host. A container may set kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.* (not with -Network host).", spec);
        return (name, value);
    }

    /// <summary>A --dns value: an IPv4 or IPv6 address.</summary>
    public static string CheckDns(string value)
    {
        string v = value.Trim();
        if (!IPAddress.TryParse(v, out var addr) || addr.AddressFamily is not (AddressFamily.InterNetwork or AddressFamily.InterNetworkV6) || v.Contains('/'))
            throw ContainersException.Invalid("InvalidDns", $"The DNS server '{value}' is not valid: give an IP address, e.g. 8.8.8.8.", value);
        return addr.ToString();
    }

    /// <summary>A --dns-search value: a domain name ("." alone means no search domains, as with docker).</summary>
    public static string CheckDnsSearch(string value)
    {
        string v = value.Trim();
        bool ok = v == "." || (v.Length is > 0 and <= 253 && v.TrimEnd('.').Split('.').All(l =>
            l.Length is > 0 and <= 63 && l.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_') && !l.StartsWith('-') && !l.EndsWith('-')));
        if (!ok) throw ContainersException.Invalid("InvalidDnsSearch", $"The DNS search domain '{value}' is not a valid domain name.", value);
        return v;
    }

    /// <summary>
    /// A --dns-option value: one resolv.conf option word (ndots:2, timeout:1, attempts:3, rotate, edns0, ...).
    /// It goes onto the file's options line, so no white space, no newline, no comment sign.
    /// </summary>
    public static string CheckDnsOption(string value)
    {
        string v = value.Trim();
        bool ok = v.Length is > 0 and <= 64 && v.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is ':' or '-' or '_' or '.');
        if (!ok) throw ContainersException.Invalid("InvalidDnsOption", $"The DNS option '{value}' is not valid: give one resolv.conf option, e.g. ndots:2 or rotate.", value);
        return v;
    }

    /// <summary>A --domainname value: a domain name of at most 64 bytes (the kernel's limit for setdomainname).</summary>
    public static string CheckDomainname(string value)
    {
        string v = value.Trim();
        bool ok = v.Length is > 0 and <= 64 && v.TrimEnd('.').Split('.').All(l =>
            l.Length is > 0 and <= 63 && l.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_') && !l.StartsWith('-') && !l.EndsWith('-'));
        if (!ok) throw ContainersException.Invalid("InvalidDomainname", $"The domain name '{value}' is not valid: give a domain name of at most 64 characters, e.g. example.com.", value);
        return v;
    }
}
