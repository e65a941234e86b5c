using System.Text.Json;
using System.Text.Json.Serialization;

namespace Containers.Engine.Spec;

/// <summary>The OCI image configuration (also Docker's container.image.v1): what a container of the image runs.</summary>
public sealed class ImageConfig
{
    [JsonPropertyName("created")] public DateTime? Created { get; set; }
    [JsonPropertyName("author")] public string? Author { get; set; }
    [JsonPropertyName("architecture")] public string Architecture { get; set; } = "amd64";
    [JsonPropertyName("os")] public string Os { get; set; } = "linux";
    [JsonPropertyName("variant")] public string? Variant { get; set; }
    [JsonPropertyName("config")] public ContainerConfig? Config { get; set; }
    [JsonPropertyName("rootfs")] public RootFs RootFs { get; set; } = new();
    [JsonPropertyName("history")] public List<HistoryEntry>? History { get; set; }

    /// <summary>Fields this model does not know (kept on a round trip: docker_version, container_config, ...).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    public static ImageConfig Parse(ReadOnlySpan<byte> json)
        => JsonSerializer.Deserialize<ImageConfig>(json, SpecJson.Options) ?? throw new JsonException("The image configuration is null.");

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, SpecJson.Options);
}

/// <summary>The execution parameters of an image config (Docker's field names, PascalCase).</summary>
public sealed class ContainerConfig
{
    [JsonPropertyName("User")] public string? User { get; set; }
    [JsonPropertyName("ExposedPorts")] public Dictionary<string, JsonElement>? ExposedPorts { get; set; }
    [JsonPropertyName("Env")] public List<string>? Env { get; set; }
    [JsonPropertyName("Entrypoint")] public List<string>? Entrypoint { get; set; }
    [JsonPropertyName("Cmd")] public List<string>? Cmd { get; set; }
    [JsonPropertyName("Volumes")] public Dictionary<string, JsonElement>? Volumes { get; set; }
    [JsonPropertyName("WorkingDir")] public string? WorkingDir { get; set; }
    [JsonPropertyName("Labels")] public Dictionary<string, string>? Labels { get; set; }
    [JsonPropertyName("StopSignal")] public string? StopSignal { get; set; }
    [JsonPropertyName("ArgsEscaped")] public bool? ArgsEscaped { get; set; }
    [JsonPropertyName("Healthcheck")] public JsonElement? Healthcheck { get; set; }
    [JsonPropertyName("OnBuild")] public List<string>? OnBuild { get; set; }
    [JsonPropertyName("Shell")] public List<string>? Shell { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    public ContainerConfig Clone()
        => JsonSerializer.Deserialize<ContainerConfig>(JsonSerializer.SerializeToUtf8Bytes(this, SpecJson.Options), SpecJson.Options)!;
}

public sealed class RootFs
{
    [JsonPropertyName("type")] public string Type { get; set; } = "layers";
    [JsonPropertyName("diff_ids")] public List<string> DiffIds { get; set; } = [];
}

public sealed class HistoryEntry
{
    [JsonPropertyName("created")] public DateTime? Created { get; set; }
    [JsonPropertyName("created_by")] public string? CreatedBy { get; set; }
    [JsonPropertyName("author")] public string? Author { get; set; }
    [JsonPropertyName("comment")] public string? Comment { get; set; }
    [JsonPropertyName("empty_layer")] public bool? EmptyLayer { get; set; }
}

/// <summary>JSON settings for OCI documents: names as the attributes say, nulls left out.</summary>
public static class SpecJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        // the image's configuration and manifest from compile-time metadata (State/JsonContexts.cs), the rest by reflection
        TypeInfoResolver = State.SpecJsonContext.WithReflectionFallback(),
    };

    public static T Parse<T>(ReadOnlySpan<byte> json) where T : class
        => JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException("The document is null.");

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>The mediaType field of any JSON document, or null.</summary>
    public static string? PeekMediaType(ReadOnlySpan<byte> json)
    {
        try
        {
            var r = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref r);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String)
                return mt.GetString();
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("manifests", out _)) return MediaTypes.OciIndex;
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("layers", out _)) return MediaTypes.OciManifest;
            return null;
        }
        catch (JsonException) { return null; }
    }
}
