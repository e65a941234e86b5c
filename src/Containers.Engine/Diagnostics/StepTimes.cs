using System.Collections.Concurrent;
using System.Diagnostics;

namespace Containers.Engine.Diagnostics;

/// <summary>
/// Time stamps at the ends of the steps of the hot paths (a run, a start, a network endpoint, a removal), for the
/// bench's breakdown (tests/Bench/Runtime.Bench.ps1) and for finding where a run's time goes. Off unless
/// <see cref="Enabled"/> is set (or PSCONTAINERS_STEP_TIMES=1 in the environment): then each <see cref="Mark"/>
/// costs a time stamp, the thread's CPU time so far (/proc/thread-self/schedstat: the share of a step that was
/// this thread's work, not waits or a loaded machine's scheduling) and a queue append, otherwise one branch.
/// </summary>
public static class StepTimes
{
    private static readonly ConcurrentQueue<MarkRecord> Marks = new();

    // a class, not a tuple: a generic collection over a value type is compiled at run time (no ReadyToRun code for
    // it), which a first run of a session would pay for even with marks off (docs/ARCHITECTURE.md, Cold start)
    private sealed record MarkRecord(int Thread, long Stamp, long CpuNs, string Step);

    /// <summary>Whether marks are recorded.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("PSCONTAINERS_STEP_TIMES") == "1";

    /// <summary>Records that <paramref name="step"/> ended now (on the calling thread).</summary>
    public static void Mark(string step)
    {
        if (Enabled) Marks.Enqueue(new MarkRecord(Environment.CurrentManagedThreadId, Stopwatch.GetTimestamp(), ThreadCpuNs(), step));
    }

    // the calling thread's CPU time in ns (first field of schedstat), or 0 where it cannot be read
    private static long ThreadCpuNs()
    {
        try
        {
            string s = File.ReadAllText("/proc/thread-self/schedstat");
            int sp = s.IndexOf(' ');
            return long.TryParse(sp < 0 ? s : s[..sp], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long ns) ? ns : 0;
        }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
    }

    /// <summary>
    /// Takes the marks recorded so far and returns each step's duration in milliseconds: the time from the previous
    /// mark of the same thread (a step whose name starts with "begin" only sets the start).
    /// </summary>
    public static IReadOnlyList<StepTime> Take()
    {
        var last = new Dictionary<int, MarkRecord>();
        var list = new List<StepTime>();
        while (Marks.TryDequeue(out var m))
        {
            if (!m.Step.StartsWith("begin", StringComparison.Ordinal) && last.TryGetValue(m.Thread, out var prev))
                list.Add(new StepTime(m.Step, (m.Stamp - prev.Stamp) * 1000.0 / Stopwatch.Frequency, m.Thread) { CpuMilliseconds = (m.CpuNs - prev.CpuNs) / 1e6 });
            last[m.Thread] = m;
        }
        return list;
    }
}

/// <summary>One step's duration (see <see cref="StepTimes.Take"/>), and the thread's CPU time in it.</summary>
public readonly record struct StepTime(string Step, double Milliseconds, int Thread)
{
    /// <summary>The CPU time the marking thread used in the step (its own work; the rest of the step it waited).</summary>
    public double CpuMilliseconds { get; init; }
}
