using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Containers.Native.Sys;

/// <summary>
/// A directory tree that no path may leave: a container's root, a layer's staging directory, a copy's
/// destination. Every host-side walk into a tree someone else controls goes through here.
/// <para>
/// Paths are relative to the root ("/etc/x" and "etc/x" are the same) and are first cleaned lexically, as
/// docker does (<c>a/../b</c> is <c>b</c>; <c>..</c> at the root stays at the root). The directories on the
/// way are then resolved by the kernel with <c>openat2(2)</c>: <see cref="Resolution.InRoot"/> resolves
/// symbolic links as the tree's own processes would, with the root as "/" (<c>RESOLVE_IN_ROOT</c>), and
/// <see cref="Resolution.NoSymlinks"/> refuses any link on the way (<c>RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS</c>, for trees we made ourselves). Both refuse procfs magic links. The last
/// component is never followed unless the call says so (and then it too resolves inside the root).
/// </para>
/// <para>
/// Walks over a tree go by descriptor instead of by path: <see cref="ReadDir"/> lists a directory fd and the
/// <c>*At</c> functions act on one name in a directory fd without following it, so a tree that changes
/// while it is walked can make a name vanish (ENOENT) but never send the walk elsewhere.
/// </para>
/// Every fd this class hands out is a <see cref="SafeFileHandle"/> owned by the caller.
/// </summary>
internal sealed unsafe partial class RootedFs : IDisposable
{
    /// <summary>How the directories leading to a name are resolved.</summary>
    public enum Resolution
    {
        /// <summary>Symbolic links are followed, with "/" and ".." clamped to the root (RESOLVE_IN_ROOT).</summary>
        InRoot,
        /// <summary>No symbolic link anywhere on the way (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS).</summary>
        NoSymlinks,
    }

    public const long SYS_openat2 = 437, SYS_fchmodat2 = 452, SYS_setxattrat = 463, SYS_getxattrat = 464, SYS_listxattrat = 465;
    public const ulong RESOLVE_NO_XDEV = 0x01, RESOLVE_NO_MAGICLINKS = 0x02, RESOLVE_NO_SYMLINKS = 0x04, RESOLVE_BENEATH = 0x08, RESOLVE_IN_ROOT = 0x10;
    public const int AT_SYMLINK_NOFOLLOW = 0x100, AT_REMOVEDIR = 0x200, AT_EMPTY_PATH = 0x1000;
    public const byte DT_UNKNOWN = 0, DT_FIFO = 1, DT_CHR = 2, DT_DIR = 4, DT_BLK = 6, DT_REG = 8, DT_LNK = 10, DT_SOCK = 12;

    /// <summary>struct open_how (linux/openat2.h).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct OpenHow { public ulong Flags; public ulong Mode; public ulong Resolve; }

    /// <summary>struct xattr_args (linux/xattr.h, 6.13).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct XattrArgs { public ulong Value; public uint Size; public uint Flags; }

    private readonly ulong _resolve;

    /// <summary>The root directory (O_RDONLY|O_DIRECTORY, so it can be listed and its own xattrs set).</summary>
    public SafeFileHandle Root { get; }

    /// <summary>Where the root is on the host (for messages only; never resolved again).</summary>
    public string Name { get; }

    private RootedFs(SafeFileHandle root, Resolution resolution, string name)
    {
        Root = root;
        Name = name;
        _resolve = RESOLVE_NO_MAGICLINKS | (resolution == Resolution.InRoot ? RESOLVE_IN_ROOT : RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    }

    /// <summary>
    /// Opens <paramref name="hostDir"/> as a root. The host path itself is the caller's to trust: it is resolved
    /// as any host path is (so /proc/&lt;pid&gt;/root works); everything under it is not.
    /// </summary>
    public static RootedFs Open(string hostDir, Resolution resolution)
        => new(FileSys.OpenHandle(hostDir, FileSys.O_RDONLY | FileSys.O_DIRECTORY), resolution, hostDir);

    /// <summary>Takes ownership of a directory descriptor as a root.</summary>
    public static RootedFs FromHandle(SafeFileHandle dir, Resolution resolution, string name) => new(dir, resolution, name);

    public void Dispose() => Root.Dispose();

    // ---- path resolution under the root ----

    /// <summary>A root-relative path cleaned lexically ("" is the root itself); never contains "." or "..".</summary>
    public static string Clean(string path)
    {
        if (path.IndexOf('\0') >= 0) throw new NativeException("openat2", Errno.EINVAL, path);
        var parts = new List<string>();
        foreach (var p in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    /// <summary>
    /// Opens <paramref name="path"/> under the root (O_CLOEXEC added). The last component is followed only with
    /// <paramref name="followLast"/> (inside the root too); otherwise a link there gives ELOOP, or with O_PATH
    /// a descriptor of the link itself.
    /// </summary>
    public SafeFileHandle Open(string path, int flags, uint mode = 0, bool followLast = false)
    {
        string p = Clean(path);
        if (!followLast) flags |= FileSys.O_NOFOLLOW;
        return OpenAt2(Root, p.Length == 0 ? "." : p, flags, mode, _resolve, path);
    }

    /// <summary>Like <see cref="Open"/> but null when the path (or a directory on the way) does not exist.</summary>
    public SafeFileHandle? TryOpen(string path, int flags, uint mode = 0, bool followLast = false)
    {
        try { return Open(path, flags, mode, followLast); }
        catch (NativeException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR) { return null; }
    }

    /// <summary>
    /// The directory that holds the last component of <paramref name="path"/> (resolved under the root), and
    /// that component's name. The root itself has no parent: EINVAL.
    /// </summary>
    public SafeFileHandle OpenParent(string path, out string name)
    {
        string p = Clean(path);
        if (p.Length == 0) throw new NativeException("openat2", Errno.EINVAL, path + " (the root has no parent)");
        int slash = p.LastIndexOf('/');
        name = p[(slash + 1)..];
        return OpenAt2(Root, slash < 0 ? "." : p[..slash], FileSys.O_PATH | FileSys.O_DIRECTORY, 0, _resolve, path);
    }

    /// <summary>lstat (or stat with <paramref name="followLast"/>) of a path under the root; false when it does not exist.</summary>
    public bool TryStat(string path, out LayerFs.Stat st, bool followLast = false)
    {
        using var h = TryOpen(path, FileSys.O_PATH, 0, followLast);
        if (h is null) { st = default; return false; }
        st = Fstat(h, path);
        return true;
    }

    /// <summary>
    /// Opens the very file an O_PATH descriptor holds with real access <paramref name="flags"/> (through its
    /// /proc/self/fd magic link, which names that inode and nothing else; never use it on a link's descriptor).
    /// </summary>
    public static SafeFileHandle Reopen(SafeFileHandle opath, int flags, string? what = null)
    {
        bool added = false;
        try
        {
            opath.DangerousAddRef(ref added);
            try { return FileSys.OpenHandle($"/proc/self/fd/{opath.DangerousGetHandle()}", flags & ~FileSys.O_NOFOLLOW & ~FileSys.O_CREAT); }
            catch (NativeException e) { throw new NativeException("reopen", e.Errno, what); }
        }
        finally { if (added) opath.DangerousRelease(); }
    }

    /// <summary>The target of the link <paramref name="path"/> names (not followed).</summary>
    public string Readlink(string path)
    {
        using var h = Open(path, FileSys.O_PATH);
        return ReadlinkAt(h, "", path);
    }

    /// <summary>
    /// mkdir -p under the root: every missing directory of <paramref name="path"/> is made with
    /// <paramref name="mode"/>; existing ones (links resolved in the root) are kept. Returns the last directory,
    /// opened O_RDONLY|O_DIRECTORY.
    /// </summary>
    public SafeFileHandle MkdirAll(string path, uint mode)
    {
        string p = Clean(path);
        var dir = OpenAt2(Root, ".", FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, _resolve, path);
        if (p.Length == 0) return dir;
        int start = 0;
        try
        {
            while (start <= p.Length)
            {
                int slash = p.IndexOf('/', start);
                if (slash < 0) slash = p.Length;
                string prefix = p[..slash];
                var next = TryOpen(prefix, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, followLast: true);
                if (next is null)
                {
                    // not there: make it in the directory we hold, then resolve it again from the root (it is
                    // ours, but the tree may be live; resolving from the root keeps links on the way inside)
                    MkdirAt(dir, p[start..slash], mode, path, existOk: true);
                    next = Open(prefix, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, followLast: true);
                }
                dir.Dispose();
                dir = next;
                start = slash + 1;
            }
            return dir;
        }
        catch { dir.Dispose(); throw; }
    }

    /// <summary>Creates (or with <paramref name="exclusive"/> false, truncates) a regular file; a link in its place is never followed.</summary>
    public SafeFileHandle CreateFile(string path, uint mode, bool exclusive)
    {
        using var parent = OpenParent(path, out string name);
        return OpenAt(parent, name, FileSys.O_WRONLY | FileSys.O_CREAT | (exclusive ? FileSys.O_EXCL : FileSys.O_TRUNC), mode, path);
    }

    public void Mkdir(string path, uint mode) { using var d = OpenParent(path, out var n); MkdirAt(d, n, mode, path); }
    public void Unlink(string path) { using var d = OpenParent(path, out var n); UnlinkAt(d, n, false, path); }
    public void Rmdir(string path) { using var d = OpenParent(path, out var n); UnlinkAt(d, n, true, path); }
    public void Symlink(string target, string path) { using var d = OpenParent(path, out var n); SymlinkAt(target, d, n, path); }
    public void Mknod(string path, uint mode, uint major, uint minor) { using var d = OpenParent(path, out var n); MknodAt(d, n, mode, major, minor, path); }

    /// <summary>A hard link at <paramref name="path"/> to <paramref name="existing"/> (both under the root; a link named by existing is linked, not followed).</summary>
    public void Link(string existing, string path)
    {
        using var od = OpenParent(existing, out var on);
        using var nd = OpenParent(path, out var nn);
        LinkAt(od, on, nd, nn, path);
    }

    // ---- one name in a directory descriptor: no resolution at all ----

    private static void CheckName(string name, string call)
    {
        if (name.Length == 0 || name == "." || name == ".." || name.IndexOf('/') >= 0 || name.IndexOf('\0') >= 0)
            throw new NativeException(call, Errno.EINVAL, name + " (not a single file name)");
    }

    /// <summary>openat(dir, name) with O_NOFOLLOW|O_CLOEXEC: a link there is not followed (ELOOP, or the link itself with O_PATH).</summary>
    public static SafeFileHandle OpenAt(SafeFileHandle dir, string name, int flags, uint mode = 0, string? what = null)
    {
        CheckName(name, "openat");
        while (true)
        {
            int fd = openat_(dir, name, flags | FileSys.O_NOFOLLOW | FileSys.O_CLOEXEC, mode);
            if (fd >= 0) return new SafeFileHandle(fd, ownsHandle: true);
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR) continue;
            throw new NativeException("openat", e, what ?? name);
        }
    }

    /// <summary>fstatat(dir, name, AT_SYMLINK_NOFOLLOW); false when the name is gone.</summary>
    public static bool TryStatAt(SafeFileHandle dir, string name, out LayerFs.Stat st, string? what = null)
    {
        LayerFs.Stat s;
        if (fstatat_(dir, name, &s, AT_SYMLINK_NOFOLLOW) == 0) { st = s; return true; }
        int e = Marshal.GetLastPInvokeError();
        st = default;
        if (e is Errno.ENOENT or Errno.ENOTDIR) return false;
        throw new NativeException("fstatat", e, what ?? name);
    }

    /// <summary>fstat of a descriptor (an O_PATH one too).</summary>
    public static LayerFs.Stat Fstat(SafeFileHandle fd, string? what = null)
    {
        LayerFs.Stat s;
        if (fstatat_(fd, "", &s, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) throw NativeException.Last("fstat", what);
        return s;
    }

    /// <summary>readlinkat(dir, name); an empty name reads the link an O_PATH descriptor holds.</summary>
    public static string ReadlinkAt(SafeFileHandle dir, string name, string? what = null)
    {
        for (int size = 4096; ; size *= 4)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* b = buf) n = readlinkat_(dir, name, b, (nuint)size);
            if (n < 0) throw NativeException.Last("readlinkat", what ?? name);
            if (n < size) return Encoding.UTF8.GetString(buf, 0, (int)n);
        }
    }

    /// <summary>mkdirat; with <paramref name="existOk"/> an existing name is no error (returns false).</summary>
    public static bool MkdirAt(SafeFileHandle dir, string name, uint mode, string? what = null, bool existOk = false)
    {
        CheckName(name, "mkdirat");
        if (mkdirat_(dir, name, mode) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.EEXIST && existOk) return false;
        throw new NativeException("mkdirat", e, what ?? name);
    }

    public static void UnlinkAt(SafeFileHandle dir, string name, bool isDir, string? what = null)
    {
        CheckName(name, "unlinkat");
        if (unlinkat_(dir, name, isDir ? AT_REMOVEDIR : 0) != 0) throw NativeException.Last(isDir ? "unlinkat(AT_REMOVEDIR)" : "unlinkat", what ?? name);
    }

    public static void SymlinkAt(string target, SafeFileHandle dir, string name, string? what = null)
    {
        CheckName(name, "symlinkat");
        if (symlinkat_(target, dir, name) != 0) throw NativeException.Last("symlinkat", what ?? name);
    }

    public static void LinkAt(SafeFileHandle oldDir, string oldName, SafeFileHandle newDir, string newName, string? what = null)
    {
        CheckName(oldName, "linkat");
        CheckName(newName, "linkat");
        if (linkat_(oldDir, oldName, newDir, newName, 0) != 0) throw NativeException.Last("linkat", what ?? newName);
    }

    /// <summary>
    /// A hard link named <paramref name="newName"/> in <paramref name="newDir"/> to the file a descriptor holds (no
    /// path is resolved): linkat(fd, "", AT_EMPTY_PATH), or where that needs a capability the process lacks, through
    /// the descriptor's /proc/self/fd entry (the kernel links the open file itself, never a name).
    /// </summary>
    public static void LinkFd(SafeFileHandle file, SafeFileHandle newDir, string newName, string? what = null)
    {
        CheckName(newName, "linkat");
        if (linkatFd_(file, "", newDir, newName, AT_EMPTY_PATH) == 0) return;
        int e = Marshal.GetLastPInvokeError();
        if (e is not (Errno.ENOENT or Errno.EPERM)) throw new NativeException("linkat", e, what ?? newName);
        string proc = "/proc/self/fd/" + file.DangerousGetHandle().ToInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (linkatCwd_(-100 /* AT_FDCWD */, proc, newDir, newName, 0x400 /* AT_SYMLINK_FOLLOW */) != 0) throw NativeException.Last("linkat", what ?? newName);
    }

    public static void MknodAt(SafeFileHandle dir, string name, uint mode, uint major, uint minor, string? what = null)
    {
        CheckName(name, "mknodat");
        if (mknodat_(dir, name, mode, LayerFs.MakeDev(major, minor)) != 0) throw NativeException.Last("mknodat", what ?? name);
    }

    /// <summary>fchownat(dir, name, AT_SYMLINK_NOFOLLOW); an empty name changes the descriptor's own file (an O_PATH one too).</summary>
    public static void ChownAt(SafeFileHandle dir, string name, int uid, int gid, string? what = null)
    {
        if (fchownat_(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? AT_EMPTY_PATH : 0)) != 0)
            throw NativeException.Last("fchownat", what ?? name);
    }

    private static bool s_noFchmodat2;

    /// <summary>
    /// Mode of one name, never through a link (fchmodat2 with AT_SYMLINK_NOFOLLOW; a link keeps its mode, as on
    /// Linux it has none). An empty name changes the descriptor's own file.
    /// </summary>
    public static void ChmodAt(SafeFileHandle dir, string name, uint mode, string? what = null)
    {
        int flags = name.Length == 0 ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
        if (!s_noFchmodat2)
        {
            long rc = RawAt(SYS_fchmodat2, dir, name, mode, flags);
            if (rc == 0) return;
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EOPNOTSUPP && name.Length > 0) return; // a symbolic link
            if (e != Errno.ENOSYS) throw new NativeException("fchmodat2", e, what ?? name);
            s_noFchmodat2 = true;
        }
        // before 6.6: through an O_PATH descriptor of the name itself, by its /proc/self/fd link
        using var h = name.Length == 0 ? null : OpenAt(dir, name, FileSys.O_PATH, 0, what);
        var target = h ?? dir;
        if ((Fstat(target, what).Mode & LayerFs.S_IFMT) == LayerFs.S_IFLNK) return;
        LayerFs.Chmod(ProcFd(target), mode);
    }

    /// <summary>Both times of one name, never through a link; an empty name sets the descriptor's own file.</summary>
    public static void UtimesAt(SafeFileHandle dir, string name, long sec, long nsec, string? what = null)
    {
        LayerFs.Timespec* t = stackalloc LayerFs.Timespec[2];
        t[0] = new LayerFs.Timespec { Sec = sec, Nsec = nsec };
        t[1] = t[0];
        if (utimensat_(dir, name, t, AtFlags(name)) != 0) throw NativeException.Last("utimensat", what ?? name);
    }

    // ---- xattrs of one name, never through a link ----

    private static bool s_noXattrAt;

    /// <summary>Sets an xattr on a name in <paramref name="dir"/> (empty: the descriptor's own file), not following a link.</summary>
    public static void SetXattrAt(SafeFileHandle dir, string name, string xname, ReadOnlySpan<byte> value, string? what = null)
    {
        fixed (byte* v = value)
        {
            if (!s_noXattrAt)
            {
                var args = new XattrArgs { Value = (ulong)v, Size = (uint)value.Length };
                long rc;
                fixed (byte* xn = Utf8z(xname)) rc = RawAt(SYS_setxattrat, dir, name, AtFlags(name), (long)xn, (long)(&args), sizeof(XattrArgs));
                if (rc == 0) return;
                int e = Marshal.GetLastPInvokeError();
                if (e != Errno.ENOSYS) throw new NativeException("setxattrat " + xname, e, what ?? name);
                s_noXattrAt = true;
            }
            if (lsetxattr_(ProcFd(dir, name), xname, v, (nuint)value.Length, 0) != 0) throw NativeException.Last("lsetxattr " + xname, what ?? name);
        }
    }

    /// <summary>The xattr names of a name in <paramref name="dir"/> (not following a link); empty when the file system has none.</summary>
    public static string[] ListXattrAt(SafeFileHandle dir, string name, string? what = null)
    {
        for (int size = 1024; ; size *= 8)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* b = buf) n = ListXattrRaw(dir, name, b, (nuint)size);
            if (n >= 0) return n == 0 ? [] : Encoding.UTF8.GetString(buf, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EOPNOTSUPP) return [];
            if (e != ERANGE || size > 1 << 20) throw new NativeException("listxattrat", e, what ?? name);
        }
    }

    /// <summary>The value of one xattr, or null when there is none of that name.</summary>
    public static byte[]? GetXattrAt(SafeFileHandle dir, string name, string xname, string? what = null)
    {
        for (int size = 256; ; size *= 16)
        {
            var buf = new byte[size];
            nint n;
            fixed (byte* b = buf)
            {
                if (!s_noXattrAt)
                {
                    var args = new XattrArgs { Value = (ulong)b, Size = (uint)size };
                    fixed (byte* xn = Utf8z(xname)) n = (nint)RawAt(SYS_getxattrat, dir, name, AtFlags(name), (long)xn, (long)(&args), sizeof(XattrArgs));
                    if (n < 0 && Marshal.GetLastPInvokeError() == Errno.ENOSYS) { s_noXattrAt = true; continue; }
                }
                else n = lgetxattr_(ProcFd(dir, name), xname, b, (nuint)size);
            }
            if (n >= 0) return buf.AsSpan(0, (int)n).ToArray();
            int e = Marshal.GetLastPInvokeError();
            if (e is Errno.ENODATA or Errno.EOPNOTSUPP) return null;
            if (e != ERANGE || size > 1 << 20) throw new NativeException("getxattrat " + xname, e, what ?? name);
        }
    }

    private static nint ListXattrRaw(SafeFileHandle dir, string name, byte* b, nuint size)
    {
        if (!s_noXattrAt)
        {
            nint n = (nint)RawAt(SYS_listxattrat, dir, name, AtFlags(name), (long)b, (long)size);
            if (n >= 0 || Marshal.GetLastPInvokeError() != Errno.ENOSYS) return n;
            s_noXattrAt = true;
        }
        return llistxattr_(ProcFd(dir, name), b, size);
    }

    private static int AtFlags(string name) => name.Length == 0 ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;

    private const int ERANGE = 34;

    // ---- directory listing by descriptor ----

    /// <summary>
    /// The entries of an open directory (O_RDONLY|O_DIRECTORY), without "." and "..", with their d_type
    /// (<see cref="DT_UNKNOWN"/> where the file system does not say). Reads from the descriptor's position: once.
    /// </summary>
    public static List<(string Name, byte Type)> ReadDir(SafeFileHandle dir, string? what = null)
    {
        var list = new List<(string, byte)>();
        byte[] buf = new byte[32768];
        fixed (byte* b = buf)
        {
            while (true)
            {
                long n = getdents64_(dir, b, buf.Length);
                if (n < 0)
                {
                    int e = Marshal.GetLastPInvokeError();
                    if (e == Errno.EINTR) continue;
                    if (e == Errno.ENOENT) break; // the directory was removed while we read it
                    throw new NativeException("getdents64", e, what);
                }
                if (n == 0) break;
                for (long off = 0; off < n;)
                {
                    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                    ushort reclen = *(ushort*)(b + off + 16);
                    byte type = b[off + 18];
                    byte* nm = b + off + 19;
                    int len = 0;
                    while (nm[len] != 0) len++;
                    if (!(len == 1 && nm[0] == '.') && !(len == 2 && nm[0] == '.' && nm[1] == '.'))
                        list.Add((Encoding.UTF8.GetString(nm, len), type));
                    off += reclen;
                }
            }
        }
        return list;
    }

    /// <summary>Removes a name and, when it is a directory, everything under it, by descriptor (links are removed, never followed).</summary>
    public static void RemoveAllAt(SafeFileHandle dir, string name, string? what = null)
    {
        if (!TryStatAt(dir, name, out var st, what)) return;
        if ((st.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR)
        {
            using (var sub = OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, what))
                foreach (var (n, _) in ReadDir(sub, what)) RemoveAllAt(sub, n, what is null ? n : what + "/" + n);
            if (unlinkat_(dir, name, AT_REMOVEDIR) != 0 && Marshal.GetLastPInvokeError() != Errno.ENOENT)
                throw NativeException.Last("unlinkat(AT_REMOVEDIR)", what ?? name);
        }
        else if (unlinkat_(dir, name, 0) != 0 && Marshal.GetLastPInvokeError() != Errno.ENOENT)
            throw NativeException.Last("unlinkat", what ?? name);
    }

    // ---- the calls ----

    /// <summary>openat2 with EINTR and EAGAIN (a concurrent rename the kernel could not rule out) retried.</summary>
    public static SafeFileHandle OpenAt2(SafeFileHandle dir, string path, int flags, uint mode, ulong resolve, string? what = null)
    {
        var how = new OpenHow { Flags = (ulong)(flags | FileSys.O_CLOEXEC), Mode = mode, Resolve = resolve };
        for (int tries = 0; ; tries++)
        {
            long fd = RawAt(SYS_openat2, dir, path, (long)(&how), sizeof(OpenHow));
            if (fd >= 0) return new SafeFileHandle((nint)fd, ownsHandle: true);
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR || (e == Errno.EAGAIN && tries < 64)) continue;
            throw new NativeException("openat2", e, what ?? path);
        }
    }

    /// <summary>The /proc/self/fd path of a descriptor (and a name in it): for the calls that have no *at form before 6.13.</summary>
    private static string ProcFd(SafeFileHandle fd, string name = "")
        => name.Length == 0 ? $"/proc/self/fd/{fd.DangerousGetHandle()}" : $"/proc/self/fd/{fd.DangerousGetHandle()}/{name}";

    /// <summary>syscall(nr, dirfd, path, a3..a6) with the fd held (AddRef) for the call; errno stays for the caller.</summary>
    private static long RawAt(long nr, SafeFileHandle dir, string path, long a3, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        bool added = false;
        try
        {
            dir.DangerousAddRef(ref added);
            fixed (byte* pp = Utf8z(path))
                return syscall_(nr, (int)dir.DangerousGetHandle(), (long)pp, a3, a4, a5, a6);
        }
        finally { if (added) dir.DangerousRelease(); }
    }

    private static byte[] Utf8z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long syscall_(long n, long a1, long a2, long a3, long a4, long a5, long a6);
    [LibraryImport("libc", EntryPoint = "openat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int openat_(SafeFileHandle dir, string name, int flags, uint mode);
    [LibraryImport("libc", EntryPoint = "fstatat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int fstatat_(SafeFileHandle dir, string name, LayerFs.Stat* st, int flags);
    [LibraryImport("libc", EntryPoint = "readlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint readlinkat_(SafeFileHandle dir, string name, byte* buf, nuint size);
    [LibraryImport("libc", EntryPoint = "mkdirat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mkdirat_(SafeFileHandle dir, string name, uint mode);
    [LibraryImport("libc", EntryPoint = "unlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int unlinkat_(SafeFileHandle dir, string name, int flags);
    [LibraryImport("libc", EntryPoint = "symlinkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int symlinkat_(string target, SafeFileHandle dir, string name);
    [LibraryImport("libc", EntryPoint = "linkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int linkat_(SafeFileHandle oldDir, string oldName, SafeFileHandle newDir, string newName, int flags);
    [LibraryImport("libc", EntryPoint = "linkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int linkatFd_(SafeFileHandle oldFd, string oldName, SafeFileHandle newDir, string newName, int flags);
    [LibraryImport("libc", EntryPoint = "linkat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int linkatCwd_(int oldDir, string oldName, SafeFileHandle newDir, string newName, int flags);
    [LibraryImport("libc", EntryPoint = "mknodat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int mknodat_(SafeFileHandle dir, string name, uint mode, ulong dev);
    [LibraryImport("libc", EntryPoint = "fchownat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int fchownat_(SafeFileHandle dir, string name, int uid, int gid, int flags);
    [LibraryImport("libc", EntryPoint = "utimensat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int utimensat_(SafeFileHandle dir, string name, LayerFs.Timespec* times, int flags);
    [LibraryImport("libc", EntryPoint = "getdents64", SetLastError = true)]
    private static partial long getdents64_(SafeFileHandle dir, byte* buf, nint size);
    [LibraryImport("libc", EntryPoint = "lsetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lsetxattr_(string path, string name, byte* value, nuint size, int flags);
    [LibraryImport("libc", EntryPoint = "lgetxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint lgetxattr_(string path, string name, byte* value, nuint size);
    [LibraryImport("libc", EntryPoint = "llistxattr", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint llistxattr_(string path, byte* list, nuint size);
}
