using Containers.Engine.Spec;

namespace Containers.Engine.Build;

/// <summary>
/// ARG and ENV scoping as BuildKit applies it. Global ARGs (before the first FROM) and the automatic platform
/// ARGs are visible only to FROM lines; inside a stage an ARG must be declared (a bare <c>ARG NAME</c> takes the
/// global value), a --build-arg overrides a declared default, and ENV overrides an ARG of the same name. The
/// proxy ARGs (HTTP_PROXY and friends) reach RUN's environment when given, without a declaration, but are not
/// expanded in instructions.
/// </summary>
public sealed class DockerfileVariables
{
    /// <summary>The proxy build args usable without an ARG declaration.</summary>
    public static IReadOnlyList<string> ProxyArgs { get; } =
        ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"];

    /// <summary>Instructions whose arguments (and, for COPY/ADD/RUN, some flags) get variables expanded.</summary>
    public static IReadOnlySet<string> Expanding { get; } = new HashSet<string>(StringComparer.Ordinal)
        { "ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ARG" };

    /// <summary>TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT and the BUILD* ones for a platform like linux/amd64.</summary>
    public static Dictionary<string, string> PlatformArgs(string target = "linux/amd64", string build = "linux/amd64")
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(string prefix, string platform)
        {
            var parts = platform.Split('/');
            d[prefix + "PLATFORM"] = platform;
            d[prefix + "OS"] = parts[0];
            d[prefix + "ARCH"] = parts.Length > 1 ? parts[1] : "";
            d[prefix + "VARIANT"] = parts.Length > 2 ? parts[2] : "";
        }
        Add("TARGET", target);
        Add("BUILD", build);
        return d;
    }

    private readonly IReadOnlyDictionary<string, string> _buildArgs;
    private readonly Dictionary<string, string> _global;
    private readonly ShellLex _lex;

    /// <summary>The values FROM lines see (global ARGs with their defaults or build args, and the platform ARGs).</summary>
    public IReadOnlyDictionary<string, string> Global => _global;

    public DockerfileVariables(DockerfileDocument doc, IReadOnlyDictionary<string, string>? buildArgs = null, string platform = "linux/amd64")
    {
        _buildArgs = buildArgs ?? new Dictionary<string, string>();
        _lex = new ShellLex(doc.EscapeToken);
        _global = new Dictionary<string, string>(PlatformArgs(platform), StringComparer.Ordinal);
        foreach (var arg in doc.GlobalArgs)
            foreach (var (name, def) in arg.Pairs)
            {
                // a global ARG without a default and without a build arg adds nothing (BuildKit's buildMetaArgs)
                if (_buildArgs.TryGetValue(name, out var given)) _global[name] = given;
                else if (def is not null) _global[name] = _lex.ProcessWord(def, _global);
            }
    }

    /// <summary>Expands a FROM line's word (base name, --platform) with the global scope.</summary>
    public string ExpandGlobal(string word) => _lex.ProcessWord(word, _global);

    /// <summary>A fresh scope for one stage (its image's ENV as the starting environment).</summary>
    public Scope NewStage(IEnumerable<KeyValuePair<string, string>>? imageEnv = null) => new(this, imageEnv);

    /// <summary>
    /// The variables one stage sees as its instructions run. As in BuildKit, ENV and ARG values share one
    /// environment in instruction order (the later wins: ENV after ARG overrides it, and an ARG declared after an
    /// ENV of the same name overrides that for the rest of the stage); only ENV values reach the image config.
    /// </summary>
    public sealed class Scope
    {
        private readonly DockerfileVariables _v;
        private readonly Dictionary<string, string> _args = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _vars = new(StringComparer.Ordinal);
        private readonly List<KeyValuePair<string, string>> _config = new();

        internal Scope(DockerfileVariables v, IEnumerable<KeyValuePair<string, string>>? env)
        {
            _v = v;
            foreach (var (k, val) in env ?? []) { _vars[k] = val; SetConfig(k, val); }
        }

        /// <summary>The image config's environment so far: the base image's, then each ENV, in order.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Env => _config;
        /// <summary>ARGs declared in the stage so far that have a value.</summary>
        public IReadOnlyDictionary<string, string> Args => _args;

        /// <summary>What an instruction's words are expanded with: ENV and ARG values, the later one winning.</summary>
        public IReadOnlyDictionary<string, string> Lookup() => _vars;

        /// <summary>Expands one word (BuildKit's single-word expansion: quotes processed, spaces kept).</summary>
        public string Expand(string word) => _v._lex.ProcessWord(word, _vars);

        /// <summary>Expands a heredoc body of COPY/ADD: variables only, quotes left as they are.</summary>
        public string ExpandRaw(string text) => new ShellLex('\\') { SkipProcessQuotes = true }.ProcessWord(text, _vars);

        private void SetConfig(string k, string val)
        {
            int at = _config.FindIndex(p => p.Key == k);
            if (at >= 0) _config[at] = new(k, val); else _config.Add(new(k, val));
        }

        /// <summary>Applies an ARG or ENV instruction to the scope (other instructions change nothing).</summary>
        public void Apply(DockerfileInstruction ins)
        {
            if (ins.Instruction == "ENV")
            {
                // every pair is expanded with the environment before the instruction, as BuildKit does
                var pairs = ins.Pairs.Select(p => new KeyValuePair<string, string>(Expand(p.Key), Expand(p.Value ?? ""))).ToList();
                foreach (var (k, val) in pairs) { _vars[k] = val; SetConfig(k, val); }
            }
            else if (ins.Instruction == "ARG")
            {
                foreach (var (k, def) in ins.Pairs)
                {
                    string? value;
                    if (_v._buildArgs.TryGetValue(k, out var given)) value = given;
                    else if (def is not null) value = Expand(def);
                    else if (_v._global.TryGetValue(k, out var g)) value = g;
                    else value = null;
                    if (value is null) continue;
                    _args[k] = value;
                    _vars[k] = value;
                }
            }
        }

        /// <summary>
        /// The instruction with its words expanded where BuildKit expands them: ENV/LABEL pairs, ADD/COPY
        /// sources, destination, --chown, --chmod, --checksum, COPY --from, heredoc bodies whose delimiter was not
        /// quoted; WORKDIR, USER, STOPSIGNAL, VOLUME; EXPOSE split into words; RUN --mount values. RUN, CMD,
        /// ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left to the shell or to the child build.
        /// </summary>
        public DockerfileInstruction ExpandInstruction(DockerfileInstruction ins)
        {
            IReadOnlyList<string> args = ins.Arguments;
            IReadOnlyList<DockerfileFlag> flags = ins.Flags;
            IReadOnlyList<KeyValuePair<string, string?>> pairs = ins.Pairs;
            IReadOnlyList<DockerfileHeredoc> heredocs = ins.Heredocs;
            IReadOnlyList<DockerfileRunMount> mounts = ins.Mounts;
            switch (ins.Instruction)
            {
                case "ENV":
                case "LABEL":
                    pairs = ins.Pairs.Select(p => new KeyValuePair<string, string?>(Expand(p.Key), Expand(p.Value ?? ""))).ToList();
                    args = pairs.SelectMany(p => new[] { p.Key, p.Value! }).ToList();
                    break;
                case "ADD":
                case "COPY":
                    {
                        var names = new HashSet<string>(ins.Heredocs.Select(h => h.Name), StringComparer.Ordinal);
                        args = ins.Arguments.Select((a, i) => i < ins.Arguments.Count - 1 && DockerfileSyntax.ParseHeredoc(a) is { } h && names.Contains(h.Name) ? a : Expand(a)).ToList();
                        flags = ins.Flags.Select(f => f.Name is "chown" or "chmod" or "checksum" or "from" && f.Value is not null ? f with { Value = Expand(f.Value) } : f).ToList();
                        heredocs = ins.Heredocs.Select(h => h.Expand ? new DockerfileHeredoc { Name = h.Name, Content = ExpandRaw(h.Content), Expand = true, Chomp = h.Chomp, FileDescriptor = h.FileDescriptor } : h).ToList();
                        break;
                    }
                case "WORKDIR":
                case "USER":
                case "STOPSIGNAL":
                case "VOLUME":
                    args = ins.Arguments.Select(Expand).ToList();
                    break;
                case "EXPOSE":
                    args = ins.Arguments.SelectMany(a => _v._lex.ProcessWords(a, _vars)).ToList();
                    break;
                case "RUN":
                    mounts = ins.Flags.Where(f => f.Name == "mount").Select(f => DockerfileParser.ParseMount(f.Value!, Expand,
                        m => DockerfileSyntax.ParseError(null, m, ins.StartLine, ins.EndLine))).ToList();
                    flags = ins.Flags.Select(f => f.Name == "network" && f.Value is not null ? f with { Value = Expand(f.Value) } : f).ToList();
                    break;
                default:
                    return ins;
            }
            return new DockerfileInstruction
            {
                Instruction = ins.Instruction, Flags = flags, Arguments = args, IsJson = ins.IsJson, Heredocs = heredocs,
                StartLine = ins.StartLine, EndLine = ins.EndLine, StageIndex = ins.StageIndex, Stage = ins.Stage,
                Original = ins.Original, Pairs = pairs, Mounts = mounts, Healthcheck = ins.Healthcheck, Trigger = ins.Trigger,
                Comments = ins.Comments,
            };
        }

        /// <summary>RUN's environment: the scope's variables and given proxy build args.</summary>
        public Dictionary<string, string> RunEnvironment()
        {
            var d = new Dictionary<string, string>(_vars, StringComparer.Ordinal);
            foreach (var p in ProxyArgs)
                if (!d.ContainsKey(p) && _v._buildArgs.TryGetValue(p, out var val)) d[p] = val;
            return d;
        }
    }
}
