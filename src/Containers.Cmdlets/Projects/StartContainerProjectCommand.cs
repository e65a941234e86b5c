using System.Management.Automation;
using Containers.Engine.Projects;

namespace Containers.Cmdlets.Projects;

/// <summary>
/// Start-ContainerProject (docker compose up -d): networks and volumes first, images built or pulled, then the
/// services in dependency order, each waiting for its dependencies' conditions. A re-up reconciles: only
/// services whose configuration changed are recreated.
/// </summary>
[Cmdlet(VerbsLifecycle.Start, "ContainerProject", SupportsShouldProcess = true)]
[OutputType(typeof(ContainerProjectInfo))]
public sealed class StartContainerProjectCommand : ProjectCmdletBase
{
    /// <summary>The compose files, merged in order; none: compose.yaml (and compose.override.yaml) from the current folder up.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "File", "ConfigFiles")]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>The project name (docker compose -p).</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? ProjectName { get; set; }

    /// <summary>Env files read instead of the project folder's .env.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string[]? EnvFile { get; set; }

    /// <summary>Profiles to activate; '*' activates all.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string[]? Profile { get; set; }

    /// <summary>Only these services (and those they depend on).</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string[]? Service { get; set; }

    /// <summary>Build the images of services with a build section first (docker compose up --build).</summary>
    [Parameter] public SwitchParameter Build { get; set; }

    /// <summary>Pull every service's image even when present (docker compose up --pull always).</summary>
    [Parameter] public SwitchParameter Pull { get; set; }

    /// <summary>Recreate every container even when its configuration is unchanged.</summary>
    [Parameter] public SwitchParameter ForceRecreate { get; set; }

    /// <summary>Remove the containers of services that are no longer in the files.</summary>
    [Parameter] public SwitchParameter RemoveOrphans { get; set; }

    /// <summary>Return only once every container runs and, with a health check, is healthy (docker compose up --wait).</summary>
    [Parameter] public SwitchParameter Wait { get; set; }

    /// <summary>The longest wait, in seconds, for a dependency's condition or for -Wait (default: no limit).</summary>
    [Parameter] [ValidateRange(1, int.MaxValue)] public int WaitTimeout { get; set; }

    /// <summary>Write the project (Get-ContainerProject's object) when done.</summary>
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var project = LoadProject(Path, ProjectName, EnvFile, Profile);
        var services = Service is { Length: > 0 } ? string.Join(", ", Service) : string.Join(", ", project.Services.Select(s => s.Name));
        if (!ShouldProcess(project.Name, $"Create and start services {services}")) return;
        var o = new ProjectUpOptions
        {
            Services = Service ?? [],
            Build = Build, Pull = Pull, ForceRecreate = ForceRecreate, RemoveOrphans = RemoveOrphans, Wait = Wait,
            WaitTimeout = MyInvocation.BoundParameters.ContainsKey(nameof(WaitTimeout)) ? TimeSpan.FromSeconds(WaitTimeout) : null,
        };
        var sink = new DirectSink(this);
        TryItem(project.Name, () =>
        {
            try
            {
                var info = Runner.Up(project, o, sink, CancellationToken);
                if (PassThru) WriteObject(info);
            }
            catch (AggregateException ae) when (ae.InnerExceptions.Count > 1)
            {
                // services start in parallel: one error per service that failed
                sink.Flush();
                foreach (var e in ae.InnerExceptions) WriteFailure(e, project.Name);
            }
            finally { sink.Flush(); }
        });
        base.EndProcessing();
    }
}
