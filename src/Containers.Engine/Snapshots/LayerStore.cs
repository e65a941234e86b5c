using System.IO.Compression;
using System.Text.Json;
using Containers.Engine.Content;
using Containers.Engine.Errors;
using Containers.Engine.Spec;
using Containers.Engine.State;
using Containers.Native.Sys;

namespace Containers.Engine.Snapshots;

/// <summary>The outcome of storing one layer: its diffID, its blob, and the unpacked size.</summary>
public sealed record LayerUnpackResult(string DiffId, string BlobDigest, long BlobSize, string MediaType, long UnpackedSize, bool AlreadyPresent);

/// <summary>What the store knows about one unpacked layer (layers/&lt;hex&gt;/layer.json).</summary>
public sealed class LayerInfo
{
    public string DiffId { get; set; } = "";
    public long Size { get; set; }
    public DateTime Created { get; set; }
}

/// <summary>
/// Unpacked layers: &lt;root&gt;/layers/&lt;diffID hex&gt;/diff, one per diffID, shared by every image that
/// has the layer, with a short link &lt;root&gt;/l/&lt;short&gt; -> ../layers/&lt;hex&gt;/diff so that an overlay
/// mount of many layers fits in one page. A layer is unpacked into &lt;root&gt;/tmp and the directory is
/// renamed into place: a layer directory that exists is complete (see ARCHITECTURE.md on durability).
/// </summary>
public sealed class LayerStore
{
    private readonly StorageRoot _root;
    private readonly BlobStore _blobs;

    public LayerStore(StorageRoot root, BlobStore blobs)
    {
        _root = root;
        _blobs = blobs;
    }

    public string DirOf(string diffId) => _root.Sub("layers", Digest.Hex(diffId));
    public string DiffPathOf(string diffId) => Path.Combine(DirOf(diffId), "diff");

    public bool Has(string diffId) => Digest.IsSha256(diffId) && Directory.Exists(DiffPathOf(diffId));

    public LayerInfo? Info(string diffId)
    {
        try { return JsonSerializer.Deserialize<LayerInfo>(File.ReadAllBytes(Path.Combine(DirOf(diffId), "layer.json")), Json.Options); }
        catch (IOException) { return null; }
        catch (JsonException) { return null; }
    }

    public long SizeOf(string diffId) => Info(diffId)?.Size ?? 0;

    public IEnumerable<string> List()
    {
        var d = _root.Sub("layers");
        if (!Directory.Exists(d)) yield break;
        foreach (var p in Directory.EnumerateDirectories(d))
        {
            string n = Path.GetFileName(p);
            if (n.Length == 64 && Digest.IsLowerHex(n)) yield return Digest.Sha256Prefix + n;
        }
    }

    /// <summary>The short path (&lt;root&gt;/l/&lt;id&gt;) of a layer's diff, creating the link when missing.</summary>
    public string ShortPathOf(string diffId)
    {
        string dir = DirOf(diffId);
        string linkFile = Path.Combine(dir, "link");
        string hex = Digest.Hex(diffId);
        string? shortId = null;
        try { shortId = File.ReadAllText(linkFile).Trim(); } catch (IOException) { }
        if (!string.IsNullOrEmpty(shortId))
        {
            string lp = _root.Sub("l", shortId);
            if (LayerFs.TryLstat(lp, out _)) return lp;
        }
        if (!Directory.Exists(Path.Combine(dir, "diff")))
            throw ContainersException.NotFound("LayerNotFound", $"The layer {diffId} is not unpacked in the store.", diffId);
        string want = "../layers/" + hex + "/diff";
        for (int len = 12; len <= 64; len += 4)
        {
            string id = hex[..len];
            string lp = _root.Sub("l", id);
            if (LayerFs.TryLstat(lp, out _))
            {
                if (LayerFs.Readlink(lp) == want) { AtomicFile.WriteAllText(linkFile, id, durable: false); return lp; }
                continue;
            }
            try { LayerFs.Symlink(want, lp); }
            catch (NativeException ne) when (ne.Errno == Errno.EEXIST) { if (LayerFs.Readlink(lp) != want) continue; }
            AtomicFile.WriteAllText(linkFile, id);
            return lp;
        }
        throw ContainersException.System("LayerLinkFailed", $"No short link name is free for layer {diffId}.", diffId);
    }

    /// <summary>
    /// Stores a layer from its blob stream in one pass: read (and keep the original blob when
    /// <paramref name="storeBlob"/>), inflate, untar. Verifies the blob's digest/size and the diffID when
    /// expected values are given. When the layer is already unpacked (expected diffID known), only the blob is kept.
    /// </summary>
    public LayerUnpackResult UnpackLayer(Stream source, string mediaType, string? expectedBlobDigest = null, long expectedBlobSize = -1,
        string? expectedDiffId = null, bool storeBlob = true, CancellationToken ct = default)
    {
        var compression = MediaTypes.LayerCompressionOf(mediaType)
            ?? throw ContainersException.Invalid("UnsupportedMediaType", $"The layer media type '{mediaType}' is not supported (plain, gzip and zstd tar layers are).", mediaType);
        if (expectedDiffId is not null && Has(expectedDiffId))
        {
            if (!storeBlob || (expectedBlobDigest is not null && _blobs.Has(expectedBlobDigest)))
                return new(expectedDiffId, expectedBlobDigest ?? expectedDiffId, expectedBlobSize, mediaType, SizeOf(expectedDiffId), true);
            var bi = _blobs.Ingest(source, expectedBlobDigest, expectedBlobSize, ct);
            return new(expectedDiffId, bi.Digest, bi.Size, mediaType, SizeOf(expectedDiffId), true);
        }

        string work = _root.NewTempPath("layer");
        string diff = Path.Combine(work, "diff");
        SpreadNewTrees(Path.GetDirectoryName(work)!);
        string? blobTmp = storeBlob ? work + ".blob" : null;
        Directory.CreateDirectory(diff);
        try
        {
            string blobDigest, diffId;
            long blobSize, unpacked;
            using (var blobFile = blobTmp is null ? null : new FileStream(blobTmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var outer = new HashingStream(source, blobFile, leaveOpen: true, limit: expectedBlobSize >= 0 ? expectedBlobSize + 1 : -1))
            {
                // sniff: media types lie sometimes (docker-archives hold gzip layers named .tar)
                var head = new byte[4];
                int got = ReadAtLeast(outer, head);
                compression = Sniff(head.AsSpan(0, got), compression);
                // read+hash+store the blob on one thread, inflate+untar on this one
                using var pump = new PumpStream(outer);
                var raw = new PrefixStream(head.AsSpan(0, got).ToArray(), pump);
                HashingStream? inner = null;
                Stream tar = raw;
                if (compression == LayerCompression.Gzip)
                    tar = inner = new HashingStream(new GZipStream(raw, CompressionMode.Decompress, leaveOpen: true), leaveOpen: false);
                else if (compression == LayerCompression.Zstd)
                    tar = inner = new HashingStream(new SharpCompress.Compressors.ZStandard.DecompressionStream(raw), leaveOpen: false);
                try
                {
                    unpacked = LayerUnpacker.Unpack(tar, diff, ct);
                    if (inner is not null)
                    {
                        diffId = inner.Finish();
                        inner.Dispose();
                    }
                    else diffId = "";
                    // the rest (tar padding, bytes after the compressed stream) still belongs to the blob
                    raw.CopyTo(Stream.Null);
                    pump.Join();
                    blobDigest = outer.Finish();
                    blobSize = outer.BytesRead;
                }
                catch (Exception ex) when (ex is InvalidDataException or EndOfStreamException or SharpCompress.Compressors.ZStandard.ZstdException
                    or ContainersException { ErrorId: "LayerCorrupt" } or IOException && ex is not ContainersException && ex is not NativeException)
                {
                    throw Unreadable(ex, raw, pump, outer, expectedBlobDigest, expectedBlobSize, ct);
                }
                if (inner is null) diffId = blobDigest;
                if (compression == LayerCompression.Gzip && !raw.TrailerMatches(inner!.BytesRead))
                {
                    BlobStore.Verify(blobDigest, blobSize, expectedBlobDigest, expectedBlobSize, "LayerDigestMismatch");
                    throw ContainersException.DataLoss("LayerCorrupt", "The gzip layer is truncated: its stream ends before the gzip trailer.", expectedBlobDigest);
                }
            }
            BlobStore.Verify(blobDigest, blobSize, expectedBlobDigest, expectedBlobSize, "LayerDigestMismatch");
            if (expectedDiffId is not null && diffId != expectedDiffId)
                throw ContainersException.DataLoss("LayerDiffIdMismatch", $"The layer's uncompressed digest is {diffId}, but the image configuration says {expectedDiffId}.", expectedDiffId);
            if (blobTmp is not null) _blobs.Adopt(blobTmp, blobDigest, blobSize);
            string mt = mediaType;
            Commit(work, diffId, unpacked);
            return new(diffId, blobDigest, blobSize, mt, unpacked, false);
        }
        finally
        {
            if (Directory.Exists(work)) RemoveTree(work);
            if (blobTmp is not null) try { File.Delete(blobTmp); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The error for a blob that does not inflate or untar. When its digest is known, the rest is read
    /// (bounded by the expected size) and hashed: a blob that is not the one asked for (tampered with, or
    /// corrupted on the way) is reported as LayerDigestMismatch rather than as a corrupt layer. The
    /// registry pull relied on a second hash of the wire for this.
    /// </summary>
    private static ContainersException Unreadable(Exception ex, Stream raw, PumpStream pump, HashingStream outer,
        string? expectedDigest, long expectedSize, CancellationToken ct)
    {
        var corrupt = ex as ContainersException
            ?? ContainersException.DataLoss("LayerCorrupt", $"The layer blob cannot be read: {ex.Message}", expectedDigest, ex);
        if (expectedDigest is null || ct.IsCancellationRequested) return corrupt;
        try
        {
            raw.CopyTo(Stream.Null);
            pump.Join();
            string digest = outer.Finish();
            if (digest != expectedDigest || (expectedSize >= 0 && outer.BytesRead != expectedSize))
                return ContainersException.DataLoss("LayerDigestMismatch",
                    $"The content's digest is {digest}, but {expectedDigest} was expected: the data is corrupt or was tampered with.", expectedDigest, corrupt);
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            // the source failed too (a dropped connection): the layer error says what happened first
        }
        return corrupt;
    }

    /// <summary>
    /// ext4 without a journal will not reuse an inode freed in the last 60-300 s, and checks every free
    /// inode of a block group for that before taking one: creating a layer's thousands of files in the
    /// group where a removed layer (or a removed store) just lay costs quadratic kernel time (a Debian
    /// layer went from 1.6 s to 10 s, all of it in find_inode_bit/recently_deleted). With the staging
    /// directory marked as a top directory (chattr +T), every layer directory made in it starts in a
    /// fresh block group, and its files follow it. One open and two ioctls per layer; ignored where unsupported.
    /// </summary>
    private static void SpreadNewTrees(string tmpDir) => LayerFs.TrySetTopDir(tmpDir);

    /// <summary>Unpacks a plain tar whose diffID the caller computes (no blob kept): returns diffID and size.</summary>
    public (string DiffId, long Size) UnpackPlain(Stream tar, CancellationToken ct = default)
    {
        var r = UnpackLayer(tar, MediaTypes.OciLayer, storeBlob: false, ct: ct);
        return (r.DiffId, r.UnpackedSize);
    }

    private void Commit(string work, string diffId, long size)
    {
        string hex = Digest.Hex(diffId);
        using var lk = StoreLock.Acquire(_root, "layer-" + hex[..12]);
        string dest = DirOf(diffId);
        if (Directory.Exists(Path.Combine(dest, "diff"))) return; // someone else made it meanwhile
        if (Directory.Exists(dest)) RemoveTree(dest);             // half-removed leftovers
        AtomicFile.WriteJson(Path.Combine(work, "layer.json"), new LayerInfo { DiffId = diffId, Size = size, Created = DateTime.UtcNow }, durable: false);
        // No syncfs here: the rename makes the layer appear whole to every process (kill -9 safe, the page
        // cache is shared); writing its ~200 MB to the disk is left to the kernel's writeback, as podman and
        // docker do. A syncfs waited for every dirty page of the file system, other processes' included.
        FileSys.Rename(work, dest);
        FileSys.FsyncDirectory(_root.Sub("layers"));
        ShortPathOf(diffId);
    }

    /// <summary>Removes a layer directory and its short link (the caller checked nothing uses it).</summary>
    public void Remove(string diffId)
    {
        string dir = DirOf(diffId);
        if (!Directory.Exists(dir)) return;
        try
        {
            string id = File.ReadAllText(Path.Combine(dir, "link")).Trim();
            if (id.Length > 0) { try { LayerFs.Unlink(_root.Sub("l", id)); } catch (NativeException) { } }
        }
        catch (IOException) { }
        // a session killed between the short link and the "link" file left a link this layer's record does not
        // name: the names ShortPathOf tries are few, and any of them pointing here goes too
        string hex = Digest.Hex(diffId), want = "../layers/" + hex + "/diff";
        for (int len = 12; len <= 64; len += 4)
        {
            string lp = _root.Sub("l", hex[..len]);
            try { if (LayerFs.TryLstat(lp, out _) && LayerFs.Readlink(lp) == want) LayerFs.Unlink(lp); }
            catch (NativeException) { }
        }
        // rename first: a half-deleted layer must never look complete
        string trash = _root.NewTempPath("trash");
        FileSys.Rename(dir, trash);
        RemoveTree(trash);
        // its copies for user namespaces' id ranges (a root without idmapped mounts) go with it
        UserNamespaces.LayerCopies.RemoveOf(_root, diffId);
    }

    /// <summary>rm -rf that does not follow symbolic links and clears immutable-free read-only dirs.</summary>
    public static void RemoveTree(string path)
    {
        if (Rootless.RootlessHost.Active)
        {
            // rootless: the layer's files are the container ids' (subordinate ids), removed as the namespace's root
            try { Directory.Delete(path, recursive: true); }
            catch (DirectoryNotFoundException) { }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException) { Rootless.RootlessHost.RemoveTree(path); }
            return;
        }
        try { Directory.Delete(path, recursive: true); }
        catch (UnauthorizedAccessException) { MakeWritable(path); Directory.Delete(path, recursive: true); }
        catch (IOException) when (Directory.Exists(path)) { MakeWritable(path); Directory.Delete(path, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }

    private static void MakeWritable(string path)
    {
        foreach (var d in Directory.EnumerateDirectories(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }).Prepend(path))
            try { LayerFs.Chmod(d, 0x1c0); } catch (NativeException) { }
    }

    private static int ReadAtLeast(Stream s, Span<byte> buf)
    {
        int total = 0;
        while (total < buf.Length)
        {
            int n = s.Read(buf[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    private static LayerCompression Sniff(ReadOnlySpan<byte> head, LayerCompression declared)
    {
        if (head.Length >= 2 && head[0] == 0x1f && head[1] == 0x8b) return LayerCompression.Gzip;
        if (head.Length >= 4 && head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd) return LayerCompression.Zstd;
        return declared == LayerCompression.Auto ? LayerCompression.None : (declared == LayerCompression.None ? LayerCompression.None : LayerCompression.None);
    }

}

/// <summary>Replays a few sniffed bytes, then the rest of the stream; remembers the last 8 bytes read.</summary>
internal sealed class PrefixStream : Stream
{
    private readonly byte[] _prefix;
    private int _pos;
    private readonly Stream _rest;

    public PrefixStream(byte[] prefix, Stream rest) { _prefix = prefix; _rest = rest; }

    private readonly byte[] _tail = new byte[8];
    private long _total;

    /// <summary>
    /// .NET's GZipStream stops silently at a truncated end. A complete gzip stream ends with ISIZE, the
    /// uncompressed length mod 2^32: a truncated one almost never does.
    /// </summary>
    public bool TrailerMatches(long uncompressed)
        => _total >= 18 && BitConverter.ToUInt32(_tail, 4) == (uint)(uncompressed & 0xFFFFFFFF);

    private void Track(ReadOnlySpan<byte> got)
    {
        _total += got.Length;
        if (got.Length >= 8) { got[^8..].CopyTo(_tail); return; }
        Array.Copy(_tail, got.Length, _tail, 0, 8 - got.Length);
        got.CopyTo(_tail.AsSpan(8 - got.Length));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override int Read(Span<byte> buffer)
    {
        if (_pos < _prefix.Length)
        {
            int n = Math.Min(buffer.Length, _prefix.Length - _pos);
            _prefix.AsSpan(_pos, n).CopyTo(buffer);
            _pos += n;
            Track(buffer[..n]);
            return n;
        }
        int r = _rest.Read(buffer);
        if (r > 0) Track(buffer[..r]);
        return r;
    }
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
