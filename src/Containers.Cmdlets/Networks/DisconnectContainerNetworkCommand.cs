using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>Disconnect-ContainerNetwork: detaches a container from a network (its interface and DNS names go at once).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "ContainerNetwork", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerNetworkInfo))]
public sealed class DisconnectContainerNetworkCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string Network { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerId", "ContainerName")]
    public string Container { get; set; } = "";

    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Container, $"Disconnect from network '{Network}'")) return;
        TryItem(Container, () =>
        {
            var n = new NetworkManager(Root).Disconnect(Container, Network, CancellationToken);
            if (PassThru) WriteObject(n);
        });
    }
}
