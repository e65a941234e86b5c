using System.Globalization;
using System.Text.Json;
using Containers.Engine.Errors;

namespace Containers.Engine.Health;

/// <summary>
/// The effective health check of a new container, as docker computes it: the image's HEALTHCHECK (its config's
/// Healthcheck, durations in nanoseconds) merged field by field with what the user gave (a field the user left
/// unset, or set to zero, comes from the image); ["NONE"] or -NoHealthCheck means no check.
/// </summary>
public static class HealthChecks
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30), DefaultTimeout = TimeSpan.FromSeconds(30),
        DefaultStartInterval = TimeSpan.FromSeconds(5);
    public const int DefaultRetries = 3;
    /// <summary>docker refuses durations below a millisecond (other than zero, which means "the default").</summary>
    private static readonly TimeSpan Minimum = TimeSpan.FromMilliseconds(1);

    /// <summary>The image config's Healthcheck field (docker's JSON: Test, Interval, Timeout, StartPeriod, StartInterval in ns, Retries); null when absent.</summary>
    public static HealthCheckConfig? FromImage(JsonElement? healthcheck)
    {
        if (healthcheck is not { ValueKind: JsonValueKind.Object } h) return null;
        var c = new HealthCheckConfig();
        if (h.TryGetProperty("Test", out var t) && t.ValueKind == JsonValueKind.Array)
            c.Test = t.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList();
        c.Interval = Nanos(h, "Interval");
        c.Timeout = Nanos(h, "Timeout");
        c.StartPeriod = Nanos(h, "StartPeriod");
        c.StartInterval = Nanos(h, "StartInterval");
        if (h.TryGetProperty("Retries", out var r) && r.ValueKind == JsonValueKind.Number && r.TryGetInt32(out int n) && n > 0) c.Retries = n;
        return c;
    }

    private static TimeSpan? Nanos(JsonElement h, string name) =>
        h.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long ns) && ns > 0
            ? TimeSpan.FromTicks(ns / 100) : null;

    /// <summary>
    /// The check a container gets: null (none) when <paramref name="disable"/>, when the result's test is NONE
    /// or when neither the image nor the user gives a test. Validates the user's values (InvalidHealthCheck).
    /// </summary>
    public static HealthCheckConfig? Effective(HealthCheckConfig? image, HealthCheckConfig? user, bool disable)
    {
        if (user is not null) Validate(user);
        if (disable && user is not null && ((user.Test.Count > 0 && user.Test[0] != "NONE") || user.OnFailure != HealthOnFailure.None))
            throw ContainersException.Invalid("ConflictingOptions", "-NoHealthCheck conflicts with -HealthCommand and -HealthOnFailure (docker: --no-healthcheck conflicts with the --health-* options).", "NoHealthCheck");
        if (disable) return null;
        HealthCheckConfig? m;
        if (user is null) m = image;
        else if (image is null) m = user;
        else m = new HealthCheckConfig
        {
            Test = user.Test.Count > 0 ? user.Test.ToList() : image.Test.ToList(),
            Interval = NonZero(user.Interval) ?? image.Interval,
            Timeout = NonZero(user.Timeout) ?? image.Timeout,
            Retries = user.Retries is > 0 ? user.Retries : image.Retries,
            StartPeriod = NonZero(user.StartPeriod) ?? image.StartPeriod,
            StartInterval = NonZero(user.StartInterval) ?? image.StartInterval,
            OnFailure = user.OnFailure,
        };
        if (m is null || m.Test.Count == 0 || m.Test[0] == "NONE") return null;
        if (m.Test[0] is not ("CMD" or "CMD-SHELL") || m.Test.Count < 2 || (m.Test[0] == "CMD-SHELL" && m.Test.Count != 2))
            throw Bad($"The health check test [{string.Join(", ", m.Test)}] is not one of docker's forms: [\"CMD\", command, args...], [\"CMD-SHELL\", \"command line\"] or [\"NONE\"].", string.Join(' ', m.Test));
        return new HealthCheckConfig
        {
            Test = m.Test.ToList(), Interval = NonZero(m.Interval), Timeout = NonZero(m.Timeout), Retries = m.Retries is > 0 ? m.Retries : null,
            StartPeriod = NonZero(m.StartPeriod), StartInterval = NonZero(m.StartInterval), OnFailure = m.OnFailure,
        };
    }

    private static TimeSpan? NonZero(TimeSpan? t) => t is { } v && v > TimeSpan.Zero ? v : null;

    private static void Validate(HealthCheckConfig c)
    {
        void Dur(string what, TimeSpan? t)
        {
            if (t is { } v && (v < TimeSpan.Zero || (v > TimeSpan.Zero && v < Minimum)))
                throw Bad($"The health check's {what} must be zero (the default) or at least 1 ms; it is {v}.", v);
        }
        Dur("interval", c.Interval);
        Dur("timeout", c.Timeout);
        Dur("start period", c.StartPeriod);
        Dur("start interval", c.StartInterval);
        if (c.Retries is < 0) throw Bad($"The health check's retries must not be negative; it is {c.Retries}.", c.Retries);
    }

    private static ContainersException Bad(string message, object? target) => ContainersException.Invalid("InvalidHealthCheck", message, target);

    /// <summary>
    /// What -HealthCommand means, in docker's form: one string is a shell command line (CMD-SHELL, docker's
    /// --health-cmd); several are a command and its arguments run without a shell (CMD); an array that starts
    /// with CMD, CMD-SHELL or NONE is taken as written (a compose file's test).
    /// </summary>
    public static List<string> TestOf(IReadOnlyList<string> command)
    {
        if (command.Count == 0) throw Bad("The health command is empty.", null);
        if (command[0] is "CMD" or "CMD-SHELL" or "NONE") return command.ToList();
        if (command.Count == 1) return ["CMD-SHELL", command[0]];
        return ["CMD", .. command];
    }

    /// <summary>The argv the monitor runs for a test (CMD-SHELL through the image's SHELL, /bin/sh -c when it has none, as docker runs it).</summary>
    public static List<string> Argv(HealthCheckConfig c, IReadOnlyList<string>? shell)
    {
        if (c.Test[0] == "CMD") return c.Test.Skip(1).ToList();
        var sh = shell is { Count: > 0 } ? shell.ToList() : ["/bin/sh", "-c"];
        sh.Add(c.Test[1]);
        return sh;
    }

    /// <summary>A duration as Go prints it in docker's messages (30s, 300ms, 1m30s).</summary>
    public static string GoDuration(TimeSpan t)
    {
        if (t.Ticks % TimeSpan.TicksPerSecond != 0 && t < TimeSpan.FromSeconds(1)) return ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
        var sb = new System.Text.StringBuilder();
        if (t.Hours + t.Days * 24 > 0) sb.Append((t.Hours + t.Days * 24).ToString(CultureInfo.InvariantCulture)).Append('h');
        if (t.Minutes > 0 || sb.Length > 0) sb.Append(t.Minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        sb.Append((t.Seconds + t.Milliseconds / 1000.0).ToString(CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }

    internal static string Ms(TimeSpan t) => ((long)Math.Ceiling(t.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
}
