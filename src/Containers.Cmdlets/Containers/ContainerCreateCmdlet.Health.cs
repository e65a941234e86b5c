using System.Management.Automation;
using Containers.Engine.Health;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>Health check parameters of New-Container and Invoke-ContainerImage (docker's --health-*, --no-healthcheck; podman's --health-on-failure).</summary>
public abstract partial class ContainerCreateCmdlet
{
    /// <summary>
    /// The check: one string is a shell command line (docker's --health-cmd, run with /bin/sh -c); several strings
    /// are a command and its arguments run without a shell; an array starting with CMD, CMD-SHELL or NONE is docker's form as written.
    /// </summary>
    [Parameter] [ValidateNotNullOrEmpty] public string[] HealthCommand { get; set; } = [];

    [Parameter] public TimeSpan HealthInterval { get; set; }
    [Parameter] public TimeSpan HealthTimeout { get; set; }
    [Parameter] [ValidateRange(0, int.MaxValue)] public int HealthRetries { get; set; }
    [Parameter] public TimeSpan HealthStartPeriod { get; set; }
    [Parameter] public TimeSpan HealthStartInterval { get; set; }
    [Parameter] public HealthOnFailure HealthOnFailure { get; set; }
    [Parameter] public SwitchParameter NoHealthCheck { get; set; }

    private void ApplyHealthOptions(ContainerCreateOptions o)
    {
        var b = MyInvocation.BoundParameters;
        o.NoHealthCheck = NoHealthCheck;
        bool any = b.ContainsKey(nameof(HealthCommand)) || b.ContainsKey(nameof(HealthInterval)) || b.ContainsKey(nameof(HealthTimeout))
            || b.ContainsKey(nameof(HealthRetries)) || b.ContainsKey(nameof(HealthStartPeriod)) || b.ContainsKey(nameof(HealthStartInterval))
            || b.ContainsKey(nameof(HealthOnFailure));
        if (!any) return;
        o.Health = new HealthCheckConfig
        {
            Test = b.ContainsKey(nameof(HealthCommand)) ? HealthChecks.TestOf(HealthCommand) : [],
            Interval = b.ContainsKey(nameof(HealthInterval)) ? HealthInterval : null,
            Timeout = b.ContainsKey(nameof(HealthTimeout)) ? HealthTimeout : null,
            Retries = b.ContainsKey(nameof(HealthRetries)) ? HealthRetries : null,
            StartPeriod = b.ContainsKey(nameof(HealthStartPeriod)) ? HealthStartPeriod : null,
            StartInterval = b.ContainsKey(nameof(HealthStartInterval)) ? HealthStartInterval : null,
            OnFailure = HealthOnFailure,
        };
    }
}
