using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Registry;

namespace Containers.Cmdlets.Registry;

/// <summary>Disconnect-ContainerRegistry: removes a stored registry login.</summary>
[Cmdlet(VerbsCommunications.Disconnect, "ContainerRegistry", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class DisconnectContainerRegistryCommand : ContainersCmdlet
{
    /// <summary>The registry whose login to remove.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Server")]
    [ValidateNotNullOrEmpty]
    public string[] Registry { get; set; } = [];

    /// <summary>The login file (Docker config.json 'auths' format).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AuthFile { get; set; }

    protected override void ProcessRecord()
    {
        string? file = AuthFile is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(AuthFile);
        foreach (string reg in Registry)
        {
            if (!ShouldProcess(reg, "Remove registry login")) continue;
            TryItem(reg, () => RegistryService.Logout(reg, file));
        }
    }
}
