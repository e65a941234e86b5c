using System.Security.Cryptography;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Spec;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Images;

/// <summary>
/// One build cache entry: the state of a build stage after one step (every layer so far and the image config),
/// under the step's key (the parent's key, the expanded instruction, the build args it sees, the content digest
/// of COPY/ADD sources). Stored as &lt;root&gt;/buildcache/&lt;key hex&gt;.json; its layers and blobs are kept
/// by garbage collection like an image's.
/// </summary>
public sealed class BuildCacheEntry
{
    public int Version { get; set; } = 1;
    public string Key { get; set; } = "";
    public string? ParentKey { get; set; }
    /// <summary>The instruction as written (for listings and -WhatIf).</summary>
    public string Step { get; set; } = "";
    /// <summary>Every layer of the stage after the step, bottom first (OCI descriptors).</summary>
    public List<Descriptor> Layers { get; set; } = [];
    /// <summary>The image config after the step (its rootfs lists the layers' diffIDs).</summary>
    public string Config { get; set; } = "";
    public DateTime Created { get; set; }
    public DateTime LastUsed { get; set; }
}

/// <summary>A build cache entry as Get-ContainerDiskUsage and Remove-ContainerBuildCache see it.</summary>
public sealed class BuildCacheInfo
{
    public required BuildCacheEntry Entry { get; init; }
    public required string File { get; init; }
    /// <summary>The diffIDs of the entry's layers.</summary>
    public required IReadOnlyList<string> DiffIds { get; init; }
    /// <summary>True when an image's layers start with this entry's layers (the entry is part of an image that exists).</summary>
    public required bool InUse { get; init; }
}

public sealed partial class ImageStore
{
    private string BuildCacheDir => Root.Sub("buildcache");
    private string BuildCachePath(string key) => Path.Combine(BuildCacheDir, Digest.Hex(key) + ".json");

    /// <summary>A step's cache key: the SHA-256 of its parts (each length-prefixed, so no two part lists collide).</summary>
    public static string BuildCacheKey(IEnumerable<string> parts)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var p in parts)
        {
            var b = Encoding.UTF8.GetBytes(p);
            h.AppendData(BitConverter.GetBytes((long)b.Length));
            h.AppendData(b);
        }
        return Digest.FromHash(h.GetHashAndReset());
    }

    private static BuildCacheEntry? ReadBuildCacheFile(string path)
        => AtomicFile.ReadRecord<BuildCacheEntry>(path, "BuildCacheRecordCorrupt", "build cache entry");

    /// <summary>
    /// The entry of a key when it can be used: it parses, is the key's, and every layer blob and layer directory
    /// it names is in the store. Null otherwise (a miss; a corrupt or broken entry is left for Test-ContainerStore).
    /// A hit records its use time (not durably: it only orders pruning).
    /// </summary>
    public BuildCacheEntry? LookupBuildCache(string key)
    {
        BuildCacheEntry? e;
        try { e = ReadBuildCacheFile(BuildCachePath(key)); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { return null; }
        if (e is null || e.Key != key || e.Version != 1) return null;
        var ids = BuildCacheDiffIds(e);
        if (ids.Count != e.Layers.Count) return null;
        for (int i = 0; i < e.Layers.Count; i++)
            if (!Blobs.Has(e.Layers[i].Digest) || !Layers.Has(ids[i])) return null;
        e.LastUsed = DateTime.UtcNow;
        try { AtomicFile.WriteJson(BuildCachePath(key), e, durable: false); }
        catch (Exception x) when (x is IOException or UnauthorizedAccessException) { }
        return e;
    }

    /// <summary>Stores an entry (atomically; a concurrent build writing the same key writes an equal state).</summary>
    public void StoreBuildCache(BuildCacheEntry e)
    {
        e.Created = e.LastUsed = DateTime.UtcNow;
        AtomicFile.WriteJson(BuildCachePath(e.Key), e);
    }

    /// <summary>The diffIDs an entry's config lists (its layers' identities in the layer store); empty when it does not parse.</summary>
    public static List<string> BuildCacheDiffIds(BuildCacheEntry e)
    {
        try { return ImageConfig.Parse(Encoding.UTF8.GetBytes(e.Config)).RootFs.DiffIds.ToList(); }
        catch (System.Text.Json.JsonException) { return []; }
    }

    /// <summary>Every entry file that parses (corrupt ones are skipped here; Test-ContainerStore reports them).</summary>
    private IEnumerable<(BuildCacheEntry Entry, string File)> AllBuildCacheQuiet()
    {
        if (!Directory.Exists(BuildCacheDir)) yield break;
        foreach (var f in Directory.EnumerateFiles(BuildCacheDir, "*.json"))
        {
            string n = Path.GetFileNameWithoutExtension(f);
            if (n.Length != 64 || !Digest.IsLowerHex(n)) continue;
            BuildCacheEntry? e;
            try { e = ReadBuildCacheFile(f); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { continue; }
            catch (IOException) { continue; }
            if (e is not null) yield return (e, f);
        }
    }

    /// <summary>Every readable entry, with whether an existing image is built on it.</summary>
    public IReadOnlyList<BuildCacheInfo> ListBuildCache()
    {
        // an image's layer chain prefixes: an entry whose layer list is one of them is part of that image
        var prefixes = new HashSet<string>(StringComparer.Ordinal) { "" };
        foreach (var m in AllMetaQuiet())
        {
            var sb = new StringBuilder();
            foreach (var l in m.Meta.Layers) prefixes.Add(sb.Append(l.DiffId).Append(',').ToString());
        }
        var list = new List<BuildCacheInfo>();
        foreach (var (e, f) in AllBuildCacheQuiet())
        {
            var ids = BuildCacheDiffIds(e);
            string chain = string.Concat(ids.Select(d => d + ","));
            list.Add(new BuildCacheInfo { Entry = e, File = f, DiffIds = ids, InUse = prefixes.Contains(chain) });
        }
        return list;
    }

    /// <summary>The unique bytes of the layers the entries hold that no image and no other entry uses.</summary>
    public long BuildCacheExclusiveBytes(IReadOnlyCollection<BuildCacheInfo> removing, IReadOnlyList<BuildCacheInfo>? all = null)
    {
        all ??= ListBuildCache();
        var removingFiles = removing.Select(r => r.File).ToHashSet(StringComparer.Ordinal);
        var kept = AllMetaQuiet().SelectMany(m => m.Meta.Layers.Select(l => l.DiffId)).ToHashSet(StringComparer.Ordinal);
        foreach (var o in all) if (!removingFiles.Contains(o.File)) kept.UnionWith(o.DiffIds);
        long n = 0;
        foreach (var d in removing.SelectMany(r => r.DiffIds).Distinct(StringComparer.Ordinal))
            if (!kept.Contains(d) && Layers.Has(d)) n += Layers.SizeOf(d);
        return n;
    }

    /// <summary>
    /// Removes entries (their files), then, when <paramref name="collect"/>, the layers and blobs nothing uses any
    /// more. Returns the bytes freed (layers only the removed entries held).
    /// </summary>
    public long RemoveBuildCache(IReadOnlyCollection<BuildCacheInfo> entries, bool collect = true)
    {
        long bytes = BuildCacheExclusiveBytes(entries);
        foreach (var e in entries)
        {
            try { File.Delete(e.File); }
            catch (DirectoryNotFoundException) { }
        }
        if (entries.Count > 0 && Directory.Exists(BuildCacheDir)) FileSys.FsyncDirectory(BuildCacheDir);
        if (collect && bytes > 0) CollectGarbage();
        return bytes;
    }

    /// <summary>The blobs and layers of every readable build cache entry (kept by garbage collection).</summary>
    private void AddBuildCacheReferences(HashSet<string> blobs, HashSet<string> layers)
    {
        foreach (var (e, _) in AllBuildCacheQuiet())
        {
            foreach (var l in e.Layers) blobs.Add(l.Digest);
            layers.UnionWith(BuildCacheDiffIds(e));
        }
    }

    /// <summary>
    /// Test-ContainerStore's build cache findings: an entry that does not parse (BuildCacheRecordCorrupt, moved
    /// aside by -Repair like every record), and one that names a layer or blob the store lacks
    /// (BuildCacheEntryBroken, deleted by -Repair: a cache entry is only ever a shortcut). Neither keeps
    /// collection from running: a cache entry never holds the only reference an image needs.
    /// </summary>
    private void CheckBuildCache(bool repair, HashSet<string> blobSet, HashSet<string> layerSet, Action<string, string, string, string, bool> add)
    {
        if (!Directory.Exists(BuildCacheDir)) return;
        foreach (var f in Directory.EnumerateFiles(BuildCacheDir, "*.json").Order(StringComparer.Ordinal).ToList())
        {
            string n = Path.GetFileNameWithoutExtension(f);
            if (n.Length != 64 || !Digest.IsLowerHex(n)) continue;
            BuildCacheEntry? e;
            try { e = ReadBuildCacheFile(f); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt)
            {
                bool moved = repair && SetAside(f);
                add("BuildCacheRecordCorrupt", "Error", f, moved
                    ? $"The build cache entry does not parse; it was moved aside to '{Path.GetFileName(f)}.corrupt-*' (a build redoes its step)."
                    : "The build cache entry does not parse; builds redo its step. -Repair moves it aside (renamed <file>.corrupt-<time>).", moved);
                continue;
            }
            if (e is null) continue;
            var ids = BuildCacheDiffIds(e);
            string? missing = Digest.Sha256Prefix + n != e.Key ? $"its key is {e.Key}, not its file's name"
                : ids.Count != e.Layers.Count ? "its config and its layer list disagree"
                : e.Layers.Select(l => l.Digest).FirstOrDefault(d => !blobSet.Contains(d)) is { } b ? $"the layer blob {b} is missing"
                : ids.FirstOrDefault(d => !layerSet.Contains(d)) is { } d ? $"the layer {d} is missing"
                : null;
            if (missing is null) continue;
            if (repair) File.Delete(f);
            add("BuildCacheEntryBroken", "Error", f, $"The build cache entry for '{e.Step}' cannot be used: {missing}." + (repair ? " It was deleted." : " -Repair deletes it."), repair);
        }
    }

    /// <summary>The RUN --mount=type=cache directories (&lt;root&gt;/buildcache-mounts/&lt;hex of id&gt;/): each one's id, directory and bytes.</summary>
    public IReadOnlyList<(string Id, string Dir, long Bytes)> ListCacheMounts()
    {
        var dir = Root.Sub("buildcache-mounts");
        if (!Directory.Exists(dir)) return [];
        var list = new List<(string, string, long)>();
        foreach (var d in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            string id;
            try { id = File.ReadAllText(Path.Combine(d, "id")); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { id = Path.GetFileName(d); }
            list.Add((id, d, Runtime.StoreMaintenance.TreeBytes(d)));
        }
        return list;
    }

    /// <summary>Deletes a cache mount directory (its contents were written by RUN steps: removed without following a link).</summary>
    public static void RemoveCacheMount(string dir) => Snapshots.LayerStore.RemoveTree(dir);
}
