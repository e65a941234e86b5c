using System.Management.Automation;
using Containers.Engine.Health;

namespace Containers.Cmdlets.Runtime;

/// <summary>Invoke-ContainerHealthCheck (podman healthcheck run): runs a container's health check once now and writes the result.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerHealthCheck")]
[OutputType(typeof(HealthCheckResult))]
public sealed class InvokeContainerHealthCheckCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var n in Name) TryItem(n, () => WriteObject(Runtime.RunHealthCheck(n, CancellationToken)));
    }
}
