using Containers.Native.Proc;
using Microsoft.Win32.SafeHandles;
using FileSys = Containers.Native.Sys.FileSys;
using LayerFs = Containers.Native.Sys.LayerFs;
using NativeException = Containers.Native.Sys.NativeException;
using RootedFs = Containers.Native.Sys.RootedFs;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// Rootless copy-up (docker's and podman's): fills a new named volume with what the container's image holds at the
/// mount point. Root's engine mounts a read-only overlay of the layers in its own process; a rootless one cannot, so
/// the engine runs this mode as root of a user namespace with the user's mapping (userns-exec):
/// "volume-seed &lt;lowers top first, ':'-separated | -&gt; &lt;rootfs | -&gt; &lt;scratch&gt; &lt;dest&gt; &lt;data&gt;".
/// It makes a mount namespace of its own, mounts the layers read-only (userxattr) at scratch/m (a single layer gets
/// the empty scratch/e as a second, which overlayfs needs without an upper), opens that as a RootedFs (the mount
/// point's links resolve inside the image, never the host's) and copies its children into the data directory by
/// descriptor on both sides: links copied as links, owners, modes and times kept (the namespace maps the image's
/// ids as the layers hold them), device nodes and sockets left out. Exit 0: copied; 3: nothing (no directory there).
/// </summary>
internal static unsafe class VolumeSeed
{
    public static int Run(string[] args)
    {
        if (args.Length != 6) { Console.Error.WriteLine("volume-seed: usage: volume-seed <lowers|-> <rootfs|-> <scratch> <dest> <data>"); return 2; }
        string lowers = args[1], rootfs = args[2], scratch = args[3], dest = args[4], data = args[5];
        try
        {
            string top = rootfs;
            if (lowers != "-")
            {
                if (unshare((int)CLONE_NEWNS) != 0) throw new NativeException("unshare", Errno, "mount namespace");
                if (mount(null, NStr.Of("/"), null, MS_REC | MS_PRIVATE, null) != 0) throw new NativeException("mount", Errno, "/ private");
                top = scratch + "/m";
                string lower = lowers.Contains(':') ? lowers : lowers + ":" + scratch + "/e";
                if (mount(NStr.Of("overlay"), NStr.Of(top), NStr.Of("overlay"), MS_RDONLY, NStr.Of("lowerdir=" + lower + ",userxattr")) != 0)
                    throw new NativeException("mount", Errno, "overlay of the image's layers");
            }
            using var fs = RootedFs.Open(top, RootedFs.Resolution.InRoot);
            string rel = RootedFs.Clean(dest);
            if (rel.Length == 0) return 3;
            SafeFileHandle? src;
            try { src = fs.TryOpen(rel, FileSys.O_RDONLY | FileSys.O_DIRECTORY, followLast: true); }
            catch (NativeException e) when (e.Errno is 40 /* ELOOP */ or 20 /* ENOTDIR */) { src = null; }
            if (src is null) return 3;
            using (src)
            using (var dst = FileSys.OpenHandle(data, FileSys.O_RDONLY | FileSys.O_DIRECTORY | FileSys.O_NOFOLLOW))
                CopyChildren(src, dst, dest);
            return 0;
        }
        catch (Exception ex) when (ex is NativeException or IOException)
        {
            Console.Error.WriteLine("volume-seed: " + ex.Message);
            return 1;
        }
    }

    private static void CopyChildren(SafeFileHandle src, SafeFileHandle dst, string what)
    {
        foreach (var (name, _) in RootedFs.ReadDir(src, what))
        {
            string w = what.TrimEnd('/') + "/" + name;
            if (!RootedFs.TryStatAt(src, name, out var st, w)) continue;
            uint type = st.Mode & LayerFs.S_IFMT, perm = st.Mode & 0xfff;
            switch (type)
            {
                case LayerFs.S_IFDIR:
                    RootedFs.MkdirAt(dst, name, 0x1c0, w);
                    using (var s = RootedFs.OpenAt(src, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, w))
                    using (var d = RootedFs.OpenAt(dst, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, w))
                        CopyChildren(s, d, w);
                    break;
                case LayerFs.S_IFREG:
                    using (var s = RootedFs.OpenAt(src, name, FileSys.O_RDONLY, 0, w))
                    using (var d = RootedFs.OpenAt(dst, name, FileSys.O_WRONLY | FileSys.O_CREAT | FileSys.O_EXCL, 0x180, w))
                    using (var i = new FileStream(s, FileAccess.Read, 1, false))
                    using (var o = new FileStream(d, FileAccess.Write, 1, false))
                        i.CopyTo(o, 1 << 16);
                    break;
                case LayerFs.S_IFLNK:
                    RootedFs.SymlinkAt(RootedFs.ReadlinkAt(src, name, w), dst, name, w);
                    break;
                case LayerFs.S_IFIFO:
                    RootedFs.MknodAt(dst, name, LayerFs.S_IFIFO | perm, 0, 0, w);
                    break;
                default:
                    continue; // device nodes (none in a rootless layer) and sockets
            }
            RootedFs.ChownAt(dst, name, (int)st.Uid, (int)st.Gid, w);
            if (type != LayerFs.S_IFLNK) RootedFs.ChmodAt(dst, name, perm, w);
            RootedFs.UtimesAt(dst, name, st.Mtime.Sec, st.Mtime.Nsec, w);
        }
    }
}
