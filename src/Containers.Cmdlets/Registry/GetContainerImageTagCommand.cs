using System.Management.Automation;
using Containers.Engine.Model;
using Containers.Engine.Registry;

namespace Containers.Cmdlets.Registry;

/// <summary>Get-ContainerImageTag: lists the tags of a repository in a registry.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerImageTag")]
[OutputType(typeof(RegistryImageTag))]
public sealed class GetContainerImageTagCommand : RegistryCmdlet
{
    /// <summary>The repository: [registry/]repository (short names mean docker.io/library).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateNotNullOrEmpty]
    public string[] Repository { get; set; } = [];

    /// <summary>Only tags matching this wildcard pattern.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    public string? Tag { get; set; }

    protected override void ProcessRecord()
    {
        var pattern = Tag is null ? null : new WildcardPattern(Tag, WildcardOptions.IgnoreCase);
        foreach (string repo in Repository)
        {
            TryItem(repo, () =>
            {
                foreach (var t in RegistryService.ListTags(repo, Options(), CancellationToken))
                    if (pattern is null || pattern.IsMatch(t.Tag)) WriteObject(t);
            });
        }
    }
}
