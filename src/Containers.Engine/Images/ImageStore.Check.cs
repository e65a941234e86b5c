using System.Security.Cryptography;
using Containers.Engine.Spec;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Verifies the store: every blob's content against its digest, every image's manifest, config, layer
    /// blobs and layer directories, every name, every short link. Each problem is one object; Severity
    /// Error means inconsistent, Garbage means unreferenced leftovers. With <paramref name="repair"/>,
    /// what nothing references is removed (names pointing nowhere, broken links, unreferenced blobs,
    /// layers and temp files); nothing is re-fetched.
    /// </summary>
    public IReadOnlyList<StoreProblem> Check(bool repair, IProgressSink? progress = null, CancellationToken ct = default)
    {
        progress ??= NullProgressSink.Instance;
        var problems = new List<StoreProblem>();
        void Add(string kind, string severity, string target, string msg, bool repaired = false)
            => problems.Add(new StoreProblem { Kind = kind, Severity = severity, Target = target, Message = msg, Repaired = repaired });

        using var gc = StoreLock.Acquire(Root, "gc", exclusive: repair, TimeSpan.FromMinutes(10), ct);
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
        var ids = metas.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var m in metas)
        {
            if (!blobSet.Contains(m.ManifestDigest)) Add("ManifestMissing", "Error", m.Id, $"The manifest blob {m.ManifestDigest} is missing.");
            if (!blobSet.Contains(m.Id)) Add("ConfigMissing", "Error", m.Id, $"The config blob {m.Id} is missing.");
            foreach (var l in m.Layers)
            {
                if (!blobSet.Contains(l.BlobDigest)) Add("LayerBlobMissing", "Error", m.Id, $"The layer blob {l.BlobDigest} is missing.");
                if (!layerSet.Contains(l.DiffId) || !Layers.Has(l.DiffId)) Add("LayerMissing", "Error", m.Id, $"The layer directory of {l.DiffId} is missing.");
            }
        }
        // names
        var repos = ReadRepositories();
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
        // garbage
        var (refBlobs, refLayers) = Referenced();
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
}
