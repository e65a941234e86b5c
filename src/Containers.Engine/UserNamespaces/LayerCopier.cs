using System.Buffers.Binary;
using Containers.Engine.Errors;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// Copies an image layer's tree into a new directory with every owner shifted into an id range (uid+start,
/// gid+start), for a root whose file system cannot give idmapped mounts (<see cref="LayerCopies"/>). What an
/// idmapped mount would show the container, the copy holds on disk: modes with set-id bits, times, hard links,
/// device nodes, whiteouts (0/0 character devices) and xattrs (the overlay's opaque markers as they are; POSIX ACLs'
/// named users and groups and a v3 file capability's root id shifted like the owners). An id past the range (which
/// an idmapped mount would show as unmapped) becomes the range's nobody (65534 inside), never a host id of another
/// range.
/// <para>
/// A layer is hostile input: the walk goes by descriptor on both sides (RootedFs), links are copied as links and never
/// followed, and a hard link is made to the copy's own earlier file, found again from the copy's top without following
/// any link (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): nothing outside the destination is read through a link or written.
/// </para>
/// </summary>
internal sealed class LayerCopier
{
    private readonly IdRange _range;
    private readonly RootedFs _dst;
    // the first copy of each inode with more than one name, as a path under the copy's top
    private readonly Dictionary<(ulong Dev, ulong Ino), string> _firstNames = new();
    private readonly byte[] _buf = new byte[1 << 20];
    private readonly CancellationToken _ct;

    private LayerCopier(IdRange range, RootedFs dst, CancellationToken ct) { _range = range; _dst = dst; _ct = ct; }

    /// <summary>Copies the directory <paramref name="source"/> (a host path the engine trusts; nothing below it is) into the empty directory <paramref name="destination"/>.</summary>
    public static void Copy(string source, string destination, IdRange range, CancellationToken ct = default)
    {
        using var src = FileSys.OpenHandle(source, FileSys.O_RDONLY | FileSys.O_DIRECTORY | FileSys.O_NOFOLLOW);
        using var dst = RootedFs.Open(destination, RootedFs.Resolution.NoSymlinks);
        var c = new LayerCopier(range, dst, ct);
        var st = RootedFs.Fstat(src, source);
        c.CopyChildren(src, dst.Root, "");
        c.SetMeta(dst.Root, "", st, "/", src: src);
    }

    /// <summary>A layer's id as the copy holds it: shifted into the range; past the range, the range's nobody.</summary>
    internal uint Shift(uint id) => id < _range.Count ? _range.Start + id : _range.Start + 65534;

    private void CopyChildren(SafeFileHandle src, SafeFileHandle dst, string rel)
    {
        foreach (var (name, _) in RootedFs.ReadDir(src, rel))
        {
            _ct.ThrowIfCancellationRequested();
            CopyEntry(src, dst, name, rel.Length == 0 ? name : rel + "/" + name);
        }
    }

    private void CopyEntry(SafeFileHandle srcDir, SafeFileHandle dstDir, string name, string rel)
    {
        if (!RootedFs.TryStatAt(srcDir, name, out var st, rel)) return;
        switch (st.Mode & LayerFs.S_IFMT)
        {
            case LayerFs.S_IFDIR:
            {
                using var s = RootedFs.OpenAt(srcDir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, rel);
                RootedFs.MkdirAt(dstDir, name, 0x1c0, rel);
                using var d = RootedFs.OpenAt(dstDir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, rel);
                CopyChildren(s, d, rel);
                SetMeta(d, "", st, rel, src: s);
                break;
            }
            case LayerFs.S_IFREG:
            {
                if (st.Nlink > 1 && _firstNames.TryGetValue((st.Dev, st.Ino), out var first))
                {
                    // the copy's own earlier name, resolved from the copy's top with no link on the way
                    using var fd = _dst.OpenParent(first, out var fn);
                    RootedFs.LinkAt(fd, fn, dstDir, name, rel);
                    return;
                }
                using var s = RootedFs.OpenAt(srcDir, name, FileSys.O_RDONLY | FileSys.O_NONBLOCK, 0, rel);
                using var d = RootedFs.OpenAt(dstDir, name, FileSys.O_WRONLY | FileSys.O_CREAT | FileSys.O_EXCL, 0x180, rel);
                // by the kernel where it can (no copy through user space); else through a buffer
                if (!CopyRange.TryCopyAll(s, d, rel))
                {
                    long off = 0;
                    int n;
                    while ((n = RandomAccess.Read(s, _buf, off)) > 0)
                    {
                        RandomAccess.Write(d, _buf.AsSpan(0, n), off);
                        off += n;
                    }
                }
                SetMeta(d, "", st, rel, src: s);
                if (st.Nlink > 1) _firstNames[(st.Dev, st.Ino)] = rel;
                break;
            }
            case LayerFs.S_IFLNK:
                RootedFs.SymlinkAt(RootedFs.ReadlinkAt(srcDir, name, rel), dstDir, name, rel);
                SetMeta(dstDir, name, st, rel, srcDir: srcDir, srcName: name);
                break;
            default:
                // device nodes, FIFOs, sockets, and the overlay's whiteouts (0/0 character devices)
                RootedFs.MknodAt(dstDir, name, (st.Mode & LayerFs.S_IFMT) | (st.Mode & 0xFFF), LayerFs.Major(st.Rdev), LayerFs.Minor(st.Rdev), rel);
                SetMeta(dstDir, name, st, rel, srcDir: srcDir, srcName: name);
                break;
        }
    }

    /// <summary>xattrs, then owner, then mode (a chown clears set-id bits), then times: of a name in a directory, or of the descriptor itself ("").</summary>
    private void SetMeta(SafeFileHandle dir, string name, LayerFs.Stat st, string what, SafeFileHandle? src = null, SafeFileHandle? srcDir = null, string? srcName = null)
    {
        if (src is not null || srcDir is not null) CopyXattrs(src ?? srcDir!, src is not null ? "" : srcName!, dir, name, what);
        RootedFs.ChownAt(dir, name, (int)Shift(st.Uid), (int)Shift(st.Gid), what);
        if ((st.Mode & LayerFs.S_IFMT) != LayerFs.S_IFLNK) RootedFs.ChmodAt(dir, name, st.Mode & 0xFFF, what);
        RootedFs.UtimesAt(dir, name, st.Mtime.Sec, st.Mtime.Nsec, what);
    }

    private void CopyXattrs(SafeFileHandle srcDir, string srcName, SafeFileHandle dir, string name, string what)
    {
        foreach (var x in RootedFs.ListXattrAt(srcDir, srcName, what))
        {
            var v = RootedFs.GetXattrAt(srcDir, srcName, x, what);
            if (v is null) continue;
            if (x is "system.posix_acl_access" or "system.posix_acl_default") ShiftAcl(v);
            else if (x == "security.capability") ShiftCapability(v);
            try { RootedFs.SetXattrAt(dir, name, x, v, what); }
            // a name the destination's file system does not take (a security module's label it does not know)
            catch (NativeException ne) when (ne.Errno is Errno.EOPNOTSUPP or Errno.EPERM && x.StartsWith("security.", StringComparison.Ordinal) && x != "security.capability") { }
        }
    }

    /// <summary>
    /// A POSIX ACL as the kernel stores it (a le32 version, then entries of le16 tag, le16 perm, le32 id): the ids of
    /// ACL_USER (2) and ACL_GROUP (8) entries shifted like owners, as an idmapped mount would show them.
    /// </summary>
    internal void ShiftAcl(byte[] v)
    {
        for (int off = 4; off + 8 <= v.Length; off += 8)
        {
            ushort tag = BinaryPrimitives.ReadUInt16LittleEndian(v.AsSpan(off));
            if (tag is 2 or 8)
                BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(off + 4), Shift(BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(off + 4))));
        }
    }

    /// <summary>
    /// A file capability: v3 (24 bytes, revision 0x03000000) names the user namespace root it is for, shifted like an
    /// owner; v2 (no root id: host root's, which the kernel honours in every user namespace below it) is kept.
    /// </summary>
    internal void ShiftCapability(byte[] v)
    {
        if (v.Length >= 24 && (BinaryPrimitives.ReadUInt32LittleEndian(v) & 0xFF000000) == 0x03000000)
            BinaryPrimitives.WriteUInt32LittleEndian(v.AsSpan(20), Shift(BinaryPrimitives.ReadUInt32LittleEndian(v.AsSpan(20))));
    }

    /// <summary>The error of a copy that failed (the half-made copy is removed by the caller).</summary>
    public static ContainersException Failed(string layer, Exception ex) =>
        ContainersException.System("LayerCopyFailed", $"The layer {layer} could not be copied with its owners shifted into the container's id range (this root's file system has no idmapped mounts): {ex.Message}", layer, ex);
}
