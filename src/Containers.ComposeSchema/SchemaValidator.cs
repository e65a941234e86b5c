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
    // only failures whose every ancestor failed too: a branch of a oneOf that another branch satisfied is no failure
    private static void Walk(EvaluationResults node, List<string> lines)
    {
        if (node.IsValid) return;
        bool deeper = false;
        foreach (var child in (IEnumerable<EvaluationResults>?)node.Details ?? Array.Empty<EvaluationResults>())
        {
            if (child.IsValid) continue;
            deeper = true;
            Walk(child, lines);
        }
        if (node.Errors is { Count: > 0 } errors)
        {
            string msg = string.Join("; ", errors.Select(e => e.Key == "false" ? "false" : e.Value));
            lines.Add($"{node.InstanceLocation}\t{node.EvaluationPath}\t{msg}");
        }
        else if (!deeper) lines.Add($"{node.InstanceLocation}\t{node.EvaluationPath}\tdoes not follow the schema");
    }

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
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.Hierarchical });
        if (result.IsValid) return Array.Empty<string>();
        var lines = new List<string>();
        Walk(result, lines);
        if (lines.Count == 0) lines.Add("\t\tthe document does not follow the schema");
        return lines.ToArray();
    }
}
