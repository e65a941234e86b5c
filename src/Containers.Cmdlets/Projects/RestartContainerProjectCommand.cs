using System.Management.Automation;
using Containers.Engine.Projects;

namespace Containers.Cmdlets.Projects;

/// <summary>Restart-ContainerProject (docker compose restart): stops the project's containers (dependents first), then starts them (dependencies first).</summary>
[Cmdlet(VerbsLifecycle.Restart, "ContainerProject", SupportsShouldProcess = true, DefaultParameterSetName = NameSet)]
[OutputType(typeof(ContainerProjectInfo))]
public sealed class RestartContainerProjectCommand : ProjectTargetCmdletBase
{
    /// <summary>Only these services' containers.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string[]? Service { get; set; }

    /// <summary>Seconds to wait after the stop signal before SIGKILL (default: each container's own).</summary>
    [Parameter] [ValidateRange(0, int.MaxValue)] public int Timeout { get; set; } = -1;

    /// <summary>Write the project when done.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessProject(string name)
    {
        if (!ShouldProcess(name, "Restart the project's containers")) return;
        TryItem(name, () =>
        {
            var info = Runner.Restart(name, Service ?? [], Timeout >= 0 ? Timeout : null, CancellationToken);
            if (PassThru) WriteObject(info);
        });
    }
}
