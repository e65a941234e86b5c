using System.Text.Json;
using Json.Schema;

namespace Containers.ComposeSchema;

/// <summary>
/// Validates a JSON instance against a JSON schema. Plain types in and out (strings), because the caller
/// lives in another load context and calls through reflection.
/// </summary>
public static class SchemaValidator
{
    private static readonly Dictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);

    /// <summary>
    /// No failure: an empty array. Otherwise one line per failing leaf: the instance location (a JSON pointer),
    /// a tab, the evaluation path, a tab, the error messages joined by "; " (a "false" schema, i.e. a key that
    /// additionalProperties forbids, is written as the keyword "false").
    /// </summary>
    public static string[] Validate(string schemaText, string instanceJson)
    {
        JsonSchema schema;
        lock (Schemas)
        {
            if (!Schemas.TryGetValue(schemaText, out schema!))
            {
                schema = JsonSchema.FromText(schemaText, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri("https://compose-spec.io/schemas/compose-spec.json"));
                Schemas[schemaText] = schema;
            }
        }
        using var doc = JsonDocument.Parse(instanceJson);
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return Array.Empty<string>();
        var lines = new List<string>();
        foreach (var d in (IEnumerable<EvaluationResults>?)result.Details ?? Array.Empty<EvaluationResults>())
        {
            if (d.IsValid || d.Errors is not { Count: > 0 } errors) continue;
            string msg = string.Join("; ", errors.Select(e => e.Key == "false" ? "false" : e.Value));
            lines.Add($"{d.InstanceLocation}\t{d.EvaluationPath}\t{msg}");
        }
        if (lines.Count == 0) lines.Add("\t\tthe document does not follow the schema");
        return lines.ToArray();
    }
}
