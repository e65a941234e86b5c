using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Model;
using Containers.Engine.Registry;
using Containers.Engine.Runtime;
using Containers.Engine.Spec;
using Containers.Engine.State;

namespace Containers.Engine.Build;

/// <summary>The base an image records: from its recipe when it has one, else its manifest's base annotations.</summary>
public sealed class ImageBase
{
    public required string Name { get; init; }
    public required string Digest { get; init; }
    public string? Id { get; init; }
    public BuildRecipe? Recipe { get; init; }
}

/// <summary>An image whose base name now points at another image than the one it was built on.</summary>
public sealed class OutdatedImage
{
    public required ImageRecord Image { get; init; }
    public required string BaseName { get; init; }
    /// <summary>The base's manifest digest the image was built on.</summary>
    public required string BaseDigest { get; init; }
    /// <summary>What the base name resolves to now (the local store's manifest, or the registry's with -Remote).</summary>
    public required string CurrentBaseDigest { get; init; }
    /// <summary>Local or Remote.</summary>
    public required string Source { get; init; }
    public bool HasRecipe { get; init; }
}

/// <summary>One step of an Update-ContainerImage plan, and after it ran, its result.</summary>
public sealed class ImageUpdateStep
{
    public int Order { get; init; }
    /// <summary>The image as the user names it (its first tag, else its id).</summary>
    public string Image { get; init; } = "";
    public string ImageId { get; init; } = "";
    public string ManifestDigest { get; init; } = "";
    /// <summary>Rebuild (from the recipe) or Rebase (the base's layers swapped, nothing run).</summary>
    public string Action { get; init; } = "";
    public string? BaseName { get; init; }
    public string? OldBaseDigest { get; init; }
    /// <summary>The base it is updated onto (null in a plan while that base is itself to be updated first).</summary>
    public string? NewBaseDigest { get; set; }
    /// <summary>The planned step whose image is this one's base (it runs first), else null.</summary>
    public string? After { get; init; }
    /// <summary>The names moved to the new image.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>The build context differs from the one the image was built from (a rebuild uses what is there now).</summary>
    public bool ContextChanged { get; set; }
    /// <summary>The image's own layers include RUN steps, which ran against the old base (a rebase keeps their result).</summary>
    public bool HasRunLayers { get; init; }
    public string? NewImageId { get; set; }
    public ImageRecord? NewImage { get; set; }
    public override string ToString() => $"{Action} {Image}";
}

/// <summary>
/// Base tracking: which images are outdated (their base name now resolves to another image, locally or in the
/// base's registry), and their update, by a rebuild from the recipe or by a rebase (the base layers swapped
/// under the image's own, crane rebase's idea), in dependency order and retagged.
/// </summary>
public sealed class ImageUpdater(ContainerRuntime runtime)
{
    private readonly ImageStore _store = new(runtime.Root);
    private readonly RecipeStore _recipes = new(runtime.Root);
    public Action<BuildStep>? OnStep { get; init; }
    public Action<ContainerLogEntry>? OnOutput { get; init; }

    /// <summary>The base an image records, or null (no recipe and no base annotations).</summary>
    public ImageBase? BaseOf(ImageRecord img)
    {
        var r = _recipes.TryReadOrReport(img.ManifestDigest);
        if (r is { BaseName: { } n, BaseDigest: { } d }) return new ImageBase { Name = n, Digest = d, Id = r.BaseId, Recipe = r };
        Dictionary<string, string>? ann = null;
        try { ann = SpecJson.Parse<ImageManifest>(_store.ReadManifest(img)).Annotations; }
        catch (Exception e) when (e is ContainersException or System.Text.Json.JsonException or IOException) { }
        if (ann is not null && ann.TryGetValue(BuildExecutor.BaseNameAnnotation, out var name) && ann.TryGetValue(BuildExecutor.BaseDigestAnnotation, out var dig)
            && name.Length > 0 && dig.StartsWith("sha256:", StringComparison.Ordinal))
            return new ImageBase { Name = name, Digest = dig, Id = img.ParentId, Recipe = r };
        return r is null ? null : new ImageBase { Name = "", Digest = "", Recipe = r };
    }

    /// <summary>The image a base name resolves to in the store now, or null (absent, or not a valid name).</summary>
    private ImageRecord? ResolveLocal(string name)
    {
        try { return _store.TryResolve(name); }
        catch (ContainersException e) when (e.Kind == ErrorKind.InvalidArgument) { return null; }
    }

    private static bool Same(ImageRecord current, ImageBase b)
        => current.ManifestDigest == b.Digest || current.IndexDigests.Contains(b.Digest) || (b.Id is not null && current.Id == b.Id);

    /// <summary>
    /// Images whose base name now resolves to another image: in the store, or with <paramref name="remote"/> in the
    /// base's registry (one manifest request per base name; an index is resolved to this platform's manifest).
    /// A base name that resolves to nothing is not outdated, and untagged images are left out. Failures to reach a
    /// registry go to <paramref name="onError"/>.
    /// </summary>
    public IReadOnlyList<OutdatedImage> Outdated(bool remote, RegistryOptions? options, Action<ContainersException>? onError, CancellationToken ct, IEnumerable<ImageRecord>? only = null)
    {
        var result = new List<OutdatedImage>();
        var remoteDigests = _remoteDigests;
        // an untagged image is left out: an update leaves the image it replaced untagged, and nothing names it any more
        foreach (var img in (only ?? _store.List()).Where(i => !i.Dangling).DistinctBy(i => i.ManifestDigest))
        {
            ct.ThrowIfCancellationRequested();
            var b = BaseOf(img);
            if (b is null || b.Name.Length == 0) continue;
            string? current;
            if (!remote)
            {
                var cur = ResolveLocal(b.Name);
                if (cur is null || Same(cur, b)) continue;
                current = cur.ManifestDigest;
            }
            else
            {
                if (!remoteDigests.TryGetValue(b.Name, out current))
                {
                    try { current = RemoteDigest(b.Name, options ?? RegistryOptions.Default, ct); }
                    catch (ContainersException e) { onError?.Invoke(e); current = null; }
                    remoteDigests[b.Name] = current;
                }
                if (current is null || current == b.Digest) continue;
            }
            result.Add(new OutdatedImage { Image = img, BaseName = b.Name, BaseDigest = b.Digest, CurrentBaseDigest = current, Source = remote ? "Remote" : "Local", HasRecipe = b.Recipe is not null });
        }
        return result;
    }

    /// <summary>
    /// The base name an image records, pulled from its registry (Update-ContainerImage -Remote): the name then points
    /// at what the registry has now, and the plan sees a base that moved there. The same pull as Request-ContainerImage
    /// and Build-ContainerImage -Pull Always (layers already present are reused). Null when the image records no base.
    /// </summary>
    public ImagePullResult? PullBase(string name, RegistryOptions options, State.IProgressSink progress, CancellationToken ct)
    {
        var img = _store.Resolve(name);
        if (BaseOf(img) is not { Name.Length: > 0 } b) return null;
        return ImagePuller.Pull(runtime.Root, b.Name, options, progress, ct);
    }

    /// <summary>The base name an image records (null: none).</summary>
    public string? BaseNameOf(string name) => BaseOf(_store.Resolve(name)) is { Name.Length: > 0 } b ? b.Name : null;

    /// <summary>What each base name pointed at in its registry (null: the request failed), asked once per updater.</summary>
    private readonly Dictionary<string, string?> _remoteDigests = new(StringComparer.Ordinal);

    /// <summary>The manifest digest a name points at in its registry (this platform's manifest of an index).</summary>
    public static string RemoteDigest(string name, RegistryOptions options, CancellationToken ct)
    {
        var r = RegistryReference.Parse(name);
        using var client = new RegistryClient(r.Registry, options);
        var top = client.GetManifestAsync(r.Repository, r.Selector, name, ct).GetAwaiter().GetResult();
        if (!MediaTypes.IsIndex(top.MediaType)) return top.Digest;
        var pick = ManifestDoc.SelectPlatform(ManifestDoc.Parse<ImageIndex>(top.Bytes, name), options.Platform ?? ManifestDoc.DefaultPlatform, name);
        return pick.Digest;
    }

    // ---------- the plan ----------

    private sealed class Node
    {
        public required ImageRecord Image;
        public ImageBase? Base;
        public Node? Parent;                  // the image of the store it was built on (by digest or id)
        public List<Node> Children = [];
    }

    /// <summary>
    /// The steps that update <paramref name="names"/> (and with <paramref name="recurse"/> every image built on them,
    /// transitively), bases before the images built on them. An image is updated when its base name resolves to
    /// another image now, when its base is updated before it in this plan, or with <paramref name="force"/>; the
    /// others are left out. A rebuild needs the image's recipe; a rebase needs its base's layers (recorded in the
    /// recipe, or the old base still in the store).
    /// </summary>
    public IReadOnlyList<ImageUpdateStep> Plan(IReadOnlyList<string> names, bool recurse, bool rebase, bool force, Action<string>? note = null)
    {
        var all = _store.List().DistinctBy(i => i.ManifestDigest).ToList();
        var nodes = all.ToDictionary(i => i.ManifestDigest, i => new Node { Image = i, Base = BaseOf(i) }, StringComparer.Ordinal);
        foreach (var n in nodes.Values)
        {
            if (n.Base is not { Digest.Length: > 0 } b) continue;
            var p = nodes.Values.FirstOrDefault(x => x.Image.ManifestDigest == b.Digest)
                ?? (b.Id is null ? null : nodes.Values.Where(x => x.Image.Id == b.Id).OrderBy(x => x.Image.Names.Count == 0).FirstOrDefault());
            if (p is null || p == n) continue;
            n.Parent = p;
            p.Children.Add(n);
        }
        // the requested images, then (-Recurse) everything built on them
        var set = new List<Node>();
        var inSet = new HashSet<Node>();
        var requested = new HashSet<Node>();
        foreach (var name in names)
        {
            var img = _store.Resolve(name);
            var n = nodes[img.ManifestDigest];
            requested.Add(n);
            if (inSet.Add(n)) set.Add(n);
        }
        if (recurse)
            for (int i = 0; i < set.Count; i++)
                // untagged children are images an update or a rebuild under the same tag replaced: never retag them
                foreach (var c in set[i].Children.Where(c => !c.Image.Dangling).OrderBy(c => c.Image.Created))
                    if (inSet.Add(c)) set.Add(c);
        // bases first: an image after every ancestor of it that is in the set
        int Depth(Node n) { int d = 0; for (var p = n.Parent; p is not null && d < 1000; p = p.Parent) if (inSet.Contains(p)) d++; return d; }
        var ordered = set.Select((n, i) => (n, i)).OrderBy(x => Depth(x.n)).ThenBy(x => x.i).Select(x => x.n).ToList();

        var steps = new List<ImageUpdateStep>();
        var updated = new Dictionary<Node, ImageUpdateStep>();
        foreach (var n in ordered)
        {
            var img = n.Image;
            string shown = img.Names.Count > 0 ? img.RepoTags[0] : img.ShortId;
            var b = n.Base;
            // FROM scratch (or nothing recorded): only a forced rebuild from a recipe applies
            if ((b is null || b.Name.Length == 0) && !(b?.Recipe is not null && force && !rebase))
            {
                if (requested.Contains(n))
                    throw ContainersException.Invalid("ImageHasNoBase", $"The image '{shown}' records no base (it was not built here from a named image, and its manifest has no base annotations).", shown);
                continue;
            }
            ImageUpdateStep? afterStep = null;
            for (var p = n.Parent; p is not null; p = p.Parent)
                if (updated.TryGetValue(p, out afterStep)) break;
            string? newBase = null;
            bool outdated = false;
            if (b is { Name.Length: > 0 })
            {
                var cur = ResolveLocal(b.Name);
                if (cur is not null && !Same(cur, b)) { outdated = true; newBase = cur.ManifestDigest; }
                if (afterStep is null && cur is null)
                {
                    note?.Invoke($"The base '{b.Name}' of '{shown}' is not in the store; the image is left as it is.");
                    continue;
                }
            }
            if (!outdated && afterStep is null && !force)
            {
                note?.Invoke($"'{shown}' is up to date: its base '{b?.Name}' still resolves to {b?.Digest}.");
                continue;
            }
            if (!rebase && b?.Recipe is null)
                throw ContainersException.NotFound("ImageRecipeNotFound", $"The image '{shown}' has no build recipe in the store (it was not built here, or its recipe was set aside); update it with -Rebase or build it again.", shown);
            if (rebase && (b is null || b.Name.Length == 0))
                throw ContainersException.Invalid("ImageHasNoBase", $"The image '{shown}' is built FROM scratch: there is no base to rebase it onto.", shown);
            var step = new ImageUpdateStep
            {
                Order = steps.Count + 1,
                Image = shown,
                ImageId = img.Id,
                ManifestDigest = img.ManifestDigest,
                Action = rebase ? "Rebase" : "Rebuild",
                BaseName = b?.Name,
                OldBaseDigest = b?.Digest,
                NewBaseDigest = afterStep is null ? newBase : null,
                After = afterStep?.Image,
                Tags = img.Names.Count > 0 ? img.Names.ToList() : (b?.Recipe?.Tags ?? []),
                HasRunLayers = OwnRunLayers(img, b),
                ContextChanged = !rebase && b?.Recipe is { } r && ContextChanged(r),
            };
            steps.Add(step);
            updated[n] = step;
        }
        return steps;
    }

    private static bool ContextChanged(BuildRecipe r)
    {
        try { return RecipeStore.ContextDigestOf(r.ContextPath, r.DockerfilePath is { } p && File.Exists(p) ? p : null) != r.ContextDigest; }
        catch (Exception e) when (e is ContainersException or IOException or Native.Sys.NativeException) { return true; }
    }

    /// <summary>Whether the image's own history (after its base's) has RUN steps that made a layer.</summary>
    private bool OwnRunLayers(ImageRecord img, ImageBase? b)
    {
        int skip = b?.Recipe?.BaseHistory ?? (b is null ? 0 : ResolveBaseRecord(b)?.Config.History?.Count ?? 0);
        return (img.Config.History ?? []).Skip(skip).Any(h => h.EmptyLayer != true && (h.CreatedBy ?? "").Contains("RUN ", StringComparison.Ordinal));
    }

    /// <summary>The record of the image an image was built on (by manifest digest, else id), if it is still in the store.</summary>
    private ImageRecord? ResolveBaseRecord(ImageBase b)
    {
        try { return _store.TryResolve(b.Digest) ?? (b.Id is null ? null : _store.TryResolve(b.Id)); }
        catch (ContainersException e) when (e.Kind is ErrorKind.InvalidArgument or ErrorKind.Conflict) { return null; }
    }

    // ---------- running a step ----------

    /// <summary>Runs one step of a plan: the new image gets the old one's names (the old one keeps its containers).</summary>
    public ImageRecord Execute(ImageUpdateStep step, CancellationToken ct)
    {
        var img = _store.TryResolve(step.ManifestDigest)
            ?? throw ContainersException.NotFound("ImageNotFound", $"The image '{step.Image}' ({step.ManifestDigest}) is no longer in the store.", step.Image);
        var b = BaseOf(img);
        var result = step.Action == "Rebase" ? Rebase(step, img, b!, ct) : Rebuild(step, img, b, ct);
        step.NewImageId = result.Id;
        step.NewImage = result;
        return result;
    }

    private ImageRecord Rebuild(ImageUpdateStep step, ImageRecord img, ImageBase? b, CancellationToken ct)
    {
        var r = b?.Recipe ?? throw ContainersException.NotFound("ImageRecipeNotFound", $"The image '{step.Image}' has no build recipe in the store.", step.Image);
        var o = new BuildOptions
        {
            ContextDir = r.ContextPath,
            DockerfileText = r.Dockerfile,
            DockerfilePath = r.DockerfilePath is { } p && File.Exists(p) ? p : null,
            Target = r.Target,
            Network = r.Network,
            // the plan resolved the base in the store (pulled first with -Remote): a rebuild never goes to a registry
            Pull = Model.PullPolicy.Never,
        };
        foreach (var t in step.Tags) o.Tags.Add(t);
        foreach (var (k, v) in r.BuildArgs) o.BuildArgs[k] = v;
        foreach (var (k, v) in r.Labels) o.Labels[k] = v;
        var ex = new BuildExecutor(runtime) { OnStep = OnStep, OnOutput = OnOutput };
        var built = ex.Build(o, ct);
        step.NewBaseDigest ??= _recipes.TryReadOrReport(built.ManifestDigest)?.BaseDigest;
        return built;
    }

    /// <summary>
    /// The image's own layers (those after its old base's) laid on the base its name resolves to now; the config is
    /// the image's with the new base's diffIDs and history in front of its own. Nothing runs: a RUN step's result stays
    /// what it was against the old base.
    /// </summary>
    private ImageRecord Rebase(ImageUpdateStep step, ImageRecord img, ImageBase b, CancellationToken ct)
    {
        var oldBase = ResolveBaseRecord(b);
        List<string> oldDiffIds = b.Recipe is { BaseDiffIds.Count: > 0 } r0 ? r0.BaseDiffIds : oldBase?.LayerDiffIds.ToList()
            ?? throw ContainersException.NotFound("RebaseBaseUnknown", $"The image '{step.Image}' was built on {b.Digest}, which is no longer in the store, and it has no recipe that records that base's layers; rebuild it instead.", step.Image);
        int oldHistory = b.Recipe is { } r1 && (r1.BaseHistory > 0 || r1.BaseDiffIds.Count > 0) ? r1.BaseHistory : oldBase?.Config.History?.Count ?? 0;
        if (img.LayerDiffIds.Count < oldDiffIds.Count || !img.LayerDiffIds.Take(oldDiffIds.Count).SequenceEqual(oldDiffIds, StringComparer.Ordinal))
            throw ContainersException.Invalid("RebaseLayersMismatch", $"The layers of '{step.Image}' do not start with those of its recorded base {b.Digest}; it cannot be rebased.", step.Image);
        var newBase = ResolveLocal(b.Name)
            ?? throw ContainersException.NotFound("ImageNotFound", $"The base '{b.Name}' of '{step.Image}' is not in the store.", b.Name);
        ct.ThrowIfCancellationRequested();
        var layers = _store.LayerDescriptors(newBase);
        layers.AddRange(_store.LayerDescriptors(img).Skip(oldDiffIds.Count));
        var cfg = ImageConfig.Parse(_store.ReadConfig(img));
        var baseCfg = ImageConfig.Parse(_store.ReadConfig(newBase));
        cfg.RootFs.DiffIds = [.. newBase.LayerDiffIds, .. img.LayerDiffIds.Skip(oldDiffIds.Count)];
        cfg.History = [.. baseCfg.History ?? [], .. (cfg.History ?? []).Skip(oldHistory)];
        cfg.Created = DateTime.UtcNow;
        var ann = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [BuildExecutor.BaseNameAnnotation] = b.Name,
            [BuildExecutor.BaseDigestAnnotation] = newBase.ManifestDigest,
        };
        var rebased = _store.RegisterBuiltImage(layers, cfg, step.Tags, newBase.Id, ann);
        step.NewBaseDigest = newBase.ManifestDigest;
        if (b.Recipe is { } r)
        {
            var copy = System.Text.Json.JsonSerializer.Deserialize<BuildRecipe>(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(r, Json.Options), Json.Options)!;
            copy.ManifestDigest = rebased.ManifestDigest;
            copy.ImageId = rebased.Id;
            copy.Created = DateTime.UtcNow;
            copy.BaseDigest = newBase.ManifestDigest;
            copy.BaseId = newBase.Id;
            copy.BaseDiffIds = [.. newBase.LayerDiffIds];
            copy.BaseHistory = baseCfg.History?.Count ?? 0;
            copy.RebasedFrom = img.ManifestDigest;
            _recipes.Save(copy);
        }
        return _store.TryResolve(rebased.ManifestDigest) ?? rebased;
    }
}
