using System.Security.Cryptography;
using Containers.Engine.Spec;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Verifies the store: every record (image, names, container, network, volume) parses, every blob's
    /// content against its digest, every image's manifest, config, layer blobs and layer directories, every
    /// name, every short link. Each problem is one object; Severity Error means inconsistent, Garbage means
    /// unreferenced leftovers, Warning says what was not done. With <paramref name="repair"/>, a corrupt record
    /// is moved aside (renamed &lt;file&gt;.corrupt-&lt;UTC time&gt;, kept for forensics) and what nothing
    /// references is removed (names pointing nowhere, broken links, unreferenced blobs, layers and temp
    /// files); nothing is re-fetched. Blobs and layers are never collected while a record that could
    /// reference them cannot be read (a corrupt or set-aside image or container record): what is in use is
    /// then unknown.
    /// </summary>
    public IReadOnlyList<StoreProblem> Check(bool repair, IProgressSink? progress = null, CancellationToken ct = default)
    {
        progress ??= NullProgressSink.Instance;
        var problems = new List<StoreProblem>();
        void Add(string kind, string severity, string target, string msg, bool repaired = false)
            => problems.Add(new StoreProblem { Kind = kind, Severity = severity, Target = target, Message = msg, Repaired = repaired });

        using var gc = StoreLock.Acquire(Root, "gc", exclusive: repair, TimeSpan.FromMinutes(10), ct);
        // records: every one that does not parse is one Error finding naming its file
        foreach (var (kind, path) in CorruptRecords())
        {
            bool moved = repair && SetAside(path);
            Add(kind, "Error", path, moved
                ? $"The record does not parse; it was moved aside to '{Path.GetFileName(path)}.corrupt-*' for inspection."
                : "The record does not parse; listings skip it. -Repair moves it aside (renamed <file>.corrupt-<time>).", moved);
        }
        foreach (var aside in SetAsideRecords())
            Add("RecordSetAside", "Warning", aside, "A corrupt image record set aside by -Repair: blobs and layers are not collected while it exists. Delete it when it is no longer needed.");
        // blobs: content matches name
        var blobs = Blobs.List().ToList();
        var corrupt = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < blobs.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            progress.Report(new ProgressReport(3, "Verifying blobs", blobs[i][7..19], i * 100 / Math.Max(1, blobs.Count)));
            string got;
            using (var s = Blobs.Open(blobs[i])) got = Digest.FromHash(SHA256.HashData(s));
            if (got != blobs[i]) { corrupt.Add(blobs[i]); Add("BlobCorrupt", "Error", blobs[i], $"The blob's content has the digest {got}."); }
        }
        progress.Report(new ProgressReport(3, "Verifying blobs", "Done", 100, Completed: true));
        var blobSet = blobs.ToHashSet(StringComparer.Ordinal);
        var layerSet = Layers.List().ToHashSet(StringComparer.Ordinal);
        var metas = AllMeta().ToList();
        // names point at record keys (manifest digests); an old record file is named by its config
        var ids = metas.Select(Key).ToHashSet(StringComparer.Ordinal);
        // a name pointing at a corrupt or set-aside record is not dangling: that image's fate is unknown
        foreach (var f in Directory.EnumerateFiles(Root.Sub("images")))
        {
            string n = Path.GetFileName(f);
            if (n.Length >= 69 && Digest.IsLowerHex(n.AsSpan(0, 64)) && n[64..].StartsWith(".json", StringComparison.Ordinal))
                ids.Add(Digest.Sha256Prefix + n[..64]);
        }
        foreach (var m in metas)
        {
            if (!blobSet.Contains(m.ManifestDigest)) Add("ManifestMissing", "Error", m.Id, $"The manifest blob {m.ManifestDigest} is missing.");
            if (!blobSet.Contains(m.Id)) Add("ConfigMissing", "Error", m.Id, $"The config blob {m.Id} is missing.");
            foreach (var i in m.IndexDigests ?? [])
                if (!blobSet.Contains(i)) Add("IndexMissing", "Error", m.ManifestDigest, $"The index blob {i} the image was pulled through is missing.");
            foreach (var l in m.Layers)
            {
                if (!blobSet.Contains(l.BlobDigest)) Add("LayerBlobMissing", "Error", m.Id, $"The layer blob {l.BlobDigest} is missing.");
                if (!layerSet.Contains(l.DiffId) || !Layers.Has(l.DiffId)) Add("LayerMissing", "Error", m.Id, $"The layer directory of {l.DiffId} is missing.");
            }
        }
        CheckBuildCache(repair, blobSet, layerSet, (k, sev, t, msg, r) => Add(k, sev, t, msg, r));
        // names (a corrupt repositories.json was reported above and reads as none)
        Repositories repos;
        try { repos = ReadRepositories(); }
        catch (Errors.ContainersException ex) when (ex.Kind == Errors.ErrorKind.Corrupt) { repos = new Repositories(); }
        var badNames = repos.Names.Where(kv => !ids.Contains(kv.Value)).Select(kv => kv.Key).ToList();
        if (badNames.Count > 0)
        {
            if (repair)
                using (StoreLock.Acquire(Root, "images"))
                {
                    var r2 = ReadRepositories();
                    foreach (var n in badNames) r2.Names.Remove(n);
                    AtomicFile.WriteJson(RepositoriesPath, r2);
                }
            foreach (var n in badNames) Add("NameDangling", "Error", n, "The name points at an image that does not exist.", repair);
        }
        // layer dirs and links
        foreach (var l in layerSet)
        {
            string dir = Layers.DirOf(l);
            if (!Directory.Exists(Path.Combine(dir, "diff"))) Add("LayerIncomplete", "Error", l, "The layer directory has no diff.");
            else if (!File.Exists(Path.Combine(dir, "layer.json"))) Add("LayerIncomplete", "Error", l, "The layer directory has no layer.json.");
        }
        // garbage: never collected while what is in use is unknown ("mark unknown, don't collect")
        var (refBlobs, refLayers, unknown) = Referenced();
        if (unknown.Count > 0)
        {
            Add("CollectionSkipped", "Warning", Root.Path,
                $"Blobs and layers were not checked for use nor collected: {unknown.Count} record(s) that may reference them cannot be read ({string.Join(", ", unknown.Take(3))}{(unknown.Count > 3 ? ", ..." : "")}).");
            refBlobs.UnionWith(blobs);
            refLayers.UnionWith(layerSet);
        }
        foreach (var b in blobs.Where(b => !refBlobs.Contains(b)))
        {
            if (repair) Blobs.Delete(b);
            Add("BlobUnreferenced", "Garbage", b, "No image references this blob.", repair);
        }
        foreach (var l in layerSet.Where(l => !refLayers.Contains(l)))
        {
            if (repair) Layers.Remove(l);
            Add("LayerUnreferenced", "Garbage", l, "No image uses this layer.", repair);
        }
        // after the layers collected above: a layer interrupted before its "link" file was written leaves its short
        // link behind when it is removed, and the same repair must take that link too
        var lDir = Root.Sub("l");
        if (Directory.Exists(lDir))
            foreach (var link in Directory.EnumerateFileSystemEntries(lDir))
            {
                string target;
                try { target = LayerFs.Readlink(link); } catch (NativeException) { continue; }
                if (!Directory.Exists(Path.Combine(lDir, target)))
                {
                    if (repair) try { LayerFs.Unlink(link); } catch (NativeException) { }
                    Add("LinkBroken", "Garbage", link, $"The short link points at '{target}', which does not exist.", repair);
                }
            }
        var tmp = Root.Sub("tmp");
        if (Directory.Exists(tmp))
            foreach (var e in Directory.EnumerateFileSystemEntries(tmp))
            {
                string n = Path.GetFileName(e);
                if (!(n.StartsWith("layer-") || n.StartsWith("blob-") || n.StartsWith("trash-") || n.StartsWith("commit-"))) continue;
                // without the exclusive lock another process may be writing it right now
                if (!repair) { Add("TempLeftover", "Garbage", e, "A leftover of interrupted or running work."); continue; }
                if (Directory.Exists(e)) Snapshots.LayerStore.RemoveTree(e); else File.Delete(e);
                Add("TempLeftover", "Garbage", e, "A leftover of interrupted work.", true);
            }
        return problems;
    }

    /// <summary>Every state record of the root that does not parse, as (finding kind, path).</summary>
    private IEnumerable<(string Kind, string Path)> CorruptRecords()
    {
        bool Bad<T>(string path) where T : class
        {
            try { AtomicFile.ReadRecord<T>(path, "", ""); return false; }
            catch (Errors.ContainersException ex) when (ex.Kind == Errors.ErrorKind.Corrupt) { return true; }
            catch (IOException) { return false; }
        }
        if (Bad<Repositories>(RepositoriesPath)) yield return ("RepositoriesRecordCorrupt", RepositoriesPath);
        foreach (var f in Files(Root.Sub("images"), "*.json"))
        {
            string n = Path.GetFileNameWithoutExtension(f);
            if (n.Length == 64 && Digest.IsLowerHex(n) && Bad<ImageMeta>(f)) yield return ("ImageRecordCorrupt", f);
        }
        foreach (var d in Dirs(Root.Sub("containers")))
        {
            string f = Path.Combine(d, "config.json");
            if (Bad<Runtime.ContainerConfig>(f)) yield return ("ContainerRecordCorrupt", f);
        }
        foreach (var f in Files(Root.Sub("networks", "n"), "*.json"))
            if (Bad<Networking.NetworkRecord>(f)) yield return ("NetworkRecordCorrupt", f);
        foreach (var d in Dirs(Root.Sub("volumes")))
        {
            string f = Path.Combine(d, "volume.json");
            if (Bad<Volumes.VolumeStore.VolumeRecord>(f)) yield return ("VolumeRecordCorrupt", f);
        }
    }

    private static IEnumerable<string> Files(string dir, string pattern) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, pattern).Order(StringComparer.Ordinal).ToList() : [];
    private static IEnumerable<string> Dirs(string dir) => Directory.Exists(dir) ? Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal).ToList() : [];

    /// <summary>Renames a corrupt record to &lt;file&gt;.corrupt-&lt;UTC time&gt;; false when that failed.</summary>
    private static bool SetAside(string path)
    {
        try
        {
            File.Move(path, path + ".corrupt-" + DateTime.UtcNow.ToString("yyyyMMddTHHmmssfffZ", System.Globalization.CultureInfo.InvariantCulture));
            FileSys.FsyncDirectory(Path.GetDirectoryName(path)!);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
