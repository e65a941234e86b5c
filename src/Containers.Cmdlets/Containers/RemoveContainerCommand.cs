using System.Management.Automation;

namespace Containers.Cmdlets.Containers;

/// <summary>Remove-Container: deletes the container's writable layer, cgroup, netns and state (named volumes stay).</summary>
[Cmdlet(VerbsCommon.Remove, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, Force ? "Remove container (killing it if running)" : "Remove container")) continue;
            TryItem(n, () => Runtime.Remove(n, Force, CancellationToken));
        }
    }
}
