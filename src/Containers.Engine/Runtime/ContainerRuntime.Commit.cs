using Containers.Engine.Errors;
using Containers.Engine.Images;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>New-ContainerImage -Container: the container's writable layer becomes a new layer on its image.</summary>
    public ImageRecord Commit(string nameOrId, CommitOptions options, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        Guard(rec, "commit");
        if (rec.Config.ImageId is null)
            throw ContainersException.Invalid("CommitNeedsImage", $"The container '{rec.Name}' runs a plain root file system, not an image; only containers made from images can be committed.", rec.Name);
        var store = new ImageStore(_root);
        var parent = store.TryResolve(rec.Config.ImageId)
            ?? throw ContainersException.NotFound("ImageNotFound", RuntimeMessages.ImageNotFound(rec.Config.Image), rec.Config.Image);
        bool paused = false;
        if (rec.Status == Model.ContainerStatus.Running)
        {
            // like docker commit: freeze the processes so the layer is consistent
            try { Cgroup(rec.Id).Freeze(); paused = true; } catch (IOException) { }
        }
        try
        {
            // a user namespace's writable layer holds its range's ids: the layer gets the container's (0 for its root)
            var img = store.CommitFromOverlayUpper(Path.Combine(rec.Dir, "upper"), parent, options, ct, ToContainerIds(rec.Config));
            Events.EventLog.Record(_root, Model.ContainerEventType.Image, "commit", img.Id, img.Names.Count > 0 ? img.Names[0] : null,
                ("container", rec.Name), ("containerId", rec.Id));
            return img;
        }
        finally { if (paused) { try { Cgroup(rec.Id).Thaw(); } catch (IOException) { } } }
    }
}
