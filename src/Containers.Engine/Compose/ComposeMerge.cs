using Containers.Engine.Errors;
using Map = System.Collections.Generic.OrderedDictionary<string, object?>;

namespace Containers.Engine.Compose;

/// <summary>
/// Merges canonical trees as compose-go's override package does for several files and for extends: mappings
/// merge key by key, a later scalar wins; command, entrypoint and healthcheck.test are replaced; volumes,
/// secrets, configs and devices are keyed by their target (a later one with the same target replaces);
/// ports and the other lists are appended without repeats; logging options merge only under the same driver;
/// <c>!reset</c> removes a value and <c>!override</c> replaces it whole.
/// </summary>
internal static class ComposeMerge
{
    public static void Into(Map target, Map over) => MergeMap(target, over, new List<string>());

    /// <summary>Merges one service over another (extends): the same rules as under services.*.</summary>
    public static void MergeService(Map target, Map over) => MergeMap(target, over, new List<string> { "services", "*" });

    private static void MergeMap(Map target, Map over, List<string> path)
    {
        foreach (var (k, v) in over)
        {
            if (v is ComposeYaml.Reset) { target.Remove(k); continue; }
            if (v is ComposeYaml.Override o) { target[k] = Strip(ComposeYaml.Clone(o.Value)); continue; }
            if (!target.TryGetValue(k, out object? existing) || existing is null) { target[k] = Strip(ComposeYaml.Clone(v)); continue; }
            if (v is null) continue;
            path.Add(path.Count == 1 && path[0] == "services" ? "*" : k);
            target[k] = Merge(existing, v, path);
            path.RemoveAt(path.Count - 1);
        }
    }

    private static object? Merge(object? a, object? b, List<string> path)
    {
        string p = string.Join('.', path);
        switch (p)
        {
            case "services.*.command" or "services.*.entrypoint" or "services.*.healthcheck.test":
                return Strip(ComposeYaml.Clone(b));
            case "services.*.volumes" or "services.*.devices":
                return Keyed(a, b, m => ComposeYaml.Text(m.GetValueOrDefault("target")));
            case "services.*.secrets":
                return Keyed(a, b, m => ComposeYaml.Text(m.GetValueOrDefault("target")) ?? "/run/secrets/" + ComposeYaml.Text(m.GetValueOrDefault("source")));
            case "services.*.configs":
                return Keyed(a, b, m => ComposeYaml.Text(m.GetValueOrDefault("target")) ?? "/" + ComposeYaml.Text(m.GetValueOrDefault("source")));
            case "services.*.logging" when a is Map la && b is Map lb:
                var da = la.GetValueOrDefault("driver");
                var db = lb.GetValueOrDefault("driver");
                if (da is not null && db is not null && !Equals(da, db)) return Strip(ComposeYaml.Clone(b));
                break;
        }
        if (a is Map ma && b is Map mb)
        {
            MergeMap(ma, mb, path);
            return ma;
        }
        if (a is List<object?> la2 && b is List<object?> lb2)
        {
            var seen = new HashSet<string>(la2.Select(Key), StringComparer.Ordinal);
            foreach (var e in lb2)
                if (seen.Add(Key(e))) la2.Add(Strip(ComposeYaml.Clone(e)));
            return la2;
        }
        if ((a is Map || a is List<object?>) != (b is Map || b is List<object?>) && a is not null)
            throw new ContainersException(ErrorKind.InvalidData, "ComposeFileInvalid", $"cannot override {p.Replace("*", "…")}: {ComposeYaml.Describe(a)} and {ComposeYaml.Describe(b)}.");
        return Strip(ComposeYaml.Clone(b));
    }

    private static object? Keyed(object? a, object? b, Func<Map, string?> key)
    {
        if (a is not List<object?> la || b is not List<object?> lb) return Strip(ComposeYaml.Clone(b));
        foreach (var e in lb)
        {
            var item = Strip(ComposeYaml.Clone(e));
            string? k = item is Map m ? key(m) : ComposeYaml.Text(item);
            int i = la.FindIndex(x => (x is Map xm ? key(xm) : ComposeYaml.Text(x)) == k);
            if (i >= 0) la[i] = item;
            else la.Add(item);
        }
        return la;
    }

    private static string Key(object? v) => v is Map or List<object?> ? ComposeYaml.Write(v, false) : "s:" + ComposeYaml.Text(v);

    /// <summary>Takes the !reset and !override marks out of a subtree that is added whole.</summary>
    internal static object? Strip(object? v)
    {
        switch (v)
        {
            case ComposeYaml.Override o: return Strip(o.Value);
            case Map m:
                foreach (var (k, val) in m.ToList())
                {
                    if (val is ComposeYaml.Reset) m.Remove(k);
                    else m[k] = Strip(val);
                }
                return m;
            case List<object?> l:
                l.RemoveAll(x => x is ComposeYaml.Reset);
                for (int i = 0; i < l.Count; i++) l[i] = Strip(l[i]);
                return l;
            default: return v;
        }
    }
}

/// <summary>
/// The top-level <c>include</c>: each entry's files load as a project of their own (their folder is their
/// project folder: its .env, relative paths against it) and their services, networks, volumes, secrets and
/// configs join this file's; a name defined on both sides is an error, as in compose-go.
/// </summary>
internal static class ComposeInclude
{
    public static List<(string file, Map tree)>? Apply(Map tree, string file, string baseDir, List<string> chain, ComposeLoader.LoadContext ctx)
    {
        if (!tree.TryGetValue("include", out object? inc) || inc is null) return null;
        tree.Remove("include");
        var result = new List<(string, Map)>();
        if (inc is not List<object?> entries) throw ComposeYaml.Invalid(file, $"{file}: include must be a list.");
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            var paths = new List<string>();
            string? projectDir = null;
            var envFiles = new List<string>();
            if (e is string s) paths.Add(s);
            else if (e is Map m)
            {
                if (m.GetValueOrDefault("path") is string ps) paths.Add(ps);
                else if (m.GetValueOrDefault("path") is List<object?> pl) paths.AddRange(pl.Select(x => ComposeYaml.Text(x) ?? ""));
                projectDir = ComposeYaml.Text(m.GetValueOrDefault("project_directory"));
                if (m.GetValueOrDefault("env_file") is string es) envFiles.Add(es);
                else if (m.GetValueOrDefault("env_file") is List<object?> el) envFiles.AddRange(el.Select(x => ComposeYaml.Text(x) ?? ""));
            }
            if (paths.Count == 0) throw ComposeYaml.Invalid(file, $"{file}: include[{i}]: no path.");
            var full = paths.Select(p => Path.GetFullPath(Path.Combine(baseDir, p))).ToList();
            foreach (string f in full)
            {
                if (!File.Exists(f))
                    throw ContainersException.NotFound("ComposeFileNotFound", $"{file}: include[{i}]: the file '{f}' does not exist.", f);
                if (chain.Contains(f) || f == file)
                    throw ComposeYaml.Invalid(file, $"{file}: include[{i}]: include cycle: {string.Join(" -> ", chain.Append(file).Append(f))}.");
            }
            string dir = projectDir is not null ? Path.GetFullPath(Path.Combine(baseDir, projectDir)) : Path.GetDirectoryName(full[0])!;
            // the included project's environment: its own .env (or env_file), the including one's variables winning
            var env = new Dictionary<string, string>(ctx.Env, StringComparer.Ordinal);
            var envPaths = envFiles.Count > 0 ? envFiles.Select(x => Path.GetFullPath(Path.Combine(baseDir, x))).ToList() : new List<string> { Path.Combine(dir, ".env") };
            foreach (string ef in envPaths)
            {
                if (!File.Exists(ef)) continue;
                foreach (var (k, v) in DotEnv.Parse(File.ReadAllText(ef), ef, (string n, out string? val) => ctx.Env.TryGetValue(n, out val)))
                    if (!ctx.Env.ContainsKey(k)) env[k] = v;
            }
            var sub = new ComposeLoader.LoadContext(env, ctx.Warn, dir);
            var merged = ComposeYaml.NewMap();
            var subChain = new List<string>(chain) { file };
            foreach (string f in full)
            {
                var doc = ComposeYaml.Parse(File.ReadAllText(f), f);
                ComposeMerge.Into(merged, sub.Prepare(doc, f, dir, subChain));
            }
            result.Add((full[0], merged));
        }
        return result;
    }

    public static void AddIncluded(Map tree, List<(string file, Map tree)> included, string file)
    {
        foreach (var (incFile, inc) in included)
            foreach (string kind in new[] { "services", "networks", "volumes", "secrets", "configs" })
            {
                if (inc.GetValueOrDefault(kind) is not Map src) continue;
                if (tree.GetValueOrDefault(kind) is not Map dst) tree[kind] = dst = ComposeYaml.NewMap();
                foreach (var (k, v) in src)
                {
                    if (dst.ContainsKey(k))
                    {
                        // the same definition twice is fine (two includes of one network); a different one is not
                        if (kind != "services" && ComposeYaml.Write(dst[k], false) == ComposeYaml.Write(v, false)) continue;
                        throw ComposeYaml.Invalid(file, $"{file}: {kind}.{k} conflicts with the one the included file {incFile} defines.");
                    }
                    dst[k] = v;
                }
            }
    }
}
