using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Engine.Registry;

/// <summary>Logins, tag listing and the pull policy other areas call (EnsureImage).</summary>
public static class RegistryService
{
    /// <summary>Checks the credentials against the registry, then stores them (mode 0600).</summary>
    public static RegistryLogin Login(string registry, RegistryCredential credential, RegistryOptions options, CancellationToken ct)
    {
        string reg = RegistryReference.NormalizeRegistry(registry);
        using (var client = new RegistryClient(reg, options))
            client.VerifyLoginAsync(credential, ct).GetAwaiter().GetResult();
        var store = new CredentialStore(options.AuthFile);
        store.Set(reg, credential);
        return new RegistryLogin(reg, credential.UserName, store.Path);
    }

    /// <summary>Removes the stored login; throws NotFound (RegistryLoginNotFound) when there was none.</summary>
    public static void Logout(string registry, string? authFile)
    {
        string reg = RegistryReference.NormalizeRegistry(registry);
        if (!new CredentialStore(authFile).Remove(reg))
            throw ContainersException.NotFound("RegistryLoginNotFound", Messages.NotLoggedIn(reg), reg);
    }

    /// <summary>The stored login for a registry (from our file, or Docker's / Podman's), or null.</summary>
    public static RegistryLogin? GetLogin(string registry, string? authFile)
    {
        string reg = RegistryReference.NormalizeRegistry(registry);
        var store = new CredentialStore(authFile);
        return store.Get(reg) is { } c ? new RegistryLogin(reg, c.UserName, store.Path) : null;
    }

    public static List<RegistryImageTag> ListTags(string repository, RegistryOptions options, CancellationToken ct)
    {
        var r = RegistryReference.Parse(repository);
        if (r.Digest is not null || (r.Tag is not null && r.Tag != "latest" && repository.Contains(':') && repository.LastIndexOf(':') > repository.LastIndexOf('/')))
            throw ContainersException.Invalid("InvalidRepositoryName", Messages.RepositoryWithTag(repository), repository);
        using var client = new RegistryClient(r.Registry, options);
        var tags = client.ListTagsAsync(r.Repository, r.Name, ct).GetAwaiter().GetResult();
        return tags.Select(t => new RegistryImageTag(r.Registry, r.Repository, t)).ToList();
    }

    /// <summary>
    /// For New-Container / Invoke-ContainerImage: makes sure the image is in the store according to the
    /// policy and returns the manifest digest the name points at. Missing pulls only when absent, Always
    /// asks the registry (reusing present layers), Never fails with ImageNotFound when absent.
    /// </summary>
    public static string EnsureImage(StorageRoot root, string reference, PullPolicy policy, RegistryOptions options, IProgressSink progress, CancellationToken ct)
    {
        var local = new Images.ImageStore(root).TryResolve(reference);
        if (policy == PullPolicy.Never || (policy == PullPolicy.Missing && local is not null))
            return local?.ManifestDigest ?? throw ContainersException.NotFound("ImageNotFound", Messages.LocalImageNotFound(reference), reference);
        return ImagePuller.Pull(root, reference, options, progress, ct).Digest;
    }
}
