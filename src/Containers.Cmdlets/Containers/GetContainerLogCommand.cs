using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Containers;

/// <summary>Get-ContainerLog: what the container wrote to stdout and stderr, in order.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerLog")]
[OutputType(typeof(string), typeof(ContainerLogEntry))]
public sealed class GetContainerLogCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter] [ValidateRange(0, int.MaxValue)] public int Tail { get; set; } = -1;
    [Parameter] public DateTime Since { get; set; }
    [Parameter] public DateTime Until { get; set; }
    [Parameter] public SwitchParameter Follow { get; set; }
    [Parameter] public SwitchParameter Timestamps { get; set; }

    /// <summary>Only this stream: stdout or stderr.</summary>
    [Parameter] [ValidateSet("All", "Stdout", "Stderr")] public string Stream { get; set; } = "All";

    /// <summary>Emit ContainerLogEntry objects (time, stream, message) instead of strings.</summary>
    [Parameter] public SwitchParameter AsObject { get; set; }

    protected override void ProcessRecord()
    {
        DateTime? since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? Since.ToUniversalTime() : null;
        DateTime? until = MyInvocation.BoundParameters.ContainsKey(nameof(Until)) ? Until.ToUniversalTime() : null;
        TryItem(Name, () =>
        {
            foreach (var e in Runtime.Logs(Name, Tail >= 0 ? Tail : null, since, until, Follow, CancellationToken))
            {
                if (Stream != "All" && !e.Stream.Equals(Stream, StringComparison.OrdinalIgnoreCase)) continue;
                if (AsObject) WriteObject(e);
                else if (Timestamps) WriteObject(e.Timestamp.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ") + " " + e.Message);
                else WriteObject(e.Message);
            }
        });
    }
}
