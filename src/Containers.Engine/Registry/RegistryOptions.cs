namespace Containers.Engine.Registry;

/// <summary>How to reach a registry: trust, plain HTTP, explicit credentials, where logins live.</summary>
public sealed class RegistryOptions
{
    /// <summary>Allow plain HTTP and unverified TLS for this registry (like Docker's insecure-registries).</summary>
    public bool Insecure { get; init; }

    /// <summary>A PEM file of CA certificates trusted for this registry (in addition to the system store).</summary>
    public string? CertificatePath { get; init; }

    /// <summary>Credentials for this call only; otherwise the stored login (if any) is used.</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>The login file to read and write (default: see <see cref="CredentialStore"/>).</summary>
    public string? AuthFile { get; init; }

    /// <summary>How many layers are transferred at once.</summary>
    public int MaxParallel { get; init; } = 3;

    /// <summary>How many times an interrupted transfer is resumed before giving up.</summary>
    public int Retries { get; init; } = 5;

    /// <summary>The platform to pick from an index: os/arch[/variant]; default linux/amd64.</summary>
    public string? Platform { get; init; }

    public static readonly RegistryOptions Default = new();
}
