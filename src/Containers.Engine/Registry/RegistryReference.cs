using System.Text.RegularExpressions;
using Containers.Engine.Errors;

namespace Containers.Engine.Registry;

/// <summary>
/// A reference as the distribution client needs it: registry host, repository, tag and/or digest.
/// Short names mean docker.io/library. (Private to the registry client until the image store's parser is
/// in main; then this becomes a thin adapter over it.)
/// </summary>
public sealed partial class RegistryReference
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

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RepoRegex();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$")]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"^sha256:[a-f0-9]{64}$")]
    private static partial Regex DigestRegex();

    public static bool IsDigest(string s) => DigestRegex().IsMatch(s);

    /// <summary>Parses "name[:tag][@digest]"; throws InvalidArgument (InvalidImageReference) when malformed.</summary>
    public static RegistryReference Parse(string reference)
    {
        if (string.IsNullOrWhiteSpace(reference))
            throw Bad(reference ?? "");
        string rest = reference.Trim();
        string? digest = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (!DigestRegex().IsMatch(digest)) throw Bad(reference);
        }
        string? tag = null;
        int slash = rest.LastIndexOf('/');
        int colon = rest.LastIndexOf(':');
        if (colon > slash)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagRegex().IsMatch(tag)) throw Bad(reference);
        }
        string registry = DockerHub;
        string repo = rest;
        int first = rest.IndexOf('/');
        if (first > 0)
        {
            string head = rest[..first];
            if (head.Contains('.') || head.Contains(':') || head == "localhost" || head.Any(char.IsUpper))
            {
                registry = head;
                repo = rest[(first + 1)..];
            }
        }
        if (registry is "index.docker.io" or "registry-1.docker.io") registry = DockerHub;
        if (registry == DockerHub && !repo.Contains('/')) repo = "library/" + repo;
        if (!RepoRegex().IsMatch(repo) || repo.Length > 255) throw Bad(reference);
        if (tag is null && digest is null) tag = "latest";
        return new RegistryReference(registry, repo, tag, digest);
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

    private static ContainersException Bad(string reference) =>
        ContainersException.Invalid("InvalidImageReference", Messages.InvalidReference(reference), reference);
}

public sealed partial class RegistryReference
{
    /// <summary>Like <see cref="NormalizeRegistry"/> but returns null instead of throwing.</summary>
    public static string? NormalizeRegistrySafe(string registry)
    {
        try { return NormalizeRegistry(registry.Replace("/v1/", "").Replace("/v2/", "")); }
        catch (ContainersException) { return null; }
    }
}
