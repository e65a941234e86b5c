using System.Text.Json.Nodes;
using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.Registry;

/// <summary>
/// What pull and push need from the storage root: content-addressed blobs (blobs/sha256/&lt;hex&gt;),
/// unpacked layers by diffID (layers/&lt;hex&gt;), and name -&gt; manifest records (images/refs/). Kept to
/// this seam so it can be switched to the image store's API once that is in main.
/// </summary>
internal sealed class RegistryStore
{
    private readonly StorageRoot _root;

    public RegistryStore(StorageRoot root) => _root = root;

    public StorageRoot Root => _root;

    public string BlobPath(string digest) => _root.Sub("blobs", "sha256", Digests.Hex(digest));

    public bool HasBlob(string digest) => File.Exists(BlobPath(digest));

    public string LayerPath(string diffId) => _root.Sub("layers", Digests.Hex(diffId));

    public bool HasLayer(string diffId) => Directory.Exists(LayerPath(diffId));

    public void WriteBlob(string digest, byte[] bytes)
    {
        if (HasBlob(digest)) return;
        AtomicFile.WriteAllBytes(BlobPath(digest), bytes);
    }

    /// <summary>Moves a verified temp file into place (no-op when another pull put it there first).</summary>
    public void CommitBlob(string tempFile, string digest)
    {
        string dest = BlobPath(digest);
        if (File.Exists(dest)) { File.Delete(tempFile); return; }
        Native.Sys.FileSys.Rename(tempFile, dest);
    }

    public void CommitLayer(string tempDir, string diffId)
    {
        string dest = LayerPath(diffId);
        if (Directory.Exists(dest)) { Directory.Delete(tempDir, true); return; }
        Native.Sys.FileSys.Rename(tempDir, dest);
    }

    private string RefPath(string name) => _root.Sub("images", "refs", Uri.EscapeDataString(name) + ".json");

    /// <summary>Records that <paramref name="name"/> now points at a manifest (whose blobs are stored).</summary>
    public void SetReference(string name, string manifestDigest, string mediaType, string configDigest)
    {
        using var l = StoreLock.Acquire(_root, "images");
        Directory.CreateDirectory(_root.Sub("images", "refs"));
        var doc = new JsonObject
        {
            ["name"] = name,
            ["manifestDigest"] = manifestDigest,
            ["mediaType"] = mediaType,
            ["configDigest"] = configDigest,
            ["created"] = DateTime.UtcNow.ToString("o"),
        };
        AtomicFile.WriteAllText(RefPath(name), doc.ToJsonString());
    }

    /// <summary>The manifest digest a name points at, or null.</summary>
    public (string ManifestDigest, string MediaType)? GetReference(string name)
    {
        try
        {
            var doc = JsonNode.Parse(File.ReadAllText(RefPath(name)));
            return (doc!["manifestDigest"]!.GetValue<string>(), doc["mediaType"]!.GetValue<string>());
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    /// <summary>Every recorded name (for lookups by id or short name).</summary>
    public IEnumerable<(string Name, string ManifestDigest, string ConfigDigest)> References()
    {
        string dir = _root.Sub("images", "refs");
        if (!Directory.Exists(dir)) yield break;
        foreach (string f in Directory.EnumerateFiles(dir, "*.json"))
        {
            JsonNode? doc;
            try { doc = JsonNode.Parse(File.ReadAllText(f)); } catch (Exception) { continue; }
            if (doc is null) continue;
            yield return (doc["name"]!.GetValue<string>(), doc["manifestDigest"]!.GetValue<string>(), doc["configDigest"]?.GetValue<string>() ?? "");
        }
    }

    public byte[] ReadBlob(string digest, object target)
    {
        try { return File.ReadAllBytes(BlobPath(digest)); }
        catch (FileNotFoundException ex)
        {
            throw ContainersException.NotFound("BlobNotFound", Messages.LocalBlobMissing(digest), target, ex);
        }
    }
}
