using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Get-ContainerProcess (top): the processes running in a container.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerProcess")]
[OutputType(typeof(ContainerProcessInfo))]
public sealed class GetContainerProcessCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var n in Name) TryItem(n, () => WriteObject(Runtime.Processes(n), true));
    }
}
