using System.Text.Json;

namespace Containers.Engine.Health;

/// <summary>One run of a container's health check (docker's State.Health.Log entry).</summary>
public sealed class HealthCheckResult
{
    /// <summary>The container it checked (set by Invoke-ContainerHealthCheck; null in a HealthLog, which belongs to its container).</summary>
    public string? ContainerName { get; init; }
    public required DateTime Start { get; init; }
    public required DateTime End { get; init; }
    /// <summary>0 healthy, 1 (or any other code) unhealthy; -1 when the check could not run or exceeded its timeout.</summary>
    public required int ExitCode { get; init; }
    /// <summary>What the check wrote (stdout and stderr together), at most 4 KiB as docker keeps.</summary>
    public required string Output { get; init; }
    public TimeSpan Duration => End - Start;
    /// <summary>The check's verdict on its own: Healthy for exit code 0, Unhealthy otherwise.</summary>
    public HealthStatus Result => ExitCode == 0 ? HealthStatus.Healthy : HealthStatus.Unhealthy;
    public override string ToString() => $"{ExitCode}: {Output.TrimEnd()}";
}

/// <summary>
/// The health record the container's monitor keeps in its state directory (health.json, replaced atomically after
/// each check): docker's State.Health shape, {"Status","FailingStreak","Log":[{"Start","End","ExitCode","Output"}]},
/// the last five results oldest first.
/// </summary>
public sealed class HealthRecord
{
    public const string FileName = "health.json";
    public const int MaxLog = 5, MaxOutput = 4096;

    public HealthStatus Status { get; init; }
    public int FailingStreak { get; init; }
    public IReadOnlyList<HealthCheckResult> Log { get; init; } = [];

    /// <summary>The record in a state directory; null when there is none yet or it does not parse.</summary>
    public static HealthRecord? Read(string dir)
    {
        byte[] data;
        try { data = File.ReadAllBytes(Path.Combine(dir, FileName)); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        try
        {
            using var doc = JsonDocument.Parse(data);
            var r = doc.RootElement;
            var status = r.TryGetProperty("Status", out var s) ? Parse(s.GetString()) : HealthStatus.None;
            int streak = r.TryGetProperty("FailingStreak", out var f) && f.TryGetInt32(out int n) ? n : 0;
            var log = new List<HealthCheckResult>();
            if (r.TryGetProperty("Log", out var l) && l.ValueKind == JsonValueKind.Array)
                foreach (var e in l.EnumerateArray())
                    log.Add(new HealthCheckResult
                    {
                        Start = e.GetProperty("Start").GetDateTime().ToUniversalTime(),
                        End = e.GetProperty("End").GetDateTime().ToUniversalTime(),
                        ExitCode = e.GetProperty("ExitCode").GetInt32(),
                        Output = e.GetProperty("Output").GetString() ?? "",
                    });
            return new HealthRecord { Status = status, FailingStreak = streak, Log = log };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or KeyNotFoundException) { return null; }
    }

    public static HealthStatus Parse(string? s) => s switch
    {
        "starting" => HealthStatus.Starting,
        "healthy" => HealthStatus.Healthy,
        "unhealthy" => HealthStatus.Unhealthy,
        _ => HealthStatus.None,
    };
}
