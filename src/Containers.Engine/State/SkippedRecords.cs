using Containers.Engine.Errors;

namespace Containers.Engine.State;

/// <summary>
/// The channel for records a reader skipped because they cannot be parsed (a truncated config.json, a
/// garbled network record). One bad record must not take down a listing or an operation on other objects,
/// so readers report it here and go on; the caller (the cmdlet base class) routes the reports of its call to
/// a queue it writes as non-terminating errors on the pipeline thread. The route flows with the execution
/// context, so engine work run on another thread (Task.Run) reports to the same call. Without a route,
/// reports are dropped.
/// </summary>
public static class SkippedRecords
{
    private static readonly AsyncLocal<Action<ContainersException>?> Route = new();

    /// <summary>Sends this execution context's reports to <paramref name="sink"/> (replacing any earlier route).</summary>
    public static void RouteTo(Action<ContainersException>? sink) => Route.Value = sink;

    /// <summary>Reports one skipped record (a <see cref="ErrorKind.Corrupt"/> exception whose target is the file).</summary>
    public static void Report(ContainersException ex) => Route.Value?.Invoke(ex);

    /// <summary>Reports <paramref name="ex"/> and returns null, for readers that skip what they cannot parse.</summary>
    public static T? Skip<T>(ContainersException ex) where T : class
    {
        Report(ex);
        return null;
    }
}
