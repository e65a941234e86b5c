using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Engine.Spec;

namespace Containers.Engine.Images;

/// <summary>
/// Applies Dockerfile-style changes (as docker import/commit --change): CMD, ENTRYPOINT, ENV, WORKDIR,
/// USER, EXPOSE, LABEL, VOLUME, STOPSIGNAL, in exec form (JSON array) or shell form.
/// </summary>
public static class ConfigChanges
{
    public static readonly string[] Instructions = ["CMD", "ENTRYPOINT", "ENV", "WORKDIR", "USER", "EXPOSE", "LABEL", "VOLUME", "STOPSIGNAL"];

    public static void Apply(ContainerConfig c, IEnumerable<string> changes)
    {
        foreach (var raw in changes) Apply(c, raw);
    }

    private static ContainersException Bad(string change, string why)
        => ContainersException.Invalid("InvalidChange", $"The change '{change}' is not valid: {why}. Supported: {string.Join(", ", Instructions)} in Dockerfile syntax.", change);

    public static void Apply(ContainerConfig c, string change)
    {
        string s = change.Trim();
        int sp = s.IndexOfAny([' ', '\t', '=']);
        if (sp <= 0) throw Bad(change, "an instruction and its arguments are expected");
        string op = s[..sp].ToUpperInvariant();
        string arg = s[(sp + 1)..].Trim();
        if (arg.Length == 0) throw Bad(change, "the instruction has no arguments");
        switch (op)
        {
            case "CMD": c.Cmd = ExecOrShell(change, arg); break;
            case "ENTRYPOINT": c.Entrypoint = ExecOrShell(change, arg); break;
            case "WORKDIR": c.WorkingDir = arg; break;
            case "USER": c.User = arg; break;
            case "STOPSIGNAL": c.StopSignal = arg; break;
            case "ENV":
                foreach (var (k, v) in Pairs(change, arg))
                {
                    c.Env ??= [];
                    c.Env.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
                    c.Env.Add(k + "=" + v);
                }
                break;
            case "LABEL":
                foreach (var (k, v) in Pairs(change, arg)) { c.Labels ??= []; c.Labels[k] = v; }
                break;
            case "EXPOSE":
                foreach (var p in Words(arg))
                {
                    string port = p.Contains('/') ? p.ToLowerInvariant() : p + "/tcp";
                    var parts = port.Split('/');
                    if (parts.Length != 2 || !ushort.TryParse(parts[0], out var n) || n == 0 || parts[1] is not ("tcp" or "udp" or "sctp"))
                        throw Bad(change, $"'{p}' is not a port (number[/tcp|udp|sctp])");
                    c.ExposedPorts ??= [];
                    c.ExposedPorts[port] = JsonDocument.Parse("{}").RootElement.Clone();
                }
                break;
            case "VOLUME":
                foreach (var v in arg.StartsWith('[') ? JsonArray(change, arg) : Words(arg))
                {
                    if (!v.StartsWith('/')) throw Bad(change, $"the volume '{v}' must be an absolute path");
                    c.Volumes ??= [];
                    c.Volumes[v] = JsonDocument.Parse("{}").RootElement.Clone();
                }
                break;
            default:
                throw Bad(change, $"'{op}' is not an instruction a change may use");
        }
    }

    private static List<string> ExecOrShell(string change, string arg)
        => arg.StartsWith('[') ? JsonArray(change, arg) : ["/bin/sh", "-c", arg];

    private static List<string> JsonArray(string change, string arg)
    {
        try { return JsonSerializer.Deserialize<List<string>>(arg) ?? throw Bad(change, "the JSON array is null"); }
        catch (JsonException) { throw Bad(change, "the exec form must be a JSON array of strings"); }
    }

    private static IEnumerable<string> Words(string s) => s.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>KEY=VALUE pairs (values may be double-quoted), or the legacy "KEY VALUE" form.</summary>
    private static List<(string, string)> Pairs(string change, string arg)
    {
        var list = new List<(string, string)>();
        int eq = arg.IndexOf('='), ws = arg.IndexOfAny([' ', '\t']);
        if (eq < 0 || (ws >= 0 && ws < eq))
        {
            if (ws < 0) throw Bad(change, "expected KEY=VALUE or KEY VALUE");
            list.Add((arg[..ws], arg[(ws + 1)..].Trim()));
            return list;
        }
        int i = 0;
        while (i < arg.Length)
        {
            while (i < arg.Length && char.IsWhiteSpace(arg[i])) i++;
            if (i >= arg.Length) break;
            int e = arg.IndexOf('=', i);
            if (e < 0) throw Bad(change, "expected KEY=VALUE");
            string key = arg[i..e];
            if (key.Length == 0 || key.Any(char.IsWhiteSpace)) throw Bad(change, "a key is empty or has spaces");
            i = e + 1;
            var sb = new System.Text.StringBuilder();
            if (i < arg.Length && arg[i] == '"')
            {
                i++;
                while (i < arg.Length && arg[i] != '"') { if (arg[i] == '\\' && i + 1 < arg.Length) i++; sb.Append(arg[i]); i++; }
                if (i >= arg.Length) throw Bad(change, "an unterminated quote");
                i++;
            }
            else
            {
                while (i < arg.Length && !char.IsWhiteSpace(arg[i])) { sb.Append(arg[i]); i++; }
            }
            list.Add((key, sb.ToString()));
        }
        return list;
    }
}
