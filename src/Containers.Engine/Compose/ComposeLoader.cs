using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Map = System.Collections.Generic.OrderedDictionary<string, object?>;

namespace Containers.Engine.Compose;

/// <summary>What <see cref="ComposeLoader.Load"/> reads.</summary>
public sealed class ComposeLoadOptions
{
    /// <summary>The compose files, merged in order; empty: the default file (and its override) found from <see cref="WorkingDirectory"/> up.</summary>
    public IReadOnlyList<string> Paths { get; init; } = Array.Empty<string>();
    /// <summary>The project name given by the caller (docker compose -p); must already be a valid name.</summary>
    public string? ProjectName { get; init; }
    /// <summary>Env files that replace the project folder's .env (docker compose --env-file).</summary>
    public IReadOnlyList<string> EnvFiles { get; init; } = Array.Empty<string>();
    /// <summary>Active profiles (besides COMPOSE_PROFILES).</summary>
    public IReadOnlyList<string> Profiles { get; init; } = Array.Empty<string>();
    /// <summary>Where relative -Path and -EnvFile are resolved and the default file is searched; default the process's.</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>The shell's variables; default the process environment.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    /// <summary>Hears warnings (an unset variable, an obsolete `version`).</summary>
    public Action<string>? Warning { get; init; }
}

/// <summary>
/// Loads compose files the way `docker compose` (compose-go) does: YAML with anchors, aliases and merge keys;
/// interpolation from the shell and the .env file; schema validation; include, extends, several files merged;
/// short syntaxes made long; profiles; the project name rules. The result is a <see cref="ComposeProject"/>.
/// </summary>
public static class ComposeLoader
{
    public static readonly string[] DefaultFileNames = { "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml" };
    public static readonly string[] OverrideFileNames = { "compose.override.yaml", "compose.override.yml", "docker-compose.override.yml", "docker-compose.override.yaml" };
    private static readonly Regex ValidName = new("^[a-z0-9][a-z0-9_-]*$", RegexOptions.CultureInvariant);

    public static ComposeProject Load(ComposeLoadOptions options)
    {
        string cwd = Path.GetFullPath(options.WorkingDirectory ?? Directory.GetCurrentDirectory());
        var shell = options.Environment ?? ProcessEnvironment();
        var warn = options.Warning ?? (_ => { });

        // the compose files
        var files = new List<string>();
        if (options.Paths.Count > 0)
        {
            foreach (string p in options.Paths) files.Add(Path.GetFullPath(Path.Combine(cwd, p)));
        }
        else if (shell.TryGetValue("COMPOSE_FILE", out string? cf) && cf.Length > 0)
        {
            string sep = shell.GetValueOrDefault("COMPOSE_PATH_SEPARATOR") is { Length: > 0 } s ? s : ":";
            foreach (string p in cf.Split(sep, StringSplitOptions.RemoveEmptyEntries)) files.Add(Path.GetFullPath(Path.Combine(cwd, p)));
        }
        else files.AddRange(FindDefaultFiles(cwd, warn));
        foreach (string f in files)
            if (!File.Exists(f))
                throw ContainersException.NotFound("ComposeFileNotFound", $"The compose file '{f}' does not exist.", f);
        string projectDir = Path.GetDirectoryName(files[0])!;

        // the environment: .env (or -EnvFile), the shell's variables winning
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        var envFiles = options.EnvFiles.Count > 0
            ? options.EnvFiles.Select(f => Path.GetFullPath(Path.Combine(cwd, f))).ToList()
            : new List<string> { Path.Combine(projectDir, ".env") };
        foreach (string ef in envFiles)
        {
            if (!File.Exists(ef))
            {
                if (options.EnvFiles.Count == 0) continue;
                throw ContainersException.NotFound("ComposeEnvFileNotFound", $"The env file '{ef}' does not exist.", ef);
            }
            if (Directory.Exists(ef)) continue;
            var vars = DotEnv.Parse(File.ReadAllText(ef), ef, (string n, out string? v) =>
            {
                if (shell.TryGetValue(n, out v)) return true;
                if (env.TryGetValue(n, out v)) return true;
                v = null;
                return false;
            });
            foreach (var (k, v) in vars) env[k] = v;
        }
        foreach (var (k, v) in shell) env[k] = v;

        // the files, parsed
        var docs = files.Select(f => (file: f, doc: ComposeYaml.Parse(ReadFile(f), f))).ToList();

        // the project name: -ProjectName, COMPOSE_PROJECT_NAME, `name:`, the folder's name
        string name;
        if (options.ProjectName is { Length: > 0 } given) name = CheckName(given, "-ProjectName");
        else if (env.TryGetValue("COMPOSE_PROJECT_NAME", out string? envName) && envName.Length > 0) name = CheckName(envName, "COMPOSE_PROJECT_NAME");
        else
        {
            string? fromFile = null;
            foreach (var (file, doc) in docs)
                if (doc.GetValueOrDefault("name") is { } n && ComposeYaml.Text(n) is { Length: > 0 } ns)
                    fromFile = Interpolate(ns, file, "name", env, warn);
            name = NormalizeProjectName(fromFile is { Length: > 0 } ? fromFile : Path.GetFileName(projectDir));
            if (name.Length == 0)
                throw ContainersException.Invalid("ComposeProjectNameInvalid",
                    $"No project name: the folder name '{Path.GetFileName(projectDir)}' has no lowercase letter, digit, '-' or '_'; give -ProjectName or `name:`.", projectDir);
        }
        env["COMPOSE_PROJECT_NAME"] = name;

        var ctx = new LoadContext(env, warn, projectDir);
        var merged = ComposeYaml.NewMap();
        foreach (var (file, doc) in docs)
        {
            var tree = ctx.Prepare(doc, file, projectDir, new List<string>());
            ComposeMerge.Into(merged, tree);
        }
        merged.Remove("name");
        merged.Remove("include");

        // profiles
        var profiles = new HashSet<string>(options.Profiles, StringComparer.Ordinal);
        if (env.TryGetValue("COMPOSE_PROFILES", out string? cp))
            foreach (string p in cp.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) profiles.Add(p);

        return ComposeFinalizer.Finish(merged, name, projectDir, files, env, profiles, warn);
    }

    private static string ReadFile(string f)
    {
        try { return File.ReadAllText(f); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ContainersException.NotFound("ComposeFileNotFound", $"The compose file '{f}' cannot be read: {ex.Message}", f, ex);
        }
    }

    internal static Dictionary<string, string> ProcessEnvironment()
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in System.Environment.GetEnvironmentVariables())
            d[(string)e.Key] = (string?)e.Value ?? "";
        return d;
    }

    // docker compose looks in the folder and its parents for the first folder with a compose file
    private static IEnumerable<string> FindDefaultFiles(string cwd, Action<string> warn)
    {
        for (string? dir = cwd; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            var found = DefaultFileNames.Select(n => Path.Combine(dir, n)).Where(File.Exists).ToList();
            if (found.Count == 0) continue;
            if (found.Count > 1) warn($"Found multiple config files with supported names: {string.Join(", ", found)}; using {found[0]}.");
            var result = new List<string> { found[0] };
            var over = OverrideFileNames.Select(n => Path.Combine(dir, n)).Where(File.Exists).ToList();
            if (over.Count > 0) result.Add(over[0]);
            return result;
        }
        throw ContainersException.NotFound("ComposeFileNotFound",
            $"No compose file in '{cwd}' or its parents (looked for {string.Join(", ", DefaultFileNames)}).", cwd);
    }

    private static string CheckName(string name, string source)
    {
        if (!ValidName.IsMatch(name))
            throw ContainersException.Invalid("ComposeProjectNameInvalid",
                $"Invalid project name '{name}' ({source}): it must consist only of lowercase letters, digits, '-' and '_' and start with a letter or digit.", name);
        return name;
    }

    /// <summary>compose-go's NormalizeProjectName: lower case, only [a-z0-9_-], no leading '_' or '-'.</summary>
    public static string NormalizeProjectName(string s)
    {
        var chars = s.ToLowerInvariant().Where(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '-').ToArray();
        return new string(chars).TrimStart('_', '-');
    }

    internal static string Interpolate(string s, string file, string path, IReadOnlyDictionary<string, string> env, Action<string> warn)
    {
        try
        {
            return Interpolation.Substitute(s, (string n, out string? v) =>
            {
                bool ok = env.TryGetValue(n, out string? x);
                v = x;
                return ok;
            }, n => warn($"The \"{n}\" variable is not set. Defaulting to a blank string."));
        }
        catch (Interpolation.InterpolationException ex)
        {
            throw new ContainersException(ErrorKind.InvalidData, ex.MissingRequired ? "ComposeVariableRequired" : "ComposeInterpolationInvalid",
                $"{file}: {path}: {ex.Message}", file);
        }
    }

    /// <summary>The per-file steps: interpolation, schema validation, include, canonical form, extends.</summary>
    internal sealed class LoadContext(Dictionary<string, string> env, Action<string> warn, string projectDir)
    {
        public Dictionary<string, string> Env => env;
        public Action<string> Warn => warn;
        private readonly Dictionary<string, Map> _extendsFiles = new(StringComparer.Ordinal);

        public Map Prepare(Map doc, string file, string baseDir, List<string> includeChain)
        {
            var tree = (Map)InterpolateTree(doc, file, new List<string>())!;
            if (tree.ContainsKey("version"))
                warn($"{file}: the attribute `version` is obsolete, it will be ignored.");
            // compose-go accepts a service written with no body (`nil:`): an empty one
            if (tree.GetValueOrDefault("services") is Map svcs)
                foreach (var (k, v) in svcs.ToList()) if (v is null) svcs[k] = ComposeYaml.NewMap();
            ComposeSchema.Validate(tree, file);
            var included = ComposeInclude.Apply(tree, file, baseDir, includeChain, this);
            try { new Canonical(file, baseDir).Apply(tree); }
            catch (FormatException ex) { throw ComposeYaml.Invalid(file, $"{file}: {ex.Message}", ex); }
            ResolveExtends(tree, file);
            if (included is not null)
            {
                ComposeInclude.AddIncluded(tree, included, file);
            }
            return tree;
        }

        private object? InterpolateTree(object? v, string file, List<string> path)
        {
            switch (v)
            {
                case Map m:
                {
                    var r = ComposeYaml.NewMap();
                    foreach (var (k, val) in m)
                    {
                        path.Add(k);
                        r[k] = InterpolateTree(val, file, path);
                        path.RemoveAt(path.Count - 1);
                    }
                    return r;
                }
                case List<object?> l:
                {
                    var r = new List<object?>(l.Count);
                    path.Add("[]");
                    foreach (var e in l) r.Add(InterpolateTree(e, file, path));
                    path.RemoveAt(path.Count - 1);
                    return r;
                }
                case ComposeYaml.Override o:
                    return new ComposeYaml.Override(InterpolateTree(o.Value, file, path));
                case string s:
                {
                    string text = Interpolate(s, file, PathText(path), env, warn);
                    return ComposeCasts.Cast(path, text);
                }
                default:
                    return v;
            }
        }

        // ---- extends ----

        private void ResolveExtends(Map tree, string file)
        {
            if (tree.GetValueOrDefault("services") is not Map services) return;
            foreach (var name in services.Keys.ToList())
                Extend(services, name, file, new List<string>());
        }

        private void Extend(Map services, string name, string file, List<string> chain)
        {
            if (services.GetValueOrDefault(name) is not Map svc || svc.GetValueOrDefault("extends") is not Map ext) return;
            string key = file + "#" + name;
            if (chain.Contains(key))
                throw ComposeYaml.Invalid(file, $"{file}: services.{name}.extends: circular reference: {string.Join(" -> ", chain.Append(key).Select(k => k.Split('#')[1]))}.");
            chain.Add(key);
            string baseName = ComposeYaml.Text(ext.GetValueOrDefault("service")) ?? "";
            Map baseServices;
            string baseFile = file;
            if (ext.GetValueOrDefault("file") is string bf)
            {
                baseFile = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, bf));
                baseServices = LoadExtendsFile(baseFile, file, name);
            }
            else baseServices = services;
            if (baseServices.GetValueOrDefault(baseName) is not Map)
                throw ComposeYaml.Invalid(file, $"{file}: services.{name}.extends: service '{baseName}' not found in {baseFile}.");
            Extend(baseServices, baseName, baseFile, chain);
            var merged = ComposeYaml.CloneMap((Map)baseServices[baseName]!);
            merged.Remove("extends");
            var own = ComposeYaml.CloneMap(svc);
            own.Remove("extends");
            ComposeMerge.MergeService(merged, own);
            services[name] = merged;
            chain.RemoveAt(chain.Count - 1);
        }

        private Map LoadExtendsFile(string baseFile, string from, string service)
        {
            if (_extendsFiles.TryGetValue(baseFile, out var cached)) return cached;
            if (!File.Exists(baseFile))
                throw ContainersException.NotFound("ComposeFileNotFound", $"{from}: services.{service}.extends: the file '{baseFile}' does not exist.", baseFile);
            var doc = ComposeYaml.Parse(ReadFile(baseFile), baseFile);
            var tree = (Map)InterpolateTree(doc, baseFile, new List<string>())!;
            ComposeSchema.Validate(tree, baseFile);
            new Canonical(baseFile, Path.GetDirectoryName(baseFile)!).Apply(tree);
            var services = tree.GetValueOrDefault("services") as Map ?? ComposeYaml.NewMap();
            _extendsFiles[baseFile] = services;
            return services;
        }
    }

    internal static string PathText(List<string> path)
    {
        var sb = new System.Text.StringBuilder();
        foreach (string p in path)
        {
            if (p == "[]") sb.Append("[]");
            else { if (sb.Length > 0) sb.Append('.'); sb.Append(p); }
        }
        return sb.ToString();
    }
}

/// <summary>compose-go's interpolateTypeCastMapping: values that interpolation leaves as text, read as the type the schema wants.</summary>
internal static class ComposeCasts
{
    private static readonly (string[] pattern, char type)[] Map = Build(new (string, char)[]
    {
        ("services.*.cpu_count", 'i'), ("services.*.cpu_percent", 'f'), ("services.*.cpu_period", 'i'), ("services.*.cpu_quota", 'i'),
        ("services.*.cpu_rt_period", 'i'), ("services.*.cpu_rt_runtime", 'i'), ("services.*.cpus", 'f'), ("services.*.cpu_shares", 'i'),
        ("services.*.init", 'b'), ("services.*.depends_on.*.required", 'b'), ("services.*.depends_on.*.restart", 'b'),
        ("services.*.deploy.replicas", 'i'), ("services.*.deploy.update_config.parallelism", 'i'),
        ("services.*.deploy.update_config.max_failure_ratio", 'f'), ("services.*.deploy.rollback_config.parallelism", 'i'),
        ("services.*.deploy.rollback_config.max_failure_ratio", 'f'), ("services.*.deploy.restart_policy.max_attempts", 'i'),
        ("services.*.deploy.placement.max_replicas_per_node", 'i'), ("services.*.healthcheck.retries", 'i'),
        ("services.*.healthcheck.disable", 'b'), ("services.*.oom_kill_disable", 'b'), ("services.*.oom_score_adj", 'i'),
        ("services.*.pids_limit", 'i'), ("services.*.ports.[].target", 'i'), ("services.*.privileged", 'b'),
        ("services.*.read_only", 'b'), ("services.*.scale", 'i'), ("services.*.stdin_open", 'b'), ("services.*.tty", 'b'),
        ("services.*.ulimits.*", 'i'), ("services.*.ulimits.*.hard", 'i'), ("services.*.ulimits.*.soft", 'i'),
        ("services.*.volumes.[].read_only", 'b'), ("services.*.volumes.[].volume.nocopy", 'b'),
        ("networks.*.external", 'b'), ("networks.*.internal", 'b'), ("networks.*.attachable", 'b'),
        ("networks.*.enable_ipv4", 'b'), ("networks.*.enable_ipv6", 'b'), ("volumes.*.external", 'b'),
        ("secrets.*.external", 'b'), ("configs.*.external", 'b'),
    });

    private static (string[], char)[] Build((string, char)[] src) => src.Select(p => (p.Item1.Split('.'), p.Item2)).ToArray();

    public static object? Cast(List<string> path, string text)
    {
        foreach (var (pattern, type) in Map)
        {
            if (pattern.Length != path.Count) continue;
            bool ok = true;
            for (int i = 0; i < pattern.Length && ok; i++)
                ok = pattern[i] == path[i] || (pattern[i] == "*" && path[i] != "[]");
            if (!ok) continue;
            switch (type)
            {
                case 'i' when long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long l): return l;
                case 'f' when double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d): return d;
                case 'b':
                    switch (text.ToLowerInvariant())
                    {
                        case "y" or "yes" or "true" or "on": return true;
                        case "n" or "no" or "false" or "off": return false;
                    }
                    break;
            }
            return text;
        }
        return text;
    }
}
