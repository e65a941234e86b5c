using System.Collections.Concurrent;
using System.Management.Automation;
using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Cmdlets.Base;

/// <summary>
/// Base of every cmdlet in the module: resolves the storage root, owns the cancellation token
/// (cancelled by Ctrl+C through StopProcessing), maps engine errors to ErrorRecords in one place,
/// and pumps engine progress onto the pipeline thread.
/// </summary>
public abstract class ContainersCmdlet : PSCmdlet
{
    private readonly CancellationTokenSource _cts = new();
    private StorageRoot? _root;
    // records the engine skipped during this call (corrupt config.json, network records...): reported from
    // any thread, written as non-terminating errors on the pipeline thread, each file once per call
    private readonly ConcurrentQueue<ContainersException> _skipped = new();
    private readonly HashSet<string> _skippedWritten = new(StringComparer.Ordinal);
    private Action<ContainersException>? _skipSink;

    /// <summary>The storage root to use for this call; default $env:PSCONTAINERS_ROOT, else /var/lib/pscontainers.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StorageRoot { get; set; }

    protected CancellationToken CancellationToken => _cts.Token;

    /// <summary>The resolved storage root (created on first use).</summary>
    protected StorageRoot Root
    {
        get
        {
            if (_root is null)
            {
                try { _root = Engine.State.StorageRoot.Resolve(StorageRoot); }
                catch (ContainersException ex) { ThrowTerminatingError(ToErrorRecord(ex, StorageRoot)); }
            }
            // every use of the root routes the engine's skipped-record reports to this call again (a
            // downstream cmdlet in the same pipeline may have routed them to itself meanwhile)
            SkippedRecords.RouteTo(_skipSink ??= _skipped.Enqueue);
            return _root!;
        }
    }

    protected override void StopProcessing() => _cts.Cancel();

    protected override void EndProcessing()
    {
        base.EndProcessing();
        WriteSkippedRecords();
        // rootless with the single mapping: image layers whose files had other owners (once per session)
        if (Engine.Rootless.RootlessHost.TakeOwnersKeptWarning() is { } kept) WriteWarning(kept);
    }

    /// <summary>
    /// False for a cmdlet that reports corrupt records itself (Test-ContainerStore's findings), so they are
    /// not written twice.
    /// </summary>
    protected virtual bool WritesSkippedRecords => true;

    /// <summary>
    /// Writes one non-terminating error (ContainerRecordCorrupt, NetworkRecordCorrupt, ..., category
    /// ReadError, the file as target) for each record the engine skipped since the last call, each file once
    /// per cmdlet call. Pipeline thread only; the base class calls it after each item, while progress is
    /// drawn, before a failure and at the end.
    /// </summary>
    // a failure about a corrupt record (a name lookup in a corrupt repositories.json) is written itself: a
    // queued report of the same file would say the same thing twice
    private void NotAgain(Exception ex)
    {
        if (ex is ContainersException { Kind: ErrorKind.Corrupt } ce) _skippedWritten.Add(ce.ErrorId + "\0" + ce.Target);
    }

    protected void WriteSkippedRecords()
    {
        while (_skipped.TryDequeue(out var ex))
        {
            if (!WritesSkippedRecords) continue;
            if (_skippedWritten.Add(ex.ErrorId + "\0" + ex.Target)) WriteError(ToErrorRecord(ex, ex.Target));
        }
    }

    /// <summary>Maps an engine error kind to the PowerShell category (one place: moby errdefs style).</summary>
    public static ErrorCategory CategoryOf(ErrorKind kind) => kind switch
    {
        ErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        ErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        ErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        ErrorKind.Conflict => ErrorCategory.ResourceBusy,
        ErrorKind.Unauthorized => ErrorCategory.PermissionDenied,
        ErrorKind.Unavailable => ErrorCategory.ResourceUnavailable,
        ErrorKind.NotImplemented => ErrorCategory.NotImplemented,
        ErrorKind.Cancelled => ErrorCategory.OperationStopped,
        ErrorKind.Timeout => ErrorCategory.OperationTimeout,
        ErrorKind.DataLoss => ErrorCategory.InvalidData,
        ErrorKind.Corrupt => ErrorCategory.ReadError,
        ErrorKind.StorageFull => ErrorCategory.ResourceUnavailable,
        ErrorKind.InvalidData => ErrorCategory.InvalidData,
        _ => ErrorCategory.NotSpecified,
    };

    /// <summary>Builds the ErrorRecord for any exception an engine call threw.</summary>
    protected static ErrorRecord ToErrorRecord(Exception ex, object? target)
    {
        switch (ex)
        {
            case ContainersException ce:
                return new ErrorRecord(ce, ce.ErrorId, CategoryOf(ce.Kind), ce.Target ?? target);
            case OperationCanceledException:
                return new ErrorRecord(ex, "OperationCancelled", ErrorCategory.OperationStopped, target);
            case UnauthorizedAccessException:
                return new ErrorRecord(ex, "AccessDenied", ErrorCategory.PermissionDenied, target);
            case FileNotFoundException or DirectoryNotFoundException:
                return new ErrorRecord(ex, "PathNotFound", ErrorCategory.ObjectNotFound, target);
            case AggregateException ae when ae.InnerExceptions.Count == 1:
                return ToErrorRecord(ae.InnerExceptions[0], target);
            default:
                return new ErrorRecord(ex, "UnexpectedError", ErrorCategory.NotSpecified, target);
        }
    }

    /// <summary>
    /// Any failure that comes down to ENOSPC or EDQUOT, whatever it was wrapped in on the way, is StorageFull
    /// (ResourceUnavailable) naming the root: what the user must do is free space there.
    /// </summary>
    private Exception StorageFullOf(Exception ex) =>
        _root is not null && ex is not ContainersException { Kind: ErrorKind.StorageFull } && Engine.State.StorageSpace.IsFull(ex)
            ? Engine.State.StorageSpace.Full(_root.Path, ex)
            : ex;

    /// <summary>Writes a non-terminating error for one failed item.</summary>
    protected void WriteFailure(Exception ex, object? target)
    {
        NotAgain(ex);
        WriteSkippedRecords();
        WriteError(ToErrorRecord(StorageFullOf(ex), target));
    }

    /// <summary>
    /// -ErrorOnNonZeroExit: a process that ended with a non-zero exit code becomes a non-terminating error
    /// (ContainerExitedNonZero, InvalidResult, the result as target) beside the result object, so
    /// `-ErrorAction Stop` or try/catch can stop a script the way `set -e` stops a shell script.
    /// </summary>
    protected void WriteNonZeroExit(Containers.Engine.Model.ContainerProcessResult r)
    {
        if (r.ExitCode == 0) return;
        string msg = $"The command in container '{r.ContainerName}' exited with code {r.ExitCode}.";
        if (r.OomKilled) msg += " It was killed for lack of memory (OomKilled).";
        WriteError(new ErrorRecord(new InvalidOperationException(msg), "ContainerExitedNonZero", ErrorCategory.InvalidResult, r));
    }

    /// <summary>
    /// Writes one line of an attached container's output as it arrives, the way Write-Host does: an
    /// information record whose data is a HostInformationMessage, tagged PSHOST and the stream (stdout or
    /// stderr). It shows in the console, `6>` redirects it and -InformationAction Ignore silences it; the
    /// pipeline output stays the result object. Call on the pipeline thread; nothing is written once the
    /// pipeline is stopping (Ctrl+C), as nothing can be.
    /// </summary>
    protected void WriteLiveLine(Containers.Engine.Model.ContainerLogEntry e)
    {
        if (Stopping) return;
        try { WriteInformation(new HostInformationMessage { Message = e.Message, NoNewLine = false }, new[] { "PSHOST", e.Stream }); }
        catch (PipelineStoppedException) { } // Ctrl+C came between the check and the write: the run stops the container
    }

    /// <summary>Stops the whole call with a terminating error.</summary>
    protected void Fail(Exception ex, object? target)
    {
        NotAgain(ex);
        WriteSkippedRecords();
        ThrowTerminatingError(ToErrorRecord(StorageFullOf(ex), target));
    }

    /// <summary>
    /// Runs one item's engine work; an engine error becomes a non-terminating error for that item.
    /// Returns false when it failed.
    /// </summary>
    protected bool TryItem(object? target, Action action)
    {
        try
        {
            action();
            WriteSkippedRecords();
            return true;
        }
        catch (PipelineStoppedException) { throw; }
        catch (Exception ex) when (IsEngineError(ex))
        {
            // what the call produced before it failed (a run whose command could not be executed returns its
            // result with exit code 127 or 126) goes down the pipeline, the error beside it
            if (ex is ContainersException { Result: { } partial }) WriteObject(partial);
            WriteFailure(ex, target);
            return false;
        }
    }

    private static bool IsEngineError(Exception ex) =>
        ex is ContainersException or IOException or UnauthorizedAccessException or OperationCanceledException or AggregateException
        || ex.GetType().Namespace?.StartsWith("Containers.", StringComparison.Ordinal) == true;

    /// <summary>
    /// Runs long engine work off the pipeline thread and draws its progress, warnings and verbose
    /// messages here, on the pipeline thread, until it finishes. Exceptions propagate unchanged.
    /// </summary>
    protected T RunWithProgress<T>(Func<IProgressSink, CancellationToken, T> work)
    {
        var sink = new QueueSink();
        var task = Task.Run(() => work(sink, CancellationToken));
        var seen = new HashSet<int>();
        while (true)
        {
            bool done = task.Wait(50);
            WriteSkippedRecords();
            while (sink.Queue.TryDequeue(out var item))
            {
                switch (item)
                {
                    case ProgressReport p:
                        seen.Add(p.ActivityId);
                        var rec = new ProgressRecord(p.ActivityId, p.Activity, string.IsNullOrEmpty(p.Status) ? p.Activity : p.Status)
                        {
                            PercentComplete = Math.Clamp(p.PercentComplete, -1, 100),
                            ParentActivityId = p.ParentActivityId,
                            RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
                        };
                        if (p.Completed) seen.Remove(p.ActivityId);
                        WriteProgress(rec);
                        break;
                    case Warning w:
                        WriteWarning(w.Text);
                        break;
                    case VerboseText v:
                        WriteVerbose(v.Text);
                        break;
                }
            }
            if (done) break;
        }
        foreach (int id in seen)
            WriteProgress(new ProgressRecord(id, "Done", "Done") { RecordType = ProgressRecordType.Completed });
        return task.GetAwaiter().GetResult();
    }

    protected void RunWithProgress(Action<IProgressSink, CancellationToken> work)
        => RunWithProgress<bool>((s, ct) => { work(s, ct); return true; });

    private sealed record Warning(string Text);
    private sealed record VerboseText(string Text);

    private sealed class QueueSink : IProgressSink
    {
        public readonly ConcurrentQueue<object> Queue = new();
        public void Report(ProgressReport report) => Queue.Enqueue(report);
        public void Warn(string message) => Queue.Enqueue(new Warning(message));
        public void Verbose(string message) => Queue.Enqueue(new VerboseText(message));
    }
}
