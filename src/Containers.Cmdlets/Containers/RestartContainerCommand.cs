using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Restart-Container: stop then start.</summary>
[Cmdlet(VerbsLifecycle.Restart, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerInfo))]
public sealed class RestartContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] [ValidateRange(0, 3600)] public int Timeout { get; set; } = -1;
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, "Restart container")) continue;
            TryItem(n, () =>
            {
                var info = Runtime.Restart(n, Timeout >= 0 ? Timeout : null, CancellationToken);
                if (PassThru) WriteObject(info);
            });
        }
    }
}
