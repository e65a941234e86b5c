using Containers.Engine.Errors;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Runtime;

/// <summary>
/// Copy-ContainerItem's copy: a file, link or directory tree from a descriptor on one side to a name in a
/// directory descriptor on the other, by descriptor on both sides. Nothing is resolved by path below the
/// top: links in the tree are copied as links (never followed, on either side), and a link or file found
/// where a directory or file is to be made is replaced, never written through. A source name that vanishes
/// or changes type while it is copied (a running container) is left out and reported to <see cref="Skipped"/>.
/// Keeps modes and times; ownership is the source's unless <see cref="Owner"/> is set.
/// </summary>
internal sealed class TreeCopier : IDisposable
{
    /// <summary>
    /// Files that share an inode in the source are hard links of one copy in the destination (COPY/ADD, as docker and
    /// buildah: within what one copier copies). The first copy of each such inode is held open (O_PATH) to link to.
    /// </summary>
    public bool KeepHardLinks { get; init; }
    private readonly Dictionary<(ulong Dev, ulong Ino), SafeFileHandle> _links = new();
    // each held copy is an open descriptor: beyond this many linked inodes in one source, further names are copies (same content)
    private const int MaxHeldLinks = 256;

    public void Dispose() => NewLinkScope();

    /// <summary>Forgets the inodes copied so far: what is copied next is not linked to them (buildah links within one source of a COPY, not across its sources).</summary>
    public void NewLinkScope()
    {
        foreach (var h in _links.Values) h.Dispose();
        _links.Clear();
    }

    /// <summary>Owner of everything made (copy in, as podman: the container's user); null keeps the source's.</summary>
    public (int Uid, int Gid)? Owner { get; init; }
    /// <summary>Applied to every owner written (a user namespace's shift: into its range on the way in, back out of it on the way out).</summary>
    public Func<(int Uid, int Gid), (int Uid, int Gid)>? MapIds { get; init; }

    /// <summary>
    /// Leave everything made the caller's (no chown): a rootless engine, which may not give files away; its files are the
    /// user's, which is root in its containers (docker cp's rule too: copied in, root's; copied out, the caller's).
    /// </summary>
    public bool KeepCallerOwner { get; init; }

    private (int, int) OwnerOf(LayerFs.Stat st)
    {
        var o = Owner ?? ((int)st.Uid, (int)st.Gid);
        return MapIds is null ? o : MapIds(o);
    }

    private void Chown(SafeFileHandle dir, string name, LayerFs.Stat st, string what)
    {
        if (KeepCallerOwner) return;
        var (uid, gid) = OwnerOf(st);
        RootedFs.ChownAt(dir, name, uid, gid, what);
    }
    public Action<string>? Skipped { get; init; }
    public CancellationToken Ct { get; init; }

    private const int O_NOCTTY = 0x100;
    private const int ReadFlags = FileSys.O_RDONLY | FileSys.O_NONBLOCK | O_NOCTTY;

    /// <summary>Copies what the O_PATH descriptor <paramref name="src"/> holds (a link: the link itself) as <paramref name="name"/> in <paramref name="dstDir"/>.</summary>
    public void CopyTop(SafeFileHandle src, string what, SafeFileHandle dstDir, string name)
    {
        var st = RootedFs.Fstat(src, what);
        switch (st.Mode & LayerFs.S_IFMT)
        {
            case LayerFs.S_IFDIR:
            {
                using var d = RootedFs.Reopen(src, FileSys.O_RDONLY | FileSys.O_DIRECTORY, what);
                CopyDir(d, st, dstDir, name, what);
                break;
            }
            case LayerFs.S_IFREG:
            {
                using var f = RootedFs.Reopen(src, ReadFlags, what);
                CopyFile(f, RootedFs.Fstat(f, what), dstDir, name, what);
                break;
            }
            case LayerFs.S_IFLNK:
                CopyLink(RootedFs.ReadlinkAt(src, "", what), st, dstDir, name, what);
                break;
            default:
                CopySpecial(st, dstDir, name, what);
                break;
        }
    }

    /// <summary>Copies the entries of the directory <paramref name="srcDir"/> into <paramref name="dstDir"/> (docker's "SRC/.").</summary>
    public void CopyChildren(SafeFileHandle srcDir, SafeFileHandle dstDir, string what)
    {
        foreach (var (name, _) in RootedFs.ReadDir(srcDir, what))
        {
            Ct.ThrowIfCancellationRequested();
            CopyEntry(srcDir, name, dstDir, what + "/" + name);
        }
    }

    private static bool Changed(NativeException e) => e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EINVAL or Errno.ENXIO;

    private void CopyEntry(SafeFileHandle srcDir, string name, SafeFileHandle dstDir, string what)
    {
        if (!RootedFs.TryStatAt(srcDir, name, out var st, what)) { Skipped?.Invoke(what); return; }
        uint type = st.Mode & LayerFs.S_IFMT;
        if (type == LayerFs.S_IFSOCK) return; // sockets are not copied (as tar)
        SafeFileHandle? h = null;
        string? target = null;
        try
        {
            if (type == LayerFs.S_IFDIR) h = RootedFs.OpenAt(srcDir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, what);
            else if (type == LayerFs.S_IFREG) h = RootedFs.OpenAt(srcDir, name, ReadFlags, 0, what);
            else if (type == LayerFs.S_IFLNK) target = RootedFs.ReadlinkAt(srcDir, name, what);
            if (h is not null)
            {
                var now = RootedFs.Fstat(h, what);
                if ((now.Mode & LayerFs.S_IFMT) != type) { h.Dispose(); Skipped?.Invoke(what); return; }
                st = now;
            }
        }
        catch (NativeException e) when (Changed(e)) { h?.Dispose(); Skipped?.Invoke(what); return; }
        using (h)
        {
            if (type == LayerFs.S_IFDIR) CopyDir(h!, st, dstDir, name, what);
            else if (type == LayerFs.S_IFREG) CopyFile(h!, st, dstDir, name, what);
            else if (type == LayerFs.S_IFLNK) CopyLink(target!, st, dstDir, name, what);
            else CopySpecial(st, dstDir, name, what);
        }
    }

    private void CopyDir(SafeFileHandle src, LayerFs.Stat st, SafeFileHandle dstDir, string name, string what)
    {
        using var d = MakeDir(dstDir, name, what);
        CopyChildren(src, d, what);
        SetMeta(d, "", st, what);
    }

    /// <summary>An existing directory of that name (not a link to one), or a new one in place of whatever else is there.</summary>
    private static SafeFileHandle MakeDir(SafeFileHandle dstDir, string name, string what)
    {
        if (RootedFs.TryStatAt(dstDir, name, out var ex, what))
        {
            if ((ex.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR) return RootedFs.OpenAt(dstDir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, what);
            RootedFs.UnlinkAt(dstDir, name, false, what);
        }
        RootedFs.MkdirAt(dstDir, name, 0x1c0, what);
        return RootedFs.OpenAt(dstDir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, what);
    }

    /// <summary>Removes a non-directory of that name (a link is removed, not followed); a directory there is an error.</summary>
    private static void MakeRoom(SafeFileHandle dstDir, string name, string what)
    {
        if (!RootedFs.TryStatAt(dstDir, name, out var ex, what)) return;
        if ((ex.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR)
            throw ContainersException.Conflict("CopyOntoDirectory", RuntimeMessages.CopyOntoDirectory(what), what);
        RootedFs.UnlinkAt(dstDir, name, false, what);
    }

    private void CopyFile(SafeFileHandle src, LayerFs.Stat st, SafeFileHandle dstDir, string name, string what)
    {
        MakeRoom(dstDir, name, what);
        bool linked = KeepHardLinks && st.Nlink > 1;
        if (linked && _links.TryGetValue((st.Dev, st.Ino), out var first))
        {
            RootedFs.LinkFd(first, dstDir, name, what);
            return;
        }
        // O_EXCL with O_NOFOLLOW: if anything (a link) appeared there since, this fails instead of writing through it
        using var dst = RootedFs.OpenAt(dstDir, name, FileSys.O_WRONLY | FileSys.O_CREAT | FileSys.O_EXCL, 0x180, what);
        var buf = new byte[1 << 16];
        using (var i = new FileStream(src, FileAccess.Read, 1, false))
        using (var o = new FileStream(dst, FileAccess.Write, 1, false))
        {
            int n;
            while ((n = i.Read(buf)) > 0)
            {
                Ct.ThrowIfCancellationRequested();
                o.Write(buf, 0, n);
            }
            o.Flush();
            SetMeta(dst, "", st, what);
        }
        if (linked && _links.Count < MaxHeldLinks)
            _links[(st.Dev, st.Ino)] = RootedFs.OpenAt(dstDir, name, FileSys.O_PATH, 0, what);
    }

    private void CopyLink(string target, LayerFs.Stat st, SafeFileHandle dstDir, string name, string what)
    {
        MakeRoom(dstDir, name, what);
        RootedFs.SymlinkAt(target, dstDir, name, what);
        Chown(dstDir, name, st, what);
        RootedFs.UtimesAt(dstDir, name, st.Mtime.Sec, st.Mtime.Nsec, what);
    }

    private void CopySpecial(LayerFs.Stat st, SafeFileHandle dstDir, string name, string what)
    {
        uint type = st.Mode & LayerFs.S_IFMT;
        if (type == LayerFs.S_IFSOCK) return;
        MakeRoom(dstDir, name, what);
        RootedFs.MknodAt(dstDir, name, type | (st.Mode & 0xFFF), LayerFs.Major(st.Rdev), LayerFs.Minor(st.Rdev), what);
        SetMeta(dstDir, name, st, what);
    }

    /// <summary>Owner, then mode (chown clears set-id bits), then times: of a name in a directory, or of the descriptor itself ("").</summary>
    private void SetMeta(SafeFileHandle dir, string name, LayerFs.Stat st, string what)
    {
        Chown(dir, name, st, what);
        RootedFs.ChmodAt(dir, name, st.Mode & 0xFFF, what);
        RootedFs.UtimesAt(dir, name, st.Mtime.Sec, st.Mtime.Nsec, what);
    }
}
