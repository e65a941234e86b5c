using System.Collections;
using System.Management.Automation;
using Containers.Cmdlets.Containers;
using Containers.Engine.Model;
using Containers.Engine.Volumes;

namespace Containers.Cmdlets.Volumes;

/// <summary>New-ContainerVolume: creates a named volume.</summary>
[Cmdlet(VerbsCommon.New, "ContainerVolume", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerVolumeInfo))]
public sealed class NewContainerVolumeCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    public string[] Name { get; set; } = [];

    [Parameter] public Hashtable? Label { get; set; }

    protected override void ProcessRecord()
    {
        var store = new VolumeStore(Root);
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, "Create volume")) continue;
            TryItem(n, () => WriteObject(store.Create(n, ToDictionary(Label))));
        }
    }
}
