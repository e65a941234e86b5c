using System.Formats.Tar;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Spec;
using Containers.Engine.State;

namespace Containers.Engine.Images;

/// <summary>The archive formats Export-ContainerImage writes.</summary>
public enum ImageArchiveFormat
{
    /// <summary>docker save layout (manifest.json): docker load and podman load read it.</summary>
    DockerArchive,
    /// <summary>OCI image layout in a tar (oci-layout, index.json, blobs/): podman load and skopeo read it.</summary>
    OciArchive,
}

public sealed partial class ImageStore
{
    /// <summary>
    /// Writes images to an archive with their stored blobs unchanged, so the config digest and layer
    /// diffIDs a loader computes equal ours. Written to a temp file beside the target, then renamed.
    /// </summary>
    public void Export(IReadOnlyList<ImageRecord> images, string path, ImageArchiveFormat format, IProgressSink? progress = null, CancellationToken ct = default)
    {
        progress ??= NullProgressSink.Instance;
        if (images.Count == 0) throw ContainersException.Invalid("NothingToExport", "No image to export.", path);
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) throw ContainersException.NotFound("ExportDirectoryNotFound", $"The directory '{dir}' does not exist.", path);
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                using (var w = new TarWriter(fs, TarEntryFormat.Pax, leaveOpen: true))
                {
                    if (format == ImageArchiveFormat.DockerArchive) WriteDockerArchive(w, images, progress, ct);
                    else WriteOciArchive(w, images, progress, ct);
                }
                fs.Flush(true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally { try { File.Delete(tmp); } catch (IOException) { } }
    }

    private static void AddBytes(TarWriter w, string name, byte[] data)
    {
        var e = new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x124, ModificationTime = DateTimeOffset.UnixEpoch, DataStream = new MemoryStream(data) };
        w.WriteEntry(e);
    }

    private void AddBlob(TarWriter w, string name, string digest, HashSet<string> written, CancellationToken ct)
    {
        if (!written.Add(name)) return;
        ct.ThrowIfCancellationRequested();
        using var s = Blobs.Open(digest);
        var e = new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x124, ModificationTime = DateTimeOffset.UnixEpoch, DataStream = s };
        w.WriteEntry(e);
    }

    private void WriteDockerArchive(TarWriter w, IReadOnlyList<ImageRecord> images, IProgressSink progress, CancellationToken ct)
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<DockerArchiveEntry>();
        foreach (var img in images)
        {
            string configName = img.Id[7..] + ".json";
            AddBlob(w, configName, img.Id, written, ct);
            var layers = new List<string>();
            for (int i = 0; i < img.Layers.Count; i++)
            {
                var l = img.Layers[i];
                progress.Report(new ProgressReport(2, "Exporting " + img, $"Layer {i + 1}/{img.Layers.Count}", i * 100 / Math.Max(1, img.Layers.Count)));
                string name = l.BlobDigest[7..] + ".tar";
                AddBlob(w, name, l.BlobDigest, written, ct);
                layers.Add(name);
            }
            entries.Add(new DockerArchiveEntry { Config = configName, RepoTags = img.RepoTags.ToList(), Layers = layers });
        }
        AddBytes(w, "manifest.json", SpecJson.Serialize(entries));
        progress.Report(new ProgressReport(2, "Exporting", "Done", 100, Completed: true));
    }

    private void WriteOciArchive(TarWriter w, IReadOnlyList<ImageRecord> images, IProgressSink progress, CancellationToken ct)
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        AddBytes(w, "oci-layout", Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"1.0.0\"}"));
        var index = new ImageIndex { MediaType = MediaTypes.OciIndex };
        foreach (var img in images)
        {
            foreach (var l in img.Layers) AddBlob(w, "blobs/sha256/" + l.BlobDigest[7..], l.BlobDigest, written, ct);
            AddBlob(w, "blobs/sha256/" + img.Id[7..], img.Id, written, ct);
            AddBlob(w, "blobs/sha256/" + img.ManifestDigest[7..], img.ManifestDigest, written, ct);
            var d = new Descriptor { MediaType = img.ManifestMediaType, Digest = img.ManifestDigest, Size = Blobs.SizeOf(img.ManifestDigest) };
            if (img.Names.Count > 0)
                d.Annotations = new() { [Annotations.RefName] = img.Names[0], [Annotations.ContainerdImageName] = img.Names[0] };
            index.Manifests.Add(d);
        }
        AddBytes(w, "index.json", SpecJson.Serialize(index));
        progress.Report(new ProgressReport(2, "Exporting", "Done", 100, Completed: true));
    }
}
