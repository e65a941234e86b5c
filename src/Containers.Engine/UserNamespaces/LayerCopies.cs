using System.Globalization;
using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Snapshots;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// The fallback of Auto (and Private) on a storage root whose file system cannot give idmapped mounts (the probe of
/// <see cref="UserNamespaceSupport"/>): the container's lower layers are copies of the image's layers with every
/// owner shifted into its id range (<see cref="LayerCopier"/>), made once per (range, layer) and shared by every
/// container that gets the range (a range freed by a removal is the next allocation's), kept under
/// &lt;root&gt;/idcopies/&lt;range start&gt;/&lt;layer's short id&gt;/: <c>diff</c> (the tree) and <c>layer</c> (the
/// diffID it is a copy of; "mountpoints" for the copy of the engine's own mount-point layer). A copy is made under a
/// temporary name (.tmp-*) while the "gc" lock is held shared, flushed, and renamed: a copy with its name is complete.
/// It goes with its layer (<see cref="RemoveOf"/>, from LayerStore.Remove: Remove-ContainerImage, prune, -Repair);
/// Test-ContainerStore finds half-made copies (LayerCopyUnfinished) and copies of layers the root no longer has or
/// without a readable record (LayerCopyOrphan), and -Repair removes them (under the "gc" lock held exclusively, so
/// never a copy being made); a container whose copy was removed gets it made again at its next start.
/// </summary>
public static class LayerCopies
{
    public const string DirName = "idcopies";
    public const string RecordName = "layer";
    public const string MountPointsName = "mountpoints";
    private const string TempPrefix = ".tmp-";

    /// <summary>The stable id at the start of the warning that a root's containers run on copied layers.</summary>
    public const string WarningId = "UserNamespaceCopiedLayers";

    public static string RangeDir(StorageRoot root, IdRange r) => root.Sub(DirName, r.Start.ToString(CultureInfo.InvariantCulture));

    // roots whose warning this process (session) has given
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Warned = new(StringComparer.Ordinal);

    /// <summary>The warning of a root whose user-namespaced containers run on copied layers: given once per session and root.</summary>
    public static void WarnOnce(StorageRoot root, string why, Action<string>? warn)
    {
        if (warn is null || !Warned.TryAdd(root.Path, true)) return;
        warn($"{WarningId}: containers of this storage root run in user namespaces on copies of the image's layers with their owners shifted into each container's id range, made once per range and layer under {root.Sub(DirName)} (disk space, and time at the first start of each range): {why}.");
    }

    /// <summary>
    /// The overlay's lower directories of a container on copied layers, top first: the copy of the mount-point layer,
    /// then a copy of each of <paramref name="lowerDirs"/> (bottom first, as the config holds them), made when missing.
    /// </summary>
    public static List<string> Lowers(StorageRoot root, IdRange r, IReadOnlyList<string> lowerDirs, string mountPoints, CancellationToken ct = default)
    {
        var result = new List<string> { Ensure(root, r, MountPointsName, mountPoints, MountPointsName, ct) };
        var layers = new ImageStore(root).Layers;
        foreach (var lower in Enumerable.Reverse(lowerDirs))
        {
            string diffId = DiffIdOf(root, lower)
                ?? throw ContainersException.Invalid("LayerCopyNotALayer", $"The lower directory {lower} is not a layer of the store, so it has no copy for the container's id range.", lower);
            string name = Path.GetFileName(layers.ShortPathOf(diffId));
            result.Add(Ensure(root, r, name, layers.DiffPathOf(diffId), diffId, ct));
        }
        return result;
    }

    /// <summary>The layer (diffID) a container's lower directory is: &lt;root&gt;/l/&lt;short&gt; (a link to ../layers/&lt;hex&gt;/diff) or &lt;root&gt;/layers/&lt;hex&gt;/diff.</summary>
    internal static string? DiffIdOf(StorageRoot root, string lower)
    {
        string p = lower;
        string lDir = root.Sub("l") + "/";
        if (p.StartsWith(lDir, StringComparison.Ordinal))
        {
            try { p = Path.GetFullPath(Path.Combine(root.Sub("l"), LayerFs.Readlink(p))); }
            catch (NativeException) { return null; }
        }
        string layersDir = root.Sub("layers") + "/";
        if (!p.StartsWith(layersDir, StringComparison.Ordinal)) return null;
        var parts = p[layersDir.Length..].Split('/');
        if (parts.Length != 2 || parts[1] != "diff" || parts[0].Length != 64 || !Spec.Digest.IsLowerHex(parts[0])) return null;
        return Spec.Digest.Sha256Prefix + parts[0];
    }

    private static string? ReadRecord(string copyDir)
    {
        try { return File.ReadAllText(Path.Combine(copyDir, RecordName)).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>The copy's diff directory, made now (under a temporary name, then renamed) when there is no complete one.</summary>
    private static string Ensure(StorageRoot root, IdRange r, string name, string source, string record, CancellationToken ct)
    {
        string rangeDir = RangeDir(root, r), dir = Path.Combine(rangeDir, name), diff = Path.Combine(dir, "diff");
        if (ReadRecord(dir) == record && Directory.Exists(diff)) return diff;
        // while a copy is made no removal collects layers and no repair takes it for an interrupted one
        using var gc = StoreLock.Acquire(root, "gc", exclusive: false, TimeSpan.FromMinutes(10), ct);
        if (ReadRecord(dir) == record && Directory.Exists(diff)) return diff;
        Directory.CreateDirectory(rangeDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // a stale copy (damaged, or of another layer that had the short id before): out of the way first
        if (Directory.Exists(dir)) RemoveCopy(root, dir);
        string tmp = Path.Combine(rangeDir, TempPrefix + name + "-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Diagnostics.StepTimes.Mark("start.layer-copy-begin");
            Directory.CreateDirectory(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.CreateDirectory(Path.Combine(tmp, "diff"));
            // (rootless: a KeepId container's copy, made as root of the user's namespace: Rootless/RootlessKeepId.cs)
            if (Rootless.RootlessHost.Active) Rootless.RootlessKeepId.CopyLayer(source, Path.Combine(tmp, "diff"));
            else LayerCopier.Copy(source, Path.Combine(tmp, "diff"), r, ct);
            File.WriteAllText(Path.Combine(tmp, RecordName), record);
            // a copy that has its name is complete, across a crash of the machine too
            FileSys.SyncFileSystem(tmp);
            FileSys.Rename(tmp, dir);
            Diagnostics.StepTimes.Mark("start.layer-copy");
            return diff;
        }
        catch (Exception ex) when (ex is NativeException or IOException or UnauthorizedAccessException)
        {
            try { LayerStore.RemoveTree(tmp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw LayerCopier.Failed(record, ex);
        }
        catch
        {
            try { LayerStore.RemoveTree(tmp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Renamed out of its place first (a half-removed copy must never look complete), then removed.</summary>
    private static void RemoveCopy(StorageRoot root, string dir)
    {
        string trash = root.NewTempPath("trash");
        Directory.CreateDirectory(root.Sub("tmp"));
        FileSys.Rename(dir, trash);
        LayerStore.RemoveTree(trash);
    }

    private static IEnumerable<string> RangeDirs(StorageRoot root)
    {
        string top = root.Sub(DirName);
        if (!Directory.Exists(top)) return [];
        return Directory.EnumerateDirectories(top).Where(d => uint.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Every copy of a layer being removed, in every range (the caller holds the "gc" lock exclusively).</summary>
    public static int RemoveOf(StorageRoot root, string diffId)
    {
        int n = 0;
        foreach (var rd in RangeDirs(root))
            foreach (var c in Directory.EnumerateDirectories(rd).ToList())
            {
                if (Path.GetFileName(c).StartsWith(TempPrefix, StringComparison.Ordinal) || ReadRecord(c) != diffId) continue;
                RemoveCopy(root, c);
                n++;
            }
        return n;
    }

    /// <summary>Test-ContainerStore's check of the kind: half-made copies and copies of no layer of the root; -Repair removes both.</summary>
    public static IEnumerable<StoreProblem> Check(StorageRoot root, bool repair, CancellationToken ct)
    {
        var problems = new List<StoreProblem>();
        if (!Directory.Exists(root.Sub(DirName))) return problems;
        // exclusive: no copy is being made (Ensure holds it shared), so a temporary name is an interrupted copy
        using var gc = StoreLock.Acquire(root, "gc", exclusive: true, TimeSpan.FromMinutes(2), ct);
        var layers = new ImageStore(root).Layers;
        foreach (var e in Directory.EnumerateFileSystemEntries(root.Sub(DirName)).Order(StringComparer.Ordinal))
            if (!uint.TryParse(Path.GetFileName(e), NumberStyles.None, CultureInfo.InvariantCulture, out _) || !Directory.Exists(e))
                problems.Add(new StoreProblem
                {
                    Kind = "UnknownEntry", Severity = "Warning", Target = e,
                    Message = "This entry of the layer copies is of no kind this engine knows; it was neither checked nor changed, and -Repair never removes it.",
                });
        foreach (var rd in RangeDirs(root))
            foreach (var c in Directory.EnumerateFileSystemEntries(rd).Order(StringComparer.Ordinal).ToList())
            {
                ct.ThrowIfCancellationRequested();
                string name = Path.GetFileName(c);
                string? kind = null, message = null;
                if (name.StartsWith(TempPrefix, StringComparison.Ordinal))
                    (kind, message) = ("LayerCopyUnfinished", "A copy of a layer for a user namespace's id range was interrupted before it was complete; -Repair removes it (the next start of a container of the range makes it again).");
                else
                {
                    string? record = Directory.Exists(c) ? ReadRecord(c) : null;
                    bool ok = record is not null && Directory.Exists(Path.Combine(c, "diff"))
                        && (record == MountPointsName ? name == MountPointsName : Spec.Digest.IsSha256(record) && layers.Has(record));
                    if (!ok)
                        (kind, message) = record is null || !Directory.Exists(Path.Combine(c, "diff"))
                            ? ("LayerCopyUnfinished", "A copy of a layer for a user namespace's id range has no record of its layer or no tree (damaged); -Repair removes it (the next start of a container of the range makes it again).")
                            : ("LayerCopyOrphan", $"This copy for a user namespace's id range is of the layer {record}, which the root no longer has; -Repair removes it.");
                }
                if (kind is null) continue;
                bool repaired = false;
                if (repair)
                {
                    if (Directory.Exists(c)) RemoveCopy(root, c); else File.Delete(c);
                    repaired = true;
                }
                problems.Add(new StoreProblem { Kind = kind, Severity = kind == "LayerCopyOrphan" ? "Garbage" : "Error", Target = c, Message = message!, Repaired = repaired });
            }
        return problems;
    }
}
