using System.Text.Json.Nodes;
using Containers.Engine.Errors;

namespace Containers.Engine.Registry;

/// <summary>A content descriptor as the client reads it from a manifest or index.</summary>
internal sealed record BlobRef(string MediaType, string Digest, long Size, string? Os = null, string? Architecture = null, string? Variant = null);

/// <summary>
/// Minimal reading of OCI / Docker schema 2 manifests and indexes (JSON nodes, not models: the image
/// store's Spec models replace this once they are in main).
/// </summary>
internal static class ManifestDoc
{
    public static bool IsIndex(string mediaType) => mediaType is RegistryClient.MediaOciIndex or RegistryClient.MediaDockerList;

    public static bool IsManifest(string mediaType) => mediaType is RegistryClient.MediaOciManifest or RegistryClient.MediaDockerManifest;

    public static JsonNode Parse(byte[] bytes, object target)
    {
        try { return JsonNode.Parse(bytes) ?? throw new System.Text.Json.JsonException("empty document"); }
        catch (System.Text.Json.JsonException ex)
        {
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, ex.Message), target, ex);
        }
    }

    public static BlobRef Descriptor(JsonNode? n, object target)
    {
        try
        {
            string digest = n!["digest"]!.GetValue<string>();
            if (!RegistryReference.IsDigest(digest))
                throw ContainersException.Invalid("UnsupportedDigest", Messages.UnsupportedDigest(digest), target);
            var p = n["platform"];
            return new BlobRef(n["mediaType"]?.GetValue<string>() ?? "", digest, n["size"]?.GetValue<long>() ?? -1,
                p?["os"]?.GetValue<string>(), p?["architecture"]?.GetValue<string>(), p?["variant"]?.GetValue<string>());
        }
        catch (Exception ex) when (ex is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, "bad descriptor"), target, ex);
        }
    }

    public static (BlobRef Config, List<BlobRef> Layers) ReadManifest(byte[] bytes, object target)
    {
        var doc = Parse(bytes, target);
        var config = Descriptor(doc["config"], target);
        var layers = new List<BlobRef>();
        if (doc["layers"] is JsonArray arr)
            foreach (var l in arr) layers.Add(Descriptor(l, target));
        return (config, layers);
    }

    public static List<BlobRef> ReadIndex(byte[] bytes, object target)
    {
        var doc = Parse(bytes, target);
        var list = new List<BlobRef>();
        if (doc["manifests"] is JsonArray arr)
            foreach (var m in arr) list.Add(Descriptor(m, target));
        return list;
    }

    /// <summary>The default platform: linux and the host's architecture in OCI naming (amd64 here).</summary>
    public static string DefaultPlatform => "linux/" + System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        _ => "amd64",
    };

    /// <summary>Picks the index entry for "os/arch[/variant]".</summary>
    public static BlobRef SelectPlatform(List<BlobRef> entries, string platform, object target)
    {
        string[] p = platform.Split('/');
        if (p.Length is < 2 or > 3 || p.Any(string.IsNullOrWhiteSpace))
            throw ContainersException.Invalid("InvalidPlatform", Messages.InvalidPlatform(platform), platform);
        string os = p[0], arch = p[1];
        string? variant = p.Length == 3 ? p[2] : null;
        var candidates = entries.Where(e => IsManifest(e.MediaType) || e.MediaType == "")
            .Where(e => string.Equals(e.Os, os, StringComparison.Ordinal) && string.Equals(e.Architecture, arch, StringComparison.Ordinal)).ToList();
        BlobRef? pick = variant is null
            ? candidates.FirstOrDefault(e => e.Variant is null || (arch == "arm64" && e.Variant == "v8")) ?? candidates.FirstOrDefault()
            : candidates.FirstOrDefault(e => e.Variant == variant);
        if (pick is null)
        {
            string have = string.Join(", ", entries.Where(e => e.Os is not null && e.Architecture != "unknown")
                .Select(e => e.Os + "/" + e.Architecture + (e.Variant is null ? "" : "/" + e.Variant)));
            throw ContainersException.NotFound("PlatformNotFound", Messages.PlatformNotFound(target, platform, have), target);
        }
        return pick;
    }

    public static List<string> DiffIds(byte[] config, object target)
    {
        var doc = Parse(config, target);
        var list = new List<string>();
        if (doc["rootfs"]?["diff_ids"] is JsonArray arr)
            foreach (var d in arr) list.Add(d!.GetValue<string>());
        return list;
    }

    public static string ConfigPlatform(byte[] config, object target)
    {
        var doc = Parse(config, target);
        string os = doc["os"]?.GetValue<string>() ?? "linux";
        string arch = doc["architecture"]?.GetValue<string>() ?? "amd64";
        string? variant = doc["variant"]?.GetValue<string>();
        return os + "/" + arch + (variant is null ? "" : "/" + variant);
    }
}
