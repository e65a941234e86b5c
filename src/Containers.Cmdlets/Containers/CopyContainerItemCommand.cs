using System.Management.Automation;

namespace Containers.Cmdlets.Runtime;

/// <summary>Copy-ContainerItem: copies files out of a container (default) or into it (-ToContainer).</summary>
[Cmdlet(VerbsCommon.Copy, "ContainerItem", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class CopyContainerItemCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)] public string Path { get; set; } = "";
    [Parameter(Mandatory = true, Position = 2)] public string Destination { get; set; } = "";
    [Parameter] public SwitchParameter ToContainer { get; set; }

    protected override void ProcessRecord()
    {
        if (ToContainer)
        {
            string src = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
            if (!ShouldProcess(Name, $"Copy '{src}' into the container at '{Destination}'")) return;
            TryItem(Name, () => Runtime.CopyIn(Name, src, Destination, CancellationToken));
        }
        else
        {
            string dst = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination);
            if (!ShouldProcess(Name, $"Copy '{Path}' out of the container to '{dst}'")) return;
            TryItem(Name, () => Runtime.CopyOut(Name, Path, dst, CancellationToken));
        }
    }
}
