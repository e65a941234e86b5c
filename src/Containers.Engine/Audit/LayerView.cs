using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Audit;

/// <summary>
/// The merged tree of an image's unpacked layers, as overlayfs would show it, built without mounting
/// anything: each layer directory is walked by descriptor (openat with O_NOFOLLOW, fstatat without following),
/// top layer first, with overlayfs whiteouts (character device 0/0) and opaque directories
/// (trusted.overlay.opaque=y) hiding what lies below. Nothing here follows a link of the image on the host:
/// <see cref="Resolve"/> follows the image's links lexically inside this index, and <see cref="ReadFile"/>
/// opens the file in its own layer with every link on the way refused (RootedFs NoSymlinks).
/// </summary>
internal sealed class LayerView
{
    public sealed record Entry(string Path, uint Mode, uint Uid, uint Gid, long Size, int Layer, string? LinkTarget)
    {
        public bool IsDir => (Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR;
        public bool IsRegular => (Mode & LayerFs.S_IFMT) == LayerFs.S_IFREG;
        public bool IsLink => (Mode & LayerFs.S_IFMT) == LayerFs.S_IFLNK;
    }

    private readonly IReadOnlyList<string> _layerDirs;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Every visible entry, keyed by its path without a leading slash ("etc/passwd").</summary>
    public IReadOnlyDictionary<string, Entry> Entries => _entries;

    /// <param name="layerDirs">The layers' unpacked directories, bottom to top.</param>
    public LayerView(IReadOnlyList<string> layerDirs, CancellationToken ct = default)
    {
        _layerDirs = layerDirs;
        var gone = new HashSet<string>(StringComparer.Ordinal);
        var opaque = new HashSet<string>(StringComparer.Ordinal);
        for (int i = layerDirs.Count - 1; i >= 0; i--)
        {
            var goneHere = new List<string>();
            var opaqueHere = new List<string>();
            using var root = FileSys.OpenHandle(layerDirs[i], FileSys.O_RDONLY | FileSys.O_DIRECTORY);
            if (IsOpaque(root, "")) opaqueHere.Add("");
            if (!opaque.Contains("")) Walk(root, "", i, gone, opaque, goneHere, opaqueHere, 0, ct);
            gone.UnionWith(goneHere);
            opaque.UnionWith(opaqueHere);
        }
    }

    private static bool IsOpaque(SafeFileHandle dir, string name)
    {
        try { return RootedFs.GetXattrAt(dir, name, "trusted.overlay.opaque") is [(byte)'y', ..]; }
        catch (NativeException) { return false; }
    }

    private void Walk(SafeFileHandle dir, string prefix, int layer, HashSet<string> gone, HashSet<string> opaque,
        List<string> goneHere, List<string> opaqueHere, int depth, CancellationToken ct)
    {
        if (depth > 512) return;
        ct.ThrowIfCancellationRequested();
        foreach (var (name, _) in RootedFs.ReadDir(dir))
        {
            string path = prefix.Length == 0 ? name : prefix + "/" + name;
            if (gone.Contains(path)) continue;
            if (!RootedFs.TryStatAt(dir, name, out var st)) continue;
            uint fmt = st.Mode & LayerFs.S_IFMT;
            if (fmt == LayerFs.S_IFCHR && st.Rdev == 0) { goneHere.Add(path); continue; }   // a whiteout
            bool isDir = fmt == LayerFs.S_IFDIR;
            if (_entries.TryGetValue(path, out var upper))
            {
                // an upper non-directory hides everything below; an upper directory merges unless it is opaque
                if (!upper.IsDir || !isDir || opaque.Contains(path)) continue;
            }
            else
            {
                string? link = fmt == LayerFs.S_IFLNK ? SafeReadlink(dir, name) : null;
                _entries[path] = new Entry(path, st.Mode, st.Uid, st.Gid, st.Size, layer, link);
            }
            if (!isDir) continue;
            if (IsOpaque(dir, name)) opaqueHere.Add(path);
            SafeFileHandle sub;
            try { sub = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY); }
            catch (NativeException) { continue; }
            using (sub) Walk(sub, path, layer, gone, opaque, goneHere, opaqueHere, depth + 1, ct);
        }
    }

    private static string? SafeReadlink(SafeFileHandle dir, string name)
    {
        try { return RootedFs.ReadlinkAt(dir, name); } catch (NativeException) { return null; }
    }

    /// <summary>
    /// The entry a path names in the image, its links followed as the image's own processes would see them
    /// ("/" and ".." clamped to the image's root), at most 40 links; null when it does not exist.
    /// </summary>
    public Entry? Resolve(string path)
    {
        var todo = new Stack<string>(RootedFs.Clean(path).Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        var cur = new List<string>();
        int links = 0;
        Entry? e = null;
        while (todo.Count > 0)
        {
            string part = todo.Pop();
            if (part == ".") continue;
            if (part == "..") { if (cur.Count > 0) cur.RemoveAt(cur.Count - 1); continue; }
            cur.Add(part);
            if (!_entries.TryGetValue(string.Join('/', cur), out e)) return null;
            if (e.IsLink)
            {
                if (++links > 40 || e.LinkTarget is null) return null;
                cur.RemoveAt(cur.Count - 1);
                if (e.LinkTarget.StartsWith('/')) cur.Clear();
                foreach (var t in e.LinkTarget.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) todo.Push(t);
                e = cur.Count == 0 ? null : _entries.GetValueOrDefault(string.Join('/', cur));
            }
            else if (todo.Count > 0 && !e.IsDir) return null;
        }
        return e;
    }

    /// <summary>
    /// The bytes of a regular file of the image (links followed inside the image only), at most
    /// <paramref name="max"/> bytes; null when the path names no regular file. The file is opened in the layer
    /// that holds it with no link allowed anywhere on the way, and checked to be a regular file once open.
    /// </summary>
    public byte[]? ReadFile(string path, long max = 64 << 20)
    {
        var e = Resolve(path);
        if (e is null || !e.IsRegular || e.Size > max) return null;
        using var layer = RootedFs.Open(_layerDirs[e.Layer], RootedFs.Resolution.NoSymlinks);
        SafeFileHandle? fd;
        try { fd = layer.TryOpen(e.Path, FileSys.O_RDONLY | FileSys.O_NONBLOCK); }
        catch (NativeException) { return null; }   // a link on the way (ELOOP/EXDEV): refused, never followed
        if (fd is null) return null;
        using var _fd = fd;
        var st = RootedFs.Fstat(fd);
        if ((st.Mode & LayerFs.S_IFMT) != LayerFs.S_IFREG || st.Size > max) return null;
        using var fs = new FileStream(fd, FileAccess.Read, 0);
        var ms = new MemoryStream();
        var buf = new byte[81920];
        int n;
        while ((n = fs.Read(buf)) > 0)
        {
            if (ms.Length + n > max) return null;
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }
}
