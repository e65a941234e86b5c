using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using Containers.Engine.Errors;
using Containers.Engine.Runtime;
using Containers.Engine.Snapshots;
using Containers.Engine.Spec;
using Containers.Native.Sys;

namespace Containers.Engine.Build;

/// <summary>
/// ADD's two extras over COPY: a local tar archive (plain, gzip, bzip2, xz) is extracted into the destination
/// (by the layer unpacker, whose checks refuse ../ names, writes through links and hard links out of the
/// archive, into a private tree first), and a URL is downloaded (http/https; the file keeps the URL's last
/// name; --checksum=sha256:... is verified). A download is made once per build, when the step's key is made:
/// its content is part of the key.
/// </summary>
public sealed partial class BuildExecutor
{
    private readonly Dictionary<string, string> _downloads = new(StringComparer.Ordinal);
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, AllowAutoRedirect = true }) { Timeout = TimeSpan.FromMinutes(10) };

    private static bool IsUrl(string s) => s.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || s.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Downloads a URL source once per build into a private staging file; returns its path.</summary>
    private string Download(string url, string? checksum, CancellationToken ct)
    {
        // stages run at the same time: one download of a URL per build, the others wait for it
        lock (_downloads) return DownloadOnce(url, checksum, ct);
    }

    private string DownloadOnce(string url, string? checksum, CancellationToken ct)
    {
        if (_downloads.TryGetValue(url, out var have)) return have;
        string dir = NewStaging();
        _downloadDirs.Add(dir);
        string file = Path.Combine(dir, "download");
        try
        {
            using var resp = Http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).GetAwaiter().GetResult();
            if (!resp.IsSuccessStatusCode)
                throw ContainersException.NotFound("AddUrlFailed", $"ADD {url}: the server answered {(int)resp.StatusCode} {resp.ReasonPhrase}.", url);
            using (var body = resp.Content.ReadAsStream(ct))
            using (var fs = new FileStream(file, FileMode.CreateNew, FileAccess.Write))
                body.CopyTo(fs);
            if (resp.Content.Headers.LastModified is { } lm) File.SetLastWriteTimeUtc(file, lm.UtcDateTime);
        }
        catch (HttpRequestException e)
        {
            throw ContainersException.NotFound("AddUrlFailed", $"ADD {url}: {e.Message}", url, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw ContainersException.NotFound("AddUrlFailed", $"ADD {url}: the download timed out.", url, e);
        }
        if (checksum is not null)
        {
            if (!checksum.StartsWith("sha256:", StringComparison.Ordinal) || checksum.Length != 71)
                throw ContainersException.Invalid("InvalidChecksum", $"--checksum={checksum} is not sha256:<64 hex digits>.", checksum);
            string got;
            using (var fs = File.OpenRead(file)) got = Digest.FromHash(SHA256.HashData(fs));
            if (!string.Equals(got, checksum, StringComparison.OrdinalIgnoreCase))
                throw ContainersException.DataLoss("ChecksumMismatch", $"ADD {url}: the download's digest is {got}, not {checksum}.", url);
        }
        _downloads[url] = file;
        return file;
    }

    private readonly List<string> _downloadDirs = new();

    /// <summary>The URL's file name: its path's last segment, else index.html (docker's rule).</summary>
    private static string UrlFileName(string url)
    {
        var u = new Uri(url);
        string last = u.AbsolutePath.TrimEnd('/');
        last = last[(last.LastIndexOf('/') + 1)..];
        last = Uri.UnescapeDataString(last);
        return last.Length == 0 || last is "." or ".." || last.Contains('/') ? "index.html" : last;
    }

    /// <summary>ADD of a URL: the file, 0600 as docker makes it (or --chmod), owned by root (or --chown).</summary>
    private void AddUrl(RootedFs dst, string url, string file, string destRel, bool destIsDir, (int, int)? owner, uint? chmod)
    {
        string target = destIsDir ? Join(destRel, UrlFileName(url)) : destRel;
        using var parent = dst.OpenParent(target, out var n);
        using (var fh = RootedFs.OpenAt(parent, n, FileSys.O_WRONLY | FileSys.O_CREAT | FileSys.O_TRUNC | FileSys.O_NOFOLLOW | FileSys.O_CLOEXEC, 0x180, target))
        using (var to = new FileStream(fh, FileAccess.Write))
        using (var from = File.OpenRead(file))
            from.CopyTo(to);
        RootedFs.ChmodAt(parent, n, chmod ?? 0x180, target);
        RootedFs.ChownAt(parent, n, owner?.Item1 ?? 0, owner?.Item2 ?? 0, target);
    }

    /// <summary>The plain tar stream of a context file that is a (compressed) tar archive; null when it is not one.</summary>
    private static Stream? OpenArchive(RootedFs src, string path)
    {
        Stream Open()
        {
            var h = src.Open(path, FileSys.O_RDONLY | FileSys.O_NONBLOCK);
            var fs = new FileStream(h, FileAccess.Read, 1 << 16);
            var head = new byte[6];
            int n = fs.ReadAtLeast(head, 6, false);
            fs.Position = 0;
            if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b) return new GZipStream(fs, CompressionMode.Decompress);
            if (n >= 3 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h')
                return SharpCompress.Compressors.BZip2.BZip2Stream.Create(fs, SharpCompress.Compressors.CompressionMode.Decompress, true, false, false);
            if (n >= 6 && head[0] == 0xfd && head[1] == '7' && head[2] == 'z' && head[3] == 'X' && head[4] == 'Z' && head[5] == 0)
                return new SharpCompress.Compressors.Xz.XZStream(fs);
            return fs;
        }
        // a tar when its first header has the ustar magic after decompressing; otherwise ADD copies the file
        using (var probe = Open())
        {
            var b = new byte[512];
            int n;
            try { n = probe.ReadAtLeast(b, 512, false); }
            catch (Exception e) when (e is InvalidDataException or IOException or SharpCompress.Common.SharpCompressException) { return null; }
            if (n < 512 || b[257] != 'u' || b[258] != 's' || b[259] != 't' || b[260] != 'a' || b[261] != 'r') return null;
        }
        return Open();
    }

    /// <summary>Extracts an archive into the destination directory of the staging tree, through a private tree.</summary>
    private void ExtractArchive(Stream tar, string what, RootedFs dst, string destRel, TreeCopier copier, CancellationToken ct)
    {
        string tmp = NewStaging();
        try
        {
            try { LayerUnpacker.Unpack(tar, tmp, ct); }
            catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException or SharpCompress.Common.SharpCompressException)
            {
                throw ContainersException.Invalid("InvalidArchive", $"ADD {what}: the archive cannot be read: {e.Message}", what, e);
            }
            MakeDirs(dst, destRel, null);
            using var from = RootedFs.Open(tmp, RootedFs.Resolution.NoSymlinks);
            using var d = RootedFs.Reopen(from.Root, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
            using var to = destRel.Length == 0 ? RootedFs.Reopen(dst.Root, FileSys.O_RDONLY | FileSys.O_DIRECTORY) : dst.Open(destRel, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
            copier.CopyChildren(d, to, what);
        }
        finally { RemoveStaging(tmp); }
    }
}
