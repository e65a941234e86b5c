namespace Containers.Engine.State;

/// <summary>One progress report from the engine: an activity (a layer, a whole pull) and how far it got.</summary>
public sealed record ProgressReport(int ActivityId, string Activity, string Status, int PercentComplete = -1, int ParentActivityId = -1, bool Completed = false);

/// <summary>
/// How the engine reports progress without knowing PowerShell; the cmdlet base class drains it on the
/// pipeline thread and draws WriteProgress. May be called from any thread.
/// </summary>
public interface IProgressSink
{
    void Report(ProgressReport report);

    /// <summary>A warning for the user (the cmdlet writes it with WriteWarning).</summary>
    void Warn(string message);

    /// <summary>Verbose detail (the cmdlet writes it with WriteVerbose).</summary>
    void Verbose(string message);
}

/// <summary>A sink that drops everything (for callers that don't show progress).</summary>
public sealed class NullProgressSink : IProgressSink
{
    public static readonly NullProgressSink Instance = new();
    public void Report(ProgressReport report) { }
    public void Warn(string message) { }
    public void Verbose(string message) { }
}
