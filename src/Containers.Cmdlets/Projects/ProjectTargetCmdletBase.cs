using System.Management.Automation;

namespace Containers.Cmdlets.Projects;

/// <summary>
/// Base of the cmdlets that act on an existing project: by -Name (or piped from Get-ContainerProject), or by
/// the compose files whose project name it is (-Path, -ProjectName; none: the default file of the current folder).
/// </summary>
public abstract class ProjectTargetCmdletBase : ProjectCmdletBase
{
    /// <summary>The project's name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = NameSet)]
    [Alias("Project")]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>The compose files whose project this is.</summary>
    [Parameter(ParameterSetName = FileSet)]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>The project name to use with -Path (docker compose -p).</summary>
    [Parameter(ParameterSetName = FileSet)]
    [ValidateNotNullOrEmpty]
    public string? ProjectName { get; set; }

    /// <summary>Env files read instead of the project folder's .env (with -Path).</summary>
    [Parameter(ParameterSetName = FileSet)]
    [ValidateNotNullOrEmpty]
    public string[]? EnvFile { get; set; }

    protected abstract void ProcessProject(string name);

    protected override void ProcessRecord()
    {
        if (ParameterSetName == FileSet) ProcessProject(LoadProject(Path, ProjectName, EnvFile, ["*"]).Name);
        else foreach (var n in Name!) ProcessProject(n);
    }
}
