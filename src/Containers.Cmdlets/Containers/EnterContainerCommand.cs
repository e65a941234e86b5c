using System.Management.Automation;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Containers;

/// <summary>Enter-Container: an interactive shell (or command) in a running container on a pseudo-terminal.</summary>
[Cmdlet(VerbsCommon.Enter, "Container")]
[OutputType(typeof(void))]
public sealed class EnterContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Position = 1)] public string[] Command { get; set; } = ["/bin/sh"];
    [Parameter] public string? User { get; set; }
    [Parameter] public string? WorkingDirectory { get; set; }

    protected override void EndProcessing()
    {
        TryItem(Name, () => Runtime.ExecInteractive(Name, new ExecOptions { Command = Command, User = User, WorkingDirectory = WorkingDirectory }, CancellationToken));
    }
}
