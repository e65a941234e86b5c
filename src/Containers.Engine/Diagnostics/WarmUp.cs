using System.Text.Json;
using Containers.Engine.State;

namespace Containers.Engine.Diagnostics;

/// <summary>
/// Work a session's first run would otherwise do on its own thread, done ahead on a background thread started at
/// Import-Module (Containers.Cmdlets' module initializer), while PowerShell finishes the import and runs the script
/// up to the first cmdlet. Nothing here touches a storage root, a file the engine writes or a process: it builds
/// in-memory state that the first run builds anyway (System.Text.Json's metadata for the records a run reads and
/// writes, whose generic code over value types has no precompiled form and is compiled at run time) and throws it
/// away. On an idle core it takes that work off the first run's path; on a saturated machine it is the same CPU
/// time, spent earlier (docs/ARCHITECTURE.md, Cold start). PSCONTAINERS_WARMUP=0 turns it off.
/// </summary>
public static class WarmUp
{
    private static int _started;

    /// <summary>Whether the warm-up runs at import (PSCONTAINERS_WARMUP=0: not).</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("PSCONTAINERS_WARMUP") != "0";

    /// <summary>
    /// Starts <paramref name="work"/> (the caller's own part, e.g. PowerShell's) and the engine's part on one
    /// background thread, once per process; the thread never keeps the process alive and swallows any failure
    /// (the run it prepares reports its own).
    /// </summary>
    public static void Start(Action? work)
    {
        if (!Enabled || Interlocked.Exchange(ref _started, 1) == 1) return;
        var t = new Thread(() =>
        {
            // in the order a run needs them: PowerShell binds the cmdlet before the engine reads a record
            StepTimes.Mark("begin warm-up");
            try { work?.Invoke(); } catch (Exception) { }
            StepTimes.Mark("warm-up.powershell");
            try { Records(); } catch (Exception) { }
            StepTimes.Mark("warm-up.json");
        })
        { IsBackground = true, Name = "Containers warm-up" };
        t.Start();
    }

    /// <summary>
    /// Writes and reads back one record of each kind a run uses, through the options the engine uses for them
    /// (config.json, the image record and the names, the root's settings, the image's OCI configuration), with a value in each
    /// value-type member so both directions of their converters are built.
    /// </summary>
    public static void Records()
    {
        var when = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var config = new Runtime.ContainerConfig
        {
            Created = when, Memory = 1, Cpus = 1, StopTimeout = 1, IdRangeStart = 1, Capabilities = 1, IdRangeCount = 1,
            Mounts = [new Runtime.MountConfig()],
            Health = new Health.HealthCheckConfig { Interval = TimeSpan.FromSeconds(1), Retries = 1 },
        };
        RoundTrip(config, State.Json.Options);
        RoundTrip(new Images.ImageStore.ImageMeta { Loaded = when, Layers = [new Images.ImageLayer { Size = 1 }] }, State.Json.Options);
        RoundTrip(new Images.ImageStore.Repositories { Version = 2 }, State.Json.Options);
        RoundTrip(new UserNamespaces.HostSettings(), State.Json.Options);
        var image = new Spec.ImageConfig
        {
            Created = when,
            Config = new Spec.ContainerConfig { ArgsEscaped = true, Env = ["A=1"], Healthcheck = JsonDocument.Parse("{}").RootElement },
            History = [new Spec.HistoryEntry { Created = when, EmptyLayer = true }],
        };
        byte[] b = image.ToJsonBytes();
        Spec.ImageConfig.Parse(b);
    }

    private static void RoundTrip<T>(T value, JsonSerializerOptions options) where T : class
        => JsonSerializer.Deserialize<T>(JsonSerializer.SerializeToUtf8Bytes(value, options), options);
}
