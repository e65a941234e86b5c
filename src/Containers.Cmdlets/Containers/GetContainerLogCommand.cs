using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>Get-ContainerLog: what the container wrote to stdout and stderr, in order.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerLog", DefaultParameterSetName = "Name")]
[OutputType(typeof(string), typeof(ContainerLogEntry))]
public sealed class GetContainerLogCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Name")]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>
    /// The logs of every container of this compose project, merged by time, each line prefixed with its
    /// container's name (docker compose logs); -AsObject entries get a ContainerName property instead.
    /// </summary>
    [Parameter(Mandatory = true, ParameterSetName = "Project")]
    [ValidateNotNullOrEmpty]
    public string Project { get; set; } = "";

    /// <summary>With -Project: only these services' containers.</summary>
    [Parameter(ParameterSetName = "Project")]
    [ValidateNotNullOrEmpty]
    public string[]? Service { get; set; }

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
        if (ParameterSetName == "Project") { ProjectLogs(since, until); return; }
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

    private void ProjectLogs(DateTime? since, DateTime? until)
    {
        TryItem(Project, () =>
        {
            var containers = new Engine.Projects.ProjectRunner(Root).Containers(Project)
                .Where(c => Service is not { Length: > 0 } || Service.Contains(c.Labels.GetValueOrDefault(Engine.Projects.ProjectLabels.Service) ?? ""))
                .Select(c => c.Name).ToList();
            int width = containers.Count == 0 ? 0 : containers.Max(n => n.Length);
            var runtime = Runtime; // made here: the readers below run on threads of their own
            // one reader per container on its own thread; lines are written here, on the pipeline thread, as they
            // come (without -Follow: all of them, merged by time)
            using var queue = new System.Collections.Concurrent.BlockingCollection<(string Name, ContainerLogEntry Entry)>();
            int left = containers.Count;
            var errors = new System.Collections.Concurrent.ConcurrentQueue<(string, Exception)>();
            foreach (var n in containers)
                new Thread(() =>
                {
                    try { foreach (var e in runtime.Logs(n, Tail >= 0 ? Tail : null, since, until, Follow, CancellationToken)) queue.Add((n, e)); }
                    catch (Exception ex) when (ex is not OutOfMemoryException) { if (ex is not OperationCanceledException) errors.Enqueue((n, ex)); }
                    finally { if (Interlocked.Decrement(ref left) == 0) queue.CompleteAdding(); }
                }) { IsBackground = true }.Start();
            if (containers.Count == 0) queue.CompleteAdding();
            IEnumerable<(string Name, ContainerLogEntry Entry)> items = Follow
                ? queue.GetConsumingEnumerable(CancellationToken)
                : queue.GetConsumingEnumerable(CancellationToken).ToList().OrderBy(x => x.Entry.Timestamp);
            foreach (var (n, e) in items)
            {
                if (Stream != "All" && !e.Stream.Equals(Stream, StringComparison.OrdinalIgnoreCase)) continue;
                if (AsObject)
                {
                    var o = PSObject.AsPSObject(e);
                    o.Properties.Add(new PSNoteProperty("ContainerName", n));
                    WriteObject(o);
                }
                else WriteObject(n.PadRight(width) + " | " + (Timestamps ? e.Timestamp.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ") + " " : "") + e.Message);
            }
            while (errors.TryDequeue(out var err)) WriteFailure(err.Item2, err.Item1);
        });
    }
}
