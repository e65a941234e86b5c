using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Rename-Container: gives a container a new, unique name.</summary>
[Cmdlet(VerbsCommon.Rename, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerInfo))]
public sealed class RenameContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)] [ValidateNotNullOrEmpty] public string NewName { get; set; } = "";
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Rename container to '{NewName}'")) return;
        TryItem(Name, () => { var i = Runtime.Rename(Name, NewName, CancellationToken); if (PassThru) WriteObject(i); });
    }
}
