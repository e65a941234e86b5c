using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>Connect-ContainerNetwork: attaches a container to one more network, live when it runs.</summary>
[Cmdlet(VerbsCommunications.Connect, "ContainerNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerNetworkInfo))]
public sealed class ConnectContainerNetworkCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string Network { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerId", "ContainerName")]
    public string Container { get; set; } = "";

    [Parameter] public string[]? Alias { get; set; }

    [Parameter] public string? IPAddress { get; set; }

    [Parameter] public string? IPv6Address { get; set; }

    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Container, $"Connect to network '{Network}'")) return;
        TryItem(Container, () =>
        {
            var n = new NetworkManager(Root).Connect(Container, Network, Alias, IPAddress, IPv6Address, CancellationToken);
            if (PassThru) WriteObject(n);
        });
    }
}
