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
    private readonly Dictionary<string, string> _platform;
    private readonly ShellLex _lex;

    /// <summary>The values FROM lines see (global ARGs with their defaults or build args, and the platform ARGs).</summary>
    public IReadOnlyDictionary<string, string> Global => _global;

    public DockerfileVariables(DockerfileDocument doc, IReadOnlyDictionary<string, string>? buildArgs = null, string platform = "linux/amd64")
    {
        _buildArgs = buildArgs ?? new Dictionary<string, string>();
        _lex = new ShellLex(doc.EscapeToken);
        _platform = PlatformArgs(platform);
        _global = new Dictionary<string, string>(_platform, StringComparer.Ordinal);
        foreach (var arg in doc.GlobalArgs)
            foreach (var (name0, def) in arg.Pairs)
            {
                var name = _lex.ProcessWord(name0, _global);
                if (_buildArgs.TryGetValue(name, out var given)) _global[name] = given;
                else if (def is not null) _global[name] = _lex.ProcessWord(def, _global);
                else _global.Remove(name);
            }
    }

    /// <summary>Expands a FROM line's word (base name, --platform) with the global scope.</summary>
    public string ExpandGlobal(string word) => _lex.ProcessWord(word, _global);

    /// <summary>A fresh scope for one stage (its image's ENV as the starting environment).</summary>
    public Scope NewStage(IEnumerable<KeyValuePair<string, string>>? imageEnv = null) => new(this, imageEnv);

    /// <summary>The variables one stage sees as its instructions run.</summary>
    public sealed class Scope
    {
        private readonly DockerfileVariables _v;
        private readonly Dictionary<string, string> _args = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _env = new(StringComparer.Ordinal);

        internal Scope(DockerfileVariables v, IEnumerable<KeyValuePair<string, string>>? env)
        {
            _v = v;
            foreach (var (k, val) in env ?? []) _env[k] = val;
        }

        /// <summary>ENV of the stage so far.</summary>
        public IReadOnlyDictionary<string, string> Env => _env;
        /// <summary>ARGs declared in the stage so far, with their values.</summary>
        public IReadOnlyDictionary<string, string> Args => _args;

        /// <summary>What an instruction's words are expanded with: declared ARGs, then ENV over them.</summary>
        public Dictionary<string, string> Lookup()
        {
            var d = new Dictionary<string, string>(_args, StringComparer.Ordinal);
            foreach (var (k, val) in _env) d[k] = val;
            return d;
        }

        public string Expand(string word) => _v._lex.ProcessWord(word, Lookup());

        /// <summary>Applies an ARG or ENV instruction to the scope (other instructions change nothing).</summary>
        public void Apply(DockerfileInstruction ins)
        {
            if (ins.Instruction == "ENV")
            {
                foreach (var (k, val) in ins.Pairs) _env[Expand(k)] = Expand(val ?? "");
            }
            else if (ins.Instruction == "ARG")
            {
                foreach (var (k0, def) in ins.Pairs)
                {
                    var k = Expand(k0);
                    if (_v._buildArgs.TryGetValue(k, out var given)) _args[k] = given;
                    else if (def is not null) _args[k] = Expand(def);
                    else if (_v._global.TryGetValue(k, out var g)) _args[k] = g;
                    else if (_v._platform.TryGetValue(k, out var p)) _args[k] = p;
                    else _args.Remove(k);
                }
            }
        }

        /// <summary>RUN's environment: ENV, declared ARGs (ENV wins), and given proxy build args.</summary>
        public Dictionary<string, string> RunEnvironment()
        {
            var d = Lookup();
            foreach (var p in ProxyArgs)
                if (!d.ContainsKey(p) && _v._buildArgs.TryGetValue(p, out var val)) d[p] = val;
            return d;
        }
    }
}
