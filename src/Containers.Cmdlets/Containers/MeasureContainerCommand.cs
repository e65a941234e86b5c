using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>
/// Measure-Container (stats): CPU time, memory and pids of containers, from their cgroups, as numbers. -Follow
/// (docker stats without --no-stream) samples every container given once per -Interval until Ctrl+C.
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "Container")]
[OutputType(typeof(ContainerStats))]
public sealed class MeasureContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Keep sampling: one object per container per interval, until Ctrl+C or every container has stopped.</summary>
    [Parameter] public SwitchParameter Follow { get; set; }

    /// <summary>Seconds between two samples with -Follow.</summary>
    [Parameter] [ValidateRange(0.05, 3600)] public double Interval { get; set; } = 1;

    private readonly List<string> _followed = new();

    protected override void ProcessRecord()
    {
        foreach (var n in Name)
        {
            // the first sample at once, as without -Follow; a container that cannot be measured is not followed
            if (TryItem(n, () => WriteObject(Runtime.Stats(n))) && Follow) _followed.Add(n);
        }
    }

    protected override void EndProcessing()
    {
        base.EndProcessing();
        if (!Follow) return;
        var wait = TimeSpan.FromSeconds(Interval);
        while (_followed.Count > 0 && !CancellationToken.WaitHandle.WaitOne(wait))
        {
            // a container that has stopped is no longer sampled; one removed since is reported once and dropped
            _followed.RemoveAll(n =>
            {
                bool keep = false;
                TryItem(n, () =>
                {
                    if (Runtime.Get(n).Status is not (ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Restarting)) return;
                    WriteObject(Runtime.Stats(n));
                    keep = true;
                });
                return !keep;
            });
        }
    }
}
