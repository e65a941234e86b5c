using Containers.Engine.Content;
using Containers.Engine.Snapshots;
using Containers.Engine.Spec;

namespace Containers.Engine.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// A build step's layer: packs <paramref name="dir"/> (an overlay upper directory of a RUN container, or a
    /// staging tree a COPY made) into a layer, stores and unpacks it, and returns its diff ID (added to
    /// <paramref name="config"/>'s rootfs) and the descriptor for the manifest.
    /// </summary>
    public Descriptor AddBuildLayer(string dir, bool overlayUpper, ImageConfig config, CancellationToken ct = default, Func<(int Uid, int Gid), (int Uid, int Gid)>? mapIds = null)
    {
        using var write = BeginWrite(ct);
        string tmp = Root.NewTempPath("buildlayer");
        try
        {
            string digest;
            long size;
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var hs = new HashingWriteStream(fs))
            {
                LayerPacker.PackDirectory(dir, hs, overlayUpper, ct, null, mapIds);
                hs.Flush();
                digest = hs.Digest;
                size = hs.BytesWritten;
            }
            using var rd = new FileStream(tmp, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var r = Layers.UnpackLayer(rd, MediaTypes.OciLayer, digest, size, ct: ct);
            config.RootFs.DiffIds.Add(r.DiffId);
            return new Descriptor { MediaType = MediaTypes.OciLayer, Digest = r.BlobDigest, Size = r.BlobSize };
        }
        finally { try { File.Delete(tmp); } catch (IOException) { } }
    }

    /// <summary>The manifest descriptors of an image's layers (OCI media types).</summary>
    public List<Descriptor> LayerDescriptors(ImageRecord? image)
        => image is null ? [] : image.Layers.Select(l => ToOci(new Descriptor { MediaType = l.MediaType, Digest = l.BlobDigest, Size = l.BlobSize })).ToList();

    /// <summary>Registers a built image: its layers, its config, names and manifest annotations.</summary>
    public ImageRecord RegisterBuiltImage(IReadOnlyList<Descriptor> layers, ImageConfig config, IEnumerable<string> names, string? parentId, Dictionary<string, string>? annotations = null)
    {
        using var write = BeginWrite();
        byte[] configBytes = config.ToJsonBytes();
        var manifest = new ImageManifest
        {
            MediaType = MediaTypes.OciManifest,
            Config = new Descriptor { MediaType = MediaTypes.OciConfig, Digest = Digest.Of(configBytes), Size = configBytes.Length },
            Layers = [.. layers],
            Annotations = annotations is { Count: > 0 } ? annotations : null,
        };
        return RegisterImage(SpecJson.Serialize(manifest), configBytes, names, parentId: parentId);
    }
}
