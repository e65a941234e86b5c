using System.Globalization;
using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Engine.Runtime;

namespace Containers.Engine.Security.Seccomp;

/// <summary>libseccomp's argument comparisons (SCMP_CMP_*), as Docker's profile format names them.</summary>
public enum SeccompOp { NotEqual, LessThan, LessOrEqual, Equal, GreaterOrEqual, GreaterThan, MaskedEqual }

/// <summary>One argument condition: args[Index] Op Value (MaskedEqual: (args[Index] &amp; Value) == ValueTwo).</summary>
public sealed record SeccompArg(int Index, ulong Value, ulong ValueTwo, SeccompOp Op);

/// <summary>includes/excludes of a rule: capabilities (bits), architectures (Docker's names: amd64, x86, ...), minimum kernel.</summary>
public sealed record SeccompFilterCondition(ulong[] Caps, string[] Arches, Version? MinKernel)
{
    public bool IsEmpty => Caps.Length == 0 && Arches.Length == 0 && MinKernel is null;
}

/// <summary>One entry of the profile's syscalls[]: names, the action (as a SECCOMP_RET_* value) and its conditions.</summary>
public sealed record SeccompRule(string[] Names, uint Action, SeccompArg[] Args, SeccompFilterCondition? Includes, SeccompFilterCondition? Excludes);

/// <summary>
/// A seccomp profile in Docker's JSON format (the format docker and podman take with --security-opt seccomp=FILE):
/// defaultAction, defaultErrnoRet, archMap or architectures, syscalls[] with names/name, action, errnoRet, args,
/// includes and excludes. Parsing checks everything the compiler relies on; a bad profile is
/// SeccompProfileInvalid naming its source.
/// </summary>
public sealed class SeccompProfile
{
    // SECCOMP_RET_* (linux/seccomp.h)
    public const uint RetKillProcess = 0x80000000, RetKillThread = 0, RetTrap = 0x00030000, RetErrno = 0x00050000,
        RetTrace = 0x7ff00000, RetLog = 0x7ffc0000, RetAllow = 0x7fff0000;
    private const int EPERM = 1;

    public uint DefaultAction { get; private init; }
    /// <summary>Architectures the profile names for this host (SCMP_ARCH_*), from archMap or architectures.</summary>
    public string[] Architectures { get; private init; } = [];
    public SeccompRule[] Rules { get; private init; } = [];

    private static readonly Lazy<string> DefaultJson = new(() =>
    {
        using var s = typeof(SeccompProfile).Assembly.GetManifestResourceStream("Containers.Seccomp.default.json")
            ?? throw new InvalidOperationException("The engine lacks its embedded default seccomp profile.");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    });

    /// <summary>Docker's default profile as shipped with the engine (Security/Seccomp/default.json).</summary>
    public static string DefaultProfileJson => DefaultJson.Value;

    /// <summary>Reads a profile file; missing, unreadable or invalid files fail with an ErrorId naming the file.</summary>
    public static string ReadFile(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw ContainersException.NotFound("SeccompProfileNotFound", $"The seccomp profile '{path}' does not exist.", path, ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ContainersException.Invalid("SeccompProfileUnreadable", $"The seccomp profile '{path}' cannot be read: {ex.Message}", path, ex);
        }
        Parse(text, path);
        return text;
    }

    /// <summary>Parses Docker's JSON profile format. <paramref name="source"/> names the profile in errors.</summary>
    public static SeccompProfile Parse(string json, string source)
    {
        try { return ParseCore(json); }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or OverflowException or KeyNotFoundException)
        {
            throw ContainersException.Invalid("SeccompProfileInvalid", $"The seccomp profile '{source}' is not valid: {ex.Message}", source, ex);
        }
    }

    private static SeccompProfile ParseCore(string json)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException("the profile is not a JSON object");
        string defaultAction = Str(root, "defaultAction") ?? throw new FormatException("defaultAction is missing");
        int? defaultErrno = Int(root, "defaultErrnoRet");
        var arches = new List<string>();
        bool hasArchMap = root.TryGetProperty("archMap", out var archMap) && archMap.ValueKind == JsonValueKind.Array && archMap.GetArrayLength() > 0;
        bool hasArchitectures = root.TryGetProperty("architectures", out var architectures) && architectures.ValueKind == JsonValueKind.Array && architectures.GetArrayLength() > 0;
        if (hasArchMap && hasArchitectures) throw new FormatException("both 'architectures' and 'archMap' are given; use one of them");
        if (hasArchMap)
        {
            foreach (var a in archMap.EnumerateArray())
            {
                if (Str(a, "architecture") != "SCMP_ARCH_X86_64") continue;
                arches.Add("SCMP_ARCH_X86_64");
                if (a.TryGetProperty("subArchitectures", out var subs) && subs.ValueKind == JsonValueKind.Array)
                    arches.AddRange(subs.EnumerateArray().Select(s => s.GetString() ?? ""));
            }
        }
        else if (hasArchitectures) arches.AddRange(architectures.EnumerateArray().Select(s => s.GetString() ?? ""));

        var rules = new List<SeccompRule>();
        if (root.TryGetProperty("syscalls", out var syscalls) && syscalls.ValueKind != JsonValueKind.Null)
        {
            if (syscalls.ValueKind != JsonValueKind.Array) throw new FormatException("syscalls is not an array");
            int i = 0;
            foreach (var sc in syscalls.EnumerateArray())
            {
                rules.Add(ParseRule(sc, i));
                i++;
            }
        }
        return new SeccompProfile
        {
            DefaultAction = ParseAction(defaultAction, defaultErrno, "defaultAction"),
            Architectures = arches.ToArray(),
            Rules = rules.ToArray(),
        };
    }

    private static SeccompRule ParseRule(JsonElement sc, int i)
    {
        string where = $"syscalls[{i}]";
        if (sc.ValueKind != JsonValueKind.Object) throw new FormatException($"{where} is not an object");
        var names = new List<string>();
        string? name = Str(sc, "name");
        bool hasNames = sc.TryGetProperty("names", out var namesEl) && namesEl.ValueKind == JsonValueKind.Array && namesEl.GetArrayLength() > 0;
        if (!string.IsNullOrEmpty(name) && hasNames) throw new FormatException($"{where} gives both 'name' and 'names'");
        if (!string.IsNullOrEmpty(name)) names.Add(name);
        if (hasNames) names.AddRange(namesEl.EnumerateArray().Select(n => n.GetString() ?? throw new FormatException($"{where}.names holds a non-string")));
        string action = Str(sc, "action") ?? throw new FormatException($"{where} has no action");
        var args = new List<SeccompArg>();
        if (sc.TryGetProperty("args", out var argsEl) && argsEl.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in argsEl.EnumerateArray())
            {
                int index = (int)(ULong(a, "index") ?? throw new FormatException($"{where}: an argument lacks its index"));
                if (index > 5) throw new FormatException($"{where}: argument index {index} is out of range (0-5)");
                string op = Str(a, "op") ?? throw new FormatException($"{where}: an argument lacks its op");
                args.Add(new SeccompArg(index, ULong(a, "value") ?? 0, ULong(a, "valueTwo") ?? 0, op switch
                {
                    "SCMP_CMP_NE" => SeccompOp.NotEqual,
                    "SCMP_CMP_LT" => SeccompOp.LessThan,
                    "SCMP_CMP_LE" => SeccompOp.LessOrEqual,
                    "SCMP_CMP_EQ" => SeccompOp.Equal,
                    "SCMP_CMP_GE" => SeccompOp.GreaterOrEqual,
                    "SCMP_CMP_GT" => SeccompOp.GreaterThan,
                    "SCMP_CMP_MASKED_EQ" => SeccompOp.MaskedEqual,
                    _ => throw new FormatException($"{where}: unknown comparison '{op}'"),
                }));
            }
        }
        return new SeccompRule(names.ToArray(), ParseAction(action, Int(sc, "errnoRet"), where), args.ToArray(),
            ParseCondition(sc, "includes", where), ParseCondition(sc, "excludes", where));
    }

    private static SeccompFilterCondition? ParseCondition(JsonElement sc, string key, string where)
    {
        if (!sc.TryGetProperty(key, out var el) || el.ValueKind != JsonValueKind.Object) return null;
        var caps = new List<ulong>();
        if (el.TryGetProperty("caps", out var c) && c.ValueKind == JsonValueKind.Array)
            foreach (var cap in c.EnumerateArray()) caps.Add(CapBit(cap.GetString() ?? ""));
        var arches = el.TryGetProperty("arches", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(x => x.GetString() ?? "").ToArray() : [];
        Version? minKernel = null;
        string? mk = Str(el, "minKernel");
        if (!string.IsNullOrEmpty(mk))
            minKernel = ParseKernel(mk) ?? throw new FormatException($"{where}.{key}.minKernel '{mk}' is not a kernel version");
        return new SeccompFilterCondition(caps.ToArray(), arches, minKernel);
    }

    /// <summary>A capability's bit; a name this engine does not know is a capability no container holds (bit 0 of nothing).</summary>
    private static ulong CapBit(string name)
    {
        try { return Capabilities.Bit(name); }
        catch (ContainersException) { return 0; }
    }

    /// <summary>Docker's action names as SECCOMP_RET_* values; errno actions take errnoRet (EPERM when absent, as runc does).</summary>
    private static uint ParseAction(string action, int? errnoRet, string where)
    {
        uint data = (uint)(errnoRet ?? EPERM);
        if (errnoRet is < 0 or > 4095) throw new FormatException($"{where}: errnoRet {errnoRet} is out of range (0-4095)");
        return action switch
        {
            "SCMP_ACT_ALLOW" => RetAllow,
            "SCMP_ACT_ERRNO" => RetErrno | data,
            "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => RetKillThread,
            "SCMP_ACT_KILL_PROCESS" => RetKillProcess,
            "SCMP_ACT_TRAP" => RetTrap,
            "SCMP_ACT_TRACE" => RetTrace | data,
            "SCMP_ACT_LOG" => RetLog,
            "SCMP_ACT_NOTIFY" => throw new FormatException($"{where}: SCMP_ACT_NOTIFY needs a listener, which this engine does not provide"),
            _ => throw new FormatException($"{where}: unknown action '{action}'"),
        };
    }

    /// <summary>"6.18.44-fc" -> 6.18 (major.minor, as Docker compares minKernel).</summary>
    public static Version? ParseKernel(string release)
    {
        var parts = release.Split('.', '-', '+');
        if (parts.Length < 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major)) return null;
        int digits = 0;
        while (digits < parts[1].Length && char.IsAsciiDigit(parts[1][digits])) digits++;
        string minorDigits = parts[1][..digits];
        if (!int.TryParse(minorDigits, NumberStyles.None, CultureInfo.InvariantCulture, out int minor)) return null;
        return new Version(major, minor);
    }

    private static readonly Lazy<Version> HostKernelLazy = new(() =>
    {
        try { return ParseKernel(File.ReadAllText("/proc/sys/kernel/osrelease").Trim()) ?? new Version(0, 0); }
        catch (IOException) { return new Version(0, 0); }
    });

    /// <summary>This host's kernel version (major.minor).</summary>
    public static Version HostKernel => HostKernelLazy.Value;

    /// <summary>Docker's name of this architecture, as includes/excludes "arches" use it.</summary>
    public const string NativeArch = "amd64";

    /// <summary>
    /// The rules that apply to a container, exactly as docker selects them: a rule is dropped when its excludes
    /// name this architecture, any capability the container holds (its bounding set), or a kernel at most this
    /// one; and when its includes name other architectures only, a capability the container lacks, or a newer kernel.
    /// </summary>
    public IEnumerable<SeccompRule> Select(ulong capabilities, Version kernel)
    {
        foreach (var r in Rules)
        {
            if (r.Excludes is { } ex)
            {
                if (ex.Arches.Contains(NativeArch)) continue;
                if (ex.Caps.Any(c => c != 0 && (capabilities & c) == c)) continue;
                if (ex.MinKernel is not null && kernel >= ex.MinKernel) continue;
            }
            if (r.Includes is { } inc)
            {
                if (inc.Arches.Length > 0 && !inc.Arches.Contains(NativeArch)) continue;
                if (inc.Caps.Any(c => c == 0 || (capabilities & c) != c)) continue;
                if (inc.MinKernel is not null && kernel < inc.MinKernel) continue;
            }
            yield return r;
        }
    }

    private static string? Str(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static ulong? ULong(JsonElement e, string key)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new FormatException($"'{key}' is not a number");
        if (v.TryGetUInt64(out ulong u)) return u;
        if (v.TryGetInt64(out long l)) return unchecked((ulong)l); // -1 in a profile means all bits set, as libseccomp reads it
        throw new FormatException($"'{key}' is not a 64-bit integer");
    }
}
