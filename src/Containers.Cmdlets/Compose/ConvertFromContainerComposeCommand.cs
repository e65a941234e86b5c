using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Compose;

namespace Containers.Cmdlets.Compose;

/// <summary>
/// ConvertFrom-ContainerCompose (docker compose config): loads compose files (interpolation, .env, include,
/// extends, several files merged, profiles, schema validation) and writes the normalised project, or with
/// -AsYaml the YAML `docker compose config` prints. Reads files only: no storage root, no containers.
/// </summary>
[Cmdlet(VerbsData.ConvertFrom, "ContainerCompose")]
[OutputType(typeof(ComposeProject), typeof(string))]
public sealed class ConvertFromContainerComposeCommand : ContainersCmdlet
{
    /// <summary>The compose files, merged in order; none: compose.yaml (and compose.override.yaml) found from the current folder up.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "File")]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>The project name (docker compose -p).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ProjectName { get; set; }

    /// <summary>Env files read instead of the project folder's .env (docker compose --env-file).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? EnvFile { get; set; }

    /// <summary>Profiles to activate (docker compose --profile); '*' activates all.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Profile { get; set; }

    /// <summary>Writes the project as YAML, as `docker compose config` prints it.</summary>
    [Parameter]
    public SwitchParameter AsYaml { get; set; }

    private readonly List<string> _paths = new();

    protected override void ProcessRecord()
    {
        if (Path is null) return;
        foreach (string p in Path) _paths.Add(SessionState.Path.GetUnresolvedProviderPathFromPSPath(p));
    }

    protected override void EndProcessing()
    {
        string cwd = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var warnings = new List<string>();
        ComposeProject project;
        try
        {
            project = ComposeLoader.Load(new ComposeLoadOptions
            {
                Paths = _paths,
                ProjectName = ProjectName,
                EnvFiles = (EnvFile ?? Array.Empty<string>()).Select(f => SessionState.Path.GetUnresolvedProviderPathFromPSPath(f)).ToList(),
                Profiles = Profile ?? Array.Empty<string>(),
                WorkingDirectory = cwd,
                Warning = warnings.Add,
            });
        }
        catch (Exception ex) when (ex is Engine.Errors.ContainersException or IOException or UnauthorizedAccessException)
        {
            foreach (string w in warnings) WriteWarning(w);
            Fail(ex, _paths.FirstOrDefault() ?? cwd);
            return;
        }
        foreach (string w in warnings) WriteWarning(w);
        if (AsYaml) WriteObject(project.ToYaml());
        else WriteObject(project);
    }
}
