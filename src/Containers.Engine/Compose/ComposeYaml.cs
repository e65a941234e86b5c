using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Containers.Engine.Compose;

/// <summary>
/// The loader's working form of a compose document, as compose-go keeps it: a mapping is an insertion-ordered
/// <see cref="OrderedDictionary{TKey,TValue}"/> of string keys, a sequence a <see cref="List{T}"/> of object,
/// a scalar a string, long, double, bool or null (YAML 1.2 core schema, as yaml.v3 resolves plain scalars).
/// </summary>
internal static class ComposeYaml
{
    /// <summary>A value tagged <c>!reset</c>: the merge removes the key it stands for.</summary>
    internal sealed class Reset { public static readonly Reset Instance = new(); }

    /// <summary>A value tagged <c>!override</c>: the merge replaces instead of merging.</summary>
    internal sealed record Override(object? Value);

    public static OrderedDictionary<string, object?> NewMap() => new(StringComparer.Ordinal);

    /// <summary>Parses one compose file: anchors and aliases resolved, merge keys (<c>&lt;&lt;</c>) applied.</summary>
    public static OrderedDictionary<string, object?> Parse(string text, string file)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException ex)
        {
            throw Invalid(file, $"{file}:{ex.Start.Line}:{ex.Start.Column}: {Inner(ex)}", ex);
        }
        if (stream.Documents.Count == 0) return NewMap();
        if (stream.Documents.Count > 1)
            throw Invalid(file, $"{file}: a compose file holds one YAML document, this one holds {stream.Documents.Count}.");
        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Value: null or "" } && root.Tag.IsEmpty) return NewMap();
        int budget = MaxNodes;
        var value = Convert(root, file, "", 0, ref budget);
        if (value is not OrderedDictionary<string, object?> map)
            throw Invalid(file, $"{file}: the top level of a compose file must be a mapping.");
        return map;
    }

    private static string Inner(Exception ex)
    {
        while (ex.InnerException is YamlException inner) ex = inner;
        return ex.Message;
    }

    internal static ContainersException Invalid(string file, string message, Exception? inner = null)
        => new(ErrorKind.InvalidData, "ComposeFileInvalid", message, file, inner);

    /// <summary>
    /// The most nodes one file may expand to. Aliases are expanded into copies, so a few lines of nested
    /// aliases ("billion laughs") could otherwise ask for more memory than the machine has; compose-go bounds
    /// the same walk (MaxNodeVisits).
    /// </summary>
    internal const int MaxNodes = 1_000_000;

    private static object? Convert(YamlNode node, string file, string path, int depth, ref int budget)
    {
        if (--budget < 0)
            throw Invalid(file, $"{file}: the document expands to more than {MaxNodes} nodes (aliases nested too deep?).");
        if (depth > 200) throw Invalid(file, $"{file}: {path}: nesting too deep (an alias cycle?).");
        string tag = node.Tag.IsEmpty ? "" : node.Tag.Value;
        if (tag == "!reset") return Reset.Instance;
        if (tag == "!override")
        {
            return new Override(ConvertUntagged(node, file, path, depth, ref budget));
        }
        return ConvertUntagged(node, file, path, depth, ref budget);
    }

    private static object? ConvertUntagged(YamlNode node, string file, string path, int depth, ref int budget)
    {
        switch (node)
        {
            case YamlScalarNode s:
                return Scalar(s);
            case YamlSequenceNode seq:
            {
                var list = new List<object?>(seq.Children.Count);
                int i = 0;
                foreach (var c in seq.Children) list.Add(Convert(c, file, $"{path}[{i++}]", depth + 1, ref budget));
                return list;
            }
            case YamlMappingNode m:
            {
                var map = NewMap();
                var merges = new List<YamlNode>();
                foreach (var (k, v) in m.Children)
                {
                    if (k is not YamlScalarNode ks)
                        throw Invalid(file, $"{file}:{k.Start.Line}: {Join(path, "?")}: a mapping key must be a scalar.");
                    string key = ks.Value ?? "";
                    if (key == "<<" && ks.Style == ScalarStyle.Plain)
                    {
                        merges.Add(v);
                        continue;
                    }
                    if (map.ContainsKey(key))
                        throw Invalid(file, $"{file}:{k.Start.Line}: {Join(path, key)}: the key is defined twice.");
                    map[key] = Convert(v, file, Join(path, key), depth + 1, ref budget);
                }
                // merge keys: explicit keys win, then the merged mappings in order (the first one wins)
                foreach (var mv in merges)
                {
                    IEnumerable<YamlNode> sources = mv is YamlSequenceNode sn ? sn.Children : new[] { mv };
                    foreach (var src in sources)
                    {
                        if (Convert(src, file, Join(path, "<<"), depth + 1, ref budget) is not OrderedDictionary<string, object?> sm)
                            throw Invalid(file, $"{file}:{src.Start.Line}: {Join(path, "<<")}: a merge key takes a mapping or a list of mappings.");
                        foreach (var (k, v) in sm)
                            if (!map.ContainsKey(k)) map[k] = v;
                    }
                }
                return map;
            }
            default:
                return null;
        }
    }

    internal static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;

    private static readonly Regex IntRx = new(@"^[-+]?[0-9]+$", RegexOptions.CultureInvariant);
    private static readonly Regex OctRx = new(@"^0o[0-7]+$", RegexOptions.CultureInvariant);
    private static readonly Regex HexRx = new(@"^0x[0-9a-fA-F]+$", RegexOptions.CultureInvariant);
    private static readonly Regex FloatRx = new(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant);

    private static object? Scalar(YamlScalarNode s)
    {
        string v = s.Value ?? "";
        string tag = s.Tag.IsEmpty ? "" : s.Tag.Value;
        if (tag is "tag:yaml.org,2002:str" or "!!str") return v;
        if (s.Style != ScalarStyle.Plain) return v;
        return Resolve(v);
    }

    /// <summary>What a plain scalar means under the YAML 1.2 core schema.</summary>
    internal static object? Resolve(string v)
    {
        switch (v)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return true;
            case "false" or "False" or "FALSE": return false;
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": return double.PositiveInfinity;
            case "-.inf" or "-.Inf" or "-.INF": return double.NegativeInfinity;
            case ".nan" or ".NaN" or ".NAN": return double.NaN;
        }
        // yaml.v3 reads integers as Go's ParseInt(s, 0, 64): a leading 0 is octal (file modes: 0440), 0b binary
        if (v.Length > 1 && v[0] == '0' && v.All(char.IsAsciiDigit) && v.All(c => c < '8')) return System.Convert.ToInt64(v, 8);
        if (v.StartsWith("0b", StringComparison.Ordinal) && v.Length > 2 && v[2..].All(c => c is '0' or '1')) return System.Convert.ToInt64(v[2..], 2);
        if (IntRx.IsMatch(v) && long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
        if (OctRx.IsMatch(v)) return System.Convert.ToInt64(v[2..], 8);
        if (HexRx.IsMatch(v) && long.TryParse(v[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long h)) return h;
        if (FloatRx.IsMatch(v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        return v;
    }

    /// <summary>A scalar as text (numbers invariant, bools lower case), as compose-go formats them with %v.</summary>
    internal static string? Text(object? v) => v switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        float f => FormatDouble(f),
        _ => v.ToString(),
    };

    private static string FormatDouble(double d)
    {
        if (double.IsPositiveInfinity(d)) return "+Inf";
        if (double.IsNegativeInfinity(d)) return "-Inf";
        if (double.IsNaN(d)) return "NaN";
        return d.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Writes a tree as block YAML the way `docker compose config` prints: two-space indent, strings that would
    /// read back as another type quoted, <c>$</c> written as <c>$$</c> so the output loads again unchanged.
    /// </summary>
    public static string Write(object? root, bool escapeDollar = true)
    {
        var sw = new StringWriter();
        var emitter = new Emitter(sw, new EmitterSettings(2, int.MaxValue, false, 1024, false, false));
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        Emit(emitter, root, escapeDollar);
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        return sw.ToString();
    }

    private static void Emit(IEmitter e, object? v, bool esc)
    {
        switch (v)
        {
            case OrderedDictionary<string, object?> map:
                e.Emit(new MappingStart(null, null, true, MappingStyle.Block));
                foreach (var (k, val) in map)
                {
                    EmitString(e, k, false);
                    Emit(e, val, esc);
                }
                e.Emit(new MappingEnd());
                break;
            case System.Collections.IList list:
                e.Emit(new SequenceStart(null, null, true, SequenceStyle.Block));
                foreach (var item in list) Emit(e, item, esc);
                e.Emit(new SequenceEnd());
                break;
            case null:
                e.Emit(new Scalar(null, null, "null", ScalarStyle.Plain, true, false));
                break;
            case string s:
                EmitString(e, esc ? s.Replace("$", "$$", StringComparison.Ordinal) : s, true);
                break;
            default:
                e.Emit(new Scalar(null, null, Text(v)!, ScalarStyle.Plain, true, false));
                break;
        }
    }

    // what YAML 1.1 reads as a boolean: yaml.v3 quotes these strings so older readers keep them strings
    private static readonly HashSet<string> OldBools = new(StringComparer.Ordinal)
    {
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
    };

    private static void EmitString(IEmitter e, string s, bool value)
    {
        bool ambiguous = Resolve(s) is not string || s.Length == 0 || OldBools.Contains(s);
        ScalarStyle style = ambiguous ? ScalarStyle.DoubleQuoted
            : s.Contains('\n') && value ? ScalarStyle.Literal
            : ScalarStyle.Any;
        e.Emit(new Scalar(null, null, s, style, true, true));
    }

    /// <summary>Converts a tree to JSON for schema validation.</summary>
    internal static System.Text.Json.Nodes.JsonNode? ToJson(object? v) => v switch
    {
        null => null,
        OrderedDictionary<string, object?> map => ToJsonObject(map),
        System.Collections.IList list => new System.Text.Json.Nodes.JsonArray(list.Cast<object?>().Select(ToJson).ToArray()),
        string s => System.Text.Json.Nodes.JsonValue.Create(s),
        bool b => System.Text.Json.Nodes.JsonValue.Create(b),
        long l => System.Text.Json.Nodes.JsonValue.Create(l),
        int i => System.Text.Json.Nodes.JsonValue.Create(i),
        double d when double.IsFinite(d) => System.Text.Json.Nodes.JsonValue.Create(d),
        Override o => ToJson(o.Value),
        Reset => null,
        _ => System.Text.Json.Nodes.JsonValue.Create(Text(v)),
    };

    private static System.Text.Json.Nodes.JsonObject ToJsonObject(OrderedDictionary<string, object?> map)
    {
        var o = new System.Text.Json.Nodes.JsonObject();
        foreach (var (k, v) in map) if (v is not Reset) o[k] = ToJson(v);
        return o;
    }

    /// <summary>A deep copy, so a merged or extended tree never shares nodes with another (aliases do share).</summary>
    internal static object? Clone(object? v) => v switch
    {
        OrderedDictionary<string, object?> map => CloneMap(map),
        List<object?> list => list.Select(Clone).ToList(),
        Override o => new Override(Clone(o.Value)),
        _ => v,
    };

    internal static OrderedDictionary<string, object?> CloneMap(OrderedDictionary<string, object?> map)
    {
        var c = NewMap();
        foreach (var (k, v) in map) c[k] = Clone(v);
        return c;
    }

    internal static string Describe(object? v) => v switch
    {
        null => "null",
        OrderedDictionary<string, object?> => "a mapping",
        System.Collections.IList => "a list",
        string => "a string",
        bool => "a boolean",
        long or int => "an integer",
        double => "a number",
        _ => v.GetType().Name,
    };

    internal static string Quote(string s)
    {
        var sb = new StringBuilder("'");
        sb.Append(s.Replace("'", "''", StringComparison.Ordinal));
        return sb.Append('\'').ToString();
    }
}
