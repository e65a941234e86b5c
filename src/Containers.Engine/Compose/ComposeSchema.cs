using System.Reflection;
using System.Runtime.Loader;
using Map = System.Collections.Generic.OrderedDictionary<string, object?>;

namespace Containers.Engine.Compose;

/// <summary>
/// Validates an interpolated compose file against the compose-spec JSON schema (Compose/compose-spec.json,
/// from compose-spec/compose-go, Apache-2.0; see Compose/README.md). The error names the file and the path
/// inside it that breaks the schema, the deepest one first.
/// The check itself runs in Containers.ComposeSchema.dll with JsonSchema.Net 8.0.5, loaded from the module's
/// compose-schema folder into a load context of their own: PowerShell's own JsonSchema.Net (7.x, in the
/// default context) would otherwise be bound instead.
/// </summary>
internal static class ComposeSchema
{
    private static readonly Lazy<string> SchemaText = new(() =>
    {
        using var s = typeof(ComposeSchema).Assembly.GetManifestResourceStream("Containers.Compose.compose-spec.json")
            ?? throw new InvalidOperationException("The compose-spec schema is not embedded.");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    });

    private static readonly Lazy<Func<string, string, string[]>> Validator = new(LoadValidator);

    private sealed class SchemaContext(string dir) : AssemblyLoadContext("compose-schema", isCollectible: false)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            string path = Path.Combine(dir, name.Name + ".dll");
            // the framework's assemblies (System.Text.Json...) come from the default context
            if (name.Name!.StartsWith("System.", StringComparison.Ordinal) || !File.Exists(path)) return null;
            return LoadFromAssemblyPath(path);
        }
    }

    private static Func<string, string, string[]> LoadValidator()
    {
        string dir = Path.Combine(Path.GetDirectoryName(typeof(ComposeSchema).Assembly.Location)!, "compose-schema");
        string main = Path.Combine(dir, "Containers.ComposeSchema.dll");
        if (!File.Exists(main))
            throw Errors.ContainersException.System("ComposeSchemaMissing", $"The compose schema check is not installed ('{main}' is missing).", main);
        var asm = new SchemaContext(dir).LoadFromAssemblyPath(main);
        var method = asm.GetType("Containers.ComposeSchema.SchemaValidator", throwOnError: true)!.GetMethod("Validate")!;
        return method.CreateDelegate<Func<string, string, string[]>>();
    }

    public static void Validate(Map tree, string file)
    {
        string json = ComposeYaml.ToJson(tree)?.ToJsonString() ?? "null";
        var lines = Validator.Value(SchemaText.Value, json);
        if (lines.Length == 0) return;
        var failures = lines.Select(l => l.Split('\t', 3)).Where(p => p.Length == 3).Select(p => (pointer: p[0], keyword: p[1], message: p[2])).ToList();
        if (failures.Count == 0) throw ComposeYaml.Invalid(file, $"{file}: the file does not follow the compose specification.");
        static int Depth(string p) => p.Count(c => c == '/');
        static bool Unknown((string pointer, string keyword, string message) f) => f.message == "false" || f.keyword.EndsWith("/additionalProperties", StringComparison.Ordinal);
        // the deepest failure is the branch of a oneOf that got furthest; an unknown key is the most telling one at its depth
        var best = failures.OrderByDescending(f => Depth(f.pointer)).ThenByDescending(Unknown).First();
        string path = PointerToPath(best.pointer);
        string message;
        if (Unknown(best))
        {
            int cut = path.LastIndexOfAny(new[] { '.', '[' });
            string parent = cut < 0 ? "(top level)" : path[..cut];
            string key = cut < 0 ? path : path[(cut + 1)..];
            message = $"{file}: {parent}: additional property '{key}' is not allowed";
        }
        else message = $"{file}: {(path.Length == 0 ? "(top level)" : path)}: {best.message}";
        throw ComposeYaml.Invalid(file, message);
    }

    /// <summary>/services/web/ports/0 as services.web.ports[0].</summary>
    internal static string PointerToPath(string pointer)
    {
        var sb = new System.Text.StringBuilder();
        foreach (string raw in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            string seg = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            if (seg.Length > 0 && seg.All(char.IsAsciiDigit)) sb.Append('[').Append(seg).Append(']');
            else { if (sb.Length > 0) sb.Append('.'); sb.Append(seg); }
        }
        return sb.ToString();
    }
}
