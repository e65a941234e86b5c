using System.Management.Automation;

namespace Containers.Cmdlets.Runtime;

/// <summary>Remove-Container: deletes the container's writable layer, cgroup, netns and state (named volumes stay; -Volumes takes its anonymous ones).</summary>
[Cmdlet(VerbsCommon.Remove, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>docker rm -v: the container's anonymous volumes go with it (named volumes stay).</summary>
    [Parameter] [Alias("v")] public SwitchParameter Volumes { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, Force ? "Remove container (killing it if running)" : "Remove container")) continue;
            TryItem(n, () => Runtime.Remove(n, Force, Volumes, CancellationToken));
        }
    }
}
