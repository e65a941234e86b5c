using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Map = System.Collections.Generic.OrderedDictionary<string, object?>;

namespace Containers.Engine.Compose;

/// <summary>
/// Rewrites one file's tree from the short syntaxes to the long ones compose-go settles on (transform.Canonical
/// plus the path resolution of paths.ResolveRelativePaths): ports, volumes, depends_on, networks, secrets,
/// configs, environment/labels as maps, build as a mapping, commands as lists, healthcheck tests as lists and
/// durations in Go's form; relative host paths made absolute against <c>baseDir</c>.
/// </summary>
internal sealed class Canonical(string file, string baseDir)
{
    private ContainersExceptionFactory Err => new(file);

    public void Apply(Map doc)
    {
        doc.Remove("version");
        if (doc.GetValueOrDefault("services") is Map services)
            foreach (var (name, svc) in services.ToList())
            {
                var m = svc as Map;
                if (svc is null) services[name] = m = ComposeYaml.NewMap();
                if (m is not null) Service(name, m);
            }
        foreach (string kind in new[] { "networks", "volumes" })
            if (doc.GetValueOrDefault(kind) is Map res)
                foreach (var (name, v) in res.ToList())
                {
                    var m = v as Map ?? ComposeYaml.NewMap();
                    res[name] = m;
                    External(m);
                    ToMap(m, "labels", $"{kind}.{name}.labels");
                    ToStringValues(m, "driver_opts");
                }
        foreach (string kind in new[] { "secrets", "configs" })
            if (doc.GetValueOrDefault(kind) is Map res)
                foreach (var (name, v) in res.ToList())
                {
                    var m = v as Map ?? ComposeYaml.NewMap();
                    res[name] = m;
                    External(m);
                    if (m.GetValueOrDefault("file") is string f) m["file"] = AbsPath(f);
                    ToMap(m, "labels", $"{kind}.{name}.labels");
                }
    }

    private static void External(Map m)
    {
        // legacy `external: {name: x}` is `external: true` with `name: x`
        if (m.GetValueOrDefault("external") is Map ext)
        {
            m["external"] = true;
            if (ext.GetValueOrDefault("name") is string n) m["name"] = n;
        }
    }

    private void Service(string name, Map s)
    {
        // a value tagged !override is made long like any other and keeps its tag; a !reset one is left alone
        var tagged = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in s.ToList())
        {
            if (v is ComposeYaml.Override o) { tagged[k] = o; s[k] = o.Value; }
            else if (v is ComposeYaml.Reset) { tagged[k] = v; s.Remove(k); }
        }
        ServiceKeys(name, s);
        foreach (var (k, v) in tagged)
            s[k] = v is ComposeYaml.Override && s.TryGetValue(k, out object? done) ? new ComposeYaml.Override(done) : v;
    }

    private void ServiceKeys(string name, Map s)
    {
        string p = "services." + name;
        if (s.TryGetValue("build", out object? build))
        {
            var b = build as Map ?? ComposeYaml.NewMap();
            if (build is string ctx) b["context"] = ctx;
            s["build"] = b;
            if (b.GetValueOrDefault("context") is string c && !IsRemote(c)) b["context"] = AbsPath(c);
            ToMap(b, "args", p + ".build.args");
            ToMap(b, "labels", p + ".build.labels");
        }
        foreach (string k in new[] { "command", "entrypoint" })
            if (s.GetValueOrDefault(k) is string cmd) s[k] = ShellSplit(cmd).Cast<object?>().ToList();
        ToMap(s, "environment", p + ".environment");
        ToMap(s, "labels", p + ".labels");
        ToMap(s, "annotations", p + ".annotations");
        ToMap(s, "sysctls", p + ".sysctls");
        if (s.GetValueOrDefault("deploy") is Map deploy) ToMap(deploy, "labels", p + ".deploy.labels");
        foreach (string k in new[] { "dns", "dns_search", "dns_opt", "tmpfs", "expose", "cap_add", "cap_drop", "security_opt", "group_add", "profiles", "links", "external_links", "device_cgroup_rules" })
            ToStringList(s, k);
        if (s.TryGetValue("env_file", out object? ef))
        {
            var list = new List<object?>();
            foreach (var e in ef is List<object?> l ? l : new List<object?> { ef })
            {
                var m = e as Map ?? ComposeYaml.NewMap();
                if (e is string path) m["path"] = path;
                if (m.GetValueOrDefault("path") is string ps) m["path"] = AbsPath(ps);
                if (!m.ContainsKey("required")) m["required"] = true;
                list.Add(m);
            }
            s["env_file"] = list;
        }
        if (s.GetValueOrDefault("ports") is List<object?> ports)
        {
            var list = new List<object?>();
            for (int i = 0; i < ports.Count; i++) list.AddRange(Port(ports[i], $"{p}.ports[{i}]"));
            s["ports"] = list;
        }
        if (s.GetValueOrDefault("volumes") is List<object?> vols)
        {
            for (int i = 0; i < vols.Count; i++) vols[i] = Volume(vols[i], $"{p}.volumes[{i}]");
        }
        if (s.GetValueOrDefault("networks") is List<object?> nets)
        {
            var m = ComposeYaml.NewMap();
            foreach (var n in nets) m[ComposeYaml.Text(n) ?? ""] = null;
            s["networks"] = m;
        }
        if (s.TryGetValue("depends_on", out object? deps))
        {
            var m = ComposeYaml.NewMap();
            if (deps is List<object?> dl)
                foreach (var d in dl) m[ComposeYaml.Text(d) ?? ""] = DependsDefaults(ComposeYaml.NewMap());
            else if (deps is Map dm)
                foreach (var (k, v) in dm) m[k] = DependsDefaults(v as Map ?? ComposeYaml.NewMap());
            s["depends_on"] = m;
        }
        foreach (string k in new[] { "secrets", "configs" })
            if (s.GetValueOrDefault(k) is List<object?> refs)
                for (int i = 0; i < refs.Count; i++)
                    if (refs[i] is string src) refs[i] = new Map { ["source"] = src };
        if (s.GetValueOrDefault("healthcheck") is Map hc)
        {
            if (hc.GetValueOrDefault("test") is string t) hc["test"] = new List<object?> { "CMD-SHELL", t };
            foreach (string k in new[] { "interval", "timeout", "start_period", "start_interval" })
                if (hc.ContainsKey(k)) hc[k] = DurationText(hc[k], $"{p}.healthcheck.{k}");
        }
        if (s.ContainsKey("stop_grace_period")) s["stop_grace_period"] = DurationText(s["stop_grace_period"], p + ".stop_grace_period");
        if (s.TryGetValue("extra_hosts", out object? hosts))
        {
            var list = new List<object?>();
            if (hosts is Map hm)
                foreach (var (h, ip) in hm)
                {
                    if (ip is List<object?> ips) list.AddRange(ips.Select(x => (object?)$"{h}={ComposeYaml.Text(x)}"));
                    else list.Add($"{h}={ComposeYaml.Text(ip)}");
                }
            else if (hosts is List<object?> hl)
                foreach (var h in hl)
                {
                    string e = ComposeYaml.Text(h) ?? "";
                    int eq = e.IndexOf('=');
                    int colon = e.IndexOf(':');
                    list.Add(eq < 0 && colon > 0 ? e[..colon] + "=" + e[(colon + 1)..] : e);
                }
            s["extra_hosts"] = list;
        }
        if (s.GetValueOrDefault("devices") is List<object?> devs)
            for (int i = 0; i < devs.Count; i++)
                if (devs[i] is string d)
                {
                    var parts = d.Split(':');
                    var m = new Map { ["source"] = parts[0], ["target"] = parts.Length > 1 ? parts[1] : parts[0] };
                    m["permissions"] = parts.Length > 2 ? parts[2] : "rwm";
                    devs[i] = m;
                }
        if (s.GetValueOrDefault("logging") is Map log) ToStringValues(log, "options");
        if (s.GetValueOrDefault("ulimits") is Map ulimits)
            foreach (var (k, v) in ulimits.ToList())
            {
                if (v is Map u)
                {
                    foreach (string f in new[] { "soft", "hard" })
                        if (u.ContainsKey(f)) u[f] = Number(u[f], $"{p}.ulimits.{k}.{f}");
                }
                else ulimits[k] = Number(v, $"{p}.ulimits.{k}");
            }
        if (s.GetValueOrDefault("extends") is string ext) s["extends"] = new Map { ["service"] = ext };
    }

    private long Number(object? v, string path)
    {
        if (v is long l) return l;
        if (v is string s && long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return n;
        throw Err.Invalid($"{path}: '{ComposeYaml.Text(v)}' is not a whole number.");
    }

    private static Map DependsDefaults(Map m)
    {
        if (!m.ContainsKey("condition")) m["condition"] = "service_started";
        if (!m.ContainsKey("required")) m["required"] = true;
        return m;
    }

    private static bool IsRemote(string s) => s.Contains("://", StringComparison.Ordinal) || s.StartsWith("git@", StringComparison.Ordinal) || s.StartsWith("github.com/", StringComparison.Ordinal);

    internal string AbsPath(string p)
    {
        if (p.StartsWith("~/", StringComparison.Ordinal) || p == "~")
            p = Path.Join(Environment.GetEnvironmentVariable("HOME") ?? "/root", p.Length > 1 ? p[2..] : "");
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(baseDir, p)));
    }

    /// <summary>Go's path.Clean for a container path: no trailing '/', no '.', '..' or doubled '/'.</summary>
    internal static string CleanTarget(string p)
    {
        if (p.Length == 0) return p;
        if (p.StartsWith('/')) return Path.TrimEndingDirectorySeparator(Path.GetFullPath(p));
        return p.Length > 1 ? p.TrimEnd('/') : p;
    }

    // a list of KEY=VALUE (or KEY) entries becomes a map; map values become strings, null stays null
    private void ToMap(Map owner, string key, string path)
    {
        if (!owner.TryGetValue(key, out object? v) || v is null) return;
        var m = ComposeYaml.NewMap();
        if (v is List<object?> list)
        {
            foreach (var e in list)
            {
                string s = ComposeYaml.Text(e) ?? "";
                int eq = s.IndexOf('=');
                if (eq < 0) m[s] = null;
                else m[s[..eq]] = s[(eq + 1)..];
            }
        }
        else if (v is Map src)
        {
            foreach (var (k, val) in src) m[k] = val is null ? null : ComposeYaml.Text(val);
        }
        else throw Err.Invalid($"{path} must be a mapping or a list, not {ComposeYaml.Describe(v)}.");
        owner[key] = m;
    }

    private static void ToStringValues(Map owner, string key)
    {
        if (owner.GetValueOrDefault(key) is not Map m) return;
        foreach (var (k, v) in m.ToList()) if (v is not null and not string) m[k] = ComposeYaml.Text(v);
    }

    private static void ToStringList(Map owner, string key)
    {
        if (!owner.TryGetValue(key, out object? v) || v is null) return;
        if (v is List<object?> l) { for (int i = 0; i < l.Count; i++) if (l[i] is not Map) l[i] = ComposeYaml.Text(l[i]); }
        else owner[key] = new List<object?> { ComposeYaml.Text(v) };
    }

    // ---- ports ----

    private IEnumerable<object?> Port(object? v, string path)
    {
        if (v is Map m)
        {
            if (m.GetValueOrDefault("published") is { } pub and not string) m["published"] = ComposeYaml.Text(pub);
            if (m.GetValueOrDefault("target") is string ts && long.TryParse(ts, out long tl)) m["target"] = tl;
            var r = new Map { ["mode"] = m.GetValueOrDefault("mode") ?? "ingress" };
            foreach (var (k, val) in m) if (k != "mode") r[k] = val;
            if (!r.ContainsKey("protocol")) r["protocol"] = "tcp";
            return new[] { r };
        }
        string spec = ComposeYaml.Text(v) ?? "";
        return ParsePortSpec(spec, path);
    }

    private IEnumerable<object?> ParsePortSpec(string spec, string path)
    {
        string proto = "tcp";
        int slash = spec.LastIndexOf('/');
        if (slash >= 0) { proto = spec[(slash + 1)..]; spec = spec[..slash]; }
        string? ip = null, host = null, container;
        if (spec.StartsWith('['))
        {
            int close = spec.IndexOf(']');
            if (close < 0) throw Err.Invalid($"{path}: invalid port '{spec}'.");
            ip = spec[1..close];
            string rest = spec[(close + 1)..].TrimStart(':');
            int c = rest.LastIndexOf(':');
            host = c < 0 ? null : rest[..c];
            container = c < 0 ? rest : rest[(c + 1)..];
        }
        else
        {
            var parts = spec.Split(':');
            switch (parts.Length)
            {
                case 1: container = parts[0]; break;
                case 2: host = parts[0]; container = parts[1]; break;
                case 3: ip = parts[0]; host = parts[1]; container = parts[2]; break;
                default:
                    // an IPv6 address without brackets: the last two parts are host and container ports
                    ip = string.Join(':', parts[..^2]); host = parts[^2]; container = parts[^1]; break;
            }
        }
        if (host == "") host = null;
        var (cStart, cEnd) = Range(container, spec, path);
        (long hStart, long hEnd) = host is null ? (0, 0) : Range(host, spec, path);
        var result = new List<object?>();
        long count = cEnd - cStart + 1;
        for (long i = 0; i < count; i++)
        {
            var m = new Map { ["mode"] = "ingress" };
            if (ip is not null) m["host_ip"] = ip;
            m["target"] = cStart + i;
            if (host is not null)
            {
                if (hEnd - hStart + 1 == count) m["published"] = (hStart + i).ToString(CultureInfo.InvariantCulture);
                else if (count == 1) m["published"] = hStart == hEnd ? hStart.ToString(CultureInfo.InvariantCulture) : $"{hStart}-{hEnd}";
                else throw Err.Invalid($"{path}: the host port range of '{spec}' does not match its container port range.");
            }
            m["protocol"] = proto;
            result.Add(m);
        }
        return result;
    }

    private (long, long) Range(string s, string spec, string path)
    {
        int dash = s.IndexOf('-');
        string a = dash < 0 ? s : s[..dash], b = dash < 0 ? s : s[(dash + 1)..];
        if (!long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out long x) || !long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out long y)
            || x > 65535 || y > 65535 || y < x)
            throw Err.Invalid($"{path}: invalid port '{spec}'.");
        return (x, y);
    }

    // ---- volumes ----

    private static readonly HashSet<string> Propagations = new(StringComparer.Ordinal) { "shared", "slave", "private", "rshared", "rslave", "rprivate" };

    private object? Volume(object? v, string path)
    {
        if (v is Map m)
        {
            if (m.GetValueOrDefault("type") is "bind" && m.GetValueOrDefault("source") is string src) m["source"] = AbsPath(src);
            if (m.GetValueOrDefault("target") is string tgt) m["target"] = CleanTarget(tgt);
            return m;
        }
        string spec = ComposeYaml.Text(v) ?? "";
        var parts = spec.Split(':');
        string? source = null, target, mode = null;
        if (parts.Length == 1) target = parts[0];
        else if (parts.Length == 2 && !IsMode(parts[1]) ) { source = parts[0]; target = parts[1]; }
        else if (parts.Length == 2) { target = parts[0]; mode = parts[1]; }
        else if (parts.Length == 3) { source = parts[0]; target = parts[1]; mode = parts[2]; }
        else throw Err.Invalid($"{path}: invalid volume '{spec}'.");
        if (target.Length == 0) throw Err.Invalid($"{path}: invalid volume '{spec}': no target.");
        var r = ComposeYaml.NewMap();
        bool bind = source is not null && (source.StartsWith('.') || source.StartsWith('/') || source.StartsWith('~'));
        r["type"] = bind ? "bind" : "volume";
        if (source is not null) r["source"] = bind ? AbsPath(source) : source;
        r["target"] = CleanTarget(target);
        var bindOpts = ComposeYaml.NewMap();
        var volOpts = ComposeYaml.NewMap();
        foreach (string o in (mode ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (o == "ro") r["read_only"] = true;
            else if (o == "rw") { }
            else if (o is "z" or "Z") bindOpts["selinux"] = o;
            else if (o == "nocopy") volOpts["nocopy"] = true;
            else if (Propagations.Contains(o)) bindOpts["propagation"] = o;
            // compose-go ignores an option it does not know

        }
        if (bind)
        {
            bindOpts["create_host_path"] = true;
            r["bind"] = bindOpts;
        }
        else r["volume"] = volOpts;
        return r;
    }

    private static bool IsMode(string s) => s.Split(',').All(o => o is "ro" or "rw" or "z" or "Z" or "nocopy" || Propagations.Contains(o));

    // ---- durations ----

    private object? DurationText(object? v, string path)
    {
        if (v is null) return null;
        if (TryParseDuration(ComposeYaml.Text(v)!, out TimeSpan ts)) return FormatDuration(ts);
        throw Err.Invalid($"{path}: '{ComposeYaml.Text(v)}' is not a duration (e.g. 30s, 1m30s, 500ms).");
    }

    private static readonly Regex DurationPart = new(@"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)", RegexOptions.CultureInvariant);

    /// <summary>Go's time.ParseDuration, as compose reads durations; a bare number is seconds.</summary>
    public static bool TryParseDuration(string s, out TimeSpan value)
    {
        value = default;
        s = s.Trim();
        if (s.Length == 0) return false;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double secs)) { value = TimeSpan.FromSeconds(secs); return true; }
        bool neg = s[0] == '-';
        if (s[0] is '-' or '+') s = s[1..];
        int pos = 0;
        decimal ns = 0;
        foreach (Match m in DurationPart.Matches(s))
        {
            if (m.Index != pos) return false;
            pos += m.Length;
            decimal n = decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            ns += n * m.Groups[2].Value switch
            {
                "ns" => 1m, "us" or "µs" or "μs" => 1_000m, "ms" => 1_000_000m, "s" => 1_000_000_000m,
                "m" => 60_000_000_000m, _ => 3_600_000_000_000m,
            };
        }
        if (pos != s.Length || pos == 0) return false;
        value = TimeSpan.FromTicks((long)(ns / 100m) * (neg ? -1 : 1));
        return true;
    }

    /// <summary>Go's Duration.String(): 1m30s, 500ms, 1h0m0s, 0s.</summary>
    public static string FormatDuration(TimeSpan t)
    {
        long ticks = t.Ticks;
        if (ticks == 0) return "0s";
        var sb = new StringBuilder();
        if (ticks < 0) { sb.Append('-'); ticks = -ticks; }
        if (ticks < TimeSpan.TicksPerSecond)
        {
            decimal ns = ticks * 100m;
            if (ns < 1000m) return sb.Append(ns.ToString(CultureInfo.InvariantCulture)).Append("ns").ToString();
            if (ns < 1_000_000m) return sb.Append(Trim(ns / 1000m)).Append("µs").ToString();
            return sb.Append(Trim(ns / 1_000_000m)).Append("ms").ToString();
        }
        long h = ticks / TimeSpan.TicksPerHour;
        long m = ticks % TimeSpan.TicksPerHour / TimeSpan.TicksPerMinute;
        decimal s = ticks % TimeSpan.TicksPerMinute / (decimal)TimeSpan.TicksPerSecond;
        if (h > 0) sb.Append(h).Append('h');
        if (h > 0 || m > 0) sb.Append(m).Append('m');
        return sb.Append(Trim(s)).Append('s').ToString();
    }

    private static string Trim(decimal d)
    {
        string s = d.ToString(CultureInfo.InvariantCulture);
        if (s.Contains('.')) s = s.TrimEnd('0').TrimEnd('.');
        return s;
    }

    // ---- commands ----

    /// <summary>Splits a command string as a POSIX shell would (quotes and backslashes), as compose-go's shellwords does.</summary>
    public static List<string> ShellSplit(string s)
    {
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is ' ' or '\t' or '\n' or '\r')
            {
                if (inWord) { words.Add(cur.ToString()); cur.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            if (c == '\\' && i + 1 < s.Length) { cur.Append(s[++i]); continue; }
            if (c == '\'')
            {
                int end = s.IndexOf('\'', i + 1);
                if (end < 0) throw new FormatException($"unterminated single quote in '{s}'");
                cur.Append(s, i + 1, end - i - 1);
                i = end;
                continue;
            }
            if (c == '"')
            {
                int j = i + 1;
                for (; j < s.Length && s[j] != '"'; j++)
                {
                    if (s[j] == '\\' && j + 1 < s.Length && s[j + 1] is '"' or '\\' or '$' or '`') j++;
                    cur.Append(s[j]);
                }
                if (j >= s.Length) throw new FormatException($"unterminated double quote in '{s}'");
                i = j;
                continue;
            }
            cur.Append(c);
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }
}

/// <summary>Builds the loader's errors about one file.</summary>
internal readonly struct ContainersExceptionFactory(string file)
{
    public Errors.ContainersException Invalid(string message) => ComposeYaml.Invalid(file, $"{file}: {message}");
}
