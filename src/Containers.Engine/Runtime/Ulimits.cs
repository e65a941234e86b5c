using System.Globalization;
using Containers.Engine.Errors;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

/// <summary>One resource limit of a container's processes, as Docker's --ulimit writes it (name=soft[:hard]; -1 = unlimited).</summary>
public sealed record UlimitSetting(string Name, long Soft, long Hard)
{
    /// <summary>The setrlimit resource number (Linux, x86-64 and arm64 alike).</summary>
    public int Resource => Ulimits.ResourceOf(Name);
    public override string ToString() => $"{Name}={Soft}:{Hard}";
}

/// <summary>Parses and checks -Ulimit values.</summary>
public static class Ulimits
{
    private static readonly Dictionary<string, int> Resources = new(StringComparer.Ordinal)
    {
        ["cpu"] = 0, ["fsize"] = 1, ["data"] = 2, ["stack"] = 3, ["core"] = 4, ["rss"] = 5, ["nproc"] = 6,
        ["nofile"] = 7, ["memlock"] = 8, ["as"] = 9, ["locks"] = 10, ["sigpending"] = 11, ["msgqueue"] = 12,
        ["nice"] = 13, ["rtprio"] = 14, ["rttime"] = 15,
    };

    public static IReadOnlyCollection<string> Names => Resources.Keys;

    internal static int ResourceOf(string name) => Resources[name];

    /// <summary>Parses "nofile=1024:2048" or "nproc=512" (soft = hard); refuses unknown names and soft above hard.</summary>
    public static UlimitSetting Parse(string spec)
    {
        int eq = spec.IndexOf('=');
        string name = eq > 0 ? spec[..eq].Trim().ToLowerInvariant() : "";
        if (eq <= 0 || !Resources.ContainsKey(name))
            throw ContainersException.Invalid("InvalidUlimit", RuntimeMessages.InvalidUlimit(spec, $"the form is name=soft[:hard] with a name of {string.Join(", ", Resources.Keys)}"), spec);
        var parts = spec[(eq + 1)..].Split(':');
        if (parts.Length > 2 || !TryValue(parts[0], out long soft) || !TryValue(parts[^1], out long hard))
            throw ContainersException.Invalid("InvalidUlimit", RuntimeMessages.InvalidUlimit(spec, "the limits must be whole numbers of at least 0, or -1 for unlimited"), spec);
        if (Greater(soft, hard))
            throw ContainersException.Invalid("InvalidUlimit", RuntimeMessages.InvalidUlimit(spec, "the soft limit is above the hard limit"), spec);
        return new UlimitSetting(name, soft, hard);
    }

    private static bool TryValue(string s, out long v) =>
        long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v) && v >= -1;

    /// <summary>Compares limits where -1 is unlimited.</summary>
    private static bool Greater(long a, long b) => b != -1 && (a == -1 || a > b);

    /// <summary>
    /// Refuses a hard limit above this process's own (the monitor inherits it) unless it holds CAP_SYS_RESOURCE:
    /// the kernel would refuse it at start, and a clear error at creation loses nothing.
    /// </summary>
    public static void CheckRaisable(UlimitSetting u)
    {
        var (_, hard) = ProcessOps.GetRlimit(u.Resource);
        if (!Greater(u.Hard, hard) || ProcessOps.HasEffectiveCapability(24 /* CAP_SYS_RESOURCE */)) return;
        throw new ContainersException(ErrorKind.Unauthorized, "UlimitAboveHardLimit",
            RuntimeMessages.UlimitAboveHardLimit(u.ToString(), hard == -1 ? "unlimited" : hard.ToString(CultureInfo.InvariantCulture)), u.ToString());
    }
}
