using System.Collections;
using System.Management.Automation;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>Invoke-ContainerCommand (exec): runs a command in a running container; returns its output and exit code.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerCommand", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerProcessResult))]
public sealed class InvokeContainerCommandCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("ArgumentList")]
    public string[] Command { get; set; } = [];

    [Parameter] public string? User { get; set; }
    [Parameter] public string? WorkingDirectory { get; set; }
    [Parameter] public Hashtable? Environment { get; set; }
    [Parameter] public SwitchParameter Detach { get; set; }
    /// <summary>A non-zero exit code also writes a ContainerExitedNonZero error.</summary>
    [Parameter] public SwitchParameter ErrorOnNonZeroExit { get; set; }
    /// <summary>No live output lines on the information stream (the result still has them).</summary>
    [Parameter] public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Name, $"Run '{string.Join(' ', Command)}'")) return;
        var o = new ExecOptions { Command = Command, User = User, WorkingDirectory = WorkingDirectory, Environment = ToDictionary(Environment), Detach = Detach };
        TryItem(Name, () =>
        {
            // each output line is written as it arrives (information stream), on this thread
            var r = Runtime.Exec(Name, o, CancellationToken, Quiet || Detach ? null : WriteLiveLine);
            if (Detach) return;
            WriteObject(r);
            if (ErrorOnNonZeroExit) WriteNonZeroExit(r);
        });
    }
}
