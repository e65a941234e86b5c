using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;

namespace Containers.Engine.Spec;

/// <summary>
/// An image reference in Docker's grammar, <c>[registry/]repository[:tag][@digest]</c>, normalised the way
/// Docker does: a name without a registry is on docker.io, a one-component name on docker.io is under
/// library/, and a name with neither tag nor digest means :latest.
/// </summary>
public sealed partial class ImageReference : IEquatable<ImageReference>
{
    public const string DefaultRegistry = "docker.io";
    public const string DefaultTag = "latest";
    public const int MaxNameLength = 255;

    /// <summary>The registry host (and port), e.g. docker.io, localhost:5000.</summary>
    public string Registry { get; }
    /// <summary>The repository path inside the registry, e.g. library/busybox.</summary>
    public string Repository { get; }
    /// <summary>The tag; null when the reference has only a digest.</summary>
    public string? Tag { get; }
    /// <summary>The manifest digest ("sha256:..."), or null.</summary>
    public string? Digest { get; }

    private ImageReference(string registry, string repository, string? tag, string? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>registry/repository, e.g. docker.io/library/busybox.</summary>
    public string Name => Registry + "/" + Repository;

    /// <summary>The short form Docker shows: busybox:latest, myorg/app:1, localhost:5000/app:1.</summary>
    public string FamiliarName
    {
        get
        {
            string n = Name;
            if (Registry == DefaultRegistry)
                n = Repository.StartsWith("library/", StringComparison.Ordinal) && Repository.IndexOf('/', 8) < 0 ? Repository[8..] : Repository;
            return n + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);
        }
    }

    /// <summary>The canonical full form: docker.io/library/busybox:latest (tag and/or @digest).</summary>
    public override string ToString() => Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    /// <summary>This reference with another tag (digest dropped).</summary>
    public ImageReference WithTag(string tag)
    {
        if (!TagRegex().IsMatch(tag))
            throw ContainersException.Invalid("InvalidReferenceTag", $"'{tag}' is not a valid tag: use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.", tag);
        return new ImageReference(Registry, Repository, tag, null);
    }

    public ImageReference WithDigest(string digest) => new(Registry, Repository, null, digest);

    // Docker's grammar (distribution/reference regexp.go)
    private const string Alnum = "[a-z0-9]+";
    private const string Separator = "(?:[._]|__|[-]+)";
    private const string PathComponent = Alnum + "(?:" + Separator + Alnum + ")*";
    private const string DomainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private const string DomainName = DomainComponent + "(?:\\." + DomainComponent + ")*";
    private const string Ipv6 = "\\[(?:[a-fA-F0-9:]+)\\]";
    private const string Domain = "(?:" + DomainName + "|" + Ipv6 + ")(?::[0-9]+)?";

    [GeneratedRegex("^" + PathComponent + "(?:/" + PathComponent + ")*$")]
    private static partial Regex PathRegex();
    [GeneratedRegex("^" + Domain + "$")]
    private static partial Regex DomainRegex();
    [GeneratedRegex("^[\\w][\\w.-]{0,127}$")]
    private static partial Regex TagRegex();
    [GeneratedRegex("^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")]
    private static partial Regex DigestRegex();
    [GeneratedRegex("^[a-f0-9]{64}$")]
    private static partial Regex FullHexRegex();

    /// <summary>Parses and normalises a reference; throws ContainersException (InvalidArgument) naming what is wrong.</summary>
    public static ImageReference Parse(string reference)
    {
        if (!TryParse(reference, out var r, out var err)) throw err!;
        return r!;
    }

    public static bool TryParse(string? reference, [NotNullWhen(true)] out ImageReference? result) => TryParse(reference, out result, out _);

    public static bool TryParse(string? reference, [NotNullWhen(true)] out ImageReference? result, out ContainersException? error)
    {
        result = null;
        error = null;
        ContainersException Fail(string id, string msg) => ContainersException.Invalid(id, msg, reference);
        if (string.IsNullOrWhiteSpace(reference))
        {
            error = Fail("InvalidReferenceEmpty", "The image reference is empty.");
            return false;
        }
        string s = reference.Trim();
        string? digest = null;
        int at = s.IndexOf('@');
        if (at >= 0)
        {
            digest = s[(at + 1)..];
            s = s[..at];
            if (!DigestRegex().IsMatch(digest))
            {
                error = Fail("InvalidReferenceDigest", $"'{reference}' has an invalid digest '{digest}' (expected algorithm:hex, e.g. sha256:<64 hex digits>).");
                return false;
            }
            if (digest.StartsWith("sha256:", StringComparison.Ordinal) && !FullHexRegex().IsMatch(digest[7..]))
            {
                error = Fail("InvalidReferenceDigest", $"'{reference}' has an invalid sha256 digest '{digest}' (64 lower-case hex digits expected).");
                return false;
            }
        }
        string? tag = null;
        int lastSlash = s.LastIndexOf('/');
        int colon = s.LastIndexOf(':');
        if (colon > lastSlash)
        {
            tag = s[(colon + 1)..];
            s = s[..colon];
            if (!TagRegex().IsMatch(tag))
            {
                error = Fail("InvalidReferenceTag", $"'{reference}' has an invalid tag '{tag}': use up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'.");
                return false;
            }
        }
        if (s.Length == 0)
        {
            error = Fail("InvalidReferenceFormat", $"'{reference}' has no repository name.");
            return false;
        }
        string registry, path;
        int slash = s.IndexOf('/');
        string first = slash < 0 ? "" : s[..slash];
        if (slash >= 0 && (first.Contains('.') || first.Contains(':') || first == "localhost" || first.ToLowerInvariant() != first))
        {
            registry = first;
            path = s[(slash + 1)..];
            if (!DomainRegex().IsMatch(registry))
            {
                error = Fail("InvalidReferenceRegistry", $"'{reference}' names an invalid registry '{registry}'.");
                return false;
            }
        }
        else
        {
            registry = DefaultRegistry;
            path = s;
        }
        if (registry == "index.docker.io") registry = DefaultRegistry;
        if (registry == DefaultRegistry && !path.Contains('/')) path = "library/" + path;
        if (path.ToLowerInvariant() != path && PathRegex().IsMatch(path.ToLowerInvariant()))
        {
            error = Fail("InvalidReferenceNotLowercase", $"'{reference}': repository names must be lower-case.");
            return false;
        }
        if (!PathRegex().IsMatch(path))
        {
            error = Fail("InvalidReferenceFormat", $"'{reference}' is not a valid image reference: expected [registry/]repository[:tag][@digest] with lower-case letters, digits and the separators '.', '_', '__', '-' between them.");
            return false;
        }
        if (registry == DefaultRegistry && path.StartsWith("library/", StringComparison.Ordinal) && FullHexRegex().IsMatch(path[8..]) && tag is null && digest is null && !reference.Contains('/'))
        {
            error = Fail("InvalidReferenceAmbiguous", $"'{reference}' looks like an image id, not a repository name (64 hex digits are reserved for ids).");
            return false;
        }
        if ((registry + "/" + path).Length > MaxNameLength)
        {
            error = Fail("InvalidReferenceTooLong", $"'{reference}': the repository name must not be longer than {MaxNameLength} characters.");
            return false;
        }
        if (tag is null && digest is null) tag = DefaultTag;
        result = new ImageReference(registry, path, tag, digest);
        return true;
    }

    public bool Equals(ImageReference? other) => other is not null && ToString() == other.ToString();
    public override bool Equals(object? obj) => Equals(obj as ImageReference);
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
