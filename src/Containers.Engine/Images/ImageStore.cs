using System.Text.Json;
using Containers.Engine.Content;
using Containers.Engine.Errors;
using Containers.Engine.Snapshots;
using Containers.Engine.Spec;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Images;

/// <summary>
/// The image store of one storage root. One record per manifest, &lt;root&gt;/images/&lt;manifest hex&gt;.json
/// (config digest = the image id, layers, the indexes it was pulled through): two manifests of one config (a
/// gzip and a zstd variant, a docker-archive and an OCI archive of one image) are two records with the same
/// id. Names are one file &lt;root&gt;/repositories.json (name -> manifest digest, so moving a tag is one atomic
/// write). Roots written before (records named by config digest, names pointing at config digests, no
/// <c>Version</c>) are read as they are: a record's key is always its ManifestDigest, and old names are mapped
/// to the record of that config when read; the next write of a record or of the names stores the new form.
/// Blobs and layers are shared through <see cref="Blobs"/> and <see cref="Layers"/>.
/// Locks: "images" (exclusive) around record and name changes; "gc" shared while anything writes blobs or
/// layers that are not referenced yet (<see cref="BeginWrite"/>), exclusive while unreferenced data is deleted.
/// </summary>
public sealed partial class ImageStore
{
    public StorageRoot Root { get; }
    public BlobStore Blobs { get; }
    public LayerStore Layers { get; }

    public ImageStore(StorageRoot root)
    {
        Root = root;
        Blobs = new BlobStore(root);
        Layers = new LayerStore(root, Blobs);
    }

    internal sealed class ImageMeta
    {
        public string Id { get; set; } = "";
        public string ManifestDigest { get; set; } = "";
        public string ManifestMediaType { get; set; } = "";
        public List<ImageLayer> Layers { get; set; } = [];
        /// <summary>Index blobs a pull went through to this manifest (kept, so the store references them and a push can re-push one).</summary>
        public List<string>? IndexDigests { get; set; }
        public string? ParentId { get; set; }
        public DateTime Loaded { get; set; }
    }

    internal sealed class Repositories
    {
        /// <summary>2: names point at manifest digests (record keys); absent (0): at config digests (image ids), the old form.</summary>
        public int Version { get; set; }
        public Dictionary<string, string> Names { get; set; } = new(StringComparer.Ordinal);
    }

    private const int RepositoriesVersion = 2;

    /// <summary>The file of the record of a manifest (new form; an old record may still sit under its config's hex).</summary>
    private string RecordPath(string manifestDigest) => Root.Sub("images", Digest.Hex(manifestDigest) + ".json");
    private string RepositoriesPath => Root.Sub("repositories.json");

    /// <summary>Hold this while writing blobs or layers no image references yet, so no removal collects them.</summary>
    public IDisposable BeginWrite(CancellationToken ct = default) => StoreLock.Acquire(Root, "gc", exclusive: false, TimeSpan.FromMinutes(10), ct);

    /// <summary>
    /// The names (name -> manifest digest); a repositories.json that does not parse throws
    /// RepositoriesRecordCorrupt (Corrupt). The old form (name -> config digest) is mapped to the record of that
    /// config here (the one stored under the config's hex, which was the only one then); a name whose record
    /// cannot be read keeps its config digest, which still names the record's file.
    /// </summary>
    private Repositories ReadRepositories()
    {
        var repos = AtomicFile.ReadRecord<Repositories>(RepositoriesPath, "RepositoriesRecordCorrupt", "image name record") ?? new Repositories { Version = RepositoriesVersion };
        if (repos.Version >= RepositoriesVersion) return repos;
        var byConfig = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (m, file) in AllMetaQuiet())
            if (!byConfig.ContainsKey(m.Id) || Path.GetFileNameWithoutExtension(file) == Digest.Hex(m.Id)) byConfig[m.Id] = Key(m);
        var migrated = new Repositories { Version = RepositoriesVersion };
        foreach (var (n, id) in repos.Names) migrated.Names[n] = byConfig.GetValueOrDefault(id, id);
        return migrated;
    }

    /// <summary>The key of a record: its manifest digest (its id for a record that has none).</summary>
    private static string Key(ImageMeta m) => string.IsNullOrEmpty(m.ManifestDigest) ? m.Id : m.ManifestDigest;

    /// <summary>Every record that parses with its file, reporting nothing (for lookups that must not report twice).</summary>
    private IEnumerable<(ImageMeta Meta, string File)> AllMetaQuiet()
    {
        var dir = Root.Sub("images");
        if (!Directory.Exists(dir)) yield break;
        foreach (var f in Directory.EnumerateFiles(dir, "*.json"))
        {
            string n = Path.GetFileNameWithoutExtension(f);
            if (n.Length != 64 || !Digest.IsLowerHex(n)) continue;
            ImageMeta? m;
            try { m = ReadMetaFile(f); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { continue; }
            if (m is not null) yield return (m, f);
        }
    }

    /// <summary>
    /// The record of a manifest (its key): images/&lt;manifest hex&gt;.json, else an old record stored under its
    /// config's hex whose manifest it is. Null when absent; ImageRecordCorrupt when its own file does not parse.
    /// </summary>
    private ImageMeta? ReadMetaByKey(string key)
    {
        var m = ReadMetaFile(RecordPath(key));
        if (m is not null && Key(m) == key) return m;
        foreach (var (old, _) in AllMetaQuiet())
            if (Key(old) == key) return old;
        return null;
    }

    /// <summary>
    /// The names for display: a corrupt repositories.json reads as no names, so images by id still work; a
    /// listing (<paramref name="report"/>) reports it, a lookup by id does not (it needs no names).
    /// </summary>
    private Repositories ReadRepositoriesOrEmpty(bool report = true)
    {
        try { return ReadRepositories(); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt)
        {
            if (report) SkippedRecords.Report(ex);
            return new Repositories();
        }
    }

    private static ImageMeta? ReadMetaFile(string path)
        => AtomicFile.ReadRecord<ImageMeta>(path, "ImageRecordCorrupt", "image record");

    /// <summary>
    /// Every readable image record. One that does not parse is reported through <see cref="SkippedRecords"/>
    /// and added to <paramref name="corrupt"/> (its path) when given, then skipped.
    /// </summary>
    private IEnumerable<ImageMeta> AllMeta(List<string>? corrupt = null)
    {
        var dir = Root.Sub("images");
        if (!Directory.Exists(dir)) yield break;
        foreach (var f in Directory.EnumerateFiles(dir, "*.json"))
        {
            string n = Path.GetFileNameWithoutExtension(f);
            if (n.Length != 64 || !Digest.IsLowerHex(n)) continue;
            ImageMeta? m;
            try { m = ReadMetaFile(f); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt)
            {
                corrupt?.Add(f);
                SkippedRecords.Report(ex);
                continue;
            }
            if (m is not null) yield return m;
        }
    }

    /// <summary>Image records moved aside by Test-ContainerStore -Repair (&lt;id&gt;.json.corrupt-&lt;time&gt;), kept for forensics.</summary>
    private IEnumerable<string> SetAsideRecords()
    {
        var dir = Root.Sub("images");
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*.json.corrupt-*") : [];
    }

    private ImageRecord Build(ImageMeta m, Repositories repos, Dictionary<string, int>? layerUse)
    {
        var names = repos.Names.Where(kv => kv.Value == Key(m)).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
        ImageConfig cfg;
        try { cfg = ImageConfig.Parse(Blobs.ReadAllBytes(m.Id)); }
        catch (Exception ex) when (ex is ContainersException or JsonException) { cfg = new ImageConfig(); }
        long size = 0, shared = 0;
        var seen = new HashSet<string>();
        foreach (var l in m.Layers)
        {
            if (!seen.Add(l.DiffId)) continue;
            size += l.Size;
            if (layerUse is not null && layerUse.TryGetValue(l.DiffId, out int n) && n > 1) shared += l.Size;
        }
        return new ImageRecord
        {
            Id = m.Id,
            Names = names,
            RepoTags = names.Select(n => ImageReference.TryParse(n, out var r) ? r.FamiliarName : n).ToList(),
            ManifestDigest = m.ManifestDigest,
            ManifestMediaType = m.ManifestMediaType,
            IndexDigests = m.IndexDigests ?? [],
            Config = cfg,
            LayerDiffIds = m.Layers.Select(l => l.DiffId).ToList(),
            Layers = m.Layers,
            Created = cfg.Created?.ToUniversalTime() ?? m.Loaded,
            Size = size,
            SharedSize = shared,
            UniqueSize = size - shared,
            ParentId = m.ParentId,
        };
    }

    /// <summary>Every image, newest first, with shared/unique sizes.</summary>
    public IReadOnlyList<ImageRecord> List()
    {
        var metas = AllMeta().ToList();
        var repos = ReadRepositoriesOrEmpty();
        var use = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var m in metas)
            foreach (var d in m.Layers.Select(l => l.DiffId).Distinct())
                use[d] = use.GetValueOrDefault(d) + 1;
        return metas.Select(m => Build(m, repos, use)).OrderByDescending(r => r.Created).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Finds an image by id (the config digest: full, "sha256:"-prefixed or a unique prefix of 4+ hex digits),
    /// by its manifest digest ("sha256:"-prefixed, full), by name or by name@digest (a manifest, an index it
    /// was pulled through, or the config). Several records of one config (one per manifest) answer to its id:
    /// the one with a name comes first, then the one loaded first.
    /// </summary>
    public ImageRecord? TryResolve(string referenceOrId)
    {
        if (string.IsNullOrWhiteSpace(referenceOrId)) return null;
        string s = referenceOrId.Trim();
        // by id an image works without its names; a name needs them (RepositoriesRecordCorrupt below)
        var repos = ReadRepositoriesOrEmpty(report: false);
        string? hex = s.StartsWith("sha256:", StringComparison.Ordinal) ? s[7..] : s;
        if (hex.Length >= 4 && hex.Length <= 64 && Digest.IsLowerHex(hex))
        {
            var metas = AllMetaQuiet().Select(x => x.Meta).ToList();
            var byId = metas.Where(m => m.Id.AsSpan(7).StartsWith(hex, StringComparison.Ordinal)).ToList();
            int ids = byId.Select(m => m.Id).Distinct().Count();
            if (ids > 1)
                throw ContainersException.Conflict("ImageIdAmbiguous", $"The id prefix '{s}' matches {ids} images; give more digits.", s);
            var named = repos.Names.Values.ToHashSet(StringComparer.Ordinal);
            var hit = byId.OrderBy(m => named.Contains(Key(m)) ? 0 : 1).ThenBy(m => m.Loaded).ThenBy(Key, StringComparer.Ordinal).FirstOrDefault();
            if (hit is null && hex.Length == 64 && s.StartsWith("sha256:", StringComparison.Ordinal))
                hit = metas.FirstOrDefault(m => Key(m) == s);
            if (hit is not null) return Build(hit, repos, LayerUse());
            if (hex.Length == 64 || s.StartsWith("sha256:", StringComparison.Ordinal))
            {
                // a full id whose record does not parse: report that rather than "not found"
                if (hex.Length == 64) ReadMetaFile(RecordPath("sha256:" + hex));
                if (s.StartsWith("sha256:", StringComparison.Ordinal)) return null;
            }
        }
        if (!ImageReference.TryParse(s, out var r, out var err))
        {
            if (s.StartsWith("sha256:", StringComparison.Ordinal)) return null;
            throw err!;
        }
        ImageMeta? mm = null;
        if (r.Digest is not null)
        {
            var all = AllMetaQuiet().Select(x => x.Meta).ToList();
            mm = all.FirstOrDefault(x => x.ManifestDigest == r.Digest)
                ?? all.FirstOrDefault(x => x.IndexDigests?.Contains(r.Digest) == true)
                ?? all.FirstOrDefault(x => x.Id == r.Digest);
        }
        else if (ReadRepositories().Names.TryGetValue(r.ToString(), out var key)) mm = ReadMetaByKey(key);
        return mm is null ? null : Build(mm, repos, LayerUse());
    }

    /// <summary>The image of one record (its manifest digest).</summary>
    private ImageRecord ByKey(string key)
    {
        var m = ReadMetaByKey(key) ?? throw ContainersException.NotFound("ImageNotFound", $"The image {key} is not in the store.", key);
        return Build(m, ReadRepositoriesOrEmpty(report: false), LayerUse());
    }

    public ImageRecord Resolve(string referenceOrId)
        => TryResolve(referenceOrId) ?? throw ContainersException.NotFound("ImageNotFound", NotFoundMessage(referenceOrId), referenceOrId);

    /// <summary>"The image 'x' is not in the store." with the near names of the store when there are some.</summary>
    public string NotFoundMessage(string name)
    {
        var near = SuggestNames(name);
        return near.Count == 0 ? $"The image '{name}' is not in the store."
            : $"The image '{name}' is not in the store; did you mean {string.Join(" or ", near)}?";
    }

    /// <summary>
    /// Tags of the store (short form) near a name that was not found: the same repository under another
    /// registry or namespace (busybox:test for localhost/busybox:test), one whose last part starts with what
    /// was typed (busy for busybox), or one a few typing mistakes away (edit distance of the repository). A tag like the one asked for comes first; at most three.
    /// </summary>
    public IReadOnlyList<string> SuggestNames(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) return [];
        string n = name.Trim();
        int at = n.IndexOf('@');
        if (at >= 0) n = n[..at];
        int colon = n.LastIndexOf(':');
        string repo = colon > n.LastIndexOf('/') ? n[..colon] : n, tag = colon > n.LastIndexOf('/') ? n[(colon + 1)..] : "latest";
        string Base(string r) => r[(r.LastIndexOf('/') + 1)..];
        var hits = new List<(string Tag, int Score)>();
        IReadOnlyList<ImageRecord> all;
        try { all = List(); } catch (IOException) { return []; }
        foreach (var img in all)
            foreach (var full in img.Names)
            {
                string shortRepo = ImageRecord.ShortRepo(full), t = full[(full.LastIndexOf(':') + 1)..];
                bool near = shortRepo.EndsWith("/" + repo, StringComparison.OrdinalIgnoreCase)
                    || repo.EndsWith("/" + shortRepo, StringComparison.OrdinalIgnoreCase)
                    || string.Equals(Base(shortRepo), Base(repo), StringComparison.OrdinalIgnoreCase)
                    || (Base(repo).Length >= 3 && Base(shortRepo).StartsWith(Base(repo), StringComparison.OrdinalIgnoreCase))
                    || EditDistance(shortRepo.ToLowerInvariant(), repo.ToLowerInvariant()) <= 2
                    || EditDistance(Base(shortRepo).ToLowerInvariant(), Base(repo).ToLowerInvariant()) <= (Base(repo).Length > 4 ? 2 : 1);
                if (near) hits.Add(($"{shortRepo}:{t}", t == tag ? 0 : 1));
            }
        return hits.Where(h => !string.Equals(h.Tag, name, StringComparison.Ordinal)).OrderBy(h => h.Score).ThenBy(h => h.Tag, StringComparer.Ordinal)
            .Select(h => h.Tag).Distinct().Take(3).ToList();
    }

    private static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }

    private Dictionary<string, int> LayerUse()
    {
        var use = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var m in AllMeta())
            foreach (var d in m.Layers.Select(l => l.DiffId).Distinct())
                use[d] = use.GetValueOrDefault(d) + 1;
        return use;
    }

    /// <summary>The unpacked layer directories bottom to top as short paths (&lt;root&gt;/l/&lt;id&gt;) for overlay lowerdir.</summary>
    public IReadOnlyList<string> GetLayerPaths(ImageRecord image)
        => image.LayerDiffIds.Select(Layers.ShortPathOf).ToList();

    public byte[] ReadManifest(ImageRecord image) => Blobs.ReadAllBytes(image.ManifestDigest);
    public byte[] ReadConfig(ImageRecord image) => Blobs.ReadAllBytes(image.Id);
    public Stream OpenLayerBlob(ImageLayer layer) => Blobs.Open(layer.BlobDigest);

    /// <summary>
    /// Makes an image from a manifest and its config whose layer blobs are stored and layers unpacked
    /// (ingest/unpack them first, under <see cref="BeginWrite"/>). Writes the record of this manifest (another
    /// manifest of the same config keeps its own) and moves the names to it atomically. <paramref name="indexBytes"/>:
    /// the index a pull went through, stored and referenced by the record.
    /// </summary>
    public ImageRecord RegisterImage(byte[] manifestBytes, byte[] configBytes, IEnumerable<string>? names = null, string? parentId = null, string? manifestMediaType = null,
        byte[]? indexBytes = null)
    {
        ImageManifest manifest;
        try { manifest = SpecJson.Parse<ImageManifest>(manifestBytes); }
        catch (JsonException ex) { throw ContainersException.Invalid("InvalidManifest", $"The image manifest is not valid JSON: {ex.Message}", null, ex); }
        string mt = manifestMediaType ?? manifest.MediaType ?? MediaTypes.OciManifest;
        if (!MediaTypes.IsManifest(mt))
            throw ContainersException.Invalid("UnsupportedMediaType", $"The manifest media type '{mt}' is not supported (OCI image manifest and Docker schema 2 are).", mt);
        string configDigest = Digest.Of(configBytes);
        if (manifest.Config.Digest != configDigest)
            throw ContainersException.DataLoss("ConfigDigestMismatch", $"The image configuration's digest is {configDigest}, but the manifest says {manifest.Config.Digest}.", manifest.Config.Digest);
        ImageConfig config;
        try { config = ImageConfig.Parse(configBytes); }
        catch (JsonException ex) { throw ContainersException.Invalid("InvalidImageConfig", $"The image configuration is not valid: {ex.Message}", configDigest, ex); }
        var diffIds = config.RootFs.DiffIds;
        if (diffIds.Count != manifest.Layers.Count)
            throw ContainersException.Invalid("LayerCountMismatch", $"The manifest lists {manifest.Layers.Count} layers but the configuration {diffIds.Count} diffIDs.", configDigest);
        var layers = new List<ImageLayer>();
        for (int i = 0; i < diffIds.Count; i++)
        {
            var d = manifest.Layers[i];
            if (!Blobs.Has(d.Digest))
                throw ContainersException.NotFound("BlobNotFound", $"The layer blob {d.Digest} is not in the store.", d.Digest);
            if (!Layers.Has(diffIds[i]))
                throw ContainersException.NotFound("LayerNotFound", $"The layer {diffIds[i]} is not unpacked in the store.", diffIds[i]);
            layers.Add(new ImageLayer { DiffId = diffIds[i], BlobDigest = d.Digest, MediaType = d.MediaType ?? MediaTypes.OciLayer, BlobSize = d.Size, Size = Layers.SizeOf(diffIds[i]) });
        }
        var nameList = (names ?? []).Select(n => ImageReference.Parse(n)).Select(r => r.Digest is null ? r.ToString() : r.WithTag(r.Tag ?? ImageReference.DefaultTag).ToString()).Distinct().ToList();
        Blobs.Put(manifestBytes);
        Blobs.Put(configBytes);
        if (indexBytes is not null) Blobs.Put(indexBytes);
        string manifestDigest = Digest.Of(manifestBytes);
        // no syncfs: blobs and layers are whole once renamed (kill -9 safe); their contents reach the disk
        // by the kernel's writeback, as with podman and docker (ARCHITECTURE.md, "Durability")
        using (StoreLock.Acquire(Root, "images"))
        {
            ImageMeta? existing;
            try { existing = ReadMetaByKey(manifestDigest); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { existing = null; } // rewritten whole below
            var indexes = new List<string>(existing?.IndexDigests ?? []);
            if (indexBytes is not null && !indexes.Contains(Digest.Of(indexBytes))) indexes.Add(Digest.Of(indexBytes));
            var meta = new ImageMeta
            {
                Id = configDigest,
                ManifestDigest = manifestDigest,
                ManifestMediaType = mt,
                Layers = layers,
                IndexDigests = indexes.Count > 0 ? indexes : null,
                ParentId = parentId ?? existing?.ParentId,
                Loaded = existing?.Loaded ?? DateTime.UtcNow,
            };
            AtomicFile.WriteJson(RecordPath(manifestDigest), meta);
            // an old record of this manifest under its config's hex is replaced by the new one (names are
            // mapped to the manifest by ReadRepositories, and written in the new form below)
            string oldPath = RecordPath(configDigest);
            if (oldPath != RecordPath(manifestDigest) && File.Exists(oldPath))
            {
                ImageMeta? old = null;
                try { old = ReadMetaFile(oldPath); } catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { }
                if (old is not null && Key(old) == manifestDigest)
                {
                    // names in the old form point at the config: store them mapped before the old file goes
                    try { if (File.Exists(RepositoriesPath)) AtomicFile.WriteJson(RepositoriesPath, ReadRepositories()); }
                    catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { }
                    File.Delete(oldPath);
                    FileSys.FsyncDirectory(Root.Sub("images"));
                }
            }
            if (nameList.Count > 0)
            {
                var repos = ReadRepositories();
                foreach (var n in nameList) repos.Names[n] = manifestDigest;
                AtomicFile.WriteJson(RepositoriesPath, repos);
            }
        }
        return ByKey(manifestDigest);
    }

    /// <summary>Points a name at an image (moving it from another image, as docker tag does).</summary>
    public ImageRecord Tag(string referenceOrId, string newName)
    {
        var img = Resolve(referenceOrId);
        var r = ImageReference.Parse(newName);
        if (r.Digest is not null)
            throw ContainersException.Invalid("InvalidTagReference", $"'{newName}' has a digest; a tag cannot.", newName);
        using (StoreLock.Acquire(Root, "images"))
        {
            var repos = ReadRepositories();
            repos.Names[r.ToString()] = img.ManifestDigest;
            AtomicFile.WriteJson(RepositoriesPath, repos);
        }
        Events.EventLog.Record(Root, Model.ContainerEventType.Image, "tag", img.Id, r.ToString());
        return ByKey(img.ManifestDigest);
    }

    /// <summary>Removes one name; the image stays (possibly dangling).</summary>
    public ImageRecord Untag(string name)
    {
        var r = ImageReference.Parse(name);
        using (StoreLock.Acquire(Root, "images"))
        {
            var repos = ReadRepositories();
            if (!repos.Names.Remove(r.ToString(), out var key))
                throw ContainersException.NotFound("ImageTagNotFound", $"No image is tagged '{name}'.", name);
            AtomicFile.WriteJson(RepositoriesPath, repos);
            var untagged = ByKey(key);
            Events.EventLog.Record(Root, Model.ContainerEventType.Image, "untag", untagged.Id, r.ToString());
            return untagged;
        }
    }

    /// <summary>Ids of the images containers use: the imageId of &lt;root&gt;/containers/&lt;id&gt;/config.json (image-id in older roots).</summary>
    public Dictionary<string, List<string>> ImagesInUse()
    {
        var used = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var dir = Root.Sub("containers");
        if (!Directory.Exists(dir)) return used;
        foreach (var c in Directory.EnumerateDirectories(dir))
        {
            string? id = ContainerImageId(c);
            if (string.IsNullOrEmpty(id)) continue;
            if (!id.StartsWith("sha256:", StringComparison.Ordinal)) id = "sha256:" + id;
            if (!used.TryGetValue(id, out var list)) used[id] = list = [];
            list.Add(Path.GetFileName(c));
        }
        return used;
    }

    private static string? ContainerImageId(string containerDir)
    {
        try
        {
            string legacy = Path.Combine(containerDir, "image-id");
            if (File.Exists(legacy)) return File.ReadAllText(legacy).Trim();
            return AtomicFile.ReadJson<Runtime.ContainerConfig>(Path.Combine(containerDir, "config.json"))?.ImageId;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException) { return null; }
    }

    /// <summary>
    /// docker rmi: a name untags (and deletes the image when it was its last name); an id deletes the
    /// image with all its names (several names need force). An image a container uses is refused
    /// (Conflict ImageInUse) unless force. Then layers and blobs nothing uses any more are deleted.
    /// Returns the untagged names and the deleted image id (or null).
    /// </summary>
    public (IReadOnlyList<string> Untagged, string? DeletedId) Remove(string referenceOrId, bool force = false)
    {
        var img = Resolve(referenceOrId);
        var untagged = new List<string>();
        string? deleted = null;
        bool byName = img.Names.Count > 0 && !LooksLikeId(referenceOrId, img.Id);
        using (StoreLock.Acquire(Root, "images"))
        {
            var repos = ReadRepositories();
            // the records of this image id: one per manifest of its config (containers use the id, so any of them)
            var records = AllMetaQuiet().Where(x => x.Meta.Id == img.Id).ToList();
            var deleteFiles = new List<string>();
            var inUse = ImagesInUse().GetValueOrDefault(img.Id);
            if (byName)
            {
                string n = ImageReference.Parse(referenceOrId).ToString();
                bool last = repos.Names.Count(kv => kv.Value == img.ManifestDigest) <= 1;
                // another record of the same config keeps the id a container uses
                bool othersKeepId = records.Any(x => Key(x.Meta) != img.ManifestDigest);
                if (last && !othersKeepId && inUse is { Count: > 0 } && !force)
                    throw ContainersException.Conflict("ImageInUse", $"The image '{referenceOrId}' is used by container(s) {string.Join(", ", inUse)}; remove them first or use -Force.", referenceOrId);
                if (repos.Names.Remove(n)) untagged.Add(n);
                if (last && (othersKeepId || inUse is null || inUse.Count == 0))
                {
                    deleted = img.Id;
                    deleteFiles.AddRange(records.Where(x => Key(x.Meta) == img.ManifestDigest).Select(x => x.File));
                }
            }
            else
            {
                var keys = records.Select(x => Key(x.Meta)).ToHashSet(StringComparer.Ordinal);
                var names = repos.Names.Where(kv => keys.Contains(kv.Value)).Select(kv => kv.Key).ToList();
                if (inUse is { Count: > 0 } && !force)
                    throw ContainersException.Conflict("ImageInUse", $"The image {img.ShortId} is used by container(s) {string.Join(", ", inUse)}; remove them first or use -Force.", referenceOrId);
                if (names.Count > 1 && !force)
                    throw ContainersException.Conflict("ImageHasMultipleTags", $"The image {img.ShortId} has {names.Count} tags ({string.Join(", ", names)}); remove them by name or use -Force.", referenceOrId);
                foreach (var n in names) { repos.Names.Remove(n); untagged.Add(n); }
                deleted = img.Id;
                deleteFiles.AddRange(records.Select(x => x.File));
            }
            if (untagged.Count > 0) AtomicFile.WriteJson(RepositoriesPath, repos);
            if (deleteFiles.Count > 0)
            {
                foreach (var f in deleteFiles) File.Delete(f);
                FileSys.FsyncDirectory(Root.Sub("images"));
                // a removed image's build recipe goes with it (keyed by manifest, like the record)
                foreach (var k in records.Where(x => deleteFiles.Contains(x.File)).Select(x => Key(x.Meta))) new Build.RecipeStore(Root).Delete(k);
            }
        }
        foreach (var n in untagged) Events.EventLog.Record(Root, Model.ContainerEventType.Image, "untag", img.Id, n);
        if (deleted is not null) Events.EventLog.Record(Root, Model.ContainerEventType.Image, "remove", deleted, untagged.Count > 0 ? untagged[0] : null);
        if (deleted is not null) CollectGarbage();
        return (untagged, deleted);
    }

    private static bool LooksLikeId(string s, string id)
    {
        string hex = s.StartsWith("sha256:", StringComparison.Ordinal) ? s[7..] : s;
        return hex.Length >= 4 && Digest.IsLowerHex(hex) && id[7..].StartsWith(hex, StringComparison.Ordinal);
    }

    /// <summary>
    /// Deletes blobs and layers no image or container references; returns how many of each. Collects nothing
    /// while a record that could reference more cannot be read (see <see cref="Referenced"/>).
    /// </summary>
    public (int Blobs, int Layers) CollectGarbage(TimeSpan? wait = null)
    {
        using var gc = StoreLock.Acquire(Root, "gc", exclusive: true, wait ?? TimeSpan.FromMinutes(10));
        var (blobs, layers, unknown) = Referenced();
        int nb = 0, nl = 0;
        if (unknown.Count > 0) { CleanTemp(); return (0, 0); }
        foreach (var b in Blobs.List().ToList())
            if (!blobs.Contains(b)) { Blobs.Delete(b); nb++; }
        foreach (var l in Layers.List().ToList())
            if (!layers.Contains(l)) { Layers.Remove(l); nl++; }
        CleanTemp();
        return (nb, nl);
    }

    /// <summary>
    /// What may be in use: the blobs and layers of every readable image record, and the layers every
    /// container's config.json lists as LowerDirs (in use even when the image record is gone or corrupt).
    /// <c>Unknown</c> lists the records that could reference more but cannot be read (corrupt image or
    /// container records, and image or container records set aside by Test-ContainerStore -Repair): while
    /// it is not empty, what is in use is unknown and nothing may be collected.
    /// </summary>
    private (HashSet<string> Blobs, HashSet<string> Layers, List<string> Unknown) Referenced()
    {
        var blobs = new HashSet<string>(StringComparer.Ordinal);
        var layers = new HashSet<string>(StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var m in AllMeta(unknown))
        {
            blobs.Add(m.Id);
            blobs.Add(m.ManifestDigest);
            foreach (var i in m.IndexDigests ?? []) blobs.Add(i);
            foreach (var l in m.Layers) { blobs.Add(l.BlobDigest); layers.Add(l.DiffId); }
        }
        AddBuildCacheReferences(blobs, layers);
        unknown.AddRange(SetAsideRecords());
        var dir = Root.Sub("containers");
        if (Directory.Exists(dir))
            foreach (var c in Directory.EnumerateDirectories(dir))
            {
                string path = Path.Combine(c, "config.json");
                Runtime.ContainerConfig? cfg;
                try { cfg = AtomicFile.ReadRecord<Runtime.ContainerConfig>(path, "ContainerRecordCorrupt", "container record"); }
                catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { unknown.Add(path); continue; }
                if (cfg is null)
                {
                    unknown.AddRange(Directory.EnumerateFiles(c, "config.json.corrupt-*"));
                    continue;
                }
                if (!string.IsNullOrEmpty(cfg.ImageId)) blobs.Add(cfg.ImageId);
                foreach (var lower in cfg.LowerDirs)
                    if (LayerOfLowerDir(lower) is { } diffId) layers.Add(diffId);
            }
        return (blobs, layers, unknown);
    }

    /// <summary>The layer (diffID) a container's lower directory is: &lt;root&gt;/l/&lt;short&gt; (a link to ../layers/&lt;hex&gt;/diff) or &lt;root&gt;/layers/&lt;hex&gt;/diff; null for anything else (a -RootFs directory).</summary>
    private string? LayerOfLowerDir(string lower)
    {
        string p = lower;
        string lDir = Root.Sub("l") + "/";
        if (p.StartsWith(lDir, StringComparison.Ordinal))
        {
            string target;
            try { target = LayerFs.Readlink(p); }
            catch (NativeException) { return null; }
            p = Path.GetFullPath(Path.Combine(Root.Sub("l"), target));
        }
        string layersDir = Root.Sub("layers") + "/";
        if (!p.StartsWith(layersDir, StringComparison.Ordinal)) return null;
        string hex = p[layersDir.Length..].Split('/')[0];
        return hex.Length == 64 && Digest.IsLowerHex(hex) ? Digest.Sha256Prefix + hex : null;
    }

    /// <summary>Removes leftovers of interrupted work in &lt;root&gt;/tmp (call with the gc lock held exclusively).</summary>
    private int CleanTemp()
    {
        int n = 0;
        var tmp = Root.Sub("tmp");
        if (!Directory.Exists(tmp)) return 0;
        foreach (var e in Directory.EnumerateFileSystemEntries(tmp))
        {
            string name = Path.GetFileName(e);
            if (!(name.StartsWith("layer-") || name.StartsWith("blob-") || name.StartsWith("trash-") || name.StartsWith("import-") || name.StartsWith("commit-"))) continue;
            if (Directory.Exists(e)) LayerStore.RemoveTree(e); else File.Delete(e);
            n++;
        }
        return n;
    }
}
