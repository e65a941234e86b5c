using Containers.Engine.Errors;
using Containers.Engine.Volumes;
using Containers.Native.Sys;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Copy-up (docker's and podman's): a volume no container has mounted yet, and that is empty, is filled with what
    /// the container's file system holds at the mount point, once; a bind mount never is, nor a mount with
    /// volume-nocopy. The image is hostile input: its tree is read through a read-only overlay opened as a
    /// <see cref="RootedFs"/> (the mount point's links resolve inside the container's root, never the host's), and
    /// <see cref="TreeCopier"/> copies links as links into a descriptor of the volume's data directory, so nothing
    /// in the image can make the copy read or write a host path.
    /// </summary>
    private void SeedVolumes(Record rec)
    {
        var c = rec.Config;
        // rootless: the overlay cannot be mounted by this process; the helper mounts and copies in the user's namespace
        if (Rootless.RootlessHost.Active) { Rootless.RootlessMounts.SeedVolumes(_root, c); return; }
        var volumes = new VolumeStore(_root);
        foreach (var m in c.Mounts)
        {
            if (m.Type != "volume" || m.NoCopy) continue;
            try
            {
                volumes.SeedOnce(m.Source, data => WithRoot(rec, preferLive: false, writable: false, fs =>
                {
                    string rel = RootedFs.Clean(m.Destination);
                    if (rel.Length == 0) return false;
                    Microsoft.Win32.SafeHandles.SafeFileHandle? src;
                    try { src = fs.TryOpen(rel, FileSys.O_RDONLY | FileSys.O_DIRECTORY, followLast: true); }
                    catch (NativeException e) when (e.Errno == Errno.ELOOP) { src = null; } // a link loop in the image: nothing to copy
                    if (src is null) return false; // nothing (or not a directory) there in the image
                    using var _ = src;
                    // a user namespace's volume: the image's ids as the container sees them, on disk in its range
                    new TreeCopier { MapIds = c.IdRange is UserNamespaces.IdRange r ? o => (r.ToHost(o.Uid), r.ToHost(o.Gid)) : null }
                        .CopyChildren(src, data, m.Destination);
                    return true;
                }));
            }
            catch (NativeException ex)
            {
                throw ContainersException.System("VolumeSeedFailed",
                    $"Cannot fill the new volume '{m.Source}' from the image's content at {m.Destination}: {ex.Message}", m.Source, ex);
            }
        }
    }

    /// <summary>The container's anonymous volumes (docker rm -v, --rm); one another container uses stays.</summary>
    private void RemoveAnonymousVolumes(ContainerConfig c)
    {
        var volumes = new VolumeStore(_root);
        foreach (var m in c.Mounts.Where(m => m.Type == "volume" && m.Anonymous))
        {
            try { volumes.Remove(m.Source); }
            catch (ContainersException ex) when (ex.Kind is ErrorKind.NotFound or ErrorKind.Conflict) { }
        }
    }
}
