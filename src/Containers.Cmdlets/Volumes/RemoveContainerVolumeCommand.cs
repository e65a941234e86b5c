using Containers.Cmdlets.Base;
using System.Management.Automation;
using Containers.Cmdlets.Runtime;
using Containers.Engine.Volumes;

namespace Containers.Cmdlets.Volumes;

/// <summary>Remove-ContainerVolume: deletes named volumes no container uses.</summary>
[Cmdlet(VerbsCommon.Remove, "ContainerVolume", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveContainerVolumeCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        var store = new VolumeStore(Root);
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, "Remove volume")) continue;
            TryItem(n, () => store.Remove(n));
        }
    }
}
