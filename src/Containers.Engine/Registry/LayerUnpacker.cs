using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.Registry;

/// <summary>
/// Applies one layer tar stream to an empty directory in a single pass: regular files, directories,
/// symlinks, hard links, devices, fifos, owners, modes, times, xattrs, and OCI whiteouts turned into
/// overlayfs whiteouts (char 0/0) and opaque dirs (trusted.overlay.opaque=y). No per-file fsync: the
/// caller syncs the file system once. Entries that would leave the directory are rejected.
/// (Kept private to the registry client until the image store's unpack is in main.)
/// </summary>
internal static class LayerUnpacker
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    /// <summary>Wraps a compressed layer stream in the right decompressor, sniffing magic bytes.</summary>
    public static Stream Decompress(Stream raw, string mediaType)
    {
        if (mediaType.EndsWith("+zstd", StringComparison.Ordinal))
            return new SharpCompress.Compressors.ZStandard.DecompressionStream(raw);
        if (mediaType.EndsWith("gzip", StringComparison.Ordinal) || mediaType.EndsWith(".tar.gzip", StringComparison.Ordinal)
            || mediaType == "application/vnd.docker.image.rootfs.diff.tar.gzip")
            return new GZipStream(raw, CompressionMode.Decompress);
        if (mediaType.EndsWith(".tar", StringComparison.Ordinal)) return raw;
        throw ContainersException.Invalid("UnsupportedLayerMediaType", Messages.UnsupportedMediaType(mediaType), mediaType);
    }

    public static void Unpack(Stream tar, string dest, CancellationToken ct)
    {
        Directory.CreateDirectory(dest);
        string root = Path.GetFullPath(dest).TrimEnd('/');
        var links = new HashSet<string>(StringComparer.Ordinal);
        var dirTimes = new List<(string Path, DateTimeOffset Time)>();
        var reader = new TarReader(tar, leaveOpen: true);
        TarEntry? entry;
        while ((entry = reader.GetNextEntry(copyData: false)) is not null)
        {
            ct.ThrowIfCancellationRequested();
            string rel = Clean(entry.Name);
            if (rel.Length == 0)
            {
                if (entry.EntryType == TarEntryType.Directory) ApplyMeta(root, entry, isLink: false, dirTimes);
                continue;
            }
            string path = root + "/" + rel;
            foreach (string l in links)
            {
                if (rel.StartsWith(l + "/", StringComparison.Ordinal))
                    throw ContainersException.DataLoss("LayerPathEscapes", Messages.LayerPathEscapes(entry.Name), entry.Name);
            }
            string name = Path.GetFileName(rel);
            string parent = Path.GetDirectoryName(path)!;
            if (name == OpaqueMarker)
            {
                Directory.CreateDirectory(parent);
                UnpackSys.Lsetxattr(parent, "trusted.overlay.opaque", "y"u8.ToArray());
                continue;
            }
            if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
            {
                Directory.CreateDirectory(parent);
                string target = parent + "/" + name[WhiteoutPrefix.Length..];
                RemoveExisting(target);
                UnpackSys.Mknod(target, UnpackSys.S_IFCHR, 0, 0);
                continue;
            }
            Directory.CreateDirectory(parent);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    if (File.Exists(path) || IsSymlink(path)) File.Delete(path);
                    Directory.CreateDirectory(path);
                    ApplyMeta(path, entry, isLink: false, dirTimes);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    RemoveExisting(path);
                    using (var fs = new FileStream(path, new FileStreamOptions
                    {
                        Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None,
                        BufferSize = 0, PreallocationSize = entry.Length,
                    }))
                    {
                        entry.DataStream?.CopyTo(fs, 128 * 1024);
                    }
                    ApplyMeta(path, entry, isLink: false, null);
                    break;
                case TarEntryType.SymbolicLink:
                    RemoveExisting(path);
                    File.CreateSymbolicLink(path, entry.LinkName);
                    links.Add(rel);
                    ApplyMeta(path, entry, isLink: true, null);
                    break;
                case TarEntryType.HardLink:
                    {
                        string lt = Clean(entry.LinkName);
                        if (lt.Length == 0) throw ContainersException.DataLoss("LayerPathEscapes", Messages.LayerPathEscapes(entry.LinkName), entry.LinkName);
                        RemoveExisting(path);
                        UnpackSys.Link(root + "/" + lt, path);
                        break;
                    }
                case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                    RemoveExisting(path);
                    var pe = (PosixTarEntry)entry;
                    UnpackSys.Mknod(path, (entry.EntryType == TarEntryType.CharacterDevice ? UnpackSys.S_IFCHR : UnpackSys.S_IFBLK) | (uint)entry.Mode,
                        (uint)pe.DeviceMajor, (uint)pe.DeviceMinor);
                    ApplyMeta(path, entry, isLink: false, null);
                    break;
                case TarEntryType.Fifo:
                    RemoveExisting(path);
                    UnpackSys.Mknod(path, UnpackSys.S_IFIFO | (uint)entry.Mode, 0, 0);
                    ApplyMeta(path, entry, isLink: false, null);
                    break;
                default:
                    break; // global headers, GNU long names (handled by TarReader), sparse: ignored
            }
        }
        // directory times last, deepest first, so later entries don't disturb them
        for (int i = dirTimes.Count - 1; i >= 0; i--)
        {
            try { UnpackSys.Lutimes(dirTimes[i].Path, dirTimes[i].Time); } catch (NativeException) { }
        }
    }

    private static void ApplyMeta(string path, TarEntry entry, bool isLink, List<(string, DateTimeOffset)>? dirTimes)
    {
        if (entry is PosixTarEntry p && (p.Uid != 0 || p.Gid != 0)) UnpackSys.Lchown(path, p.Uid, p.Gid);
        if (!isLink)
        {
            // after chown: chown clears set-id bits
            File.SetUnixFileMode(path, (UnixFileMode)((int)entry.Mode & 0xfff));
        }
        if (entry is PaxTarEntry pax)
        {
            foreach (var kv in pax.ExtendedAttributes)
            {
                if (kv.Key.StartsWith("SCHILY.xattr.", StringComparison.Ordinal))
                {
                    string name = kv.Key["SCHILY.xattr.".Length..];
                    try { UnpackSys.Lsetxattr(path, name, Encoding.Latin1.GetBytes(kv.Value)); }
                    catch (NativeException) { /* file systems without that xattr namespace */ }
                }
            }
        }
        if (dirTimes is not null) dirTimes.Add((path, entry.ModificationTime));
        else
        {
            try { UnpackSys.Lutimes(path, entry.ModificationTime); } catch (NativeException) { }
        }
    }

    private static bool IsSymlink(string path)
    {
        try { return (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0; }
        catch (IOException) { return false; }
    }

    private static void RemoveExisting(string path)
    {
        try
        {
            var attr = File.GetAttributes(path);
            if ((attr & FileAttributes.Directory) != 0 && (attr & FileAttributes.ReparsePoint) == 0) Directory.Delete(path, true);
            else File.Delete(path);
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
    }

    /// <summary>Normalises an entry name to a relative path without "." / ".." components; "" for the root.</summary>
    private static string Clean(string name)
    {
        var parts = new List<string>();
        foreach (string part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
                throw ContainersException.DataLoss("LayerPathEscapes", Messages.LayerPathEscapes(name), name);
            parts.Add(part);
        }
        return string.Join('/', parts);
    }
}
