using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Model;
using Containers.Engine.Registry;
using Containers.Engine.Spec;
using Containers.Engine.State;

namespace Containers.Engine.Build;

/// <summary>
/// Running the stages: each needed stage on a worker thread once the stages it uses (its FROM parent, COPY --from,
/// RUN --mount from=) are built, so independent stages run at the same time (as BuildKit; the classic builder runs
/// them one after the other), at most <see cref="MaxParallelStages"/> at once. The thread that called Build runs the
/// scheduler and every callback (OnStep, OnOutput, Progress), so a cmdlet may write from them. The first failure
/// cancels the other stages; Build returns only when every worker has ended, and then cleans up.
/// </summary>
public sealed partial class BuildExecutor
{
    /// <summary>How many stages run at once (at least 2, else the processor count).</summary>
    public static int MaxParallelStages => Math.Max(2, Environment.ProcessorCount);

    private int _n, _total;
    private bool _multiStage;
    private BlockingCollection<Action>? _events;

    /// <summary>Runs <paramref name="a"/> on the thread that called Build (directly when that is this thread).</summary>
    private void Post(Action a)
    {
        if (_events is { } q)
        {
            try { q.Add(a); } catch (InvalidOperationException) { } // the build has ended
        }
        else a();
    }

    private void Step(DockerfileStage def, string text, bool cached = false)
    {
        int n = Interlocked.Increment(ref _n);
        var s = new BuildStep(n, Volatile.Read(ref _total), text, cached, _multiStage ? StageName(def) : null);
        if (OnStep is { } f) Post(() => f(s));
    }

    private static string StageName(DockerfileStage def) => def.Name ?? "stage-" + def.Index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A RUN's output lines, posted to the calling thread; in a build of several stages each line starts with [stage].</summary>
    private Action<ContainerLogEntry>? OutputOf(Stage st)
    {
        if (OnOutput is not { } f) return null;
        string? prefix = _multiStage ? "[" + StageName(st.Def) + "] " : null;
        return e =>
        {
            var line = prefix is null ? e : new ContainerLogEntry { Timestamp = e.Timestamp, Stream = e.Stream, Message = prefix + e.Message, Partial = e.Partial };
            Post(() => f(line));
        };
    }

    private void RunStages(DockerfileDocument doc, DockerfileVariables vars, SortedSet<int> needed, int target, CancellationToken ct)
    {
        _multiStage = needed.Count > 1;
        var deps = needed.ToDictionary(i => i, i => Deps(doc, vars, i));
        var usedBy = needed.ToDictionary(i => i, i => needed.Count(j => deps[j].Contains(i)));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var events = new BlockingCollection<Action>();
        _events = events;
        var pending = new List<int>(needed);
        int running = 0;
        ExceptionDispatchInfo? first = null;
        void Fail(Exception e)
        {
            // the first failure is the build's error; what the others throw because of the cancel is not
            if (first is null) first = ExceptionDispatchInfo.Capture(e);
            cts.Cancel();
        }
        void StartReady()
        {
            if (first is not null || cts.IsCancellationRequested) return;
            foreach (int i in pending.ToList())
            {
                if (running >= MaxParallelStages) break;
                if (!deps[i].All(_done.ContainsKey)) continue;
                pending.Remove(i);
                running++;
                Task.Factory.StartNew(() =>
                {
                    try
                    {
                        var st = BuildStage(doc, vars, i, usedBy[i] > 0, cts.Token);
                        events.Add(() => { running--; _done[i] = st; });
                    }
                    catch (Exception e)
                    {
                        events.Add(() => { running--; Fail(e); });
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }
        try
        {
            StartReady();
            while (running > 0)
            {
                var a = events.Take();
                // a callback that throws (the pipeline stopped) ends the build, but only after every stage has ended
                try { a(); }
                catch (Exception e) { Fail(e); }
                StartReady();
            }
            // what the workers posted last (output lines)
            while (events.TryTake(out var rest))
                try { rest(); } catch (Exception e) { Fail(e); }
        }
        finally
        {
            _events = null;
            events.CompleteAdding();
        }
        first?.Throw();
        ct.ThrowIfCancellationRequested();
        if (!_done.ContainsKey(target))
            throw new ContainersException(ErrorKind.System, "BuildStageNotBuilt", $"The stage {target} was not built.", target.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>One stage, from its FROM to its last instruction (on a worker thread).</summary>
    private Stage BuildStage(DockerfileDocument doc, DockerfileVariables vars, int i, bool usedLater, CancellationToken ct)
    {
        var def = doc.Stages[i];
        var fromText = $"FROM {def.BaseName}" + (def.Name is null ? "" : " AS " + def.Name);
        Step(def, fromText);
        var st = From(doc, vars, def, ct);
        var triggers = Triggers(st);
        Interlocked.Add(ref _total, triggers.Count);
        foreach (var ins in triggers.Concat(def.Instructions))
        {
            ct.ThrowIfCancellationRequested();
            if (ins.Instruction is "ARG" or "ENV") st.Scope.Apply(ins);
            string key = "", parentKey = st.Key;
            try
            {
                var expanded = st.Scope.ExpandInstruction(ins);
                key = StepKey(doc, st, ins, expanded, ct);
                if (!_o.NoCache && _store.LookupBuildCache(key) is { } hit)
                {
                    Adopt(st, hit);
                    st.Key = key;
                    Step(def, ins.Original, cached: true);
                    continue;
                }
                Step(def, ins.Original);
                Execute(doc, st, ins, expanded, ct);
                st.Key = key;
                Remember(st, key, parentKey, ins);
            }
            catch (ContainersException e) when (e.Message.Contains($"line {ins.StartLine}") is false && e.ErrorId != "BuildStepFailed")
            {
                throw new ContainersException(e.Kind, e.ErrorId, $"{Where(ins)}: {ins.Instruction}: {e.Message}", e.Target ?? Where(ins), e);
            }
        }
        // a stage other stages use is registered now, on its worker: the stages that read it at the same time
        // (FROM it, COPY --from it) then only read it
        if (usedLater) Current(st);
        return st;
    }

    // ---- -Pull ----

    private readonly ConcurrentDictionary<string, Lazy<ImageRecord>> _images = new(StringComparer.Ordinal);

    /// <summary>
    /// The image a FROM or COPY --from names, per -Pull: Missing pulls it through the registry client when the store
    /// has no image of that name (and never contacts the registry when it has), Always asks the registry and pulls
    /// what the name points at now (layers already present are reused), Never takes only what the store has. One
    /// pull per name and build; <paramref name="what"/> (the instruction and its line) starts every error.
    /// </summary>
    private ImageRecord ResolveImage(string name, string what, CancellationToken ct)
        => _images.GetOrAdd(name, n => new Lazy<ImageRecord>(() => PullOrFind(n, what, ct), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    private ImageRecord PullOrFind(string name, string what, CancellationToken ct)
    {
        var local = _store.TryResolve(name);
        if (_o.Pull == PullPolicy.Never || (_o.Pull == PullPolicy.Missing && local is not null))
            return local ?? throw ContainersException.NotFound("ImageNotFound",
                $"{what}: {_store.NotFoundMessage(name)}" + (_o.Pull == PullPolicy.Never ? " (-Pull Never: it is not pulled)" : ""), name);
        ImagePullResult pulled;
        try { pulled = ImagePuller.Pull(_rt.Root, name, _o.Registry ?? RegistryOptions.Default, new PostedSink(this), ct); }
        catch (ContainersException e) when (e.Kind != ErrorKind.Cancelled)
        {
            throw new ContainersException(e.Kind, e.ErrorId, $"{what}: pulling '{name}' failed: {e.Message}", name, e);
        }
        return _store.TryResolve(name) ?? _store.TryResolve(pulled.Digest)
            ?? throw ContainersException.NotFound("ImageNotFound", $"{what}: '{name}' was pulled but is not in the store.", name);
    }

    /// <summary>A pull's progress, posted to the thread that called Build.</summary>
    private sealed class PostedSink(BuildExecutor ex) : IProgressSink
    {
        public void Report(ProgressReport report) { if (ex.Progress is { } p) ex.Post(() => p.Report(report)); }
        public void Warn(string message) { if (ex.Progress is { } p) ex.Post(() => p.Warn(message)); }
        public void Verbose(string message) { if (ex.Progress is { } p) ex.Post(() => p.Verbose(message)); }
    }
}
