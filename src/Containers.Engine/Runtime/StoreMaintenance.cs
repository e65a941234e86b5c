using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Model;
using Containers.Engine.Networking;
using Containers.Engine.State;
using Containers.Engine.Volumes;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Runtime;

/// <summary>One object Clear-ContainerStore would remove: what it is, and how to name it to the user.</summary>
public sealed class PruneCandidate
{
    public required ContainerStoreKind Kind { get; init; }
    public required string Id { get; init; }
    public string? Name { get; init; }
    public override string ToString() => Name is null || Name == Id ? Id : $"{Name} ({(Id.StartsWith("sha256:", StringComparison.Ordinal) ? Id[7..19] : Id.Length > 12 ? Id[..12] : Id)})";
}

/// <summary>
/// docker system df and docker system/container/image/volume/network prune for one storage root: what each kind
/// of object uses on disk, and the removal of the objects nothing uses. Every removal goes through the owning
/// store's own guarded operation (the container's, image's or volume's lock and in-use check), so an object that
/// came into use after the candidates were listed is refused, never removed.
/// </summary>
public sealed class StoreMaintenance(StorageRoot root)
{
    private readonly ContainerRuntime _rt = new(root);

    // ---------- docker system df ----------

    public IReadOnlyList<ContainerDiskUsage> DiskUsage(CancellationToken ct = default)
    {
        var rows = new List<ContainerDiskUsage>();

        var images = new ImageStore(root).List();
        var inUse = new ImageStore(root).ImagesInUse();
        var active = images.Where(i => inUse.ContainsKey(i.Id)).ToList();
        long LayerBytes(IEnumerable<ImageRecord> set)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long n = 0;
            foreach (var l in set.SelectMany(i => i.Layers)) if (seen.Add(l.DiffId)) n += l.Size;
            return n;
        }
        long imageBytes = LayerBytes(images);
        rows.Add(new ContainerDiskUsage
        {
            Kind = ContainerStoreKind.Image, Count = images.Count, Active = active.Count,
            Size = imageBytes, Reclaimable = imageBytes - LayerBytes(active),
        });

        long cSize = 0, cFree = 0;
        int cCount = 0, cActive = 0;
        foreach (var r in _rt.All())
        {
            ct.ThrowIfCancellationRequested();
            long b = TreeBytes(r.Dir);
            cCount++;
            cSize += b;
            if (r.IsActive) cActive++;
            else cFree += b;
        }
        rows.Add(new ContainerDiskUsage { Kind = ContainerStoreKind.Container, Count = cCount, Active = cActive, Size = cSize, Reclaimable = cFree });

        var vols = new VolumeStore(root);
        long vSize = 0, vFree = 0;
        int vCount = 0, vActive = 0;
        foreach (var v in vols.List())
        {
            ct.ThrowIfCancellationRequested();
            long b = TreeBytes(vols.DataPath(v.Name));
            vCount++;
            vSize += b;
            if (v.UsedBy.Length > 0) vActive++;
            else vFree += b;
        }
        rows.Add(new ContainerDiskUsage { Kind = ContainerStoreKind.Volume, Count = vCount, Active = vActive, Size = vSize, Reclaimable = vFree });

        var nets = new NetworkManager(root).List();
        var netUsers = NetworksNamedByContainers();
        int nActive = nets.Count(n => n.IsDefault || n.Containers.Count > 0 || netUsers.Contains(n.Name));
        rows.Add(new ContainerDiskUsage { Kind = ContainerStoreKind.Network, Count = nets.Count, Active = nActive, Size = 0, Reclaimable = 0 });
        rows.Add(BuildCacheUsage());
        return rows;
    }

    // ---------- prune ----------

    /// <summary>
    /// What a prune of <paramref name="kind"/> would remove now: containers that are created or exited; images no
    /// container uses that have no name (all unused ones with <paramref name="allImages"/>) and are no other image's
    /// base; volumes no container mounts; networks no container names or is attached to, except the predefined one.
    /// </summary>
    public IReadOnlyList<PruneCandidate> Candidates(ContainerStoreKind kind, bool allImages, DateTime? createdBefore = null)
    {
        bool Old(DateTime created) => createdBefore is null || created < createdBefore;
        switch (kind)
        {
            case ContainerStoreKind.Container:
                return _rt.All().Where(r => r.Status is ContainerStatus.Created or ContainerStatus.Exited && !r.MonitorAlive && Old(r.Config.Created))
                    .OrderBy(r => r.Config.Created)
                    .Select(r => new PruneCandidate { Kind = kind, Id = r.Id, Name = r.Name }).ToList();
            case ContainerStoreKind.Image:
            {
                var store = new ImageStore(root);
                // one row per image id (a config may have several manifests' records): dangling only when none has a name
                var images = store.List().GroupBy(i => i.Id, StringComparer.Ordinal).Select(g => g.OrderBy(i => i.Dangling).First()).ToList();
                var used = store.ImagesInUse();
                var parents = images.Where(i => i.ParentId is not null).Select(i => i.ParentId!).ToHashSet(StringComparer.Ordinal);
                return images.Where(i => !used.ContainsKey(i.Id) && (allImages || i.Dangling) && !parents.Contains(i.Id) && Old(i.Created))
                    .OrderBy(i => i.Created)
                    .Select(i => new PruneCandidate { Kind = kind, Id = i.Id, Name = i.Names.Count > 0 ? i.Names[0] : null }).ToList();
            }
            case ContainerStoreKind.Volume:
                return new VolumeStore(root).List().Where(v => v.UsedBy.Length == 0 && Old(v.Created))
                    .Select(v => new PruneCandidate { Kind = kind, Id = v.Name, Name = v.Name }).ToList();
            case ContainerStoreKind.BuildCache:
                // docker builder prune: the dangling entries (no image is built on them), every one with -All
                return new ImageStore(root).ListBuildCache().Where(e => (allImages || !e.InUse) && Old(e.Entry.Created))
                    .OrderBy(e => e.Entry.Created)
                    .Select(e => new PruneCandidate { Kind = kind, Id = e.Entry.Key, Name = e.Entry.Step }).ToList();
            case ContainerStoreKind.Network:
            {
                var named = NetworksNamedByContainers();
                return new NetworkManager(root).List().Where(n => !n.IsDefault && n.Containers.Count == 0 && !named.Contains(n.Name) && Old(n.Created))
                    .Select(n => new PruneCandidate { Kind = kind, Id = n.Id, Name = n.Name }).ToList();
            }
            default:
                throw ContainersException.Invalid("InvalidStoreKind", $"Unknown kind '{kind}'.", kind);
        }
    }

    /// <summary>Removes one candidate through its store's guarded removal; what was freed.</summary>
    public ContainerPruneResult Remove(PruneCandidate c, CancellationToken ct = default)
    {
        long bytes;
        switch (c.Kind)
        {
            case ContainerStoreKind.Container:
            {
                var rec = _rt.Find(c.Id);
                bytes = TreeBytes(rec.Dir);
                // without force, Remove refuses one that was started since it was listed (ContainerRunning)
                _rt.Remove(c.Id, force: false, ct);
                break;
            }
            case ContainerStoreKind.Image:
            {
                var store = new ImageStore(root);
                var img = store.Resolve(c.Id);
                var others = store.List().Where(i => i.Id != img.Id).SelectMany(i => i.LayerDiffIds).ToHashSet(StringComparer.Ordinal);
                bytes = img.Layers.DistinctBy(l => l.DiffId).Where(l => !others.Contains(l.DiffId)).Sum(l => l.Size);
                store.RemoveUnused(img.Id);
                break;
            }
            case ContainerStoreKind.Volume:
            {
                var vols = new VolumeStore(root);
                bytes = TreeBytes(vols.DataPath(c.Id));
                vols.Remove(c.Id);
                break;
            }
            case ContainerStoreKind.BuildCache:
            {
                var store = new ImageStore(root);
                var e = store.ListBuildCache().FirstOrDefault(x => x.Entry.Key == c.Id)
                    ?? throw ContainersException.NotFound("BuildCacheEntryNotFound", $"The build cache entry {c.Id} does not exist (any more).", c.Id);
                bytes = store.RemoveBuildCache([e]);
                break;
            }
            case ContainerStoreKind.Network:
            {
                // a container that names it, created since it was listed, keeps it
                if (NetworksNamedByContainers().Contains(c.Name ?? c.Id))
                    throw ContainersException.Conflict("NetworkInUse", $"The network '{c.Name}' is used by a container.", c.Name);
                new NetworkManager(root).Remove(c.Name ?? c.Id, force: false, ct);
                bytes = 0;
                break;
            }
            default:
                throw ContainersException.Invalid("InvalidStoreKind", $"Unknown kind '{c.Kind}'.", c.Kind);
        }
        return new ContainerPruneResult { Kind = c.Kind, Id = c.Id, Name = c.Name, ReclaimedBytes = bytes };
    }

    /// <summary>The build cache row: entries, those an image is built on, the layers they hold, what removing all frees.</summary>
    private ContainerDiskUsage BuildCacheUsage()
    {
        var store = new ImageStore(root);
        var all = store.ListBuildCache();
        long size = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in all.SelectMany(e => e.DiffIds))
            if (seen.Add(d) && store.Layers.Has(d)) size += store.Layers.SizeOf(d);
        // RUN --mount=type=cache directories count as entries of their own (never active: no image holds them)
        var mounts = store.ListCacheMounts();
        long mountBytes = mounts.Sum(m => m.Bytes);
        return new ContainerDiskUsage
        {
            Kind = ContainerStoreKind.BuildCache, Count = all.Count + mounts.Count, Active = all.Count(e => e.InUse),
            Size = size + mountBytes, Reclaimable = store.BuildCacheExclusiveBytes(all, all) + mountBytes,
        };
    }

    private HashSet<string> NetworksNamedByContainers() =>
        _rt.All().SelectMany(r => r.Config.Network.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Bytes of the regular files under a directory, each inode once, walked by descriptor without following a
    /// link (a container's layer and a volume are its to shape: no path of theirs is resolved on the host).
    /// </summary>
    public static long TreeBytes(string dir)
    {
        SafeFileHandle top;
        try { top = FileSys.OpenHandle(dir, FileSys.O_RDONLY | FileSys.O_DIRECTORY | FileSys.O_NOFOLLOW); }
        catch (NativeException) { return 0; }
        var seen = new HashSet<(ulong, ulong)>();
        using (top) return Walk(top, dir, seen);
    }

    private static long Walk(SafeFileHandle dir, string what, HashSet<(ulong, ulong)> seen)
    {
        long total = 0;
        List<(string Name, byte Type)> names;
        try { names = RootedFs.ReadDir(dir, what); }
        catch (NativeException) { return 0; }
        foreach (var (name, _) in names)
        {
            LayerFs.Stat st;
            try { if (!RootedFs.TryStatAt(dir, name, out st, what)) continue; }
            catch (NativeException) { continue; }
            uint type = st.Mode & LayerFs.S_IFMT;
            if (type == LayerFs.S_IFREG)
            {
                if (st.Nlink <= 1 || seen.Add((st.Dev, st.Ino))) total += st.Size;
            }
            else if (type == LayerFs.S_IFDIR)
            {
                SafeFileHandle sub;
                try { sub = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, what); }
                catch (NativeException) { continue; }
                using (sub) total += Walk(sub, what, seen);
            }
        }
        return total;
    }
}
