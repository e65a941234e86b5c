using System.Management.Automation;
using Containers.Engine.Errors;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>
/// Name resolution, UTS and cgroup placement of New-Container and Invoke-ContainerImage: docker's --domainname,
/// --dns-option, --cgroup-parent, and --network's long form (name=n,alias=a), whose aliases hold on that network only.
/// </summary>
public abstract partial class ContainerCreateCmdlet
{
    /// <summary>The container's NIS domain name (docker --domainname).</summary>
    [Parameter] public string? Domainname { get; set; }

    /// <summary>resolv.conf options (docker --dns-option), e.g. ndots:2, timeout:1, rotate.</summary>
    [Parameter] public string[]? DnsOption { get; set; }

    /// <summary>The cgroup the container's cgroup is made under (docker --cgroup-parent), a path below the hierarchy's root.</summary>
    [Parameter] public string? CgroupParent { get; set; }

    private void ApplyDnsOptions(ContainerCreateOptions o)
    {
        o.Domainname = Domainname;
        o.DnsOptions.AddRange(DnsOption ?? []);
        o.CgroupParent = CgroupParent;
        if (Network is not { Length: > 0 }) return;
        // -Network front, 'name=back,alias=db,alias=sql': the long form names the network and its own aliases
        var names = new List<string>();
        foreach (var value in Network)
        {
            if (!value.Contains('=')) { names.Add(value); continue; }
            string? name = null, ip = null;
            var aliases = new List<string>();
            foreach (var field in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = field.IndexOf('=');
                string k = eq < 0 ? field : field[..eq].Trim(), v = eq < 0 ? "" : field[(eq + 1)..].Trim();
                switch (k.ToLowerInvariant())
                {
                    case "name": name = v; break;
                    case "alias": aliases.Add(v); break;
                    case "ip": ip = v; break;
                    default:
                        throw ContainersException.Invalid("InvalidNetworkSpec", $"The network option '{k}' in '{value}' is not known: give name=<network>[,alias=<name>...][,ip=<address>].", value);
                }
            }
            if (string.IsNullOrEmpty(name) || aliases.Any(a => a.Length == 0))
                throw ContainersException.Invalid("InvalidNetworkSpec", $"The network '{value}' names no network or gives an empty alias: give name=<network>[,alias=<name>...].", value);
            names.Add(name);
            if (!o.NetworkAliasesByNetwork.TryGetValue(name, out var list)) o.NetworkAliasesByNetwork[name] = list = new List<string>();
            list.AddRange(aliases);
            if (!string.IsNullOrEmpty(ip)) o.IPAddressByNetwork[name] = ip;
        }
        o.Network = string.Join(",", names);
    }
}
