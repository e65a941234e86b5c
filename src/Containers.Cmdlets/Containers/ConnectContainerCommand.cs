using System.Management.Automation;
using System.Text;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>
/// Connect-Container (docker attach): the console joins a running container. With a terminal (-Tty) its output
/// and, when it was created -Interactive, the console's input are relayed until its process ends or Ctrl+P
/// Ctrl+Q detaches; without one its output from now is written live (information stream) until it exits.
/// Returns the result with the exit code when the container ended while attached.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "Container")]
[OutputType(typeof(ContainerProcessResult))]
public sealed class ConnectContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>No live output lines (a container without a terminal); the result still has them.</summary>
    [Parameter] public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        TryItem(Name, () =>
        {
            var info = Runtime.Get(Name);
            var sbOut = new StringBuilder();
            var sbErr = new StringBuilder();
            int? code = Runtime.Attach(Name, e =>
            {
                (e.Stream == "stderr" ? sbErr : sbOut).Append(e.Message).Append('\n');
                if (!Quiet) WriteLiveLine(e);
            }, CancellationToken);
            if (code is null)
            {
                WriteVerbose($"Detached from the container '{info.Name}'; it goes on running.");
                return;
            }
            WriteObject(new ContainerProcessResult
            {
                ContainerId = info.Id, ContainerName = info.Name, ExitCode = code.Value,
                Output = sbOut.ToString(), Error = sbErr.ToString(),
            });
        });
    }
}
