namespace Containers.Engine.Health;

/// <summary>Where a container's health check stands (docker's Health.Status; None when it has no check).</summary>
public enum HealthStatus { None, Starting, Healthy, Unhealthy }

/// <summary>What the monitor does when a container becomes unhealthy (podman's --health-on-failure).</summary>
public enum HealthOnFailure { None, Kill, Restart, Stop }

/// <summary>A container's health check: the image's HEALTHCHECK, a compose healthcheck or -Health* parameters.</summary>
public sealed class HealthCheckConfig
{
    /// <summary>docker's form: ["CMD", arg...], ["CMD-SHELL", "command line"] or ["NONE"] (no check).</summary>
    public List<string> Test { get; set; } = new();
    /// <summary>Time between checks; null = docker's default (30 s).</summary>
    public TimeSpan? Interval { get; set; }
    /// <summary>How long one check may run; null = 30 s.</summary>
    public TimeSpan? Timeout { get; set; }
    /// <summary>Consecutive failures that make the container unhealthy; null = 3.</summary>
    public int? Retries { get; set; }
    /// <summary>Failures in this time after the start do not count; null = 0.</summary>
    public TimeSpan? StartPeriod { get; set; }
    /// <summary>Time between checks during the start period; null = 5 s.</summary>
    public TimeSpan? StartInterval { get; set; }
    public HealthOnFailure OnFailure { get; set; } = HealthOnFailure.None;
}
