using System.Management.Automation;

namespace Containers.Cmdlets.Runtime;

/// <summary>
/// Copy-ContainerItem: copies files out of a container (default) or into it (-ToContainer), as docker cp: container
/// paths resolve inside the container's root; a link named as the source is copied as a link unless -FollowLink.
/// </summary>
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

    /// <summary>docker cp -L: when the source path itself is a symbolic link, copy what it points to (resolved inside the container for a container path).</summary>
    [Parameter]
    [Alias("L")]
    public SwitchParameter FollowLink { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<string>? skipped = null;
        if (ToContainer)
        {
            string src = KeepTrailing(Path, SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path));
            if (!ShouldProcess(Name, $"Copy '{src}' into the container at '{Destination}'")) return;
            TryItem(Name, () => skipped = Runtime.CopyIn(Name, src, Destination, FollowLink, CancellationToken));
        }
        else
        {
            string dst = KeepTrailing(Destination, SessionState.Path.GetUnresolvedProviderPathFromPSPath(Destination));
            if (!ShouldProcess(Name, $"Copy '{Path}' out of the container to '{dst}'")) return;
            TryItem(Name, () => skipped = Runtime.CopyOut(Name, Path, dst, FollowLink, CancellationToken));
        }
        if (skipped is { Count: > 0 })
            WriteWarning($"{skipped.Count} file(s) changed or vanished while they were copied and were left out: {string.Join(", ", skipped.Take(5))}{(skipped.Count > 5 ? ", ..." : "")}");
    }

    /// <summary>The provider drops a trailing '/' or '/.'; docker cp gives both a meaning (a directory; its contents).</summary>
    private static string KeepTrailing(string given, string resolved)
    {
        if (given.EndsWith("/.", StringComparison.Ordinal) && !resolved.EndsWith("/.", StringComparison.Ordinal)) return resolved.TrimEnd('/') + "/.";
        if (given.EndsWith('/') && !resolved.EndsWith('/')) return resolved + "/";
        return resolved;
    }
}
