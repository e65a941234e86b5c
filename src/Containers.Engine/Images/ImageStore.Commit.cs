using Containers.Engine.Content;
using Containers.Engine.Errors;
using Containers.Engine.Snapshots;
using Containers.Engine.Spec;

namespace Containers.Engine.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Commits a container: tars the overlay upper directory into a new layer (overlay whiteouts become
    /// OCI whiteouts), stores and unpacks it, and makes an image on top of <paramref name="parent"/> whose
    /// record remembers the parent's id (so the engine can tell which images need a rebuild).
    /// </summary>
    public ImageRecord CommitFromOverlayUpper(string upperDir, ImageRecord parent, CommitOptions options, CancellationToken ct = default, Func<(int Uid, int Gid), (int Uid, int Gid)>? mapIds = null)
    {
        if (!Directory.Exists(upperDir))
            throw ContainersException.NotFound("UpperDirNotFound", $"The container's upper directory '{upperDir}' does not exist.", upperDir);
        if (options.Name is not null) ImageReference.Parse(options.Name);
        using var write = BeginWrite(ct);
        string tmp = Root.NewTempPath("commit");
        LayerUnpackResult r;
        try
        {
            string digest;
            long size;
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var hs = new HashingWriteStream(fs))
            {
                LayerPacker.PackDirectory(upperDir, hs, overlayUpper: true, ct, null, mapIds);
                hs.Flush();
                digest = hs.Digest;
                size = hs.BytesWritten;
            }
            using var rd = new FileStream(tmp, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            r = Layers.UnpackLayer(rd, MediaTypes.OciLayer, digest, size, ct: ct);
        }
        finally { try { File.Delete(tmp); } catch (IOException) { } }

        var baseConfig = ImageConfig.Parse(ReadConfig(parent));
        var cc = options.Config?.Clone() ?? baseConfig.Config?.Clone() ?? new ContainerConfig();
        ConfigChanges.Apply(cc, options.Changes);
        var now = DateTime.UtcNow;
        var history = new List<HistoryEntry>(baseConfig.History ?? []);
        history.Add(new HistoryEntry { Created = now, CreatedBy = "Commit", Author = options.Author, Comment = options.Message });
        var config = new ImageConfig
        {
            Created = now,
            Author = options.Author ?? baseConfig.Author,
            Architecture = baseConfig.Architecture,
            Os = baseConfig.Os,
            Variant = baseConfig.Variant,
            Config = cc,
            RootFs = new RootFs { DiffIds = [.. baseConfig.RootFs.DiffIds, r.DiffId] },
            History = history,
        };
        byte[] configBytes = config.ToJsonBytes();
        var baseLayers = parent.Layers.Select(l => new Descriptor { MediaType = l.MediaType, Digest = l.BlobDigest, Size = l.BlobSize }).ToList();
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Of(configBytes), Size = configBytes.Length },
            Layers = [.. baseLayers.Select(ToOci), new Descriptor { MediaType = MediaTypes.OciLayer, Digest = r.BlobDigest, Size = r.BlobSize }],
        };
        return RegisterImage(SpecJson.Serialize(manifest), configBytes, options.Name is null ? [] : [options.Name], parentId: parent.Id);
    }

    private static Descriptor ToOci(Descriptor d) => new()
    {
        Digest = d.Digest,
        Size = d.Size,
        MediaType = MediaTypes.LayerCompressionOf(d.MediaType) switch
        {
            LayerCompression.Gzip => MediaTypes.OciLayerGzip,
            LayerCompression.Zstd => MediaTypes.OciLayerZstd,
            _ => MediaTypes.OciLayer,
        },
    };

    /// <summary>The image's history, newest first, with the layer each step made.</summary>
    public IReadOnlyList<ImageHistoryEntry> History(ImageRecord image)
    {
        var hist = image.Config.History ?? [];
        var list = new List<ImageHistoryEntry>();
        int layer = 0;
        var sizes = image.Layers.ToList();
        if (hist.Count == 0)
        {
            for (int i = 0; i < sizes.Count; i++)
                list.Add(new ImageHistoryEntry { ImageId = image.Id, Index = i, DiffId = sizes[i].DiffId, Size = sizes[i].Size, CreatedBy = "" });
        }
        for (int i = 0; i < hist.Count; i++)
        {
            var h = hist[i];
            bool empty = h.EmptyLayer == true;
            string? diff = null;
            long size = 0;
            if (!empty && layer < sizes.Count) { diff = sizes[layer].DiffId; size = sizes[layer].Size; layer++; }
            list.Add(new ImageHistoryEntry
            {
                ImageId = image.Id, Index = i, Created = h.Created?.ToUniversalTime(), CreatedBy = h.CreatedBy ?? "", Comment = h.Comment,
                Author = h.Author, EmptyLayer = empty, DiffId = diff, Size = size,
            });
        }
        list.Reverse();
        return list;
    }
}
