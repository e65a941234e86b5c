using System.Formats.Tar;
using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Engine.Snapshots;
using Containers.Engine.Spec;
using Containers.Engine.State;

namespace Containers.Engine.Images;

/// <summary>Options of an import.</summary>
public sealed class ImportOptions
{
    /// <summary>Names to give the imported image (required for -RootFs).</summary>
    public IReadOnlyList<string> Names { get; init; } = [];
    /// <summary>Treat the source as a root file system (tar or directory), not an image archive.</summary>
    public bool RootFs { get; init; }
    /// <summary>Dockerfile-style config changes for a root file system import.</summary>
    public IReadOnlyList<string> Changes { get; init; } = [];
    public string? Message { get; init; }
    /// <summary>
    /// The one image of an OCI layout or archive to import, by its ref.name annotation (skopeo's
    /// oci:dir:ref); null imports every image of it.
    /// </summary>
    public string? Reference { get; init; }
    /// <summary>Platform to pick from a multi-platform index (default linux/amd64).</summary>
    public string Platform { get; init; } = "linux/amd64";
}

public sealed partial class ImageStore
{
    private interface ISource
    {
        bool Has(string name);
        long Length(string name);
        Stream Open(string name);
        byte[] ReadAll(string name);
    }

    private sealed class TarSource(TarIndex idx) : ISource
    {
        public bool Has(string name) => idx.Contains(name);
        public long Length(string name) => idx.LengthOf(name);
        public Stream Open(string name) => idx.Open(name);
        public byte[] ReadAll(string name) => idx.ReadAll(name);
    }

    private sealed class DirSource(string dir) : ISource
    {
        private string P(string name)
        {
            string full = Path.GetFullPath(Path.Combine(dir, name));
            if (!full.StartsWith(Path.GetFullPath(dir).TrimEnd('/') + "/", StringComparison.Ordinal))
                throw ContainersException.Invalid("ArchivePathEscapes", $"The layout refers to '{name}', which is outside it.", name);
            return full;
        }
        public bool Has(string name) => File.Exists(P(name));
        public long Length(string name) => new FileInfo(P(name)).Length;
        public Stream Open(string name)
        {
            try { return new FileStream(P(name), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan); }
            catch (FileNotFoundException ex) { throw ContainersException.NotFound("BlobNotFound", $"The layout '{dir}' has no file '{name}' that it refers to.", name, ex); }
        }
        public byte[] ReadAll(string name)
        {
            using var s = Open(name);
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            return ms.ToArray();
        }
    }

    /// <summary>
    /// Imports a docker-archive (docker/podman save), an OCI archive, an OCI layout directory, or (with
    /// RootFs) a root file system tar or directory. Returns the images made.
    /// </summary>
    public IReadOnlyList<ImageRecord> Import(string path, ImportOptions options, IProgressSink? progress = null, CancellationToken ct = default)
    {
        var made = ImportAny(path, options, progress, ct);
        foreach (var img in made)
            Events.EventLog.Record(Root, Model.ContainerEventType.Image, "import", img.Id, img.Names.Count > 0 ? img.Names[0] : null, ("source", Path.GetFileName(path)));
        return made;
    }

    private IReadOnlyList<ImageRecord> ImportAny(string path, ImportOptions options, IProgressSink? progress, CancellationToken ct)
    {
        progress ??= NullProgressSink.Instance;
        if (!File.Exists(path) && !Directory.Exists(path))
            throw ContainersException.NotFound("ImportPathNotFound", $"The path '{path}' does not exist.", path);
        // what this import adds (layers, their blobs) is removed again when it fails, and nothing else
        var added = new ContentAdded();
        try
        {
            using var write = BeginWrite(ct);
            return ImportCore(path, options, progress, added, ct);
        }
        catch (Exception ex)
        {
            RemoveAdded(added);
            if (StorageFull.Of(ex, Root, $"importing '{path}'") is { } full) throw full;
            throw;
        }
    }

    private IReadOnlyList<ImageRecord> ImportCore(string path, ImportOptions options, IProgressSink progress, ContentAdded added, CancellationToken ct)
    {
        if (options.RootFs) return [ImportRootFs(path, options, progress, added, ct)];
        if (Directory.Exists(path))
        {
            if (!File.Exists(Path.Combine(path, "index.json")))
                throw ContainersException.Invalid("UnknownArchiveFormat", $"The directory '{path}' is not an OCI layout (no index.json). To import a root file system, use -RootFs -Name.", path);
            return ImportOci(new DirSource(path), path, options, progress, added, ct);
        }
        var idx = TarIndex.Read(path);
        var src = new TarSource(idx);
        if (idx.Contains("manifest.json")) return ImportDockerArchive(src, path, options, progress, added, ct);
        if (idx.Contains("index.json")) return ImportOci(src, path, options, progress, added, ct);
        throw ContainersException.Invalid("UnknownArchiveFormat", $"'{path}' is neither a docker-archive (manifest.json) nor an OCI archive (index.json). To import a root file system tar, use -RootFs -Name.", path);
    }

    private IReadOnlyList<ImageRecord> ImportDockerArchive(ISource src, string path, ImportOptions options, IProgressSink progress, ContentAdded added, CancellationToken ct)
    {
        List<DockerArchiveEntry> entries;
        try { entries = SpecJson.Parse<List<DockerArchiveEntry>>(src.ReadAll("manifest.json")); }
        catch (JsonException ex) { throw ContainersException.Invalid("InvalidArchiveManifest", $"The manifest.json of '{path}' is not valid: {ex.Message}", path, ex); }
        if (entries.Count == 0) throw ContainersException.Invalid("InvalidArchiveManifest", $"The manifest.json of '{path}' lists no image.", path);
        var result = new List<ImageRecord>();
        foreach (var entry in entries)
        {
            byte[] configBytes = src.ReadAll(entry.Config);
            ImageConfig config;
            try { config = ImageConfig.Parse(configBytes); }
            catch (JsonException ex) { throw ContainersException.Invalid("InvalidImageConfig", $"The image configuration '{entry.Config}' is not valid: {ex.Message}", entry.Config, ex); }
            if (config.RootFs.DiffIds.Count != entry.Layers.Count)
                throw ContainersException.Invalid("LayerCountMismatch", $"'{entry.Config}' lists {config.RootFs.DiffIds.Count} diffIDs but manifest.json {entry.Layers.Count} layers.", entry.Config);
            var layerDescs = new List<Descriptor>();
            for (int i = 0; i < entry.Layers.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                string name = entry.Layers[i];
                string diffId = config.RootFs.DiffIds[i];
                progress.Report(new ProgressReport(1, "Importing " + Path.GetFileName(path), $"Layer {i + 1}/{entry.Layers.Count} {diffId[7..19]}", i * 100 / entry.Layers.Count));
                var known = layerDescs.Count; // for clarity
                // an uncompressed layer's blob digest is its diffID: when both are stored, nothing to read
                if (Layers.Has(diffId) && Blobs.Has(diffId))
                {
                    layerDescs.Add(new Descriptor { MediaType = MediaTypes.DockerLayer, Digest = diffId, Size = Blobs.SizeOf(diffId) });
                    continue;
                }
                LayerUnpackResult r;
                using (var s = src.Open(name))
                    r = UnpackLayerTracked(added, s, MediaTypes.DockerLayer, null, src.Length(name), diffId, ct: ct);
                bool compressed = r.BlobDigest != r.DiffId;
                layerDescs.Add(new Descriptor { MediaType = compressed ? MediaTypes.DockerLayerGzip : MediaTypes.DockerLayer, Digest = r.BlobDigest, Size = r.BlobSize });
            }
            var manifest = new ImageManifest
            {
                SchemaVersion = 2,
                MediaType = MediaTypes.DockerManifest,
                Config = new Descriptor { MediaType = MediaTypes.DockerConfig, Digest = Digest.Of(configBytes), Size = configBytes.Length },
                Layers = layerDescs,
            };
            var names = (entry.RepoTags ?? []).Concat(entries.Count == 1 ? options.Names : []).ToList();
            result.Add(RegisterImage(SpecJson.Serialize(manifest), configBytes, names));
        }
        progress.Report(new ProgressReport(1, "Importing " + Path.GetFileName(path), "Done", 100, Completed: true));
        return result;
    }

    private IReadOnlyList<ImageRecord> ImportOci(ISource src, string path, ImportOptions options, IProgressSink progress, ContentAdded added, CancellationToken ct)
    {
        ImageIndex index;
        try { index = SpecJson.Parse<ImageIndex>(src.ReadAll("index.json")); }
        catch (JsonException ex) { throw ContainersException.Invalid("InvalidOciIndex", $"The index.json of '{path}' is not valid: {ex.Message}", path, ex); }
        var result = new List<ImageRecord>();
        var entries = index.Manifests.AsEnumerable();
        if (options.Reference is { } want)
        {
            // skopeo's oci:dir:ref: the entry whose ref.name (or containerd name) is the reference
            entries = index.Manifests.Where(d => d.Annotations is { } a
                && ((a.TryGetValue(Annotations.RefName, out var rn) && rn == want) || (a.TryGetValue(Annotations.ContainerdImageName, out var cn) && cn == want))).ToList();
            var refs = index.Manifests.Select(d => d.Annotations?.GetValueOrDefault(Annotations.RefName)).Where(n => !string.IsNullOrEmpty(n)).Distinct().ToList();
            if (!entries.Any())
                throw ContainersException.NotFound("OciReferenceNotFound",
                    $"The layout '{path}' has no image named '{want}'{(refs.Count > 0 ? $" (it has: {string.Join(", ", refs.Take(20))}{(refs.Count > 20 ? ", ..." : "")})" : "")}.", want);
            if (entries.Select(d => d.Digest).Distinct().Count() > 1)
                throw ContainersException.Conflict("OciReferenceAmbiguous", $"The layout '{path}' has several different images named '{want}'.", want);
            entries = entries.Take(1);
        }
        var picked = new List<(Descriptor Desc, List<string> Names, string? Bare)>();
        foreach (var d in entries)
        {
            var names = new List<string>();
            string? bare = null;
            foreach (var key in new[] { Annotations.ContainerdImageName, Annotations.RefName })
            {
                if (d.Annotations?.TryGetValue(key, out var n) != true || string.IsNullOrEmpty(n)) continue;
                // a ref.name that is only a tag ("v1", "latest") names the image localhost/<it>:latest, as
                // podman load does, unless -Name names it; one that is a full reference is its name
                if (key == Annotations.RefName && !n.Contains('/') && !n.Contains(':') && !n.Contains('@'))
                {
                    if (ImageReference.TryParse("localhost/" + n, out var lr)) bare = lr.ToString();
                    continue;
                }
                if (ImageReference.TryParse(n, out var r)) { names.Add(r.ToString()); break; }
            }
            picked.Add((d, names, bare));
        }
        if (picked.Count == 0) throw ContainersException.Invalid("InvalidOciIndex", $"The index.json of '{path}' lists no manifest.", path);
        // validate every image first (media types, blobs present, digests of manifests and configs), so a
        // bad entry fails before anything is stored. An entry that is no image for this platform (an
        // artifact, an unknown media type, an index without this platform) is skipped with a warning when
        // the layout has others, as skopeo and podman ignore what they are not asked for.
        bool single = picked.Count == 1;
        var skipped = new List<ContainersException>();
        var plans = new List<(byte[] ManifestBytes, ImageManifest Manifest, string MediaType, byte[] ConfigBytes, ImageConfig Config, List<string> Names)>();
        foreach (var (desc, names, bare) in picked)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                var plan = PlanOciImage(src, path, desc, options.Platform);
                var all = names.ToList();
                if (single && options.Names.Count > 0) all.AddRange(options.Names);
                else if (bare is not null) all.Add(bare);
                plans.Add((plan.ManifestBytes, plan.Manifest, plan.MediaType, plan.ConfigBytes, plan.Config, all));
            }
            catch (ContainersException ex) when (!single && ex.ErrorId is "UnsupportedMediaType" or "NoMatchingPlatform" or "NotAnImage")
            {
                skipped.Add(ex);
                string label = desc.Annotations?.GetValueOrDefault(Annotations.RefName) is { Length: > 0 } rn ? $"'{rn}' ({desc.Digest})" : desc.Digest;
                progress.Warn($"Skipped the layout entry {label}: {ex.Message}");
            }
        }
        if (plans.Count == 0)
            throw ContainersException.Invalid("NoImageInLayout", $"The layout '{path}' holds no image for {options.Platform} ({skipped.Count} entries skipped: {skipped[0].Message}).", path);
        foreach (var (manifestBytes, manifest, mt, configBytes, config, names) in plans)
        {
            for (int i = 0; i < manifest.Layers.Count; i++)
            {
                ct.ThrowIfCancellationRequested();
                var l = manifest.Layers[i];
                string blobName = "blobs/sha256/" + Digest.Hex(l.Digest);
                progress.Report(new ProgressReport(1, "Importing " + Path.GetFileName(path), $"Layer {i + 1}/{manifest.Layers.Count} {l.Digest[7..19]}", i * 100 / manifest.Layers.Count));
                if (Layers.Has(config.RootFs.DiffIds[i]) && Blobs.Has(l.Digest)) continue;
                using var s = src.Open(blobName);
                UnpackLayerTracked(added, s, l.MediaType!, l.Digest, l.Size, config.RootFs.DiffIds[i], ct: ct);
            }
            result.Add(RegisterImage(manifestBytes, configBytes, names, manifestMediaType: mt));
        }
        progress.Report(new ProgressReport(1, "Importing " + Path.GetFileName(path), "Done", 100, Completed: true));
        return result;
    }

    /// <summary>Reads and checks one image of a layout: its manifest (through indexes), config and layer list.</summary>
    private static (byte[] ManifestBytes, ImageManifest Manifest, string MediaType, byte[] ConfigBytes, ImageConfig Config) PlanOciImage(ISource src, string path, Descriptor desc, string platform)
    {
        var manifestDesc = ResolveManifest(src, desc, platform, 0);
        byte[] manifestBytes = ReadVerified(src, manifestDesc);
        ImageManifest manifest;
        try { manifest = SpecJson.Parse<ImageManifest>(manifestBytes); }
        catch (JsonException ex) { throw ContainersException.Invalid("InvalidManifest", $"The manifest {manifestDesc.Digest} is not valid: {ex.Message}", manifestDesc.Digest, ex); }
        string mt = manifest.MediaType ?? manifestDesc.MediaType ?? MediaTypes.OciManifest;
        if (!MediaTypes.IsManifest(mt))
            throw ContainersException.Invalid("UnsupportedMediaType", $"The manifest media type '{mt}' is not supported.", mt);
        if (!MediaTypes.IsConfig(manifest.Config.MediaType))
            throw ContainersException.Invalid("UnsupportedMediaType", $"The config media type '{manifest.Config.MediaType}' is not an image configuration (an artifact, not an image).", manifest.Config.MediaType);
        foreach (var l in manifest.Layers)
        {
            if (MediaTypes.LayerCompressionOf(l.MediaType) is null)
                throw ContainersException.Invalid("UnsupportedMediaType", $"The layer media type '{l.MediaType}' is not supported (plain, gzip and zstd tar layers are).", l.MediaType);
            if (!src.Has("blobs/sha256/" + Digest.Hex(l.Digest)))
                throw ContainersException.NotFound("BlobNotFound", $"The layer blob {l.Digest} is missing from '{path}'.", l.Digest);
        }
        byte[] configBytes = ReadVerified(src, manifest.Config);
        ImageConfig config;
        try { config = ImageConfig.Parse(configBytes); }
        catch (JsonException ex) { throw ContainersException.Invalid("InvalidImageConfig", $"The image configuration {manifest.Config.Digest} is not valid: {ex.Message}", manifest.Config.Digest, ex); }
        if (config.RootFs.DiffIds.Count != manifest.Layers.Count)
            throw ContainersException.Invalid("LayerCountMismatch", $"The manifest lists {manifest.Layers.Count} layers but the configuration {config.RootFs.DiffIds.Count} diffIDs.", manifest.Config.Digest);
        return (manifestBytes, manifest, mt, configBytes, config);
    }

    private static byte[] ReadVerified(ISource src, Descriptor d)
    {
        string name = "blobs/sha256/" + Digest.Hex(d.Digest);
        if (!src.Has(name))
            throw ContainersException.NotFound("BlobNotFound", $"The blob {d.Digest} ({d.MediaType}) is missing.", d.Digest);
        byte[] b = src.ReadAll(name);
        string got = Digest.Of(b);
        if (got != d.Digest)
            throw ContainersException.DataLoss("BlobDigestMismatch", $"The blob {d.Digest} has the digest {got}: it is corrupt.", d.Digest);
        if (d.Size > 0 && b.Length != d.Size)
            throw ContainersException.DataLoss("BlobSizeMismatch", $"The blob {d.Digest} has {b.Length} bytes, not {d.Size}.", d.Digest);
        return b;
    }

    /// <summary>Follows an index to the image manifest for the platform.</summary>
    private static Descriptor ResolveManifest(ISource src, Descriptor d, string platform, int depth)
    {
        if (depth > 4) throw ContainersException.Invalid("InvalidOciIndex", "Indexes are nested too deep.", d.Digest);
        if (MediaTypes.IsManifest(d.MediaType)) return d;
        if (d.MediaType is not null && !MediaTypes.IsIndex(d.MediaType))
            throw ContainersException.Invalid("UnsupportedMediaType", $"The media type '{d.MediaType}' of {d.Digest} is not an image manifest or index.", d.MediaType);
        byte[] b = ReadVerified(src, d);
        string? mt = d.MediaType ?? SpecJson.PeekMediaType(b);
        if (MediaTypes.IsManifest(mt)) return new Descriptor { MediaType = mt, Digest = d.Digest, Size = d.Size };
        if (!MediaTypes.IsIndex(mt))
            throw ContainersException.Invalid("UnsupportedMediaType", $"The media type '{mt}' of {d.Digest} is not an image manifest or index.", mt);
        var idx = SpecJson.Parse<ImageIndex>(b);
        var parts = platform.Split('/');
        var match = idx.Manifests.FirstOrDefault(m => m.Platform is { } p && p.Os == parts[0] && p.Architecture == parts[1] && (parts.Length < 3 || p.Variant == parts[2]))
            ?? (idx.Manifests.Count == 1 && idx.Manifests[0].Platform is null ? idx.Manifests[0] : null);
        if (match is null)
            throw ContainersException.NotFound("NoMatchingPlatform", $"The index {d.Digest} has no image for {platform} (it has: {string.Join(", ", idx.Manifests.Select(m => m.Platform?.ToString() ?? "?"))}).", d.Digest);
        return ResolveManifest(src, match, platform, depth + 1);
    }

    private ImageRecord ImportRootFs(string path, ImportOptions options, IProgressSink progress, ContentAdded added, CancellationToken ct)
    {
        if (options.Names.Count == 0)
            throw ContainersException.Invalid("ImportNameRequired", "A root file system import needs -Name.", path);
        foreach (var n in options.Names) ImageReference.Parse(n);
        var cc = new ContainerConfig();
        ConfigChanges.Apply(cc, options.Changes);
        if (cc.Env is null) cc.Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
        progress.Report(new ProgressReport(1, "Importing " + Path.GetFileName(path), "Root file system", -1));
        LayerUnpackResult r;
        if (Directory.Exists(path))
        {
            // tar the directory into a blob while hashing, then unpack the blob
            string tmp = Root.NewTempPath("blob");
            try
            {
                string digest;
                long size;
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                using (var hs = new Content.HashingWriteStream(fs))
                {
                    LayerPacker.PackDirectory(path, hs, overlayUpper: false, ct);
                    hs.Flush();
                    digest = hs.Digest;
                    size = hs.BytesWritten;
                }
                using var rd = new FileStream(tmp, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                r = UnpackLayerTracked(added, rd, MediaTypes.OciLayer, digest, size, null, ct: ct);
            }
            finally { try { File.Delete(tmp); } catch (IOException) { } }
        }
        else
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            r = UnpackLayerTracked(added, s, MediaTypes.OciLayer, null, -1, null, ct: ct);
        }
        var mediaType = r.BlobDigest == r.DiffId ? MediaTypes.OciLayer : (IsZstd(r) ? MediaTypes.OciLayerZstd : MediaTypes.OciLayerGzip);
        var now = DateTime.UtcNow;
        var config = new ImageConfig
        {
            Created = now,
            Architecture = "amd64",
            Os = "linux",
            Config = cc,
            RootFs = new RootFs { DiffIds = [r.DiffId] },
            History = [new HistoryEntry { Created = now, CreatedBy = "Import-ContainerImage -RootFs " + Path.GetFileName(path), Comment = options.Message }],
        };
        byte[] configBytes = config.ToJsonBytes();
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Of(configBytes), Size = configBytes.Length },
            Layers = [new Descriptor { MediaType = mediaType, Digest = r.BlobDigest, Size = r.BlobSize }],
        };
        return RegisterImage(SpecJson.Serialize(manifest), configBytes, options.Names);
    }

    private bool IsZstd(LayerUnpackResult r)
    {
        using var s = Blobs.Open(r.BlobDigest);
        Span<byte> h = stackalloc byte[4];
        return s.Read(h) == 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd;
    }
}
