using Containers.Engine.Errors;
using Containers.Engine.Snapshots;
using Containers.Engine.State;

namespace Containers.Engine.Images;

/// <summary>
/// What one pull or import wrote that was not in the store before it (layer blobs, unpacked layers), so a
/// failure can remove exactly that (<see cref="ImageStore.RemoveAdded"/>). Thread-safe: a pull's layers are
/// written in parallel.
/// </summary>
public sealed class ContentAdded
{
    private readonly object _gate = new();
    private readonly HashSet<string> _blobs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _layers = new(StringComparer.Ordinal);

    public void Blob(string digest) { lock (_gate) _blobs.Add(digest); }
    public void Layer(string diffId) { lock (_gate) _layers.Add(diffId); }
    internal (List<string> Blobs, List<string> Layers) Snapshot() { lock (_gate) return ([.. _blobs], [.. _layers]); }
}

public sealed partial class ImageStore
{
    /// <summary>
    /// Unpacks a layer (<see cref="LayerStore.UnpackLayer"/>) and notes in <paramref name="added"/> the blob
    /// and layer it may add that were not stored before (noted first, so a failure half way is covered too).
    /// </summary>
    public LayerUnpackResult UnpackLayerTracked(ContentAdded added, Stream source, string mediaType, string? expectedBlobDigest, long expectedBlobSize,
        string? expectedDiffId, bool storeBlob = true, CancellationToken ct = default)
    {
        bool hadLayer = expectedDiffId is not null && Layers.Has(expectedDiffId);
        if (expectedDiffId is not null && !hadLayer) added.Layer(expectedDiffId);
        if (storeBlob && expectedBlobDigest is not null && !Blobs.Has(expectedBlobDigest)) added.Blob(expectedBlobDigest);
        var r = Layers.UnpackLayer(source, mediaType, expectedBlobDigest, expectedBlobSize, expectedDiffId, storeBlob, ct);
        // a blob whose digest was not known in advance (a docker-archive layer) is new when its layer was
        if (!r.AlreadyPresent)
        {
            added.Layer(r.DiffId);
            if (storeBlob && expectedBlobDigest is null) added.Blob(r.BlobDigest);
        }
        return r;
    }

    /// <summary>
    /// After a failed pull or import (its <see cref="BeginWrite"/> released): deletes what it added that no
    /// record or container references now, and nothing else. Waits for the exclusive gc lock (other writers
    /// finish first, so a layer another pull added meanwhile and registered is seen as referenced); when that
    /// takes too long, or while a record cannot be read (what is in use is unknown), it leaves the data for
    /// Test-ContainerStore -Repair. Never throws: the caller reports the failure that led here.
    /// </summary>
    public void RemoveAdded(ContentAdded added)
    {
        var (blobs, layers) = added.Snapshot();
        if (blobs.Count == 0 && layers.Count == 0) return;
        try
        {
            using var gc = StoreLock.Acquire(Root, "gc", exclusive: true, TimeSpan.FromSeconds(30));
            var (refBlobs, refLayers, unknown) = Referenced();
            if (unknown.Count > 0) return;
            foreach (var b in blobs)
                if (!refBlobs.Contains(b)) Blobs.Delete(b);
            foreach (var l in layers)
                if (!refLayers.Contains(l)) Layers.Remove(l);
        }
        catch (Exception ex) when (ex is ContainersException or IOException or UnauthorizedAccessException or Native.Sys.NativeException) { }
    }
}
