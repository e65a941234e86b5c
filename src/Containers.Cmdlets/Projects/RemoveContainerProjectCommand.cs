using System.Management.Automation;
using Containers.Engine.Projects;

namespace Containers.Cmdlets.Projects;

/// <summary>
/// Remove-ContainerProject (docker compose down): stops and removes the project's containers, then its
/// networks; -Volumes also its volumes, -Images its images.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerProject", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
public sealed class RemoveContainerProjectCommand : ProjectTargetCmdletBase
{
    /// <summary>Also remove the project's named volumes and its containers' anonymous volumes.</summary>
    [Parameter] public SwitchParameter Volumes { get; set; }

    /// <summary>Also remove images: Local (those built for services without an image name) or All (every service's).</summary>
    [Parameter] [ValidateSet("None", "Local", "All")] public string Images { get; set; } = "None";

    /// <summary>Seconds to wait after the stop signal before SIGKILL (default: each container's own).</summary>
    [Parameter] [ValidateRange(0, int.MaxValue)] public int Timeout { get; set; } = -1;

    protected override void ProcessProject(string name)
    {
        string what = "Remove the project's containers and networks" + (Volumes ? ", volumes" : "") + (Images != "None" ? $", images ({Images})" : "");
        if (!ShouldProcess(name, what)) return;
        var sink = new DirectSink(this);
        TryItem(name, () =>
        {
            try { Runner.Down(name, new ProjectDownOptions { Volumes = Volumes, Images = Images, Timeout = Timeout >= 0 ? Timeout : null }, sink, CancellationToken); }
            finally { sink.Flush(); }
        });
    }
}
