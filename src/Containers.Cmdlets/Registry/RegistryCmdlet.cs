using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Registry;

namespace Containers.Cmdlets.Registry;

/// <summary>Parameters every registry cmdlet shares: credentials, trust and the login file.</summary>
public abstract class RegistryCmdlet : ContainersCmdlet
{
    /// <summary>Credentials for this call; otherwise the stored login for the registry is used.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>Allow plain HTTP and unverified TLS for this registry.</summary>
    [Parameter]
    public SwitchParameter Insecure { get; set; }

    /// <summary>A PEM file of CA certificates to trust for this registry.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CertificatePath { get; set; }

    /// <summary>The login file (Docker config.json 'auths' format).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? AuthFile { get; set; }

    protected RegistryCredential? CredentialOrNull =>
        Credential is null || Credential == PSCredential.Empty ? null
        : new RegistryCredential(Credential.UserName, Credential.GetNetworkCredential().Password);

    protected string? ResolvedPath(string? path) =>
        path is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    protected RegistryOptions Options(string? platform = null) => new()
    {
        Credential = CredentialOrNull,
        Insecure = Insecure.IsPresent,
        CertificatePath = ResolvedPath(CertificatePath),
        AuthFile = ResolvedPath(AuthFile),
        Platform = platform,
    };
}
