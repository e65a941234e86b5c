using Containers.Engine.Errors;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Images;

public sealed partial class ImageStore
{
    /// <summary>
    /// Clear-ContainerStore: removes an image with every name it has, unless a container uses it; the check and
    /// the removal happen under the images lock, so a container created meanwhile keeps its image (Conflict
    /// ImageInUse). Then layers and blobs nothing uses any more are deleted. Returns the names it had.
    /// </summary>
    public IReadOnlyList<string> RemoveUnused(string id)
    {
        var img = Resolve(id);
        List<string> names;
        using (StoreLock.Acquire(Root, "images"))
        {
            var repos = ReadRepositories();
            // every record of this image id (one per manifest of its config) and every name that points to one
            var records = AllMetaQuiet().Where(x => x.Meta.Id == img.Id).ToList();
            var keys = records.Select(x => Key(x.Meta)).ToHashSet(StringComparer.Ordinal);
            names = repos.Names.Where(kv => keys.Contains(kv.Value) || kv.Value == img.Id).Select(kv => kv.Key).ToList();
            var inUse = ImagesInUse().GetValueOrDefault(img.Id);
            if (inUse is { Count: > 0 })
                throw ContainersException.Conflict("ImageInUse", $"The image {img.ShortId} is used by container(s) {string.Join(", ", inUse)}.", id);
            foreach (var n in names) repos.Names.Remove(n);
            if (names.Count > 0) AtomicFile.WriteJson(RepositoriesPath, repos);
            foreach (var f in records.Select(x => x.File)) File.Delete(f);
            FileSys.FsyncDirectory(Root.Sub("images"));
            foreach (var k in keys) new Build.RecipeStore(Root).Delete(k); // their build recipes go with them
        }
        foreach (var n in names) Events.EventLog.Record(Root, Model.ContainerEventType.Image, "untag", img.Id, n);
        Events.EventLog.Record(Root, Model.ContainerEventType.Image, "remove", img.Id, names.Count > 0 ? names[0] : null);
        CollectGarbage();
        return names;
    }
}
