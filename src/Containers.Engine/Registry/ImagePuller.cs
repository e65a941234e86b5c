using System.Diagnostics;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Engine.Registry;

/// <summary>
/// Pull: resolve the reference (index -> platform manifest), fetch the config, then download every layer
/// not already in the store, in parallel, streaming each through sha256 (blob digest), the decompressor,
/// sha256 again (diffID) and the tar unpacker in one pass. Verified blobs and layers are renamed into the
/// store; the name is recorded last, so a failed or killed pull leaves nothing half-registered.
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
        var store = new RegistryStore(root);

        var top = await client.GetManifestAsync(r.Repository, r.Selector, target, ct).ConfigureAwait(false);
        string? indexDigest = null;
        var manifest = top;
        string platform = options.Platform ?? ManifestDoc.DefaultPlatform;
        if (ManifestDoc.IsIndex(top.MediaType))
        {
            indexDigest = top.Digest;
            var pick = ManifestDoc.SelectPlatform(ManifestDoc.ReadIndex(top.Bytes, target), platform, target);
            manifest = await client.GetManifestAsync(r.Repository, pick.Digest, target, ct).ConfigureAwait(false);
            progress.Verbose(Messages.SelectedPlatform(target, platform, pick.Digest));
        }
        if (!ManifestDoc.IsManifest(manifest.MediaType))
            throw ContainersException.Invalid("UnsupportedManifest", Messages.UnsupportedManifest(target, manifest.MediaType), target);

        var (configRef, layers) = ManifestDoc.ReadManifest(manifest.Bytes, target);
        byte[] config = store.HasBlob(configRef.Digest)
            ? store.ReadBlob(configRef.Digest, target)
            : await client.GetBlobBytesAsync(r.Repository, configRef.Digest, target, ct).ConfigureAwait(false);
        if (Digests.Sha256(config) != configRef.Digest)
            throw ContainersException.DataLoss("BlobDigestMismatch", Messages.DigestMismatch(configRef.Digest, Digests.Sha256(config)), target);
        var diffIds = ManifestDoc.DiffIds(config, target);
        if (diffIds.Count != layers.Count)
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, $"{layers.Count} layers but {diffIds.Count} diff_ids"), target);
        string actualPlatform = ManifestDoc.ConfigPlatform(config, target);

        int parent = Interlocked.Add(ref _activitySeed, layers.Count + 1);
        long total = layers.Sum(l => Math.Max(0, l.Size));
        long[] done = new long[layers.Count];
        long[] got = new long[layers.Count];
        int downloaded = 0, skipped = 0;
        string activity = Messages.PullActivity(target);
        progress.Report(new ProgressReport(parent, activity, Messages.PullStatus(0, total), 0));

        using var gate = new SemaphoreSlim(Math.Max(1, options.MaxParallel));
        var tasks = layers.Select((layer, i) => Task.Factory.StartNew(() =>
        {
            gate.Wait(ct);
            try
            {
                int id = parent + 1 + i;
                string name = Messages.LayerActivity(layer.Digest);
                bool haveLayer = store.HasLayer(diffIds[i]);
                if (haveLayer && store.HasBlob(layer.Digest))
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
                FetchLayer(client, store, r.Repository, layer, diffIds[i], unpack: !haveLayer, OnBytes, target, ct);
                Interlocked.Increment(ref downloaded);
                progress.Report(new ProgressReport(id, name, Messages.LayerDone, 100, parent, Completed: true));
            }
            finally { gate.Release(); }
        }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        try { await Task.WhenAll(tasks).ConfigureAwait(false); }
        catch (Exception) when (tasks.Count(t => t.IsFaulted) > 0)
        {
            // report the first real failure, not the cancellations it caused
            var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is ContainersException)
                ?? tasks.First(t => t.IsFaulted).Exception!.InnerException!;
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }

        var syncWatch = Stopwatch.StartNew();
        if (downloaded > 0) Native.Sys.FileSys.SyncFileSystem(root.Path);
        progress.Verbose($"layers done after {sw.ElapsedMilliseconds - syncWatch.ElapsedMilliseconds} ms; syncfs took {syncWatch.ElapsedMilliseconds} ms");
        store.WriteBlob(configRef.Digest, config);
        store.WriteBlob(manifest.Digest, manifest.Bytes);
        if (indexDigest is not null) store.WriteBlob(indexDigest, top.Bytes);
        string name = r.Name + ":" + (r.Tag ?? "latest");
        if (r.Tag is not null || r.Digest is null) store.SetReference(name, manifest.Digest, manifest.MediaType, configRef.Digest);
        store.SetReference(r.Name + "@" + manifest.Digest, manifest.Digest, manifest.MediaType, configRef.Digest);
        progress.Report(new ProgressReport(parent, activity, Messages.PullStatus(total, total), 100, Completed: true));
        return new ImagePullResult(r.Tag is null ? r.ToString() : name, r.Registry, r.Repository, r.Tag, manifest.Digest, indexDigest, configRef.Digest,
            actualPlatform, layers.Select(l => l.Digest).ToArray(), diffIds.ToArray(), total + configRef.Size, downloaded, skipped,
            got.Sum(), sw.Elapsed);
    }

    private static int Percent(long n, long total) => total <= 0 ? -1 : (int)Math.Clamp(n * 100 / total, 0, 100);

    /// <summary>Downloads one layer blob; when <paramref name="unpack"/>, unpacks it in the same pass.</summary>
    private static void FetchLayer(RegistryClient client, RegistryStore store, string repo, BlobRef layer, string diffId, bool unpack,
        Action<long> onBytes, object target, CancellationToken ct)
    {
        string tmpBlob = store.Root.NewTempPath("blob");
        string tmpDir = store.Root.NewTempPath("layer");
        bool haveBlob = store.HasBlob(layer.Digest);
        try
        {
            Stream source = haveBlob
                ? new FileStream(store.BlobPath(layer.Digest), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16)
                : client.OpenBlobAsync(repo, layer.Digest, layer.Size, target, ct).GetAwaiter().GetResult();
            string blobDigest, gotDiffId = "";
            long length;
            using (source)
            using (var copy = haveBlob ? null : new FileStream(tmpBlob, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, BufferSize = 1 << 16, PreallocationSize = Math.Max(0, layer.Size),
            }))
            using (var blob = new HashingStream(source, copy, onBytes, leaveOpen: true))
            {
                if (unpack)
                {
                    try
                    {
                        using var inflated = LayerUnpacker.Decompress(blob, layer.MediaType);
                        using var tar = new HashingStream(inflated, leaveOpen: true);
                        LayerUnpacker.Unpack(tar, tmpDir, ct);
                        tar.Drain();
                        gotDiffId = tar.Digest;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException && !(ex is ContainersException { Kind: ErrorKind.Unavailable }))
                    {
                        // a corrupt stream usually fails to inflate or untar before the digest can be checked:
                        // read the rest and blame the digest when that is what is wrong
                        try { blob.Drain(); } catch (Exception) when (!ct.IsCancellationRequested) { throw; }
                        if (blob.Digest != layer.Digest)
                            throw ContainersException.DataLoss("LayerDigestMismatch", Messages.DigestMismatch(layer.Digest, blob.Digest), target, ex);
                        if (ex is ContainersException) throw;
                        throw ContainersException.DataLoss("LayerInvalid", Messages.LayerCorrupt(layer.Digest, ex.Message), target, ex);
                    }
                }
                blob.Drain();
                blobDigest = blob.Digest;
                length = blob.BytesRead;
            }
            if (blobDigest != layer.Digest || (layer.Size >= 0 && length != layer.Size))
                throw ContainersException.DataLoss("LayerDigestMismatch", Messages.DigestMismatch(layer.Digest, blobDigest), target);
            if (unpack && gotDiffId != diffId)
                throw ContainersException.DataLoss("LayerDiffIdMismatch", Messages.DiffIdMismatch(diffId, gotDiffId), target);
            if (!haveBlob) store.CommitBlob(tmpBlob, layer.Digest);
            if (unpack) store.CommitLayer(tmpDir, diffId);
        }
        finally
        {
            TryDelete(tmpBlob);
            TryDeleteDir(tmpDir);
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void TryDeleteDir(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
