using Containers.Engine.Errors;

namespace Containers.Engine.Registry;

/// <summary>
/// A reference as the distribution client needs it: registry host (and the API host), repository, tag
/// and/or digest, and what a manifest is fetched by. Parsing is the image store's (Spec.ImageReference).
/// </summary>
public sealed class RegistryReference
{
    public const string DockerHub = "docker.io";

    /// <summary>The registry as the user names it (docker.io, localhost:5000, 127.0.0.1:5000).</summary>
    public string Registry { get; }
    public string Repository { get; }
    public string? Tag { get; }
    public string? Digest { get; }

    private RegistryReference(string registry, string repository, string? tag, string? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>The host the API is served from (Docker Hub's API lives at registry-1.docker.io).</summary>
    public string ApiHost => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>What a manifest is fetched by: the digest when given, else the tag (default latest).</summary>
    public string Selector => Digest ?? Tag ?? "latest";

    /// <summary>registry/repository</summary>
    public string Name => Registry + "/" + Repository;

    public RegistryReference WithTag(string? tag) => new(Registry, Repository, tag, null);
    public RegistryReference WithDigest(string digest) => new(Registry, Repository, Tag, digest);

    public override string ToString() => Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    public static bool IsDigest(string s) => Spec.Digest.IsSha256(s);

    /// <summary>Parses "name[:tag][@digest]" with the image store's parser (its InvalidReference* error ids).</summary>
    public static RegistryReference Parse(string reference)
    {
        var r = Spec.ImageReference.Parse(reference);
        string? tag = r.Tag ?? (r.Digest is null ? Spec.ImageReference.DefaultTag : null);
        return new RegistryReference(r.Registry, r.Repository, tag, r.Digest);
    }

    /// <summary>Parses, or returns null for a string that is not a reference.</summary>
    public static RegistryReference? TryParse(string reference)
    {
        try { return Parse(reference); }
        catch (ContainersException) { return null; }
    }

    /// <summary>Parses a registry name given on its own (Connect-ContainerRegistry -Registry).</summary>
    public static string NormalizeRegistry(string registry)
    {
        string r = registry.Trim();
        if (r.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) r = r[8..];
        else if (r.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) r = r[7..];
        r = r.TrimEnd('/');
        if (r.EndsWith("/v1", StringComparison.Ordinal) || r.EndsWith("/v2", StringComparison.Ordinal)) r = r[..^3];
        if (r.Length == 0 || r.Contains('/') || r.Any(char.IsWhiteSpace))
            throw ContainersException.Invalid("InvalidRegistryName", Messages.InvalidRegistry(registry), registry);
        if (r is "index.docker.io" or "registry-1.docker.io") r = DockerHub;
        return r;
    }

    /// <summary>Like <see cref="NormalizeRegistry"/> but returns null instead of throwing.</summary>
    public static string? NormalizeRegistrySafe(string registry)
    {
        try { return NormalizeRegistry(registry.Replace("/v1/", "").Replace("/v2/", "")); }
        catch (ContainersException) { return null; }
    }
}
