using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>Remove-ContainerNetwork: deletes a network, its bridge, firewall rules and DNS entries.</summary>
[Cmdlet(VerbsCommon.Remove, "ContainerNetwork", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveContainerNetworkCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("NetworkName")]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Disconnects attached containers first instead of refusing.</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var m = new NetworkManager(Root);
        foreach (var n in Name)
        {
            // the predefined network stays, as docker's does, so Get-ContainerNetwork | Remove-ContainerNetwork
            // removes the user's networks; -Force (tearing a whole root down) removes it too, and the next
            // container that uses it makes it again
            if (n == NetworkManager.DefaultNetworkName && !Force)
            {
                WriteError(new ErrorRecord(new InvalidOperationException(
                    $"'{n}' is the predefined network and is not removed; use -Force to remove it anyway (it is made again when a container uses it)."),
                    "PredefinedNetworkNotRemoved", ErrorCategory.InvalidOperation, n));
                continue;
            }
            if (!ShouldProcess(n, Force ? "Remove network (disconnecting its containers)" : "Remove network")) continue;
            TryItem(n, () => m.Remove(n, Force, CancellationToken));
        }
    }
}
