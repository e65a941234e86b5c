using Containers.Engine.Errors;
using Map = System.Collections.Generic.OrderedDictionary<string, object?>;

namespace Containers.Engine.Compose;

/// <summary>
/// The steps after all files are merged: profiles, the defaults compose-go sets (the default network, build's
/// Dockerfile, resource names), environment variables without a value taken from the environment, env_file
/// contents read, references checked; then the typed project.
/// </summary>
internal static class ComposeFinalizer
{
    public static ComposeProject Finish(Map tree, string name, string projectDir, List<string> files,
        Dictionary<string, string> env, HashSet<string> profiles, Action<string> warn)
    {
        var services = tree.GetValueOrDefault("services") as Map ?? ComposeYaml.NewMap();
        string main = files[0];

        // profiles: a service with profiles runs only when one of them is active ("*" activates all)
        var disabled = new List<string>();
        foreach (var (sname, sv) in services.ToList())
        {
            if (sv is not Map s || s.GetValueOrDefault("profiles") is not List<object?> ps || ps.Count == 0) continue;
            if (profiles.Contains("*") || ps.Any(p => profiles.Contains(ComposeYaml.Text(p) ?? ""))) continue;
            services.Remove(sname);
            disabled.Add(sname);
        }

        var sorted = ComposeYaml.NewMap();
        foreach (var k in services.Keys.OrderBy(k => k, StringComparer.Ordinal)) sorted[k] = services[k];
        services = sorted;

        bool usesDefault = false;
        foreach (var (sname, sv) in services)
        {
            var s = (Map)sv!;
            if (s.GetValueOrDefault("build") is Map b && !b.ContainsKey("dockerfile") && !b.ContainsKey("dockerfile_inline")) b["dockerfile"] = "Dockerfile";
            if (!s.ContainsKey("networks") && !s.ContainsKey("network_mode"))
                s["networks"] = new Map { ["default"] = null };
            if (s.GetValueOrDefault("networks") is Map nets && nets.ContainsKey("default")) usesDefault = true;

            // environment: env_file contents first, then `environment`; a variable without a value comes from the environment
            var environment = ComposeYaml.NewMap();
            if (s.GetValueOrDefault("env_file") is List<object?> envFiles)
                foreach (var ef in envFiles.OfType<Map>())
                {
                    string path = ComposeYaml.Text(ef.GetValueOrDefault("path")) ?? "";
                    if (!File.Exists(path))
                    {
                        if (ef.GetValueOrDefault("required") is false) continue;
                        throw ContainersException.NotFound("ComposeEnvFileNotFound", $"services.{sname}.env_file: the file '{path}' does not exist.", path);
                    }
                    foreach (var (k, v) in DotEnv.Parse(File.ReadAllText(path), path, (string n, out string? val) =>
                    {
                        if (environment.TryGetValue(n, out object? e) && e is string es) { val = es; return true; }
                        return env.TryGetValue(n, out val);
                    }))
                        environment[k] = v;
                }
            if (s.GetValueOrDefault("environment") is Map own)
                foreach (var (k, v) in own)
                {
                    if (v is null && env.TryGetValue(k, out string? fromEnv)) environment[k] = fromEnv;
                    else if (v is null && environment.ContainsKey(k)) continue;
                    else environment[k] = v;
                }
            if (environment.Count > 0) s["environment"] = environment;

            // references
            if (s.GetValueOrDefault("depends_on") is Map deps)
                foreach (var (dep, dv) in deps.ToList())
                {
                    if (services.ContainsKey(dep)) continue;
                    bool required = dv is not Map dm || dm.GetValueOrDefault("required") is not false;
                    if (!required || disabled.Contains(dep))
                    {
                        if (required) warn($"Service '{sname}' depends on '{dep}', which no active profile enables; the dependency is left out.");
                        deps.Remove(dep);
                        continue;
                    }
                    throw ComposeYaml.Invalid(main, $"{main}: service '{sname}' depends on undefined service '{dep}'.");
                }
            if (s.GetValueOrDefault("network_mode") is string nm && nm.StartsWith("service:", StringComparison.Ordinal)
                && !services.ContainsKey(nm[8..]) && !disabled.Contains(nm[8..]))
                throw ComposeYaml.Invalid(main, $"{main}: service '{sname}' uses the network of undefined service '{nm[8..]}'.");
            CheckRefs(s, sname, "networks", tree, main, n => n == "default");
            if (s.GetValueOrDefault("volumes") is List<object?> vols)
                foreach (var v in vols.OfType<Map>())
                    if (v.GetValueOrDefault("type") is "volume" && v.GetValueOrDefault("source") is string src
                        && !(tree.GetValueOrDefault("volumes") is Map tv && tv.ContainsKey(src)))
                        throw ComposeYaml.Invalid(main, $"{main}: service '{sname}' refers to undefined volume '{src}'.");
            foreach (string kind in new[] { "secrets", "configs" })
                if (s.GetValueOrDefault(kind) is List<object?> refs)
                    foreach (var r in refs.OfType<Map>())
                        if (ComposeYaml.Text(r.GetValueOrDefault("source")) is { } src && !(tree.GetValueOrDefault(kind) is Map tk && tk.ContainsKey(src)))
                            throw ComposeYaml.Invalid(main, $"{main}: service '{sname}' refers to undefined {kind[..^1]} '{src}'.");
        }

        CheckCycles(services, main);

        // keys in order, as docker compose prints a service (its struct's fields are near enough alphabetical)
        foreach (var sname in services.Keys.ToList())
        {
            var s = (Map)services[sname]!;
            var ordered = ComposeYaml.NewMap();
            foreach (var k in s.Keys.OrderBy(k => k, StringComparer.Ordinal)) ordered[k] = s[k];
            services[sname] = ordered;
        }

        var result = ComposeYaml.NewMap();
        result["name"] = name;
        result["services"] = services;
        var networks = tree.GetValueOrDefault("networks") as Map ?? ComposeYaml.NewMap();
        if (usesDefault && !networks.ContainsKey("default")) networks["default"] = ComposeYaml.NewMap();
        foreach (string kind in new[] { "networks", "volumes", "secrets", "configs" })
        {
            var res = kind == "networks" ? networks : tree.GetValueOrDefault(kind) as Map;
            if (res is null || res.Count == 0) continue;
            foreach (var (k, v) in res)
            {
                var m = (Map)v!;
                if (!m.ContainsKey("name"))
                {
                    var named = new Map { ["name"] = m.GetValueOrDefault("external") is true ? k : $"{name}_{k}" };
                    foreach (var (mk, mv) in m) named[mk] = mv;
                    res[k] = named;
                }
            }
            result[kind] = res;
        }
        foreach (var (k, v) in tree)
            if (k.StartsWith("x-", StringComparison.Ordinal)) result[k] = v;

        return new ComposeProject(result, projectDir, files, disabled);
    }

    // depends_on must not loop (compose-go: "dependency cycle detected")
    private static void CheckCycles(Map services, string main)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done
        var stack = new List<string>();
        void Visit(string name)
        {
            if (state.GetValueOrDefault(name) == 2) return;
            if (state.GetValueOrDefault(name) == 1)
            {
                var loop = stack.Skip(stack.IndexOf(name)).Append(name);
                throw ComposeYaml.Invalid(main, $"{main}: dependency cycle detected: {string.Join(" -> ", loop)}.");
            }
            state[name] = 1;
            stack.Add(name);
            if (services.GetValueOrDefault(name) is Map s && s.GetValueOrDefault("depends_on") is Map deps)
                foreach (var d in deps.Keys) if (services.ContainsKey(d)) Visit(d);
            stack.RemoveAt(stack.Count - 1);
            state[name] = 2;
        }
        foreach (var n in services.Keys) Visit(n);
    }

    private static void CheckRefs(Map s, string sname, string kind, Map tree, string main, Func<string, bool> implicitOk)
    {
        if (s.GetValueOrDefault(kind) is not Map refs) return;
        foreach (var k in refs.Keys)
            if (!implicitOk(k) && !(tree.GetValueOrDefault(kind) is Map t && t.ContainsKey(k)))
                throw ComposeYaml.Invalid(main, $"{main}: service '{sname}' refers to undefined network '{k}'.");
    }
}
