using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Engine.Spec;

namespace Containers.Engine.Registry;

/// <summary>Reading manifests, indexes and configs fetched from a registry (the Spec models), and platform selection.</summary>
internal static class ManifestDoc
{
    public static T Parse<T>(byte[] bytes, object target) where T : class
    {
        try { return SpecJson.Parse<T>(bytes) ?? throw new JsonException("empty document"); }
        catch (JsonException ex)
        {
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, ex.Message), target, ex);
        }
    }

    public static ImageManifest ReadManifest(byte[] bytes, object target)
    {
        var m = Parse<ImageManifest>(bytes, target);
        foreach (var d in m.Layers.Append(m.Config))
            if (!Digest.IsSha256(d.Digest))
                throw ContainersException.Invalid("UnsupportedDigest", Messages.UnsupportedDigest(d.Digest), target);
        return m;
    }

    public static ImageConfig ReadConfig(byte[] bytes, object target)
    {
        try { return ImageConfig.Parse(bytes); }
        catch (JsonException ex)
        {
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, ex.Message), target, ex);
        }
    }

    /// <summary>The default platform: linux and the host's architecture in OCI naming (amd64 here).</summary>
    public static string DefaultPlatform => "linux/" + System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        _ => "amd64",
    };

    /// <summary>Picks the index entry for "os/arch[/variant]" (attestation entries, platform unknown/unknown, never match).</summary>
    public static Descriptor SelectPlatform(ImageIndex index, string platform, object target)
    {
        string[] p = platform.Split('/');
        if (p.Length is < 2 or > 3 || p.Any(string.IsNullOrWhiteSpace))
            throw ContainersException.Invalid("InvalidPlatform", Messages.InvalidPlatform(platform), platform);
        string os = p[0], arch = p[1];
        string? variant = p.Length == 3 ? p[2] : null;
        var candidates = index.Manifests
            .Where(e => e.MediaType is null || MediaTypes.IsManifest(e.MediaType))
            .Where(e => e.Platform is not null && e.Platform.Os == os && e.Platform.Architecture == arch).ToList();
        Descriptor? pick = variant is null
            ? candidates.FirstOrDefault(e => string.IsNullOrEmpty(e.Platform!.Variant) || (arch == "arm64" && e.Platform.Variant == "v8")) ?? candidates.FirstOrDefault()
            : candidates.FirstOrDefault(e => e.Platform!.Variant == variant);
        if (pick is null)
        {
            string have = string.Join(", ", index.Manifests.Where(e => e.Platform is not null && e.Platform.Architecture != "unknown").Select(e => e.Platform!.ToString()));
            throw ContainersException.NotFound("PlatformNotFound", Messages.PlatformNotFound(target, platform, have), target);
        }
        return pick;
    }

    public static string ConfigPlatform(ImageConfig c) => c.Os + "/" + c.Architecture + (string.IsNullOrEmpty(c.Variant) ? "" : "/" + c.Variant);
}
