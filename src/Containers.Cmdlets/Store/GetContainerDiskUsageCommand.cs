using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Store;

/// <summary>Get-ContainerDiskUsage (docker system df): per kind of object, how many, how many in use, bytes, and bytes a prune would free.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerDiskUsage")]
[OutputType(typeof(ContainerDiskUsage))]
public sealed class GetContainerDiskUsageCommand : ContainersCmdlet
{
    /// <summary>Only these kinds.</summary>
    [Parameter(Position = 0)] public ContainerStoreKind[]? Kind { get; set; }

    protected override void ProcessRecord()
    {
        var root = Root;
        TryItem(root.Path, () =>
        {
            foreach (var row in new StoreMaintenance(root).DiskUsage(CancellationToken))
                if (Kind is not { Length: > 0 } || Kind.Contains(row.Kind)) WriteObject(row);
        });
    }
}
