using System.Management.Automation;
using Containers.Engine.Model;
using Containers.Engine.Registry;

namespace Containers.Cmdlets.Registry;

/// <summary>Connect-ContainerRegistry: checks a login against a registry and stores it.</summary>
[Cmdlet(VerbsCommunications.Connect, "ContainerRegistry", SupportsShouldProcess = true)]
[OutputType(typeof(RegistryLogin))]
public sealed class ConnectContainerRegistryCommand : RegistryCmdlet
{
    /// <summary>The registry host[:port] (docker.io for Docker Hub).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Server")]
    [ValidateNotNullOrEmpty]
    public string Registry { get; set; } = "";

    /// <summary>Write the stored login object.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing()
    {
        if (Credential is null)
        {
            Credential = Host.UI.PromptForCredential("Connect-ContainerRegistry", $"Log in to {Registry}", "", Registry);
        }
    }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Registry, "Store registry login")) return;
        TryItem(Registry, () =>
        {
            var options = Options();
            if (options.Credential is null)
                throw Engine.Errors.ContainersException.Invalid("CredentialRequired", "A credential is required to log in.", Registry);
            var login = RegistryService.Login(Registry, options.Credential, options, CancellationToken);
            if (PassThru) WriteObject(login);
        });
    }
}
