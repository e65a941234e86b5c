using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Resume-Container: thaws a suspended container.</summary>
[Cmdlet(VerbsLifecycle.Resume, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerInfo))]
public sealed class ResumeContainerCommand : ContainerCmdletBase
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
            if (!ShouldProcess(n, "Resume container")) continue;
            TryItem(n, () => { var i = Runtime.Resume(n, CancellationToken); if (PassThru) WriteObject(i); });
        }
    }
}
