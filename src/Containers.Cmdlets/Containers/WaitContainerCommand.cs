using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Wait-Container: waits until containers have exited (default) or are running.</summary>
[Cmdlet(VerbsLifecycle.Wait, "Container")]
[OutputType(typeof(ContainerInfo))]
public sealed class WaitContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] [ValidateSet("Exited", "Running")] public string Condition { get; set; } = "Exited";

    /// <summary>Seconds; -1 waits for ever.</summary>
    [Parameter] [ValidateRange(-1, int.MaxValue)] public int Timeout { get; set; } = -1;

    protected override void ProcessRecord()
    {
        var cond = Condition == "Running" ? ContainerStatus.Running : ContainerStatus.Exited;
        foreach (var n in Name)
            TryItem(n, () => WriteObject(Runtime.Wait(n, cond, Timeout < 0 ? null : TimeSpan.FromSeconds(Timeout), CancellationToken)));
    }
}
