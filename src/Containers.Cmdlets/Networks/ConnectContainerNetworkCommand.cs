using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>Connect-ContainerNetwork: attaches a container to one more network, live when it runs.</summary>
[Cmdlet(VerbsCommunications.Connect, "ContainerNetwork", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(ContainerNetworkInfo))]
public sealed class ConnectContainerNetworkCommand : ContainersCmdlet
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

    [Parameter] public string[]? Alias { get; set; }

    [Parameter] public string? IPAddress { get; set; }

    [Parameter] public string? IPv6Address { get; set; }

    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Container, $"Connect to network '{NetworkName}'")) return;
        TryItem(Container, () =>
        {
            var n = new NetworkManager(Root).Connect(Container, NetworkName, Alias, IPAddress, IPv6Address, CancellationToken);
            if (PassThru) WriteObject(n);
        });
    }
}
