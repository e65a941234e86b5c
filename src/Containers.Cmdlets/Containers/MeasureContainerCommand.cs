using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Measure-Container (stats): CPU time, memory and pids of containers, from their cgroups, as numbers.</summary>
[Cmdlet(VerbsDiagnostic.Measure, "Container")]
[OutputType(typeof(ContainerStats))]
public sealed class MeasureContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var n in Name) TryItem(n, () => WriteObject(Runtime.Stats(n)));
    }
}
