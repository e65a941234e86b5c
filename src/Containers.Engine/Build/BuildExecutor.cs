using System.Text.Json;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Model;
using Containers.Engine.Runtime;
using Containers.Engine.Spec;
using Containers.Native.Sys;
using ImageContainerConfig = Containers.Engine.Spec.ContainerConfig;

namespace Containers.Engine.Build;

/// <summary>What Build-ContainerImage asks for.</summary>
public sealed class BuildOptions
{
    public string ContextDir { get; set; } = ".";
    /// <summary>The Dockerfile's path (null with <see cref="DockerfileText"/>).</summary>
    public string? DockerfilePath { get; set; }
    public string? DockerfileText { get; set; }
    public List<string> Tags { get; } = new();
    public Dictionary<string, string> BuildArgs { get; } = new(StringComparer.Ordinal);
    public string? Target { get; set; }
    /// <summary>The network of RUN containers: none, host, or a network's name (bridge).</summary>
    public string Network { get; set; } = "bridge";
    public Dictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
    /// <summary>Execute every step (the results are still stored in the cache for the next build).</summary>
    public bool NoCache { get; set; }
    /// <summary>Build secrets by id: the file each one is read from (RUN --mount=type=secret).</summary>
    public Dictionary<string, string> Secrets { get; } = new(StringComparer.Ordinal);
    /// <summary>SOURCE_DATE_EPOCH: history and config times, and the times of the files of the new layers, clamped to it (Unix seconds).</summary>
    public long? SourceDateEpoch { get; set; }
    /// <summary>When a FROM (or COPY --from) image is pulled: Missing (only when not in the store), Always (the registry's newest), Never.</summary>
    public PullPolicy Pull { get; set; } = PullPolicy.Missing;
    /// <summary>Credentials and trust for those pulls (default: the stored logins).</summary>
    public Registry.RegistryOptions? Registry { get; set; }
}

/// <summary>A step as the progress shows it; <paramref name="Stage"/> names its stage in a build of several stages (they may run at the same time).</summary>
public sealed record BuildStep(int Number, int Total, string Text, bool Cached = false, string? Stage = null);

/// <summary>
/// Runs a parsed Dockerfile: FROM a local image (or scratch), RUN in a build container of the runtime whose
/// writable layer becomes a layer, COPY/ADD computed on the host through <see cref="RootedFs"/> (no container),
/// the metadata instructions on the config, multi-stage with -Target (stages the target does not need are not
/// built). Every build container, staging tree and intermediate image is removed when the build ends, failed or
/// cancelled. Each step's result is cached (BuildExecutor.Cache.cs).
/// </summary>
public sealed partial class BuildExecutor
{
    public const string BaseNameAnnotation = "org.opencontainers.image.base.name";
    public const string BaseDigestAnnotation = "org.opencontainers.image.base.digest";

    private readonly ContainerRuntime _rt;
    private readonly ImageStore _store;
    public Action<BuildStep>? OnStep { get; init; }
    public Action<ContainerLogEntry>? OnOutput { get; init; }
    /// <summary>Progress, warnings and verbose text of the pulls -Pull makes (called on the thread that called Build, as OnStep and OnOutput).</summary>
    public State.IProgressSink? Progress { get; init; }

    private readonly List<string> _intermediates = new();
    private readonly List<string> _containers = new();

    public BuildExecutor(ContainerRuntime runtime)
    {
        _rt = runtime;
        _store = new ImageStore(runtime.Root);
    }

    private sealed class Stage
    {
        public required DockerfileStage Def;
        public ImageRecord? Image;            // the layers so far, registered (null: scratch, nothing yet)
        public List<Descriptor> Layers = new();
        public required ImageConfig Config;
        public required DockerfileVariables.Scope Scope;
        public string? BaseName, BaseDigest, BaseId;
        public bool Dirty;                    // layers added since Image was registered
        public string Key = "";               // the build cache key of the last step
        public List<string> BaseTriggers = new(); // the base image's ONBUILD triggers, run after FROM
        public ImageContainerConfig C => Config.Config!;
    }

    private BuildOptions _o = null!;
    private string _ctx = "";
    private List<BuildContextEntry>? _entries;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, Stage> _done = new();

    public ImageRecord Build(BuildOptions o, CancellationToken ct)
    {
        _o = o;
        _ctx = Path.GetFullPath(o.ContextDir);
        if (!Directory.Exists(_ctx)) throw ContainersException.NotFound("BuildContextNotFound", $"The build context '{_ctx}' does not exist.", _ctx);
        foreach (var t in o.Tags) ImageReference.Parse(t);
        string text = o.DockerfileText ?? ReadDockerfile(o.DockerfilePath!);
        var doc = DockerfileParser.Parse(text, o.DockerfilePath);
        if (doc.Stages.Count == 0) throw ContainersException.Invalid("DockerfileHasNoStage", "The Dockerfile has no FROM instruction.", o.DockerfilePath);
        var vars = new DockerfileVariables(doc, o.BuildArgs);
        int target = doc.Stages.Count - 1;
        if (o.Target is not null)
        {
            var t = doc.Stages.FirstOrDefault(s => string.Equals(s.Name, o.Target, StringComparison.OrdinalIgnoreCase))
                ?? throw ContainersException.NotFound("BuildTargetNotFound", $"The Dockerfile has no stage named '{o.Target}'.", o.Target);
            target = t.Index;
        }
        var needed = new SortedSet<int>();
        Need(doc, vars, target, needed);
        _total = needed.Sum(i => doc.Stages[i].Instructions.Count + 1);
        _n = 0;
        try
        {
            // the stages run on worker threads, independent ones at the same time (BuildExecutor.Parallel.cs);
            // this thread runs the callbacks and waits for them all, even when one fails
            RunStages(doc, vars, needed, target, ct);
            var fin = _done[target];
            foreach (var (k, v) in o.Labels) { fin.C.Labels ??= new(); fin.C.Labels[k] = v; }
            // the time of the last step: a rebuild whose steps all come from the cache gives the same image id
            fin.Config.Created = fin.Config.History is { Count: > 0 } hist && hist[^1].Created is { } lastStep ? lastStep : Now();
            var ann = new Dictionary<string, string>(StringComparer.Ordinal);
            if (fin.BaseName is not null) ann[BaseNameAnnotation] = fin.BaseName;
            if (fin.BaseDigest is not null) ann[BaseDigestAnnotation] = fin.BaseDigest;
            var img = _store.RegisterBuiltImage(fin.Layers, fin.Config, o.Tags, fin.BaseId, ann);
            _intermediates.Remove(img.Id);
            // the recipe (Dockerfile, context, args, base) beside the image: Update-ContainerImage rebuilds from it
            RecipeStore.Record(_rt.Root, img, o, text, fin.BaseName, fin.BaseDigest);
            return _store.TryResolve(img.Id) ?? img;
        }
        finally { Cleanup(); }
    }

    private static string ReadDockerfile(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ContainersException.NotFound("DockerfileNotFound", $"The Dockerfile '{path}' cannot be read: {e.Message}", path, e);
        }
    }

    private string Where(DockerfileInstruction ins) => (_o.DockerfilePath is null ? "Dockerfile" : Path.GetFileName(_o.DockerfilePath)) + $" line {ins.StartLine}";

    /// <summary>The stages the target needs: its FROM parent stage and every COPY --from stage, transitively.</summary>
    private static void Need(DockerfileDocument doc, DockerfileVariables vars, int i, SortedSet<int> needed)
    {
        if (!needed.Add(i)) return;
        foreach (int d in Deps(doc, vars, i)) Need(doc, vars, d, needed);
    }

    /// <summary>The stages stage <paramref name="i"/> uses directly: its FROM parent, COPY/ADD --from and RUN --mount from= stages.</summary>
    private static HashSet<int> Deps(DockerfileDocument doc, DockerfileVariables vars, int i)
    {
        var deps = new HashSet<int>();
        var s = doc.Stages[i];
        if (FindStage(doc, vars.ExpandGlobal(s.BaseName), i) is { } p) deps.Add(p);
        foreach (var ins in s.Instructions)
            if (ins.Instruction is "COPY" or "ADD" && ins.GetFlag("from") is { } f && FindStage(doc, f, i) is { } q) deps.Add(q);
            else if (ins.Instruction == "RUN")
                foreach (var m in ins.Mounts)
                    if (m.From is { } mf && FindStage(doc, mf, i) is { } r) deps.Add(r);
        return deps;
    }

    private static int? FindStage(DockerfileDocument doc, string name, int before)
    {
        for (int j = 0; j < before; j++)
            if (string.Equals(doc.Stages[j].Name, name, StringComparison.OrdinalIgnoreCase)) return j;
        if (int.TryParse(name, out int k) && k >= 0 && k < before) return k;
        return null;
    }

    private Stage From(DockerfileDocument doc, DockerfileVariables vars, DockerfileStage def, CancellationToken ct)
    {
        if (def.Platform is not null && vars.ExpandGlobal(def.Platform) is var plat && plat != "linux/amd64")
            throw ContainersException.Invalid("PlatformNotSupported", $"FROM --platform={plat} (line {def.StartLine}): only linux/amd64 is built.", plat);
        string name = vars.ExpandGlobal(def.BaseName);
        if (FindStage(doc, name, def.Index) is { } p)
        {
            var parent = _done[p];
            var cfg = ImageConfig.Parse(parent.Config.ToJsonBytes());
            var s = new Stage { Def = def, Config = cfg, Scope = vars.NewStage(EnvPairs(cfg.Config!.Env)), BaseName = parent.BaseName, BaseDigest = parent.BaseDigest, BaseId = parent.BaseId, Key = parent.Key };
            s.Layers.AddRange(parent.Layers);
            s.Image = parent.Image;
            s.Dirty = parent.Dirty;
            return s;
        }
        if (name == "scratch")
        {
            var cfg = new ImageConfig { Config = new ImageContainerConfig(), History = [] };
            return new Stage { Def = def, Config = cfg, Scope = vars.NewStage(), Key = FromKey(null) };
        }
        var img = ResolveImage(name, $"FROM {name} (line {def.StartLine})", ct);
        var c = ImageConfig.Parse(_store.ReadConfig(img));
        if (c.Architecture != "amd64")
            throw ContainersException.Invalid("PlatformNotSupported", $"FROM {name} (line {def.StartLine}): the image is {c.Os}/{c.Architecture}; only linux/amd64 is built.", name);
        c.Config ??= new ImageContainerConfig();
        c.History ??= [];
        c.Extra = null;
        var st = new Stage { Def = def, Config = c, Scope = vars.NewStage(EnvPairs(c.Config.Env)), Image = img, BaseName = name, BaseDigest = img.ManifestDigest, BaseId = img.Id, Key = FromKey(img.Id) };
        st.Layers.AddRange(_store.LayerDescriptors(img));
        // ONBUILD triggers of the base run right after FROM (Triggers); they are not passed on to the new image
        st.BaseTriggers = st.C.OnBuild ?? [];
        st.C.OnBuild = null;
        return st;
    }

    private DateTime Now() => _o.SourceDateEpoch is { } e ? DateTimeOffset.FromUnixTimeSeconds(e).UtcDateTime : DateTime.UtcNow;

    private static IEnumerable<KeyValuePair<string, string>> EnvPairs(List<string>? env)
    {
        foreach (var e in env ?? [])
        {
            int eq = e.IndexOf('=');
            yield return eq < 0 ? new(e, "") : new(e[..eq], e[(eq + 1)..]);
        }
    }

    private void History(Stage st, string createdBy, bool empty)
        => st.Config.History!.Add(new HistoryEntry { Created = Now(), CreatedBy = createdBy, Comment = "buildkit.dockerfile.v0", EmptyLayer = empty ? true : null });

    /// <summary>One step; ARG and ENV were applied to the scope and <paramref name="ins"/> is <paramref name="raw"/> expanded in it.</summary>
    private void Execute(DockerfileDocument doc, Stage st, DockerfileInstruction raw, DockerfileInstruction ins, CancellationToken ct)
    {
        var c = st.C;
        switch (ins.Instruction)
        {
            case "ARG":
                History(st, "ARG " + string.Join(" ", raw.Pairs.Select(p => p.Value is null ? p.Key : p.Key + "=" + p.Value)), true);
                return;
            case "ENV":
                c.Env = st.Scope.Env.Select(p => p.Key + "=" + p.Value).ToList();
                History(st, "ENV " + string.Join(" ", ins.Pairs.Select(p => p.Key + "=" + p.Value)), true);
                return;
            case "LABEL":
                foreach (var (k, v) in ins.Pairs) { c.Labels ??= new(); c.Labels[k] = v ?? ""; }
                History(st, "LABEL " + string.Join(" ", ins.Pairs.Select(p => p.Key + "=" + p.Value)), true);
                return;
            case "MAINTAINER":
                st.Config.Author = string.Join(" ", ins.Arguments);
                History(st, "MAINTAINER " + st.Config.Author, true);
                return;
            case "EXPOSE":
                foreach (var p in ins.Arguments)
                {
                    string port = p.Contains('/') ? p.ToLowerInvariant() : p + "/tcp";
                    var parts = port.Split('/');
                    if (parts.Length != 2 || !ushort.TryParse(parts[0].Split('-')[0], out _) || parts[1] is not ("tcp" or "udp" or "sctp"))
                        throw ContainersException.Invalid("InvalidExposedPort", $"'{p}' is not a port (number[/tcp|udp|sctp]).", p);
                    c.ExposedPorts ??= new();
                    c.ExposedPorts[port] = Empty();
                }
                History(st, "EXPOSE " + string.Join(" ", ins.Arguments), true);
                return;
            case "CMD":
                c.Cmd = Command(st, ins);
                History(st, "CMD " + JsonSerializer.Serialize(c.Cmd, Json), true);
                return;
            case "ENTRYPOINT":
                c.Entrypoint = Command(st, ins);
                // an ENTRYPOINT drops the base image's CMD (not one this stage set before it: docker keeps that only when CMD comes after)
                c.Cmd = null;
                History(st, "ENTRYPOINT " + JsonSerializer.Serialize(c.Entrypoint, Json), true);
                return;
            case "SHELL":
                c.Shell = ins.Arguments.ToList();
                History(st, "SHELL " + JsonSerializer.Serialize(c.Shell, Json), true);
                return;
            case "USER":
                c.User = ins.Arguments[0];
                History(st, "USER " + c.User, true);
                return;
            case "STOPSIGNAL":
                c.StopSignal = ins.Arguments[0];
                History(st, "STOPSIGNAL " + c.StopSignal, true);
                return;
            case "VOLUME":
                foreach (var v in ins.Arguments)
                {
                    if (v.Length == 0) throw ContainersException.Invalid("InvalidVolume", "VOLUME specified can not be an empty string.", v);
                    c.Volumes ??= new();
                    c.Volumes[v] = Empty();
                }
                History(st, "VOLUME " + JsonSerializer.Serialize(ins.Arguments, Json), true);
                return;
            case "ONBUILD":
                c.OnBuild ??= new();
                c.OnBuild.Add(raw.Original.Trim() is var o && o.StartsWith("ONBUILD", StringComparison.OrdinalIgnoreCase) ? o[7..].Trim() : o);
                History(st, "ONBUILD " + c.OnBuild[^1], true);
                return;
            case "HEALTHCHECK":
                {
                    var h = ins.Healthcheck!;
                    var d = new Dictionary<string, object> { ["Test"] = h.Test };
                    if (h.Interval > TimeSpan.Zero) d["Interval"] = h.Interval.Ticks * 100;
                    if (h.Timeout > TimeSpan.Zero) d["Timeout"] = h.Timeout.Ticks * 100;
                    if (h.StartPeriod > TimeSpan.Zero) d["StartPeriod"] = h.StartPeriod.Ticks * 100;
                    if (h.StartInterval > TimeSpan.Zero) d["StartInterval"] = h.StartInterval.Ticks * 100;
                    if (h.Retries > 0) d["Retries"] = h.Retries;
                    c.Healthcheck = JsonSerializer.SerializeToElement(d);
                    History(st, "HEALTHCHECK " + JsonSerializer.Serialize(h.Test, Json), true);
                    return;
                }
            case "WORKDIR":
                {
                    string w = ins.Arguments[0];
                    string full = w.StartsWith('/') ? w : (c.WorkingDir is { Length: > 0 } cur ? cur.TrimEnd('/') + "/" + w : "/" + w);
                    c.WorkingDir = "/" + RootedFs.Clean(full);
                    bool made = EnsureDir(st, c.WorkingDir, ct);
                    History(st, "WORKDIR " + c.WorkingDir, !made);
                    return;
                }
            case "RUN":
                Run(doc, st, raw, ins, ct);
                return;
            case "COPY":
            case "ADD":
                Copy(doc, st, ins, ct);
                return;
            default:
                throw ContainersException.Invalid("BuildInstructionNotSupported", $"{ins.Instruction} is not supported by the builder.", ins.Instruction);
        }
    }

    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static JsonElement Empty() => JsonDocument.Parse("{}").RootElement.Clone();

    private static List<string> Command(Stage st, DockerfileInstruction ins)
        => ins.IsJson ? ins.Arguments.ToList() : [.. (st.C.Shell ?? ["/bin/sh", "-c"]), string.Join(" ", ins.Arguments)];

    // ---- layers ----

    /// <summary>The registered image holding the stage's layers (registering an intermediate one when layers were added).</summary>
    private ImageRecord? Current(Stage st)
    {
        if (st.Dirty || (st.Image is null && st.Layers.Count > 0))
        {
            var cfg = ImageConfig.Parse(st.Config.ToJsonBytes());
            st.Image = _store.RegisterBuiltImage(st.Layers, cfg, [], st.Image?.Id);
            lock (_intermediates) _intermediates.Add(st.Image.Id);
            st.Dirty = false;
        }
        return st.Image;
    }

    private IReadOnlyList<string> LayerPaths(Stage st) => Current(st) is { } img ? _store.GetLayerPaths(img) : [];

    private void AddLayer(Stage st, string dir, bool overlayUpper, CancellationToken ct, Func<(int Uid, int Gid), (int Uid, int Gid)>? mapIds = null)
    {
        if (_o.SourceDateEpoch is { } epoch) ClampTimes(dir, epoch);
        st.Layers.Add(_store.AddBuildLayer(dir, overlayUpper, st.Config, ct, mapIds));
        st.Dirty = true;
    }

    /// <summary>What a path is in the stage's image (top layer first): a directory, something else, or nothing.</summary>
    private static bool? IsDirInLayers(IReadOnlyList<string> layers, string path)
    {
        string rel = RootedFs.Clean(path);
        if (rel.Length == 0) return true;
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            try
            {
                using var fs = RootedFs.Open(layers[i], RootedFs.Resolution.NoSymlinks);
                if (!fs.TryStat(rel, out var s)) continue;
                uint t = s.Mode & LayerFs.S_IFMT;
                if (t == LayerFs.S_IFCHR && s.Rdev == 0) return null; // overlay whiteout
                return t == LayerFs.S_IFDIR;
            }
            catch (NativeException) { return false; } // a link on the way: not a directory of this tree
        }
        return null;
    }

    /// <summary>WORKDIR: makes the directory when the image lacks it (a layer with it, owned by USER when set).</summary>
    private bool EnsureDir(Stage st, string dir, CancellationToken ct)
    {
        var paths = LayerPaths(st);
        if (IsDirInLayers(paths, dir) == true) return false;
        string staging = NewStaging();
        try
        {
            using (var fs = RootedFs.Open(staging, RootedFs.Resolution.NoSymlinks))
            {
                using var h = fs.MkdirAll(RootedFs.Clean(dir), 0x1ED);
                if (!string.IsNullOrEmpty(st.C.User))
                {
                    var (u, g) = ContainerRuntime.ResolveOwner(paths, st.C.User);
                    fs.OpenParent(RootedFs.Clean(dir), out var name).Using(d => RootedFs.ChownAt(d, name, (int)u, (int)g, dir));
                }
            }
            AddLayer(st, staging, false, ct);
            return true;
        }
        finally { RemoveStaging(staging); }
    }

    private string NewStaging()
    {
        string p = _rt.Root.NewTempPath("build");
        Directory.CreateDirectory(p);
        return p;
    }

    private static void RemoveStaging(string p)
    {
        try
        {
            var parent = Path.GetDirectoryName(p)!;
            using var d = RootedFs.Open(parent, RootedFs.Resolution.NoSymlinks);
            RootedFs.RemoveAllAt(d.Root, Path.GetFileName(p), p);
        }
        catch (Exception e) when (e is NativeException or IOException) { }
    }

    // ---- RUN ----

    private void Run(DockerfileDocument doc, Stage st, DockerfileInstruction raw, DockerfileInstruction ins, CancellationToken ct)
    {
        var img = Current(st) ?? throw ContainersException.Invalid("RunOnEmptyImage", "RUN needs a base image with a shell (the stage is FROM scratch with nothing in it).", raw.Original);
        (string Name, string Body)? script = null;
        var cmd = ins.Heredocs.Count > 0 ? HeredocCommand(st, ins, out script)
            : ins.IsJson ? ins.Arguments.ToList() : [.. (st.C.Shell ?? ["/bin/sh", "-c"]), string.Join(" ", ins.Arguments)];
        string name = "build-" + Guid.NewGuid().ToString("N")[..12];
        var o = new ContainerCreateOptions
        {
            Image = img.Id, Name = name, Command = cmd.ToArray(), Entrypoint = [""], User = st.C.User ?? "",
            WorkingDirectory = st.C.WorkingDir is { Length: > 0 } w ? w : "/",
            Network = ins.GetFlag("network") is { } net ? (net == "default" ? _o.Network : net) : _o.Network,
            // the RUN's mounts (cache, secret, context copies, heredoc scripts) hold container ids: idmapped under Auto
            BindsHoldContainerIds = true,
        };
        foreach (var (k, v) in st.Scope.RunEnvironment()) o.Environment[k] = v;
        var staging = new List<string>();
        List<string> mountTargets = [];
        string? pipes = null;
        if (script is { } sc)
        {
            // a heredoc script with #!: a file of its own on a read-only mount (BuildKit's /dev/pipes), never in the layer
            if (sc.Name.Contains('/') || sc.Name is "." or "..") throw ContainersException.Invalid("InvalidInstruction", $"'{sc.Name}' cannot name a heredoc script.", sc.Name);
            pipes = NewStaging();
            File.WriteAllText(Path.Combine(pipes, sc.Name), sc.Body);
            File.SetUnixFileMode(Path.Combine(pipes, sc.Name), (UnixFileMode)0x1ED);
            o.Mounts.Add($"type=bind,source={pipes},target=/dev/pipes,readonly");
        }
        lock (_containers) _containers.Add(name);
        try
        {
            if (ins.Mounts.Count > 0) mountTargets = PrepareMounts(doc, st, ins, o, staging, ct);
            ContainerProcessResult r;
            try { r = _rt.Run(o, false, ct, OutputOf(st)); }
            catch (ContainersException e) when (e.Result is ContainerProcessResult failed)
            {
                throw ContainersException.Invalid("BuildStepFailed", $"{Where(raw)}: RUN {string.Join(" ", ins.Arguments)}: {e.Message} (exit code {failed.ExitCode}).", Where(raw), e);
            }
            ct.ThrowIfCancellationRequested();
            if (r.ExitCode != 0)
                throw new ContainersException(ErrorKind.InvalidArgument, "BuildStepFailed",
                    $"{Where(raw)}: RUN {string.Join(" ", ins.Arguments)} failed with exit code {r.ExitCode}." + (r.Error.Length > 0 ? " " + r.Error.TrimEnd() : ""), Where(raw));
            string upper = _rt.UpperDirOf(name);
            if (mountTargets.Count > 0) RemoveMountStubs(upper, LayerPaths(st), mountTargets);
            bool empty = !Directory.EnumerateFileSystemEntries(upper).Any();
            if (!empty) AddLayer(st, upper, true, ct, _rt.IdMapOf(name));
            History(st, "RUN " + (ins.IsJson ? JsonSerializer.Serialize(cmd, Json) : string.Join(" ", cmd)) + " # buildkit", empty);
        }
        finally
        {
            try { _rt.Remove(name, true, CancellationToken.None); lock (_containers) _containers.Remove(name); }
            catch (ContainersException) { }
            if (pipes is not null) RemoveStaging(pipes);
            foreach (var d in staging) RemoveStaging(d);
        }
    }

    // ---- COPY / ADD ----

    private List<BuildContextEntry> Entries() { lock (_ctxGate) return _entries ??= BuildContext.List(_ctx, _o.DockerfilePath); }
    private readonly object _ctxGate = new();

    private static bool HasGlob(string s) => s.IndexOfAny(['*', '?', '[']) >= 0;

    private static Regex Glob(string pattern)
    {
        var sb = new System.Text.StringBuilder("^");
        foreach (char ch in pattern)
            sb.Append(ch switch { '*' => "[^/]*", '?' => "[^/]", '[' => "[", ']' => "]", '\\' => "\\\\", _ => Regex.Escape(ch.ToString()) });
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }

    private void Copy(DockerfileDocument doc, Stage st, DockerfileInstruction ins, CancellationToken ct)
    {
        foreach (var f in ins.Flags)
            if (f.Name is not ("from" or "chown" or "chmod" or "link" or "exclude" or "parents" or "checksum") || (f.Name is "parents" && ins.Instruction == "ADD") || (f.Name is "checksum" && ins.Instruction == "COPY"))
                throw ContainersException.Invalid("BuildInstructionNotSupported", $"{ins.Instruction} --{f.Name} is not supported yet.", ins.Original);
        if (ins.Arguments.Count < 2) throw ContainersException.Invalid("InvalidInstruction", $"{ins.Instruction} needs a source and a destination.", ins.Original);
        var sources = ins.Arguments.Take(ins.Arguments.Count - 1).ToList();
        string dest = ins.Arguments[^1];
        var paths = LayerPaths(st);
        (int, int)? owner = null;
        if (ins.GetFlag("chown") is { } chown) { var (u, g) = ContainerRuntime.ResolveOwner(paths, chown); owner = ((int)u, (int)g); }
        uint? chmod = null;
        if (ins.GetFlag("chmod") is { } cm)
        {
            try { chmod = Convert.ToUInt32(cm, 8); } catch (FormatException) { chmod = null; }
            if (chmod is null or > 0xFFF) throw ContainersException.Invalid("InvalidChmod", $"--chmod={cm} is not an octal mode.", cm);
        }
        string? from = ins.GetFlag("from");
        if (ins.Instruction == "ADD")
        {
            if (from is not null) throw ContainersException.Invalid("InvalidInstruction", "ADD has no --from; use COPY --from.", ins.Original);
            foreach (var s in sources)
                if ((s.Contains("://", StringComparison.Ordinal) && !IsUrl(s)) || s.StartsWith("git@", StringComparison.Ordinal))
                    throw ContainersException.Invalid("AddUrlNotSupported", $"ADD {s}: only http and https URLs are fetched (no git); download the source into the context and COPY it.", s);
        }

        // where things go: relative to WORKDIR; a directory when it ends in '/', when there are several sources or a glob
        string destAbs = dest.StartsWith('/') ? dest : (st.C.WorkingDir is { Length: > 0 } w ? w.TrimEnd('/') + "/" + dest : "/" + dest);
        bool destIsDir = dest.EndsWith('/') || dest == "." || sources.Count > 1 || sources.Any(HasGlob) || IsDirInLayers(paths, destAbs) == true;
        string destRel = RootedFs.Clean(destAbs);

        string staging = NewStaging();
        try
        {
            using (var dst = RootedFs.Open(staging, RootedFs.Resolution.NoSymlinks))
            {
                using var copier = new TreeCopier { Owner = owner, Ct = ct, KeepHardLinks = true };
                // the directories on the way to the destination: root-owned 0755 as docker makes them; the last one gets --chown
                if (destIsDir) MakeDirs(dst, destRel, owner);
                else if (destRel.Contains('/')) MakeDirs(dst, destRel[..destRel.LastIndexOf('/')], null);
                // heredoc sources (COPY <<EOF /x) are files of their own; the rest come from the context or the --from image
                foreach (var h in sources.Select(x => HeredocSource(ins, x)).OfType<DockerfileHeredoc>())
                    CopyHeredoc(dst, h, destIsDir ? Join(destRel, h.Name) : destRel, owner, chmod);
                sources = sources.Where(x => HeredocSource(ins, x) is null).ToList();
                // ADD of a URL: downloaded (when the key was made) and written as one file
                if (ins.Instruction == "ADD")
                    foreach (var u in sources.Where(IsUrl))
                        AddUrl(dst, u, Download(u, ins.GetFlag("checksum"), ct), destRel, destIsDir, owner, chmod);
                sources = sources.Where(x => !(ins.Instruction == "ADD" && IsUrl(x))).ToList();
                if (sources.Count == 0) { }
                else if (from is null) CopyFromContext(dst, sources, destRel, destIsDir, copier, chmod, ins, ct);
                else CopyFromImage(doc, st, dst, from, sources, destRel, destIsDir, copier, chmod, ct);
            }
            AddLayer(st, staging, false, ct);
            History(st, $"{ins.Instruction} " + (from is null ? "" : $"--from={from} ") + string.Join(" ", ins.Arguments) + " # buildkit", false);
        }
        finally { RemoveStaging(staging); }
    }

    private static void MakeDirs(RootedFs dst, string rel, (int, int)? owner)
    {
        if (rel.Length == 0) return;
        using var h = dst.MkdirAll(rel, 0x1ED);
        if (owner is { } o) { using var d = dst.OpenParent(rel, out var n); RootedFs.ChownAt(d, n, o.Item1, o.Item2, rel); }
    }

    private void CopyFromContext(RootedFs dst, List<string> sources, string destRel, bool destIsDir, TreeCopier copier, uint? chmod, DockerfileInstruction ins, CancellationToken ct)
    {
        var entries = Entries();
        var exclude = ins.GetFlags("exclude") is { Count: > 0 } ex ? new DockerIgnore(ex) : null;
        bool parents = ins.GetFlag("parents") is { } pf && pf != "false";
        // the context is walked by descriptor: a name that is a link is copied as a link, and no link on the way is followed
        using var src = RootedFs.Open(_ctx, RootedFs.Resolution.NoSymlinks);
        // a source that is itself a link is followed, as BuildKit does, but only inside the context (RESOLVE_IN_ROOT:
        // a link to /etc is the context's /etc); links inside a copied directory stay links
        using var srcIn = RootedFs.Open(_ctx, RootedFs.Resolution.InRoot);
        foreach (var s0 in sources)
        {
            string s = RootedFs.Clean(s0);
            List<BuildContextEntry> tops;
            if (HasGlob(s))
            {
                var rx = Glob(s);
                tops = entries.Where(e => rx.IsMatch(e.Path)).ToList();
                if (tops.Count == 0) throw ContainersException.NotFound("CopySourceNotFound", $"{ins.Instruction}: no file in the build context matches '{s0}'.", s0);
            }
            else if (s.Length == 0) tops = [new BuildContextEntry { Path = "", Type = "Directory" }];
            else
            {
                var e = entries.FirstOrDefault(x => x.Path == s)
                    ?? throw ContainersException.NotFound("CopySourceNotFound", $"{ins.Instruction}: '{s0}' is not in the build context (or .dockerignore excludes it).", s0);
                tops = [e];
            }
            foreach (var top in tops)
            {
                ct.ThrowIfCancellationRequested();
                // hard links are kept within one source (a directory's tree), as buildah does, not across sources
                copier.NewLinkScope();
                if (ins.Instruction == "ADD" && top.Type == "File" && OpenArchive(src, top.Path) is { } tar)
                {
                    // a local tar archive (plain, gzip, bzip2, xz) is extracted into the destination directory
                    using (tar) ExtractArchive(tar, top.Path, dst, destRel, copier, ct);
                    continue;
                }
                if (top.Type == "SymbolicLink")
                {
                    using var h = TryOpenIn(srcIn, top.Path)
                        ?? throw ContainersException.NotFound("CopySourceNotFound", $"{ins.Instruction}: '{top.Path}' is a link to '{top.LinkTarget}', which is not in the build context.", top.Path);
                    var st = RootedFs.Fstat(h, top.Path);
                    if ((st.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR)
                    {
                        MakeDirs(dst, destRel, copier.Owner);
                        using var d = RootedFs.Reopen(h, FileSys.O_RDONLY | FileSys.O_DIRECTORY, top.Path);
                        using var to = destRel.Length == 0 ? RootedFs.Reopen(dst.Root, FileSys.O_RDONLY | FileSys.O_DIRECTORY) : dst.Open(destRel, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
                        copier.CopyChildren(d, to, top.Path);
                    }
                    else
                    {
                        string lname = top.Path.Contains('/') ? top.Path[(top.Path.LastIndexOf('/') + 1)..] : top.Path;
                        string target = destIsDir ? Join(destRel, lname) : destRel;
                        using var parent = dst.OpenParent(target, out var n);
                        copier.CopyTop(h, top.Path, parent, n);
                        if (chmod is { } m) RootedFs.ChmodAt(parent, n, m, target);
                    }
                }
                else if (top.Type == "Directory")
                {
                    // a directory's contents go into the destination (docker's rule), as the context lists them after
                    // .dockerignore; --parents keeps the source's path under it, --exclude drops what its patterns match
                    string prefix = top.Path.Length == 0 ? "" : top.Path + "/";
                    string baseTo = parents ? Join(destRel, top.Path) : destRel;
                    MakeDirs(dst, baseTo, copier.Owner);
                    foreach (var e in entries.Where(x => x.Path.StartsWith(prefix, StringComparison.Ordinal) && x.Path.Length > prefix.Length))
                    {
                        string rel = e.Path[prefix.Length..];
                        if (Excluded(exclude, rel) || Excluded(exclude, e.Path)) continue;
                        CopyOne(src, e, dst, Join(baseTo, rel), copier, chmod);
                    }
                }
                else
                {
                    string name = top.Path.Contains('/') ? top.Path[(top.Path.LastIndexOf('/') + 1)..] : top.Path;
                    if (Excluded(exclude, name) || Excluded(exclude, top.Path)) continue;
                    string target = parents ? Join(destRel, top.Path) : destIsDir ? Join(destRel, name) : destRel;
                    if (parents && target.Contains('/')) MakeDirs(dst, target[..target.LastIndexOf('/')], null);
                    CopyOne(src, top, dst, target, copier, chmod);
                }
            }
        }
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle? TryOpenIn(RootedFs fs, string path)
    {
        try { return fs.TryOpen(path, FileSys.O_PATH, 0, followLast: true); }
        catch (NativeException) { return null; } // a loop of links, or one to something that cannot be opened
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : b.Length == 0 ? a : a + "/" + b;


    /// <summary>One context entry (a directory: just itself; a file or link: itself) to <paramref name="to"/> in the staging tree.</summary>
    private static void CopyOne(RootedFs src, BuildContextEntry e, RootedFs dst, string to, TreeCopier copier, uint? chmod)
    {
        using var parent = dst.OpenParent(to, out var name);
        if (e.Type == "Directory")
        {
            src.TryStat(e.Path, out var s);
            RootedFs.MkdirAt(parent, name, 0x1ED, to, existOk: true);
            if (copier.Owner is { } o) RootedFs.ChownAt(parent, name, o.Item1, o.Item2, to);
            else RootedFs.ChownAt(parent, name, (int)s.Uid, (int)s.Gid, to);
            RootedFs.ChmodAt(parent, name, chmod ?? (s.Mode & 0xFFF), to);
            return;
        }
        using var h = src.Open(e.Path, FileSys.O_PATH);
        copier.CopyTop(h, e.Path, parent, name);
        if (chmod is { } m && e.Type != "SymbolicLink") RootedFs.ChmodAt(parent, name, m, to);
    }

    private void CopyFromImage(DockerfileDocument doc, Stage st, RootedFs dst, string from, List<string> sources, string destRel, bool destIsDir, TreeCopier copier, uint? chmod, CancellationToken ct)
    {
        IReadOnlyList<string> layers;
        if (FindStage(doc, from, st.Def.Index) is { } i) layers = LayerPaths(_done[i]);
        else
        {
            var img = ResolveImage(from, $"COPY --from={from} (no stage of that name before this one)", ct);
            layers = _store.GetLayerPaths(img);
        }
        foreach (var s0 in sources)
        {
            copier.NewLinkScope();
            string s = RootedFs.Clean(s0);
            if (HasGlob(s)) throw ContainersException.Invalid("BuildInstructionNotSupported", $"COPY --from with a wildcard ('{s0}') is not supported yet.", s0);
            bool found = false;
            // bottom layer first, each layer's copy merged over the one before (a file a later layer deleted is not removed: known gap)
            foreach (var layer in layers)
            {
                using var lfs = RootedFs.Open(layer, RootedFs.Resolution.NoSymlinks);
                SafeHandleHolder? h = null;
                try { var x = lfs.TryOpen(s.Length == 0 ? "." : s, FileSys.O_PATH); if (x is null) continue; h = new(x); }
                catch (NativeException) { continue; }
                using (h)
                {
                    found = true;
                    var stt = RootedFs.Fstat(h.H, s);
                    bool isDir = (stt.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR;
                    if (isDir)
                    {
                        MakeDirs(dst, destRel, copier.Owner);
                        using var d = RootedFs.Reopen(h.H, FileSys.O_RDONLY | FileSys.O_DIRECTORY, s);
                        using var to = destRel.Length == 0 ? RootedFs.Reopen(dst.Root, FileSys.O_RDONLY | FileSys.O_DIRECTORY) : dst.Open(destRel, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
                        copier.CopyChildren(d, to, s);
                    }
                    else
                    {
                        string name = s.Contains('/') ? s[(s.LastIndexOf('/') + 1)..] : s;
                        string target = destIsDir ? Join(destRel, name) : destRel;
                        using var parent = dst.OpenParent(target, out var n);
                        copier.CopyTop(h.H, s, parent, n);
                        if (chmod is { } m && (stt.Mode & LayerFs.S_IFMT) != LayerFs.S_IFLNK) RootedFs.ChmodAt(parent, n, m, target);
                    }
                }
            }
            if (!found) throw ContainersException.NotFound("CopySourceNotFound", $"COPY --from={from}: '{s0}' is not in that image.", s0);
        }
    }

    private sealed class SafeHandleHolder(Microsoft.Win32.SafeHandles.SafeFileHandle h) : IDisposable
    {
        public Microsoft.Win32.SafeHandles.SafeFileHandle H { get; } = h;
        public void Dispose() => H.Dispose();
    }

    // ---- cleanup ----

    private void Cleanup()
    {
        foreach (var name in _containers.ToList())
        {
            try { _rt.Remove(name, true, CancellationToken.None); } catch (ContainersException) { }
        }
        _containers.Clear();
        foreach (var id in Enumerable.Reverse(_intermediates).ToList())
        {
            try { _store.Remove(id, force: true); } catch (ContainersException) { }
        }
        _intermediates.Clear();
        foreach (var d in _downloadDirs) RemoveStaging(d);
        _downloadDirs.Clear();
        _downloads.Clear();
    }
}

internal static class HandleExtensions
{
    public static void Using(this Microsoft.Win32.SafeHandles.SafeFileHandle h, Action<Microsoft.Win32.SafeHandles.SafeFileHandle> a)
    {
        using (h) a(h);
    }
}
