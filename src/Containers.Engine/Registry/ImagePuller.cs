using Containers.Engine.Content;
using System.Diagnostics;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Model;
using Containers.Engine.Spec;
using Containers.Engine.State;

namespace Containers.Engine.Registry;

/// <summary>
/// Pull: resolve the reference (index -> platform manifest), fetch the config, then download every layer
/// not already in the store, in parallel, each streamed straight into the image store's one-pass unpack
/// (blob digest, inflate, diffID, untar). The image is registered last, so a failed or killed pull leaves
/// nothing named.
/// </summary>
public static class ImagePuller
{
    private static int _activitySeed = 100;

    public static ImagePullResult Pull(StorageRoot root, string reference, RegistryOptions options, IProgressSink progress, CancellationToken ct)
        => PullAsync(root, reference, options, progress, ct).GetAwaiter().GetResult();

    public static async Task<ImagePullResult> PullAsync(StorageRoot root, string reference, RegistryOptions options, IProgressSink progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var r = RegistryReference.Parse(reference);
        string target = r.ToString();
        using var client = new RegistryClient(r.Registry, options);
        var images = new ImageStore(root);

        var top = await client.GetManifestAsync(r.Repository, r.Selector, target, ct).ConfigureAwait(false);
        string? indexDigest = null;
        var manifest = top;
        string platform = options.Platform ?? ManifestDoc.DefaultPlatform;
        if (MediaTypes.IsIndex(top.MediaType))
        {
            indexDigest = top.Digest;
            var pick = ManifestDoc.SelectPlatform(ManifestDoc.Parse<ImageIndex>(top.Bytes, target), platform, target);
            manifest = await client.GetManifestAsync(r.Repository, pick.Digest, target, ct).ConfigureAwait(false);
            progress.Verbose(Messages.SelectedPlatform(target, platform, pick.Digest));
        }
        if (!MediaTypes.IsManifest(manifest.MediaType))
            throw ContainersException.Invalid("UnsupportedManifest", Messages.UnsupportedManifest(target, manifest.MediaType), target);

        var m = ManifestDoc.ReadManifest(manifest.Bytes, target);
        var layers = m.Layers;
        byte[] configBytes = images.Blobs.Has(m.Config.Digest)
            ? images.Blobs.ReadAllBytes(m.Config.Digest)
            : await client.GetBlobBytesAsync(r.Repository, m.Config.Digest, target, ct).ConfigureAwait(false);
        if (Digest.Of(configBytes) != m.Config.Digest)
            throw ContainersException.DataLoss("BlobDigestMismatch", Messages.DigestMismatch(m.Config.Digest, Digest.Of(configBytes)), target);
        var config = ManifestDoc.ReadConfig(configBytes, target);
        var diffIds = config.RootFs.DiffIds;
        if (diffIds.Count != layers.Count)
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, $"{layers.Count} layers but {diffIds.Count} diff_ids"), target);

        int parent = Interlocked.Add(ref _activitySeed, layers.Count + 1);
        long total = layers.Sum(l => Math.Max(0, l.Size));
        long[] done = new long[layers.Count];
        long[] got = new long[layers.Count];
        int downloaded = 0, skipped = 0;
        string activity = Messages.PullActivity(target);
        progress.Report(new ProgressReport(parent, activity, Messages.PullStatus(0, total), 0));

        // what this pull adds (layers, their blobs) is removed again when it fails, and nothing else
        var added = new ContentAdded();
        try
        {
        using (images.BeginWrite(ct))
        {
            using var gate = new SemaphoreSlim(Math.Max(1, options.MaxParallel));
            // dedicated threads: the unpack reads synchronously, and must not wait on a starved thread pool
            var tasks = layers.Select((layer, i) => Task.Factory.StartNew(() =>
            {
                gate.Wait(ct);
                try
                {
                    int id = parent + 1 + i;
                    string name = Messages.LayerActivity(layer.Digest);
                    if (images.Layers.Has(diffIds[i]) && images.Blobs.Has(layer.Digest))
                    {
                        Interlocked.Increment(ref skipped);
                        done[i] = Math.Max(0, layer.Size);
                        progress.Report(new ProgressReport(id, name, Messages.LayerExists, 100, parent, Completed: true));
                        return;
                    }
                    var lastReport = Stopwatch.StartNew();
                    void OnBytes(long n)
                    {
                        done[i] = n;
                        got[i] = n;
                        if (lastReport.ElapsedMilliseconds < 150) return;
                        lastReport.Restart();
                        progress.Report(new ProgressReport(id, name, Messages.PullStatus(n, layer.Size), Percent(n, layer.Size), parent));
                        long all = done.Sum();
                        progress.Report(new ProgressReport(parent, activity, Messages.PullStatus(all, total), Percent(all, total)));
                    }
                    FetchLayer(client, images, added, r.Repository, layer, diffIds[i], OnBytes, target, ct);
                    Interlocked.Increment(ref downloaded);
                    progress.Report(new ProgressReport(id, name, Messages.LayerDone, 100, parent, Completed: true));
                }
                finally { gate.Release(); }
            }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
            try { await Task.WhenAll(tasks).ConfigureAwait(false); }
            catch (Exception) when (tasks.Any(t => t.IsFaulted))
            {
                // report the first real failure, not the cancellations it caused
                var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is ContainersException)
                    ?? tasks.First(t => t.IsFaulted).Exception!.InnerException!;
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            }

            string? name = r.Tag is null ? null : r.Name + ":" + r.Tag;
            // the index is kept with the record that references it (Test-ContainerStore, push)
            images.RegisterImage(manifest.Bytes, configBytes, name is null ? [] : [name], manifestMediaType: manifest.MediaType,
                indexBytes: indexDigest is not null ? top.Bytes : null);
        }
        }
        catch (Exception ex)
        {
            images.RemoveAdded(added);
            if (StorageFull.Of(ex, root, $"pulling {target}") is { } full) throw full;
            throw;
        }
        progress.Report(new ProgressReport(parent, activity, Messages.PullStatus(total, total), 100, Completed: true));
        Events.EventLog.Record(root, Model.ContainerEventType.Image, "pull", m.Config.Digest, r.Tag is null ? r.ToString() : r.Name + ":" + r.Tag,
            ("digest", manifest.Digest));
        return new ImagePullResult(r.Tag is null ? r.ToString() : r.Name + ":" + r.Tag, r.Registry, r.Repository, r.Tag, manifest.Digest, indexDigest, m.Config.Digest,
            ManifestDoc.ConfigPlatform(config), layers.Select(l => l.Digest).ToArray(), diffIds.ToArray(), total + m.Config.Size, downloaded, skipped,
            got.Sum(), sw.Elapsed);
    }

    private static int Percent(long n, long total) => total <= 0 ? -1 : (int)Math.Clamp(n * 100 / total, 0, 100);

    /// <summary>Streams one layer blob from the registry into the store's one-pass unpack.</summary>
    private static void FetchLayer(RegistryClient client, ImageStore images, ContentAdded added, string repo, Descriptor layer, string diffId,
        Action<long> onBytes, object target, CancellationToken ct)
    {
        using var source = client.OpenBlobAsync(repo, layer.Digest, layer.Size, target, ct).GetAwaiter().GetResult();
        // the store hashes the blob as it reads it, and tells a tampered blob (LayerDigestMismatch) from a corrupt one
        using var wire = new ProgressStream(source, onBytes);
        images.UnpackLayerTracked(added, wire, layer.MediaType ?? MediaTypes.OciLayerGzip, layer.Digest, layer.Size, diffId, storeBlob: true, ct);
    }
}
