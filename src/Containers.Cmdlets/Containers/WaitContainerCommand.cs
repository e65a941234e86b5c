using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>Wait-Container: waits until containers have exited (default), are running, or are healthy or unhealthy (their health check's verdict).</summary>
[Cmdlet(VerbsLifecycle.Wait, "Container")]
[OutputType(typeof(ContainerInfo))]
public sealed class WaitContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] [ValidateSet("Exited", "Running", "Healthy", "Unhealthy")] public string Condition { get; set; } = "Exited";

    /// <summary>Seconds; -1 waits for ever.</summary>
    [Parameter] [ValidateRange(-1, int.MaxValue)] public int Timeout { get; set; } = -1;

    protected override void ProcessRecord()
    {
        var cond = Condition == "Running" ? ContainerStatus.Running : ContainerStatus.Exited;
        TimeSpan? timeout = Timeout < 0 ? null : TimeSpan.FromSeconds(Timeout);
        foreach (var n in Name)
        {
            if (Condition is "Healthy" or "Unhealthy")
            {
                var target = Condition == "Healthy" ? Engine.Health.HealthStatus.Healthy : Engine.Health.HealthStatus.Unhealthy;
                TryItem(n, () => WriteObject(Runtime.WaitHealth(n, target, timeout, CancellationToken)));
            }
            else TryItem(n, () => WriteObject(Runtime.Wait(n, cond, timeout, CancellationToken)));
        }
    }
}
