using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Spec;

namespace Containers.Engine.Build;

/// <summary>
/// Reads a Dockerfile into typed instructions and stages: the syntax (<see cref="DockerfileSyntax"/>), then each
/// instruction's rules as BuildKit's instruction layer applies them (allowed flags and their types, argument
/// counts, stage names, HEALTHCHECK options, RUN --mount keys). Every failure is a DockerfileParseError naming
/// the line. Nothing is fetched: a <c># syntax=</c> directive only selects this parser, and a syntax it does not
/// know is a warning.
/// </summary>
public static class DockerfileParser
{
    private enum FlagType { Bool, String, Strings }

    private static readonly Dictionary<string, Dictionary<string, FlagType>> AllowedFlags = new(StringComparer.Ordinal)
    {
        ["ADD"] = new() { ["chown"] = FlagType.String, ["chmod"] = FlagType.String, ["link"] = FlagType.Bool, ["keep-git-dir"] = FlagType.Bool, ["checksum"] = FlagType.String, ["unpack"] = FlagType.Bool, ["exclude"] = FlagType.Strings },
        ["COPY"] = new() { ["chown"] = FlagType.String, ["from"] = FlagType.String, ["chmod"] = FlagType.String, ["link"] = FlagType.Bool, ["exclude"] = FlagType.Strings, ["parents"] = FlagType.Bool },
        ["FROM"] = new() { ["platform"] = FlagType.String },
        ["RUN"] = new() { ["mount"] = FlagType.Strings, ["network"] = FlagType.String, ["security"] = FlagType.String, ["device"] = FlagType.Strings },
        ["HEALTHCHECK"] = new() { ["interval"] = FlagType.String, ["timeout"] = FlagType.String, ["start-period"] = FlagType.String, ["start-interval"] = FlagType.String, ["retries"] = FlagType.String },
    };

    // instructions whose flags BuildKit never checks
    private static readonly HashSet<string> FlagsIgnored = new(StringComparer.Ordinal) { "ARG", "STOPSIGNAL" };

    private static readonly Regex ValidStageName = new("^[a-z][a-z0-9-_.]*$", RegexOptions.CultureInvariant);
    private static readonly Regex KnownSyntax = new(@"^(docker\.io/)?docker/dockerfile(-upstream)?(:(1|1\.[0-9]+(\.[0-9]+)?|labs|[0-9.]+-labs|latest))?(@sha256:[0-9a-f]{64})?$", RegexOptions.CultureInvariant);

    /// <summary>The instruction keywords the parser knows.</summary>
    public static IReadOnlyList<string> Keywords { get; } =
        ["ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"];

    /// <summary>BuildKit's parser dump of the text (the s-expressions its parser tests compare), with a final newline.</summary>
    public static string Dump(string text) => DockerfileSyntax.Parse(text).Root.Dump() + "\n";

    /// <summary>Parses a Dockerfile. <paramref name="file"/> only names the file in errors and the result.</summary>
    public static DockerfileDocument Parse(string text, string? file = null)
    {
        var syntax = DockerfileSyntax.Parse(text, file);
        var warnings = new List<DockerfileWarning>(syntax.Warnings);
        string? syntaxName = null;
        foreach (var d in syntax.Directives)
        {
            if (d.Name != "syntax") continue;
            syntaxName = d.Value;
            var image = d.Value.Split(' ', 2)[0];
            if (!KnownSyntax.IsMatch(image))
                warnings.Add(new DockerfileWarning("UnknownSyntax", $"The syntax directive names '{image}', which is not a Dockerfile frontend this engine knows; nothing is fetched, the built-in parser reads the file.", d.Line));
        }

        var all = new List<DockerfileInstruction>();
        var globals = new List<DockerfileInstruction>();
        var stages = new List<(DockerfileInstruction From, string? Name, List<DockerfileInstruction> Body)>();
        foreach (var node in syntax.Root.Children)
        {
            int stageIndex = stages.Count - 1;
            string? stageName = stageIndex >= 0 ? stages[stageIndex].Name : null;
            var ins = Convert(node, file, syntax.EscapeToken, stageIndex, stageName, false);
            if (ins.Instruction == "FROM")
            {
                var name = ins.Arguments.Count == 3 ? ins.Arguments[2].ToLowerInvariant() : null;
                ins = Restage(ins, stages.Count, name);
                stages.Add((ins, name, new List<DockerfileInstruction>()));
            }
            else if (stages.Count == 0)
            {
                if (ins.Instruction != "ARG")
                    throw DockerfileSyntax.ParseError(file, $"{ins.Instruction} before the first FROM: no build stage in current context (only ARG may come before FROM)", node.StartLine, node.EndLine);
                globals.Add(ins);
            }
            else stages[^1].Body.Add(ins);
            all.Add(ins);
        }

        return new DockerfileDocument
        {
            File = file,
            EscapeToken = syntax.EscapeToken,
            Syntax = syntaxName,
            Directives = syntax.Directives,
            Warnings = warnings,
            GlobalArgs = globals,
            Instructions = all,
            Stages = stages.Select((s, i) => new DockerfileStage
            {
                Index = i,
                Name = s.Name,
                BaseName = s.From.Arguments[0],
                Platform = s.From.GetFlag("platform"),
                StartLine = s.From.StartLine,
                Instructions = s.Body,
            }).ToList(),
        };
    }

    private static DockerfileInstruction Restage(DockerfileInstruction i, int index, string? name) => new()
    {
        Instruction = i.Instruction, Flags = i.Flags, Arguments = i.Arguments, IsJson = i.IsJson, Heredocs = i.Heredocs,
        StartLine = i.StartLine, EndLine = i.EndLine, StageIndex = index, Stage = name, Original = i.Original,
        Pairs = i.Pairs, Mounts = i.Mounts, Healthcheck = i.Healthcheck, Trigger = i.Trigger, Comments = i.Comments,
    };

    private static DockerfileInstruction Convert(DockerfileNode node, string? file, char escape, int stageIndex, string? stageName, bool trigger)
    {
        int start = node.StartLine, end = node.EndLine;
        Exception Fail(string msg) => DockerfileSyntax.ParseError(file, msg, start, end);

        var keyword = node.Value.ToUpperInvariant();
        if (!Keywords.Contains(keyword)) throw Fail($"unknown instruction: {node.Value}");
        var args = node.Arguments();
        var heredocs = node.Heredocs.Select(h => new DockerfileHeredoc
        {
            Name = h.Name,
            Content = h.Chomp ? DockerfileSyntax.ChompHeredoc(h.Content) : h.Content,
            Expand = h.Expand,
            Chomp = h.Chomp,
            FileDescriptor = h.FileDescriptor,
        }).ToList();

        List<DockerfileFlag> flags = new();
        bool checkFlags = !FlagsIgnored.Contains(keyword) && !(keyword == "HEALTHCHECK" && args.Count > 0 && args[0].Equals("NONE", StringComparison.OrdinalIgnoreCase));
        flags = ParseFlags(node.Flags, AllowedFlags.GetValueOrDefault(keyword) ?? new(), checkFlags, Fail);

        var pairs = new List<KeyValuePair<string, string?>>();
        var mounts = new List<DockerfileRunMount>();
        DockerfileHealthcheck? health = null;
        DockerfileInstruction? inner = null;
        IReadOnlyList<string> arguments = args;

        switch (keyword)
        {
            case "ENV":
            case "LABEL":
                if (args.Count == 0) throw Fail($"{keyword} requires at least one argument");
                if (args.Count % 3 != 0) throw Fail($"Bad input to {keyword}, too many arguments");
                for (int i = 0; i < args.Count; i += 3)
                {
                    if (args[i].Length == 0) throw Fail($"{keyword} names can not be blank");
                    pairs.Add(new(args[i], args[i + 1]));
                }
                arguments = pairs.SelectMany(p => new[] { p.Key, p.Value! }).ToList();
                break;
            case "MAINTAINER":
            case "WORKDIR":
            case "USER":
            case "STOPSIGNAL":
                if (args.Count != 1) throw Fail($"{keyword} requires exactly one argument");
                break;
            case "ADD":
            case "COPY":
                if (args.Count < 2) throw Fail($"{keyword} requires at least two arguments, but only one was provided. Destination could not be determined");
                if (DockerfileSyntax.ParseHeredoc(args[^1]) is not null) throw Fail($"{keyword} cannot accept a heredoc as a destination");
                if (keyword == "COPY" && flags.FirstOrDefault(f => f.Name == "from")?.Value is string from && from.Length == 0)
                    throw Fail("COPY --from requires a stage name, an index or an image");
                break;
            case "FROM":
                if (args.Count == 3 && args[1].Equals("as", StringComparison.OrdinalIgnoreCase))
                {
                    if (!ValidStageName.IsMatch(args[2].ToLowerInvariant()))
                        throw Fail($"invalid name for build stage: {GoQuote.Quote(args[2])}, name can't start with a number or contain symbols");
                }
                else if (args.Count != 1) throw Fail("FROM requires either one or three arguments");
                break;
            case "ONBUILD":
                {
                    if (args.Count == 0) throw Fail("ONBUILD requires at least one argument");
                    var t = args[0].Trim().ToUpperInvariant();
                    if (t == "ONBUILD") throw Fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
                    if (t is "MAINTAINER" or "FROM") throw Fail($"{t} isn't allowed as an ONBUILD trigger");
                    var child = node.Next!.Children[0];
                    child.StartLine = start;
                    child.EndLine = end;
                    foreach (var h in node.Heredocs) child.Heredocs.Add(h);
                    inner = Convert(child, file, escape, stageIndex, stageName, true);
                    var expr = Regex.Replace(node.Original, @"(?i)^\s*ONBUILD\s*", "");
                    if (node.Heredocs.Count > 0)
                    {
                        var sb = new StringBuilder(expr);
                        foreach (var h in node.Heredocs) sb.Append('\n').Append(h.Content).Append(h.Name);
                        expr = sb.ToString();
                    }
                    arguments = new[] { expr };
                    heredocs = new();
                    break;
                }
            case "RUN":
            case "CMD":
            case "ENTRYPOINT":
                arguments = JsonArgs(args, node.IsJson);
                if (keyword == "RUN")
                {
                    foreach (var f in flags)
                    {
                        if (f.Name == "mount") mounts.Add(ParseMount(f.Value!, null, Fail));
                        if (f.Name == "network" && f.Value is not ("default" or "none" or "host"))
                            throw Fail($"unsupported network mode {GoQuote.Quote(f.Value ?? "")}");
                        if (f.Name == "security" && f.Value is not ("sandbox" or "insecure"))
                            throw Fail($"unsupported security mode {GoQuote.Quote(f.Value ?? "")}");
                    }
                    if (arguments.Count == 0 && heredocs.Count == 0) throw Fail("RUN requires at least one argument");
                }
                break;
            case "SHELL":
                arguments = JsonArgs(args, node.IsJson);
                if (arguments.Count == 0) throw Fail("SHELL requires at least one argument");
                if (!node.IsJson) throw Fail($"SHELL requires the arguments to be in JSON form: {node.Original.Trim()}");
                break;
            case "EXPOSE":
                if (args.Count == 0) throw Fail("EXPOSE requires at least one argument");
                break;
            case "VOLUME":
                if (args.Count == 0) throw Fail("VOLUME requires at least one argument");
                var vols = new List<string>();
                foreach (var v in args)
                {
                    var t = v.Trim();
                    if (t.Length == 0) throw Fail("VOLUME specified can not be an empty string");
                    vols.Add(t);
                }
                arguments = vols;
                break;
            case "ARG":
                if (args.Count == 0) throw Fail("ARG requires at least one argument");
                foreach (var a in args)
                {
                    int eq = a.IndexOf('=');
                    if (eq == 0) throw Fail("ARG names can not be blank");
                    pairs.Add(eq < 0 ? new(a, null) : new(a.Substring(0, eq), a.Substring(eq + 1)));
                }
                break;
            case "HEALTHCHECK":
                health = ParseHealthcheck(args, node.IsJson, flags, Fail);
                arguments = new[] { args[0].ToUpperInvariant() }.Concat(JsonArgs(args.Skip(1).ToList(), node.IsJson)).ToArray();
                break;
        }

        return new DockerfileInstruction
        {
            Instruction = keyword,
            Flags = flags,
            Arguments = arguments,
            IsJson = node.IsJson,
            Heredocs = heredocs,
            StartLine = start,
            EndLine = end,
            StageIndex = stageIndex,
            Stage = stageName,
            Original = node.Original,
            Pairs = pairs,
            Mounts = mounts,
            Healthcheck = health,
            Trigger = inner,
            Comments = node.PrevComment,
        };
    }

    private static List<string> JsonArgs(List<string> args, bool json)
    {
        if (args.Count == 0) return new();
        return json ? args : new() { string.Join(' ', args) };
    }

    private static List<DockerfileFlag> ParseFlags(List<string> raw, Dictionary<string, FlagType> allowed, bool check, Func<string, Exception> fail)
    {
        var result = new List<DockerfileFlag>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in raw)
        {
            if (a == "--") break;
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                if (check) throw fail($"arg should start with -- : {a}");
                continue;
            }
            int eq = a.IndexOf('=');
            string flagName = eq < 0 ? a : a.Substring(0, eq);
            string? value = eq < 0 ? null : a.Substring(eq + 1);
            string name = flagName.Substring(2);
            if (!check) { result.Add(new DockerfileFlag(name, value)); continue; }
            if (!allowed.TryGetValue(name, out var type)) throw fail($"unknown flag: {flagName}");
            if (!used.Add(name) && type != FlagType.Strings) throw fail($"duplicate flag specified: {flagName}");
            switch (type)
            {
                case FlagType.Bool:
                    if (value is "") throw fail($"missing a value on flag: {flagName}");
                    var lower = (value ?? "").ToLowerInvariant();
                    if (lower is not ("true" or "" or "false")) throw fail($"expecting boolean value for flag {flagName}, not: {value}");
                    result.Add(new DockerfileFlag(name, lower == "false" ? "false" : "true"));
                    break;
                default:
                    if (value is null) throw fail($"missing a value on flag: {flagName}");
                    result.Add(new DockerfileFlag(name, value));
                    break;
            }
        }
        return result;
    }

    private static DockerfileHealthcheck ParseHealthcheck(List<string> args, bool json, List<DockerfileFlag> flags, Func<string, Exception> fail)
    {
        if (args.Count == 0) throw fail("HEALTHCHECK requires at least one argument");
        var typ = args[0].ToUpperInvariant();
        var rest = args.Skip(1).ToList();
        if (typ == "NONE")
        {
            if (rest.Count != 0) throw fail("HEALTHCHECK NONE takes no arguments");
            return new DockerfileHealthcheck { Test = new[] { "NONE" } };
        }
        if (typ != "CMD") throw fail($"Unknown type \"{args[0].ToUpperInvariant()}\" in HEALTHCHECK (try CMD)");
        var cmd = JsonArgs(rest, json);
        if (cmd.Count == 0) throw fail("Missing command after HEALTHCHECK CMD");
        TimeSpan Interval(string name)
        {
            var v = flags.LastOrDefault(f => f.Name == name)?.Value;
            if (string.IsNullOrEmpty(v)) return TimeSpan.Zero;
            var d = GoDuration.Parse(v) ?? throw fail($"time: invalid duration {GoQuote.Quote(v)}");
            if (d == TimeSpan.Zero) return d;
            if (d < TimeSpan.FromMilliseconds(1)) throw fail($"Interval \"{name}\" cannot be less than 1ms");
            return d;
        }
        int retries = 0;
        var r = flags.LastOrDefault(f => f.Name == "retries")?.Value;
        if (!string.IsNullOrEmpty(r))
        {
            if (!int.TryParse(r, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out retries))
                throw fail($"strconv.ParseInt: parsing {GoQuote.Quote(r)}: invalid syntax");
            if (retries < 0) throw fail($"--retries cannot be negative ({retries})");
        }
        return new DockerfileHealthcheck
        {
            Test = new[] { json ? "CMD" : "CMD-SHELL" }.Concat(cmd).ToArray(),
            Interval = Interval("interval"),
            Timeout = Interval("timeout"),
            StartPeriod = Interval("start-period"),
            StartInterval = Interval("start-interval"),
            Retries = retries,
        };
    }

    /// <summary>
    /// Parses one RUN --mount value (CSV of key=value; keys and defaults as BuildKit's). With an expander the
    /// values are expanded first (the build does this with the step's variables); without one they stay as written.
    /// </summary>
    public static DockerfileRunMount ParseMount(string spec, Func<string, string>? expand, Func<string, Exception> fail)
    {
        string type = "bind";
        string? target = null, source = null, from = null, id = null, sharing = null, mode = null, env = null;
        long? uid = null, gid = null, size = null;
        bool readOnly = false, roAuto = true, required = false;
        foreach (var field in CsvFields(spec, fail))
        {
            int eq = field.IndexOf('=');
            var key = (eq < 0 ? field : field.Substring(0, eq)).ToLowerInvariant();
            if (eq < 0)
            {
                switch (key)
                {
                    case "readonly" or "ro": readOnly = true; roAuto = false; continue;
                    case "readwrite" or "rw": readOnly = false; roAuto = false; continue;
                    case "required":
                        if (type is "secret" or "ssh") { required = true; continue; }
                        throw fail($"unexpected key '{key}' for mount type '{type}'");
                    default: throw fail($"invalid field '{field}' must be a key=value pair");
                }
            }
            var value = field.Substring(eq + 1);
            if (expand is not null) value = expand(value);
            bool Bool() => value.ToLowerInvariant() switch
            {
                "1" or "t" or "true" => true,
                "0" or "f" or "false" => false,
                _ => throw fail($"invalid value for {key}: {value}"),
            };
            switch (key)
            {
                case "type":
                    var t = value.ToLowerInvariant();
                    if (t is not ("bind" or "cache" or "tmpfs" or "secret" or "ssh")) throw fail($"unsupported mount type {GoQuote.Quote(value)}");
                    type = t;
                    break;
                case "from": from = value; break;
                case "source" or "src": source = value; break;
                case "target" or "dst" or "destination": target = value; break;
                case "readonly" or "ro": readOnly = Bool(); roAuto = false; break;
                case "readwrite" or "rw": readOnly = !Bool(); roAuto = false; break;
                case "required":
                    if (type is not ("secret" or "ssh")) throw fail($"unexpected key '{key}' for mount type '{type}'");
                    required = Bool();
                    break;
                case "size":
                    if (type != "tmpfs") throw fail($"unexpected key '{key}' for mount type '{type}'");
                    size = RamInBytes(value) ?? throw fail($"invalid value for {key}: {value}");
                    break;
                case "id": id = value; break;
                case "sharing":
                    var s = value.ToLowerInvariant();
                    if (s is not ("shared" or "private" or "locked")) throw fail($"unsupported sharing value {GoQuote.Quote(value)}");
                    sharing = s;
                    break;
                case "mode":
                    try { System.Convert.ToUInt32(value, 8); } catch { throw fail($"invalid value {value} for mode"); }
                    mode = value;
                    break;
                case "uid":
                    uid = uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var u) ? u : throw fail($"invalid value {value} for uid");
                    break;
                case "gid":
                    gid = uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : throw fail($"invalid value {value} for gid");
                    break;
                case "env": env = value; break;
                default: throw fail($"unexpected key '{key}' in '{field}'");
            }
        }
        bool fileInfo = type is "secret" or "ssh" or "cache";
        if (!fileInfo)
        {
            if (mode is not null) throw fail($"mode not allowed for \"{type}\" type mounts");
            if (uid is not null) throw fail($"uid not allowed for \"{type}\" type mounts");
            if (gid is not null) throw fail($"gid not allowed for \"{type}\" type mounts");
        }
        if (roAuto) readOnly = type is not ("cache" or "tmpfs");
        if (type == "secret")
        {
            if (from is not null) throw fail("secret mount should not have a from");
            if (sharing is not null) throw fail("secret mount should not define sharing");
            if (source is null && target is null && id is null) throw fail("invalid secret mount. one of source, target required");
            if (source is not null && id is not null) throw fail("both source and id can't be set");
        }
        if (sharing is not null && type != "cache") throw fail($"invalid cache sharing set for {type} mount");
        if (type is "bind" or "cache" or "tmpfs" && string.IsNullOrEmpty(target)) throw fail($"mount type {type} requires a target");
        return new DockerfileRunMount
        {
            Type = type, Target = target, Source = source, From = from, ReadOnly = readOnly, Id = id, Sharing = sharing,
            Mode = mode, Uid = uid, Gid = gid, Required = required, Size = size, Env = env, Text = spec,
        };
    }

    // comma-separated fields, a field may be double-quoted ("" inside is one quote)
    private static List<string> CsvFields(string s, Func<string, Exception> fail)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        int i = 0;
        while (i <= s.Length)
        {
            sb.Clear();
            if (i < s.Length && s[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= s.Length) throw fail($"failed to parse csv mounts: extraneous or missing \" in quoted-field: {s}");
                    if (s[i] == '"')
                    {
                        if (i + 1 < s.Length && s[i + 1] == '"') { sb.Append('"'); i += 2; continue; }
                        i++;
                        break;
                    }
                    sb.Append(s[i++]);
                }
                while (i < s.Length && s[i] != ',') sb.Append(s[i++]);
            }
            else
            {
                while (i < s.Length && s[i] != ',') sb.Append(s[i++]);
            }
            fields.Add(sb.ToString());
            i++;
        }
        return fields;
    }

    // docker/go-units RAMInBytes: a number with an optional binary unit (k, m, g, t, p; b suffix optional)
    private static long? RamInBytes(string s)
    {
        var m = Regex.Match(s, @"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$");
        if (!m.Success) return null;
        var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        int pow = m.Groups[2].Success ? "kmgtp".IndexOf(char.ToLowerInvariant(m.Groups[2].Value[0])) + 1 : 0;
        return (long)(n * Math.Pow(1024, pow));
    }
}

/// <summary>Go's time.ParseDuration (HEALTHCHECK's intervals are written that way: 30s, 1m30s, 500ms).</summary>
public static class GoDuration
{
    public static TimeSpan? Parse(string s)
    {
        if (s == "0") return TimeSpan.Zero;
        var m = Regex.Match(s, @"^([-+]?)((?:[0-9]*(?:\.[0-9]*)?(?:ns|us|µs|μs|ms|s|m|h))+)$");
        if (!m.Success) return null;
        double total = 0;
        foreach (Match part in Regex.Matches(m.Groups[2].Value, @"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)"))
        {
            var num = part.Groups[1].Value;
            if (num.Length == 0 || num == ".") return null;
            double v = double.Parse(num, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "ns" => v / 1e6,
                "us" or "µs" or "μs" => v / 1e3,
                "ms" => v,
                "s" => v * 1e3,
                "m" => v * 60e3,
                _ => v * 3600e3,
            };
        }
        var ticks = (long)Math.Round(total * TimeSpan.TicksPerMillisecond);
        return m.Groups[1].Value == "-" ? TimeSpan.FromTicks(-ticks) : TimeSpan.FromTicks(ticks);
    }
}
