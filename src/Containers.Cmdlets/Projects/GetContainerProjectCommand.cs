using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Projects;

namespace Containers.Cmdlets.Projects;

/// <summary>Get-ContainerProject (docker compose ls / ps): the projects of the storage root with their services' containers.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerProject")]
[OutputType(typeof(ContainerProjectInfo))]
public sealed class GetContainerProjectCommand : ProjectCmdletBase
{
    /// <summary>Only the projects with these names (wildcards).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Project")]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        IReadOnlyList<ContainerProjectInfo> list;
        try { list = Runner.List(); }
        catch (Exception ex) when (ex is IOException or Engine.Errors.ContainersException) { Fail(ex, null); return; }
        foreach (var pattern in Name is { Length: > 0 } ? Name : [null])
        {
            var wp = pattern is null ? null : new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            bool any = false;
            foreach (var p in list)
            {
                if (wp is not null && !wp.IsMatch(p.Name)) continue;
                any = true;
                WriteObject(p);
            }
            if (pattern is not null && !any && !WildcardPattern.ContainsWildcardCharacters(pattern))
                WriteFailure(Engine.Errors.ContainersException.NotFound("ContainerProjectNotFound", $"No project named '{pattern}' exists in this storage root.", pattern), pattern);
        }
    }
}
