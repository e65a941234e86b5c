using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>Disconnect-ContainerNetwork: detaches a container from a network (its interface and DNS names go at once).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "ContainerNetwork", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(ContainerNetworkInfo))]
public sealed class DisconnectContainerNetworkCommand : ContainersCmdlet
{
    private const string NameSet = "Name", ObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet)]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string Network { get; set; } = "";

    /// <summary>The network as Get-ContainerNetwork wrote it (pipeline input); the container comes from -Container.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ObjectSet, ValueFromPipeline = true)]
    public ContainerNetworkInfo? InputObject { get; set; }

    // piped containers bind here by property name (Id); with a piped network it is given as an argument,
    // so a network's Id can never be taken for a container's
    [Parameter(Mandatory = true, Position = 1, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(Mandatory = true, ParameterSetName = ObjectSet)]
    [Alias("Id", "ContainerId", "ContainerName")]
    [ArgumentCompleter(typeof(Runtime.ContainerNameCompleter))]
    public string Container { get; set; } = "";

    private string NetworkName => ParameterSetName == ObjectSet ? InputObject!.Name : Network;

    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Container, $"Disconnect from network '{NetworkName}'")) return;
        TryItem(Container, () =>
        {
            var n = new NetworkManager(Root).Disconnect(Container, NetworkName, CancellationToken);
            if (PassThru) WriteObject(n);
        });
    }
}
