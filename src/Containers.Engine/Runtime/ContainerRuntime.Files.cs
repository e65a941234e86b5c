using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.Snapshots;
using Containers.Native.Proc;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    private static bool IsLive(Record rec)
        => rec.Status is ContainerStatus.Running or ContainerStatus.Paused && ProcessOps.IsAlive(rec.Pid, rec.PidStart);

    /// <summary>
    /// Runs <paramref name="work"/> with the container's file system as a <see cref="RootedFs"/> (links resolve
    /// inside it, never on the host). With <paramref name="preferLive"/>, a running container's root as its
    /// processes see it (/proc/&lt;pid&gt;/root, opened once, volumes included); otherwise an overlay of its
    /// writable layer over the image layers, mounted for the call (read-only, or with <paramref name="writable"/>
    /// read-write onto the writable layer: the caller holds the container's lock so it cannot start meanwhile).
    /// </summary>
    private T WithRoot<T>(Record rec, bool preferLive, bool writable, Func<RootedFs, T> work)
    {
        // rootless: the overlay below can only be mounted in a mount namespace of the user's own, which this process
        // is not in; a running container's root is reached through its process instead
        if (Rootless.RootlessHost.Active && !(preferLive && IsLive(rec)))
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessUnsupported", preferLive
                ? $"A rootless engine reaches a container's files only while it runs (its file system cannot be mounted outside the container's namespaces yet); start '{rec.Name}' first."
                : $"A rootless engine cannot export '{rec.Name}' yet: the container's layers without its volumes can only be mounted in the user's namespaces, which this engine does not do for an export (New-ContainerImage commits it, and Copy-ContainerItem reads a running container's files).", rec.Name);
        if (preferLive && IsLive(rec))
        {
            RootedFs? live = null;
            try { live = RootedFs.Open($"/proc/{rec.Pid}/root", RootedFs.Resolution.InRoot); }
            catch (NativeException) { } // it ended just now: its layers below
            // the pid could have been reused between the check and the open: check again, holding the root
            if (live is not null && ProcessOps.IsAlive(rec.Pid, rec.PidStart))
                using (live) return work(live);
            live?.Dispose();
        }
        string mnt = Path.Combine(rec.Dir, "mnt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(mnt);
        var lowers = Enumerable.Reverse(rec.Config.LowerDirs).Prepend(SharedRuntimeDirs().MountPoints);
        string upper = Path.Combine(rec.Dir, "upper");
        if (writable)
            ProcessOps.Mount("overlay", mnt, "overlay", 0, $"lowerdir={string.Join(':', lowers)},upperdir={upper},workdir={Path.Combine(rec.Dir, "work")}");
        else
            ProcessOps.Mount("overlay", mnt, "overlay", 1 /* MS_RDONLY */, "lowerdir=" + string.Join(':', lowers.Prepend(upper)));
        try
        {
            using var fs = RootedFs.Open(mnt, RootedFs.Resolution.InRoot);
            return work(fs);
        }
        finally
        {
            ProcessOps.Unmount(mnt);
            try { Directory.Delete(mnt); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Export-Container: the container's file system (image layers + its changes) as one flat tar. The walk goes
    /// by descriptor and never follows a link; files a running container removes or replaces meanwhile are left
    /// out and returned (container paths).
    /// </summary>
    public IReadOnlyList<string> Export(string nameOrId, Stream output, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        var skipped = new List<string>();
        using (Lock(rec.Id, ct))
        {
            rec = Load(rec.Id)!;
            Guard(rec, "export");
            WithRoot(rec, preferLive: false, writable: false, fs =>
            {
                LayerPacker.PackDirectory(fs.Root, output, overlayUpper: false, ct, r => skipped.Add("/" + r), ToContainerIds(rec.Config));
                return true;
            });
        }
        return skipped;
    }

    /// <summary>
    /// Copies a file, link or directory out of the container to a host path, as docker cp: links on the way
    /// resolve inside the container's root; a link that is the last component is copied as a link unless
    /// <paramref name="followLink"/>; links inside a copied tree stay links. Ownership and modes are kept.
    /// Returns the container paths left out because they vanished while copied.
    /// </summary>
    public IReadOnlyList<string> CopyOut(string nameOrId, string containerPath, string hostPath, bool followLink = false, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        var skipped = new List<string>();
        // a user namespace's files: its writable layer holds the range's ids; out they go as the container sees them
        var copier = new TreeCopier { Skipped = skipped.Add, Ct = ct, MapIds = ToContainerIds(rec.Config), KeepCallerOwner = Rootless.RootlessHost.Active };
        WithRoot(rec, preferLive: true, writable: false, fs =>
        {
            string clean = RootedFs.Clean(containerPath);
            using var src = OpenInContainer(fs, containerPath, followLink);
            bool isDir = (RootedFs.Fstat(src).Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR;
            if (!isDir && EndsWithSlash(containerPath))
                throw ContainersException.Invalid("ContainerPathNotDirectory", RuntimeMessages.NotADirectory(containerPath), containerPath);
            Copy(() =>
            {
                string what = "/" + clean;
                string dest = Path.GetFullPath(hostPath);
                bool contents = isDir && (clean.Length == 0 || containerPath.EndsWith("/.", StringComparison.Ordinal));
                if (Directory.Exists(dest) || EndsWithSlash(hostPath) || contents)
                {
                    if (!Directory.Exists(dest))
                    {
                        if (File.Exists(dest) || Path.Exists(dest))
                            throw ContainersException.Invalid("CopyDirectoryOntoFile", RuntimeMessages.CopyDirectoryOntoFile(hostPath), hostPath);
                        Directory.CreateDirectory(dest);
                    }
                    using var dir = FileSys.OpenHandle(dest, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
                    if (contents)
                    {
                        using var d = RootedFs.Reopen(src, FileSys.O_RDONLY | FileSys.O_DIRECTORY, what);
                        copier.CopyChildren(d, dir, clean.Length == 0 ? "" : what);
                    }
                    else copier.CopyTop(src, what, dir, clean[(clean.LastIndexOf('/') + 1)..]);
                }
                else
                {
                    if (isDir && File.Exists(dest))
                        throw ContainersException.Invalid("CopyDirectoryOntoFile", RuntimeMessages.CopyDirectoryOntoFile(hostPath), hostPath);
                    string parent = Path.GetDirectoryName(dest)!;
                    Directory.CreateDirectory(parent);
                    using var dir = FileSys.OpenHandle(parent, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
                    copier.CopyTop(src, what, dir, Path.GetFileName(dest));
                }
            }, containerPath);
            return true;
        });
        return skipped;
    }

    /// <summary>
    /// Copies a host file, link or directory into the container, as docker cp: the destination resolves inside
    /// the container's root (a running container's live root; a stopped one's writable layer through its overlay,
    /// so a directory that is a link in the image resolves as in the container); missing parents are made inside.
    /// A host link named as the source is copied as a link unless <paramref name="followLink"/>; links inside a
    /// copied tree stay links. Modes and times are kept; the owner is the container's user, as podman does.
    /// </summary>
    public IReadOnlyList<string> CopyIn(string nameOrId, string hostPath, string containerPath, bool followLink = false, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        string srcPath = Path.GetFullPath(hostPath);
        SafeFileHandle src;
        try { src = FileSys.OpenHandle(srcPath, FileSys.O_PATH | (followLink ? 0 : FileSys.O_NOFOLLOW)); }
        catch (NativeException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            throw ContainersException.NotFound("PathNotFound", RuntimeMessages.PathNotFound(hostPath), hostPath, e);
        }
        using var _ = src;
        bool isDir = (RootedFs.Fstat(src).Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR;
        bool contents = isDir && hostPath.EndsWith("/.", StringComparison.Ordinal);
        string srcName = Path.GetFileName(srcPath.TrimEnd('/'));
        var skipped = new List<string>();
        bool live = IsLive(rec);
        using (live ? null : Lock(rec.Id, ct))
        {
            if (!live) { rec = Load(rec.Id)!; live = IsLive(rec); }
            var ids = UserResolver.Resolve(rec.Config, rec.Dir);
            var copier = new TreeCopier
            {
                Owner = ((int)ids.Uid, (int)ids.Gid), Skipped = skipped.Add, Ct = ct,
                MapIds = rec.Config.IdRange is UserNamespaces.IdRange r ? o => (r.ToHost(o.Uid), r.ToHost(o.Gid)) : null,
                KeepCallerOwner = Rootless.RootlessHost.Active,
            };
            WithRoot(rec, preferLive: true, writable: !live, fs =>
            {
                Copy(() =>
                {
                    string clean = RootedFs.Clean(containerPath);
                    SafeFileHandle? existing = null;
                    try { existing = fs.TryOpen(clean, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, followLast: true); }
                    catch (NativeException e) when (e.Errno == Errno.ELOOP) { } // a link loop: replaced below
                    if (existing is null && EndsWithSlash(containerPath)) existing = fs.MkdirAll(clean, 0x1ed);
                    if (existing is not null)
                    {
                        using (existing)
                        {
                            if (contents || srcName.Length == 0)
                            {
                                using var d = RootedFs.Reopen(src, FileSys.O_RDONLY | FileSys.O_DIRECTORY, srcPath);
                                copier.CopyChildren(d, existing, srcPath);
                            }
                            else copier.CopyTop(src, srcPath, existing, srcName);
                        }
                        return;
                    }
                    int slash = clean.LastIndexOf('/');
                    using var parent = fs.MkdirAll(slash < 0 ? "" : clean[..slash], 0x1ed);
                    string name = clean[(slash + 1)..];
                    if (isDir && RootedFs.TryStatAt(parent, name, out var ex) && (ex.Mode & LayerFs.S_IFMT) != LayerFs.S_IFDIR && (ex.Mode & LayerFs.S_IFMT) != LayerFs.S_IFLNK)
                        throw ContainersException.Invalid("CopyDirectoryOntoFile", RuntimeMessages.CopyDirectoryOntoFile(containerPath), containerPath);
                    if (contents)
                    {
                        using var d = RootedFs.Reopen(src, FileSys.O_RDONLY | FileSys.O_DIRECTORY, srcPath);
                        using var made = MkdirIn(parent, name);
                        copier.CopyChildren(d, made, srcPath);
                    }
                    else copier.CopyTop(src, srcPath, parent, name);
                }, containerPath);
                return true;
            });
        }
        return skipped;
    }

    private static SafeFileHandle MkdirIn(SafeFileHandle parent, string name)
    {
        RootedFs.MkdirAt(parent, name, 0x1ed, name, existOk: true);
        return RootedFs.OpenAt(parent, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, name);
    }

    /// <summary>
    /// A user namespace's host ids back to the container's: the range's ids become 0..65535; others (the image's
    /// layers, read on the host without the idmapping) are kept as they are.
    /// </summary>
    internal static Func<(int Uid, int Gid), (int Uid, int Gid)>? ToContainerIds(ContainerConfig c)
    {
        // rootless: the files are stored as the user's mapping puts them on the host (KeepId: its own layout)
        if (Rootless.RootlessHost.Active) return Rootless.RootlessHost.ToContainerIds(Rootless.RootlessKeepId.Is(c));
        if (c.IdRange is not UserNamespaces.IdRange r) return null;
        return o => (r.Contains(o.Uid) ? r.ToContainer(o.Uid) : o.Uid, r.Contains(o.Gid) ? r.ToContainer(o.Gid) : o.Gid);
    }

    private static bool EndsWithSlash(string p) => p.EndsWith('/') || p.EndsWith("/.", StringComparison.Ordinal);

    /// <summary>The source of a copy out: O_PATH, resolved in the root; the last component followed only when asked.</summary>
    private static SafeFileHandle OpenInContainer(RootedFs fs, string containerPath, bool followLink)
    {
        try { return fs.Open(containerPath, FileSys.O_PATH, 0, followLink); }
        catch (NativeException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            throw ContainersException.NotFound("ContainerPathNotFound", RuntimeMessages.PathNotFound(containerPath), containerPath, e);
        }
        catch (NativeException e) when (e.Errno == Errno.ELOOP)
        {
            throw ContainersException.Invalid("ContainerPathLinkLoop", RuntimeMessages.LinkLoop(containerPath), containerPath, e);
        }
    }

    /// <summary>Runs a copy, turning an OS failure into a ContainersException that names the path.</summary>
    private static void Copy(Action copy, string target)
    {
        try { copy(); }
        catch (NativeException e)
        {
            throw ContainersException.System("ContainerCopyFailed", RuntimeMessages.CopyFailed(target, e.Message), target, e);
        }
    }
}
