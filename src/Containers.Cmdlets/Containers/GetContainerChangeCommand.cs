using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>Get-ContainerChange (docker diff): the paths a container added, changed or deleted relative to its image.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerChange")]
[OutputType(typeof(ContainerChange))]
public sealed class GetContainerChangeCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>Only these kinds of change.</summary>
    [Parameter] public ContainerChangeKind[]? Kind { get; set; }

    protected override void ProcessRecord()
    {
        var kinds = Kind is { Length: > 0 } ? Kind.ToHashSet() : null;
        TryItem(Name, () =>
        {
            foreach (var ch in Runtime.Changes(Name, CancellationToken))
                if (kinds is null || kinds.Contains(ch.Kind)) WriteObject(ch);
        });
    }
}
