using Containers.Engine.Model;

namespace Containers.Engine.Projects;

/// <summary>The labels docker compose puts on what it creates; the engine finds a project's parts by them.</summary>
public static class ProjectLabels
{
    public const string Project = "com.docker.compose.project";
    public const string Service = "com.docker.compose.service";
    public const string Number = "com.docker.compose.container-number";
    public const string OneOff = "com.docker.compose.oneoff";
    public const string ConfigHash = "com.docker.compose.config-hash";
    public const string WorkingDir = "com.docker.compose.project.working_dir";
    public const string ConfigFiles = "com.docker.compose.project.config_files";
    public const string DependsOn = "com.docker.compose.depends_on";
    public const string Image = "com.docker.compose.image";
    public const string Network = "com.docker.compose.network";
    public const string Volume = "com.docker.compose.volume";
}

/// <summary>What Start-ContainerProject asks for (docker compose up -d).</summary>
public sealed class ProjectUpOptions
{
    /// <summary>Only these services (and what they depend on); empty: every active service.</summary>
    public IReadOnlyList<string> Services { get; init; } = [];
    /// <summary>Build images of services with a build section before starting (docker compose up --build).</summary>
    public bool Build { get; init; }
    /// <summary>Pull every service's image, present or not (docker compose up --pull always).</summary>
    public bool Pull { get; init; }
    /// <summary>Recreate every container, changed or not.</summary>
    public bool ForceRecreate { get; init; }
    /// <summary>Remove containers of services no longer in the file (else a warning names them).</summary>
    public bool RemoveOrphans { get; init; }
    /// <summary>Wait until every container runs and, with a health check, is healthy.</summary>
    public bool Wait { get; init; }
    /// <summary>Bounds each wait (a dependency's condition, -Wait); null: no bound, as docker compose.</summary>
    public TimeSpan? WaitTimeout { get; init; }
    /// <summary>How often the health of a dependency is polled.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(25);
}

/// <summary>What Remove-ContainerProject asks for (docker compose down).</summary>
public sealed class ProjectDownOptions
{
    /// <summary>Also remove the project's named volumes (and the containers' anonymous ones).</summary>
    public bool Volumes { get; init; }
    /// <summary>None, Local (images built for services without an image name) or All (every service's image).</summary>
    public string Images { get; init; } = "None";
    /// <summary>Stop timeout in seconds; null: each container's own.</summary>
    public int? Timeout { get; init; }
}

/// <summary>One service of a project as Get-ContainerProject shows it.</summary>
public sealed class ContainerProjectService
{
    public required string Project { get; init; }
    public required string Name { get; init; }
    public required string Image { get; init; }
    /// <summary>Its containers, by container number.</summary>
    public required ContainerInfo[] Containers { get; init; }
    public int Running => Containers.Count(c => c.Status is ContainerStatus.Running or ContainerStatus.Restarting or ContainerStatus.Paused);
    /// <summary>running when all run, exited when none does, else running(k/n); with a health check the worst health.</summary>
    public string State
    {
        get
        {
            if (Containers.Length == 0) return "none";
            string s = Running == Containers.Length ? "running" : Running == 0 ? "exited" : $"running({Running}/{Containers.Length})";
            var h = Containers.Select(c => c.Health).Where(x => x != Health.HealthStatus.None).ToList();
            if (h.Count == 0) return s;
            var worst = h.Contains(Health.HealthStatus.Unhealthy) ? "unhealthy" : h.Contains(Health.HealthStatus.Starting) ? "starting" : "healthy";
            return $"{s} ({worst})";
        }
    }
    public override string ToString() => $"{Project}/{Name}";
}

/// <summary>A project (docker compose ls/ps): what the store holds of it.</summary>
public sealed class ContainerProjectInfo
{
    public required string Name { get; init; }
    /// <summary>running(k) while some container runs, else exited(n).</summary>
    public string Status => Services.Sum(s => s.Running) is int r and > 0 ? $"running({r})" : $"exited({Services.Sum(s => s.Containers.Length)})";
    public string? WorkingDirectory { get; init; }
    public string[] ConfigFiles { get; init; } = [];
    public required ContainerProjectService[] Services { get; init; }
    public string[] Networks { get; init; } = [];
    public string[] Volumes { get; init; } = [];
    public DateTime? Created { get; init; }
    public override string ToString() => Name;
}
