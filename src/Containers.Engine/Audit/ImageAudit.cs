using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Containers.Engine.Build;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Spec;
using Containers.Native.Sys;

namespace Containers.Engine.Audit;

/// <summary>How much a finding matters, least first (Test-ContainerImage -Severity keeps this and above).</summary>
public enum FindingSeverity { Info, Low, Medium, High, Critical }

/// <summary>One thing Test-ContainerImage found in an image.</summary>
public sealed class ImageFinding
{
    /// <summary>The image as it was named (its tag, or its id).</summary>
    public string Image { get; init; } = "";
    public string ImageId { get; init; } = "";
    /// <summary>The rule that found it (stable: RunsAsRoot, SetuidFile, WorldWritable, Secret, NoHealthcheck, OutdatedBase, OutdatedPackage).</summary>
    public string Rule { get; init; } = "";
    public FindingSeverity Severity { get; init; }
    /// <summary>The file in the image (absolute), for rules about files.</summary>
    public string? Path { get; init; }
    /// <summary>The config key, history step or package, for rules about the config.</summary>
    public string? Key { get; init; }
    public string Message { get; init; } = "";
    public override string ToString() => $"{Rule} {Path ?? Key}: {Message}";
}

/// <summary>
/// Test-ContainerImage's engine: audits an image offline, from its config, manifest and unpacked layers in the
/// store (no container, no mount). The layers are hostile input: they are read through <see cref="LayerView"/>,
/// which never follows the image's links on the host.
/// </summary>
public sealed class ImageAuditor
{
    public static readonly IReadOnlyList<string> Rules =
        ["RunsAsRoot", "SetuidFile", "WorldWritable", "Secret", "NoHealthcheck", "OutdatedBase", "OutdatedPackage"];

    private readonly ImageStore _store;
    /// <summary>The host's /etc/os-release and apt lists directory (tests point them elsewhere).</summary>
    public string HostOsRelease { get; init; } = "/etc/os-release";
    public string HostAptLists { get; init; } = "/var/lib/apt/lists";

    public ImageAuditor(ImageStore store) { _store = store; }

    public IEnumerable<ImageFinding> Audit(ImageRecord image, string shownAs, ISet<string>? rules = null, CancellationToken ct = default)
    {
        bool On(string r) => rules is null || rules.Contains(r);
        var f = new List<ImageFinding>();
        void Add(string rule, FindingSeverity sev, string message, string? path = null, string? key = null)
            => f.Add(new ImageFinding { Image = shownAs, ImageId = image.Id, Rule = rule, Severity = sev, Path = path, Key = key, Message = message });
        var cfg = image.Config.Config;

        if (On("RunsAsRoot") && RunsAsRoot(cfg?.User))
            Add("RunsAsRoot", FindingSeverity.Medium,
                string.IsNullOrEmpty(cfg?.User) ? "The image sets no USER, so its processes run as root; add USER <uid> (not 0) to the image, or run it with -User."
                    : $"USER {cfg!.User} is root; use an unprivileged user (USER <uid>), or run it with -User.", key: "User");
        if (On("Secret")) Secrets(image, Add);
        if (On("NoHealthcheck") && !HasHealthcheck(cfg?.Healthcheck))
            Add("NoHealthcheck", FindingSeverity.Low, "The image has no HEALTHCHECK: nothing tells a broken service from a healthy one.", key: "Healthcheck");
        if (On("OutdatedBase")) OutdatedBase(image, Add);

        bool files = On("SetuidFile") || On("WorldWritable") || On("OutdatedPackage");
        if (!files) return f;
        var view = new LayerView(image.LayerDiffIds.Select(_store.Layers.DiffPathOf).ToList(), ct);
        foreach (var e in view.Entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            string p = "/" + e.Path;
            if (On("SetuidFile") && e.IsRegular && (e.Mode & 0xC00) != 0)
            {
                string what = (e.Mode & 0xC00) == 0xC00 ? "setuid and setgid" : (e.Mode & 0x800) != 0 ? "setuid" : "setgid";
                Add("SetuidFile", e.Uid == 0 && (e.Mode & 0x800) != 0 ? FindingSeverity.Medium : FindingSeverity.Low,
                    $"{p} is {what} (owner {e.Uid}:{e.Gid}, mode {Convert.ToString(e.Mode & 0xFFF, 8)}); remove the bit unless the image needs it (chmod u-s,g-s).", path: p);
            }
            if (On("WorldWritable") && (e.IsRegular || e.IsDir) && (e.Mode & 0x2) != 0 && !TempPath(p))
            {
                bool sticky = (e.Mode & 0x200) != 0;
                if (e.IsDir && sticky && p is "/tmp" or "/var/tmp") continue;
                if (e.IsDir && sticky) continue;   // like /tmp: anyone may create, nobody may remove another's files
                Add("WorldWritable", FindingSeverity.Medium,
                    $"{p} is world-writable ({(e.IsDir ? "directory" : "file")}, mode {Convert.ToString(e.Mode & 0xFFF, 8)}); any user in the container can {(e.IsDir ? "replace files in it" : "change it")} (chmod o-w).", path: p);
            }
        }
        if (On("OutdatedPackage")) OutdatedPackages(view, Add);
        return f;
    }

    private static bool TempPath(string p) => p.StartsWith("/tmp/", StringComparison.Ordinal) || p.StartsWith("/var/tmp/", StringComparison.Ordinal);

    /// <summary>No USER, or a USER whose user part is root or 0.</summary>
    public static bool RunsAsRoot(string? user)
    {
        if (string.IsNullOrWhiteSpace(user)) return true;
        string u = user.Trim();
        int colon = u.IndexOf(':');
        if (colon >= 0) u = u[..colon];
        return u is "root" or "0" || (u.Length > 0 && u.All(char.IsAsciiDigit) && u.TrimStart('0').Length == 0);
    }

    private static bool HasHealthcheck(JsonElement? hc)
    {
        if (hc is not { ValueKind: JsonValueKind.Object } h) return false;
        if (!h.TryGetProperty("Test", out var t) || t.ValueKind != JsonValueKind.Array || t.GetArrayLength() == 0) return false;
        return t[0].GetString() is not "NONE";
    }

    // ---- secrets ----

    private static readonly Regex SecretName = new(
        @"(^|[_.-])(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SECRET_?KEY|AUTH_?KEY|CREDENTIALS?|CLIENT_?SECRET)([_.-]|$)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex NotASecretName = new(@"[_.-](FILE|PATH|DIR|URL|HOST|PORT|USER|NAME|TYPE|LENGTH)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly (string What, Regex Re)[] SecretValues =
    [
        ("an AWS access key id", new Regex(@"\b(AKIA|ASIA)[0-9A-Z]{16}\b", RegexOptions.CultureInvariant)),
        ("a private key", new Regex(@"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----", RegexOptions.CultureInvariant)),
        ("a GitHub token", new Regex(@"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})\b", RegexOptions.CultureInvariant)),
        ("a GitLab token", new Regex(@"\bglpat-[A-Za-z0-9_-]{20,}\b", RegexOptions.CultureInvariant)),
        ("a Slack token", new Regex(@"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", RegexOptions.CultureInvariant)),
        ("a Google API key", new Regex(@"\bAIza[0-9A-Za-z_-]{35}\b", RegexOptions.CultureInvariant)),
        ("a password in a URL", new Regex(@"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s:@$]+@", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)),
    ];
    /// <summary>NAME=value (or NAME: value) in a command line, the name a secret's.</summary>
    private static readonly Regex Assignment = new(@"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*(""[^""]*""|'[^']*'|[^\s;&|]+)", RegexOptions.CultureInvariant);
    private static readonly Regex PasswordFlag = new(@"(?<!\S)--?(password|passwd|token|secret|api-key)[= ](""[^""]+""|'[^']+'|[^\s;&|-][^\s;&|]*)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    private static bool SecretValue(string value)
    {
        string v = value.Trim().Trim('"', '\'');
        return v.Length > 0 && !v.StartsWith('$') && !v.StartsWith("/run/secrets", StringComparison.Ordinal) && v is not ("true" or "false" or "yes" or "no" or "0" or "1");
    }

    private static bool SecretNamed(string name) => SecretName.IsMatch(name) && !NotASecretName.IsMatch(name);

    /// <summary>What kind of secret a NAME=value or a bare text holds, or null.</summary>
    private static string? Classify(string? name, string value)
    {
        foreach (var (what, re) in SecretValues) if (re.IsMatch(value)) return what;
        if (name is not null && SecretNamed(name) && SecretValue(value)) return $"a value named {name}";
        return null;
    }

    private static void Secrets(ImageRecord image, Action<string, FindingSeverity, string, string?, string?> add)
    {
        var cfg = image.Config.Config;
        foreach (var kv in cfg?.Env ?? [])
        {
            int eq = kv.IndexOf('=');
            string name = eq < 0 ? kv : kv[..eq], value = eq < 0 ? "" : kv[(eq + 1)..];
            if (Classify(name, value) is { } what)
                add("Secret", FindingSeverity.High, $"The environment variable {name} holds {what}; every container and every copy of the image has it. Pass it at run time (-Environment, a secret file) instead.", null, "Env:" + name);
        }
        foreach (var (name, value) in cfg?.Labels ?? [])
            if (Classify(name, value) is { } what)
                add("Secret", FindingSeverity.High, $"The label {name} holds {what}; labels are public with the image.", null, "Label:" + name);
        var hist = image.Config.History ?? [];
        for (int i = 0; i < hist.Count; i++)
        {
            string cmd = hist[i].CreatedBy ?? "";
            if (cmd.Length == 0) continue;
            string? what = null;
            foreach (var (w, re) in SecretValues) if (re.IsMatch(cmd)) { what = w; break; }
            if (what is null)
                foreach (Match m in Assignment.Matches(cmd))
                    if (SecretNamed(m.Groups[1].Value) && SecretValue(m.Groups[2].Value)) { what = $"a value named {m.Groups[1].Value}"; break; }
            if (what is null && PasswordFlag.Match(cmd) is { Success: true } pf && SecretValue(pf.Groups[2].Value)) what = $"a --{pf.Groups[1].Value.ToLowerInvariant()} argument";
            if (what is not null)
                add("Secret", FindingSeverity.High, $"History step {i} ({Shorten(cmd)}) records {what}: the history ships with the image. Use a build secret (RUN --mount=type=secret) instead of ARG/ENV or a literal.", null, $"History[{i}]");
        }
    }

    private static string Shorten(string cmd)
    {
        // never echo the secret: name the instruction only
        string c = cmd.Replace("/bin/sh -c #(nop) ", "", StringComparison.Ordinal).Trim();
        int sp = c.IndexOf(' ');
        return sp > 0 ? c[..sp] + " ..." : c;
    }

    // ---- base ----

    private void OutdatedBase(ImageRecord image, Action<string, FindingSeverity, string, string?, string?> add)
    {
        Dictionary<string, string>? ann;
        try { ann = JsonSerializer.Deserialize<ImageManifest>(_store.ReadManifest(image), SpecJson.Options)?.Annotations; }
        catch (Exception e) when (e is JsonException or IOException or ContainersException) { return; }
        if (ann is null || !ann.TryGetValue(BuildExecutor.BaseNameAnnotation, out var baseName) || !ann.TryGetValue(BuildExecutor.BaseDigestAnnotation, out var baseDigest)) return;
        ImageRecord? now;
        try { now = _store.TryResolve(baseName); }
        catch (ContainersException) { return; }
        if (now is null || now.ManifestDigest == baseDigest || now.Id == baseDigest) return;
        add("OutdatedBase", FindingSeverity.Medium,
            $"The image was built on {baseName} at {Short(baseDigest)}; {baseName} is now {Short(now.ManifestDigest)}. Rebuild it to get the base's fixes.", null, baseName);
    }

    private static string Short(string d) => d.StartsWith("sha256:", StringComparison.Ordinal) && d.Length > 19 ? d[..19] : d;

    // ---- packages ----

    /// <summary>KEY=value pairs of an os-release file.</summary>
    internal static Dictionary<string, string> OsRelease(byte[]? text)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (text is null) return d;
        foreach (var line in Encoding.UTF8.GetString(text).Split('\n'))
        {
            int eq = line.IndexOf('=');
            if (eq <= 0) continue;
            d[line[..eq].Trim()] = line[(eq + 1)..].Trim().Trim('"', '\'');
        }
        return d;
    }

    private void OutdatedPackages(LayerView view, Action<string, FindingSeverity, string, string?, string?> add)
    {
        const string status = "/var/lib/dpkg/status";
        if (view.Resolve(status) is null) return;
        var host = OsRelease(File.Exists(HostOsRelease) ? File.ReadAllBytes(HostOsRelease) : null);
        var img = OsRelease(view.ReadFile("/etc/os-release", 1 << 16));
        if (!host.TryGetValue("VERSION_CODENAME", out var codename) || codename.Length == 0) return;
        if (img.GetValueOrDefault("ID") != host.GetValueOrDefault("ID") || img.GetValueOrDefault("VERSION_CODENAME") != codename) return;
        var installed = DpkgStatus.Installed(view.ReadFile(status));
        if (installed.Count == 0) return;
        var index = AptIndex.Load(HostAptLists, codename);
        foreach (var (pkg, (ver, arch)) in installed.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            if (!index.TryGetValue(pkg, out var newest) || DebianVersion.Compare(ver, newest) >= 0) continue;
            add("OutdatedPackage", FindingSeverity.Medium,
                $"{pkg} {ver} is installed; the host's apt lists for {codename} have {newest}. Rebuild with apt-get upgrade, or on a newer base.", status, pkg);
        }
    }
}

/// <summary>The installed packages of a dpkg status file.</summary>
internal static class DpkgStatus
{
    public static Dictionary<string, (string Version, string Arch)> Installed(byte[]? text)
    {
        var d = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        if (text is null) return d;
        foreach (var stanza in Encoding.UTF8.GetString(text).Replace("\r\n", "\n").Split("\n\n"))
        {
            string? pkg = null, ver = null, st = null, arch = "";
            foreach (var line in stanza.Split('\n'))
            {
                if (line.StartsWith("Package:", StringComparison.Ordinal)) pkg = line[8..].Trim();
                else if (line.StartsWith("Version:", StringComparison.Ordinal)) ver = line[8..].Trim();
                else if (line.StartsWith("Status:", StringComparison.Ordinal)) st = line[7..].Trim();
                else if (line.StartsWith("Architecture:", StringComparison.Ordinal)) arch = line[13..].Trim();
            }
            if (pkg is null || ver is null || st is null || !st.EndsWith(" installed", StringComparison.Ordinal)) continue;
            d[pkg] = (ver, arch);
        }
        return d;
    }
}

/// <summary>The newest version of each package in the host's apt lists of one release (offline: apt-get update's data).</summary>
internal static class AptIndex
{
    private static readonly Dictionary<string, (DateTime, long, Dictionary<string, string>)> Cache = new(StringComparer.Ordinal);

    public static Dictionary<string, string> Load(string listsDir, string codename)
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(listsDir)) return all;
        foreach (var file in Directory.EnumerateFiles(listsDir).Order(StringComparer.Ordinal))
        {
            string n = System.IO.Path.GetFileName(file);
            if (!n.Contains("_Packages", StringComparison.Ordinal)) continue;
            if (!(n.Contains($"_dists_{codename}_", StringComparison.Ordinal) || n.Contains($"_dists_{codename}-", StringComparison.Ordinal))) continue;
            foreach (var (pkg, ver) in LoadFile(file))
                if (!all.TryGetValue(pkg, out var have) || DebianVersion.Compare(ver, have) > 0) all[pkg] = ver;
        }
        return all;
    }

    private static Dictionary<string, string> LoadFile(string file)
    {
        var fi = new FileInfo(file);
        lock (Cache)
            if (Cache.TryGetValue(file, out var c) && c.Item1 == fi.LastWriteTimeUtc && c.Item2 == fi.Length) return c.Item3;
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        byte[]? text;
        try { text = AptListReader.Read(file); }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return d; }
        if (text is null) return d;
        string? pkg = null;
        var span = text.AsSpan();
        while (span.Length > 0)
        {
            int nl = span.IndexOf((byte)'\n');
            var line = nl < 0 ? span : span[..nl];
            span = nl < 0 ? default : span[(nl + 1)..];
            if (line.StartsWith("Package:"u8)) pkg = Encoding.UTF8.GetString(line[8..]).Trim();
            else if (line.StartsWith("Version:"u8) && pkg is not null)
            {
                string v = Encoding.UTF8.GetString(line[8..]).Trim();
                if (!d.TryGetValue(pkg, out var have) || DebianVersion.Compare(v, have) > 0) d[pkg] = v;
                pkg = null;
            }
        }
        lock (Cache) Cache[file] = (fi.LastWriteTimeUtc, fi.Length, d);
        return d;
    }
}
