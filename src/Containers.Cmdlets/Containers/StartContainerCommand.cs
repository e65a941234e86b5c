using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Start-Container: starts created or exited containers (detached; a monitor keeps them).</summary>
[Cmdlet(VerbsLifecycle.Start, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerInfo))]
public sealed class StartContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, "Start container")) continue;
            TryItem(n, () =>
            {
                using (Runtime.Start(n, CancellationToken)) { }
                if (PassThru) WriteObject(Runtime.Get(n));
            });
        }
    }
}
