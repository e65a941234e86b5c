using System.Collections;
using System.Management.Automation;
using System.Text;
using Containers.Cmdlets.Runtime;
using Containers.Engine.Build;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Cmdlets.Build;

/// <summary>Build-ContainerImage (docker build): runs a Dockerfile against a build context and returns the image.</summary>
[Cmdlet("Build", "ContainerImage", SupportsShouldProcess = true, DefaultParameterSetName = FileSet)]
[OutputType(typeof(ImageRecord))]
public sealed class BuildContainerImageCommand : ContainerCmdletBase
{
    private const string FileSet = "File", InlineSet = "Inline";
    private readonly StringBuilder _inline = new();
    private readonly List<string> _tempSecrets = new();
    private bool _sawInline;

    /// <summary>The build context (a folder); default the current one.</summary>
    [Parameter(Position = 0)]
    public string Path { get; set; } = ".";

    /// <summary>The Dockerfile; default Containerfile, then Dockerfile, in the context.</summary>
    [Parameter(ParameterSetName = FileSet)]
    [Alias("Dockerfile")]
    public string? File { get; set; }

    /// <summary>The Dockerfile's text (pipeline strings are joined with newlines).</summary>
    [Parameter(Mandatory = true, ParameterSetName = InlineSet, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string[] InlineDockerfile { get; set; } = [];

    [Parameter] [Alias("t")] public string[]? Tag { get; set; }
    [Parameter] public Hashtable? BuildArg { get; set; }
    [Parameter] public string? Target { get; set; }
    [Parameter] [ArgumentCompleter(typeof(Networks.NetworkNameCompleter))] public string Network { get; set; } = "bridge";
    [Parameter] public Hashtable? Label { get; set; }
    [Parameter] public SwitchParameter NoCache { get; set; }
    /// <summary>When FROM and COPY --from images are pulled from their registry: Missing (default, only when not in the store), Always, Never.</summary>
    [Parameter] public PullPolicy Pull { get; set; } = PullPolicy.Missing;
    [Parameter] public string Platform { get; set; } = "linux/amd64";
    [Parameter] [Alias("q")] public SwitchParameter Quiet { get; set; }
    /// <summary>Build secrets for RUN --mount=type=secret: id=NAME,src=FILE (or id=NAME,env=VARIABLE), as docker build --secret.</summary>
    [Parameter] public string[]? Secret { get; set; }
    /// <summary>SOURCE_DATE_EPOCH (Unix seconds): reproducible builds, the same input gives the same image id.</summary>
    [Parameter] [ValidateRange(0, long.MaxValue)] public long SourceDateEpoch { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName != InlineSet) return;
        foreach (var s in InlineDockerfile)
        {
            if (_sawInline) _inline.Append('\n');
            _inline.Append(s);
            _sawInline = true;
        }
    }

    protected override void EndProcessing()
    {
        string ctx = GetUnresolvedProviderPathFromPSPath(Path);
        if (Platform != "linux/amd64")
        {
            WriteError(new ErrorRecord(new NotSupportedException($"Only linux/amd64 images are built; '{Platform}' is not supported."),
                "PlatformNotSupported", ErrorCategory.InvalidArgument, Platform));
            return;
        }
        var o = new BuildOptions { ContextDir = ctx, Target = Target, Network = Network, NoCache = NoCache, Pull = Pull };
        if (MyInvocation.BoundParameters.ContainsKey(nameof(SourceDateEpoch))) o.SourceDateEpoch = SourceDateEpoch;
        foreach (var t in Tag ?? []) o.Tags.Add(t);
        foreach (var (k, v) in ToDictionary(BuildArg)) o.BuildArgs[k] = v;
        foreach (var (k, v) in ToDictionary(Label)) o.Labels[k] = v;
        foreach (var spec in Secret ?? [])
        {
            string? id = null, src = null, env = null;
            foreach (var f in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = f.IndexOf('=');
                string k = eq < 0 ? f : f[..eq], v = eq < 0 ? "" : f[(eq + 1)..];
                switch (k.ToLowerInvariant())
                {
                    case "id": id = v; break;
                    case "src" or "source": src = GetUnresolvedProviderPathFromPSPath(v); break;
                    case "env": env = v; break;
                    case "type" when v is "file" or "env": break;
                    default: id = null; src = null; env = "\0"; break;
                }
            }
            if (env is not null && env != "\0" && src is null && Environment.GetEnvironmentVariable(env) is { } ev)
            {
                // docker's type=env: the variable's value, through a private file that goes when the build ends
                src = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pscontainers-secret-" + Guid.NewGuid().ToString("N"));
                System.IO.File.WriteAllText(src, ev);
                System.IO.File.SetUnixFileMode(src, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                _tempSecrets.Add(src);
            }
            id ??= env is not null && env != "\0" ? env : null;
            if (id is null || src is null || env == "\0")
            {
                WriteError(new ErrorRecord(new ArgumentException($"'{spec}' is not a build secret (id=NAME,src=FILE or id=NAME,env=VARIABLE)."),
                    "InvalidBuildSecret", ErrorCategory.InvalidArgument, spec));
                return;
            }
            o.Secrets[id] = src;
        }
        if (ParameterSetName == InlineSet) o.DockerfileText = _inline.ToString();
        string what = ParameterSetName == InlineSet ? ctx : (File ?? ctx);
        if (!ShouldProcess(what, "Build image" + (o.Tags.Count > 0 ? $" '{string.Join("', '", o.Tags)}'" : ""))) return;
        const int activity = 12;
        TryItem(what, () =>
        {
            if (ParameterSetName != InlineSet)
                o.DockerfilePath = File is null ? BuildContext.FindDockerfile(ctx) : GetUnresolvedProviderPathFromPSPath(File);
            var ex = new BuildExecutor(Runtime)
            {
                OnStep = s =>
                {
                    if (Quiet || Stopping) return;
                    WriteProgress(new ProgressRecord(activity, "Build-ContainerImage", $"Step {s.Number}/{s.Total}: {(s.Stage is null ? "" : $"[{s.Stage}] ")}{(s.Cached ? "(cached) " : "")}{s.Text}")
                    { PercentComplete = Math.Min(100, (s.Number - 1) * 100 / Math.Max(1, s.Total)) });
                    // each step as an object (not shown by default): -InformationVariable tells which came from the cache
                    WriteInformation(s, ["BuildStep"]);
                },
                OnOutput = Quiet ? null : WriteLiveLine,
                // the executor calls these on this thread (it runs the stages on workers and posts their callbacks here)
                Progress = new DirectSink(this, activity),
            };
            try { WriteObject(ex.Build(o, CancellationToken)); }
            finally
            {
                foreach (var f in _tempSecrets) { try { System.IO.File.Delete(f); } catch (System.IO.IOException) { } }
                if (!Quiet && !Stopping) WriteProgress(new ProgressRecord(activity, "Build-ContainerImage", "Done") { RecordType = ProgressRecordType.Completed });
            }
        });
        base.EndProcessing();
    }

    /// <summary>A pull's progress (-Pull) under the build's progress bar; warnings and verbose text as such. -Quiet drops the progress only.</summary>
    private sealed class DirectSink(BuildContainerImageCommand cmd, int parent) : IProgressSink
    {
        public void Report(ProgressReport p)
        {
            if (cmd.Quiet || cmd.Stopping) return;
            cmd.WriteProgress(new ProgressRecord(p.ActivityId, p.Activity, string.IsNullOrEmpty(p.Status) ? p.Activity : p.Status)
            {
                PercentComplete = Math.Clamp(p.PercentComplete, -1, 100),
                ParentActivityId = p.ParentActivityId >= 0 ? p.ParentActivityId : parent,
                RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            });
        }
        public void Warn(string message) { if (!cmd.Stopping) cmd.WriteWarning(message); }
        public void Verbose(string message) { if (!cmd.Stopping) cmd.WriteVerbose(message); }
    }
}
