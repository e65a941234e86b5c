using Containers.Engine.Runtime;
using Containers.Engine.State;
using Containers.Engine.Volumes;

namespace Containers.Engine.Rootless;

/// <summary>
/// The host-side work a rootless start does for its mounts: podman's :U (the source tree's owner becomes the container
/// user's ids). The user may not chown to its subordinate ids itself, so chown runs as root of a user namespace with the
/// user's mapping (<see cref="RootlessHost.RunInUserNamespace"/>), with the container's ids as the container sees them;
/// it can change only what that namespace maps (the user's own files and its subordinate ids'), never another user's.
/// chown -R -P follows no link, neither given as an entry nor met in the walk.
/// </summary>
internal static class RootlessMounts
{
    public static void PrepareStart(StorageRoot root, ContainerConfig c, string dir)
    {
        UserResolver.Ids? user = null;
        VolumeStore? volumes = null;
        foreach (var m in c.Mounts)
        {
            if (!m.Chown || m.Type is not ("volume" or "bind")) continue;
            string src = m.Type == "volume" ? (volumes ??= new VolumeStore(root)).DataPath(m.Source) : m.Source;
            user ??= UserResolver.Resolve(c, dir);
            // (KeepId: the container's ids as the user's namespace, of the ordinary mapping, names them)
            var (uid, gid) = RootlessKeepId.Is(c) ? (RootlessKeepId.NamespaceUid(user.Uid), RootlessKeepId.NamespaceGid(user.Gid)) : (user.Uid, user.Gid);
            RootlessHost.RunInUserNamespace($"give {src} to the container's user (:U)", "/bin/chown", "-R", "-P", "-h", "--",
                FormattableString.Invariant($"{uid}:{gid}"), src);
        }
    }

    /// <summary>
    /// Copy-up of a rootless container's new named volumes (as root's: once, when empty, not with volume-nocopy): the
    /// helper's volume-seed mode, run as root of the user's namespace, mounts the image's layers read-only in a mount
    /// namespace of its own and copies what is at the mount point into the volume's data directory, resolved inside
    /// the image (Helper/VolumeSeed.cs). A -RootFs container's tree is read where it is.
    /// </summary>
    public static void SeedVolumes(StorageRoot root, ContainerConfig c)
    {
        var volumes = new VolumeStore(root);
        foreach (var m in c.Mounts)
        {
            if (m.Type != "volume" || m.NoCopy) continue;
            volumes.SeedOnce(m.Source, _ =>
            {
                string scratch = Path.Combine(RootlessHost.RuntimeDirectory(), "seed-" + Guid.NewGuid().ToString("N"));
                try
                {
                    Directory.CreateDirectory(Path.Combine(scratch, "m"));
                    Directory.CreateDirectory(Path.Combine(scratch, "e"));
                    string lowers = c.RootFs is null ? string.Join(':', Enumerable.Reverse(c.LowerDirs)) : "-";
                    if (lowers.Length == 0) return;
                    RootlessHost.RunInUserNamespace($"fill the new volume '{m.Source}' from the image's content at {m.Destination}", EngineFiles.HelperPath,
                        "volume-seed", lowers, c.RootFs ?? "-", scratch, m.Destination, volumes.DataPath(m.Source));
                    // KeepId: the image's owners as that container sees them (the copied layers have them so too)
                    if (RootlessKeepId.UsesCopies(c)) RootlessKeepId.ShiftTree(volumes.DataPath(m.Source));
                }
                catch (Errors.ContainersException ex) when (ex.ErrorId == "RootlessUserNamespaceFailed" && ex.Message.Contains("(exit code 3)", StringComparison.Ordinal)) { }
                catch (Errors.ContainersException ex) when (ex.ErrorId == "RootlessUserNamespaceFailed")
                {
                    throw Errors.ContainersException.System("VolumeSeedFailed", $"Cannot fill the new volume '{m.Source}' from the image's content at {m.Destination}: {ex.Message}", m.Source, ex);
                }
                finally { try { Directory.Delete(scratch, true); } catch (IOException) { } catch (UnauthorizedAccessException) { } }
            });
        }
    }
}
