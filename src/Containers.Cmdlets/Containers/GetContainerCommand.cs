using System.Collections;
using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>Get-Container: running containers, or all with -All; filters by name (wildcards), status, label, image.</summary>
[Cmdlet(VerbsCommon.Get, "Container")]
[OutputType(typeof(ContainerInfo))]
public sealed class GetContainerCommand : ContainerCmdletBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    [Parameter] public SwitchParameter All { get; set; }
    [Parameter] public ContainerStatus[]? Status { get; set; }
    [Parameter] public Hashtable? Label { get; set; }
    [Parameter] [SupportsWildcards] public string? Image { get; set; }

    /// <summary>Only the containers of this compose project (its com.docker.compose.project label), all states.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? Project { get; set; }

    /// <summary>With -Project: only the containers of these services.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string[]? Service { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerInfo> list;
        try { list = Runtime.List(); }
        catch (Exception ex) when (ex is IOException or Engine.Errors.ContainersException) { Fail(ex, null); return; }
        var labels = ToDictionary(Label);
        bool explicitName = Name is { Length: > 0 };
        foreach (var pattern in explicitName ? Name! : [null])
        {
            bool matchedAny = false;
            WildcardPattern? wp = pattern is null ? null : new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            foreach (var c in list)
            {
                if (pattern is not null && !(wp!.IsMatch(c.Name) || c.Id.StartsWith(pattern, StringComparison.Ordinal))) continue;
                if (Project is not null && (!c.Labels.TryGetValue(Engine.Projects.ProjectLabels.Project, out var cp) || cp != Project)) continue;
                if (Service is { Length: > 0 } && (!c.Labels.TryGetValue(Engine.Projects.ProjectLabels.Service, out var cs) || !Service.Contains(cs))) continue;
                bool filtered = Status is { Length: > 0 } || All || explicitName || Project is not null;
                if (!filtered && c.Status is not (ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Restarting)) continue;
                if (Status is { Length: > 0 } && !Status.Contains(c.Status)) continue;
                if (labels.Any(kv => !c.Labels.TryGetValue(kv.Key, out var v) || (kv.Value.Length > 0 && v != kv.Value))) continue;
                if (Image is not null && !new WildcardPattern(Image, WildcardOptions.IgnoreCase).IsMatch(c.Image)) continue;
                matchedAny = true;
                WriteObject(c);
            }
            if (pattern is not null && !matchedAny && !WildcardPattern.ContainsWildcardCharacters(pattern))
                WriteError(new ErrorRecord(new Engine.Errors.ContainersException(Engine.Errors.ErrorKind.NotFound, "ContainerNotFound",
                    $"No container named or with the id '{pattern}' exists.", pattern), "ContainerNotFound", ErrorCategory.ObjectNotFound, pattern));
        }
    }
}
