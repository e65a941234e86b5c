using Containers.Cmdlets.Base;
using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>Stop-Container: sends the stop signal, then SIGKILL after -Timeout; -Force kills at once.</summary>
[Cmdlet(VerbsLifecycle.Stop, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerInfo))]
public sealed class StopContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] [ValidateRange(0, 3600)] public int Timeout { get; set; } = -1;
    [Parameter] [ArgumentCompleter(typeof(SignalNameCompleter))] public string? Signal { get; set; }
    [Parameter] public SwitchParameter Force { get; set; }
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, Force ? "Kill container" : "Stop container")) continue;
            TryItem(n, () =>
            {
                var info = Runtime.Stop(n, Timeout >= 0 ? Timeout : null, Signal, Force, CancellationToken);
                if (PassThru) WriteObject(info);
            });
        }
    }
}
