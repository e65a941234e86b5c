using System.Collections;
using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>New-ContainerNetwork: a user-defined bridge network with its own subnet, DNS and isolation.</summary>
[Cmdlet(VerbsCommon.New, "ContainerNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerNetworkInfo))]
public sealed class NewContainerNetworkCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>IPv4 subnet in CIDR form; a free /24 from 10.90.0.0-10.127.255.0 when omitted.</summary>
    [Parameter] public string? Subnet { get; set; }

    [Parameter] public string? Gateway { get; set; }

    [Parameter] public string? IPRange { get; set; }

    [Parameter] public SwitchParameter IPv6 { get; set; }

    [Parameter] public string? IPv6Subnet { get; set; }

    [Parameter] public SwitchParameter Internal { get; set; }

    [Parameter] public Hashtable? Label { get; set; }

    [Parameter] public SwitchParameter DisableDns { get; set; }

    /// <summary>Upstream resolvers for names that are not containers' ("ip" or "ip:port"); the host's by default.</summary>
    [Parameter] public string[]? DnsServer { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, "Create bridge network")) return;
        var labels = Label?.Cast<DictionaryEntry>().ToDictionary(e => e.Key.ToString()!, e => e.Value?.ToString() ?? "");
        var opts = new NetworkCreateOptions
        {
            Name = Name, Subnet = Subnet, Gateway = Gateway, IPRange = IPRange, IPv6 = IPv6, IPv6Subnet = IPv6Subnet,
            Internal = Internal, DisableDns = DisableDns, Labels = labels, DnsUpstream = DnsServer,
        };
        TryItem(Name, () => WriteObject(new NetworkManager(Root).Create(opts, CancellationToken)));
    }
}
