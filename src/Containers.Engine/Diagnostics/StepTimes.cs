using System.Collections.Concurrent;
using System.Diagnostics;

namespace Containers.Engine.Diagnostics;

/// <summary>
/// Time stamps at the ends of the steps of the hot paths (a run, a start, a network endpoint, a removal), for the
/// bench's breakdown (tests/Bench/Runtime.Bench.ps1) and for finding where a run's time goes. Off unless
/// <see cref="Enabled"/> is set (or PSCONTAINERS_STEP_TIMES=1 in the environment): then each <see cref="Mark"/>
/// costs a time stamp and a queue append, otherwise one branch.
/// </summary>
public static class StepTimes
{
    private static readonly ConcurrentQueue<(int Thread, long Stamp, string Step)> Marks = new();

    /// <summary>Whether marks are recorded.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("PSCONTAINERS_STEP_TIMES") == "1";

    /// <summary>Records that <paramref name="step"/> ended now (on the calling thread).</summary>
    public static void Mark(string step)
    {
        if (Enabled) Marks.Enqueue((Environment.CurrentManagedThreadId, Stopwatch.GetTimestamp(), step));
    }

    /// <summary>
    /// Takes the marks recorded so far and returns each step's duration in milliseconds: the time from the previous
    /// mark of the same thread (a step whose name starts with "begin" only sets the start).
    /// </summary>
    public static IReadOnlyList<StepTime> Take()
    {
        var last = new Dictionary<int, long>();
        var list = new List<StepTime>();
        while (Marks.TryDequeue(out var m))
        {
            if (!m.Step.StartsWith("begin", StringComparison.Ordinal) && last.TryGetValue(m.Thread, out long prev))
                list.Add(new StepTime(m.Step, (m.Stamp - prev) * 1000.0 / Stopwatch.Frequency, m.Thread));
            last[m.Thread] = m.Stamp;
        }
        return list;
    }
}

/// <summary>One step's duration (see <see cref="StepTimes.Take"/>).</summary>
public readonly record struct StepTime(string Step, double Milliseconds, int Thread);
