using System.Diagnostics;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Spec;
using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Engine.Registry;

/// <summary>
/// Push: every blob the registry already has is skipped (HEAD), blobs that came from another repository
/// of the same registry are mounted across, the rest uploaded (POST + PUT with digest), the manifest last.
/// An image pulled through a multi-platform index is pushed with that index (so the pushed name has the index's
/// digest, as the source had) when every manifest the index lists is in the local store with its blobs (each
/// platform pulled); otherwise its platform manifest alone is pushed, as docker does, with a warning.
/// </summary>
public static class ImagePusher
{
    private static int _activitySeed = 50000;

    public static ImagePushResult Push(StorageRoot root, string source, string? destination, RegistryOptions options, IProgressSink progress, CancellationToken ct)
        => PushAsync(root, source, destination, options, progress, ct).GetAwaiter().GetResult();

    public static async Task<ImagePushResult> PushAsync(StorageRoot root, string source, string? destination, RegistryOptions options, IProgressSink progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var images = new ImageStore(root);
        var image = images.Resolve(source);
        string srcName = image.Names.Count > 0 ? image.Names[0] : source;
        var dest = RegistryReference.Parse(destination ?? srcName);
        string target = dest.ToString();
        byte[] manifest = images.ReadManifest(image);
        string mediaType = string.IsNullOrEmpty(image.ManifestMediaType) ? MediaTypes.OciManifest : image.ManifestMediaType;
        string manifestDigest = image.ManifestDigest;
        var m = ManifestDoc.ReadManifest(manifest, source);
        // the index the pull went through, with every manifest it lists, when all of them are here
        var index = dest.Digest is null || image.IndexDigests.Contains(dest.Digest) ? CompleteIndex(images, image, source, progress) : null;
        // a blob of an image pulled from another repository of the same registry can be mounted across
        string? mountFrom = image.Names.Select(n => RegistryReference.TryParse(n))
            .FirstOrDefault(x => x is not null && x.Registry == dest.Registry && x.Repository != dest.Repository)?.Repository;
        using var client = new RegistryClient(dest.Registry, options);
        var blobs = index is null ? m.Layers.Append(m.Config).ToList()
            : index.Value.Children.SelectMany(c => c.M.Layers.Append(c.M.Config)).DistinctBy(b => b.Digest).ToList();
        foreach (var b in blobs)
            if (!images.Blobs.Has(b.Digest))
                throw ContainersException.NotFound("BlobNotFound", Messages.LocalBlobMissing(b.Digest), source);

        int parent = Interlocked.Add(ref _activitySeed, blobs.Count + 1);
        string activity = Messages.PushActivity(target);
        long total = blobs.Sum(b => Math.Max(0, b.Size));
        long[] done = new long[blobs.Count];
        int uploaded = 0, skipped = 0, mounted = 0;
        long bytes = 0;
        progress.Report(new ProgressReport(parent, activity, Messages.PullStatus(0, total), 0));
        using var gate = new SemaphoreSlim(Math.Max(1, options.MaxParallel));
        var tasks = blobs.Select((b, i) => Task.Run(async () =>
        {
            await gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                int id = parent + 1 + i;
                string name = Messages.LayerActivity(b.Digest);
                if (await client.HasBlobAsync(dest.Repository, b.Digest, target, ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref skipped);
                    done[i] = b.Size;
                    progress.Report(new ProgressReport(id, name, Messages.LayerExists, 100, parent, Completed: true));
                    return;
                }
                if (mountFrom is not null && await client.TryMountBlobAsync(dest.Repository, b.Digest, mountFrom, target, ct).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref mounted);
                    done[i] = b.Size;
                    progress.Report(new ProgressReport(id, name, Messages.LayerMounted, 100, parent, Completed: true));
                    return;
                }
                var last = Stopwatch.StartNew();
                string path = images.Blobs.PathOf(b.Digest);
                long size = new FileInfo(path).Length;
                await client.UploadBlobAsync(dest.Repository, b.Digest, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16),
                    size, n =>
                    {
                        done[i] = n;
                        if (last.ElapsedMilliseconds < 150) return;
                        last.Restart();
                        progress.Report(new ProgressReport(id, name, Messages.PushStatus(n, size), size > 0 ? (int)(n * 100 / size) : -1, parent));
                        long all = done.Sum();
                        progress.Report(new ProgressReport(parent, activity, Messages.PushStatus(all, total), total > 0 ? (int)Math.Min(100, all * 100 / total) : -1));
                    }, target, ct).ConfigureAwait(false);
                Interlocked.Increment(ref uploaded);
                Interlocked.Add(ref bytes, size);
                progress.Report(new ProgressReport(id, name, Messages.LayerDone, 100, parent, Completed: true));
            }
            finally { gate.Release(); }
        }, ct)).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        string digest;
        if (index is { } ix)
        {
            // the platform manifests by digest, then the index under the name
            foreach (var c in ix.Children)
                await client.PutManifestAsync(dest.Repository, c.Digest, c.Bytes, c.MediaType, target, ct).ConfigureAwait(false);
            digest = await client.PutManifestAsync(dest.Repository, dest.Tag ?? dest.Digest ?? ix.Digest, ix.Bytes, ix.MediaType, target, ct).ConfigureAwait(false);
        }
        else digest = await client.PutManifestAsync(dest.Repository, dest.Tag ?? dest.Digest ?? manifestDigest, manifest, mediaType, target, ct).ConfigureAwait(false);
        progress.Report(new ProgressReport(parent, activity, Messages.PushStatus(total, total), 100, Completed: true));
        Events.EventLog.Record(root, Model.ContainerEventType.Image, "push", image.Id, target, ("digest", digest));
        return new ImagePushResult(target, digest, uploaded, skipped, mounted, bytes, sw.Elapsed);
    }

    private readonly record struct Child(string Digest, byte[] Bytes, string MediaType, ImageManifest M);

    /// <summary>
    /// The index <paramref name="image"/> was pulled through, with each manifest it lists, when every one of them
    /// is in the local store with its config and layer blobs; else null, and a warning says that the platform
    /// manifest alone is pushed.
    /// </summary>
    private static (string Digest, byte[] Bytes, string MediaType, List<Child> Children)? CompleteIndex(ImageStore images, ImageRecord image, string source, IProgressSink progress)
    {
        if (image.IndexDigests.Count == 0) return null;
        string? incomplete = null;
        int have = 0, count = 0;
        foreach (var idxDigest in image.IndexDigests)
        {
            if (!images.Blobs.Has(idxDigest)) continue;
            byte[] bytes = images.Blobs.ReadAllBytes(idxDigest);
            ImageIndex idx;
            try { idx = ManifestDoc.Parse<ImageIndex>(bytes, source); }
            catch (ContainersException) { continue; }
            // only the index that lists this image's manifest (a nested index is not re-pushed)
            if (!idx.Manifests.Any(d => d.Digest == image.ManifestDigest)) continue;
            var children = new List<Child>();
            foreach (var d in idx.Manifests)
            {
                if (LocalManifest(images, d, source) is { } c) children.Add(c);
            }
            if (children.Count == idx.Manifests.Count)
                return (idxDigest, bytes, idx.MediaType ?? MediaTypes.OciIndex, children);
            incomplete = idxDigest;
            have = children.Count;
            count = idx.Manifests.Count;
        }
        if (incomplete is not null)
            progress.Warn(Messages.IndexIncomplete(source, incomplete, have, count, ManifestDoc.ConfigPlatform(image.Config), image.ManifestDigest));
        return null;
    }

    /// <summary>A manifest an index lists, when it and every blob it references are local; else null.</summary>
    private static Child? LocalManifest(ImageStore images, Descriptor d, string source)
    {
        if (!MediaTypes.IsManifest(d.MediaType) && d.MediaType is not null) return null;
        if (!images.Blobs.Has(d.Digest)) return null;
        byte[] bytes = images.Blobs.ReadAllBytes(d.Digest);
        ImageManifest man;
        try { man = ManifestDoc.ReadManifest(bytes, source); }
        catch (ContainersException) { return null; }
        if (!images.Blobs.Has(man.Config.Digest) || man.Layers.Any(l => !images.Blobs.Has(l.Digest))) return null;
        return new Child(d.Digest, bytes, d.MediaType ?? man.MediaType ?? MediaTypes.OciManifest, man);
    }
}
