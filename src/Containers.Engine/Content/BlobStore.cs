using Containers.Engine.Errors;
using Containers.Engine.Spec;
using Containers.Engine.State;

namespace Containers.Engine.Content;

/// <summary>A stored blob: its digest, size and file.</summary>
public sealed record BlobInfo(string Digest, long Size, string Path);

/// <summary>
/// Content-addressed blobs under &lt;root&gt;/blobs/sha256/&lt;hex&gt;. A blob is written to a temp file in
/// &lt;root&gt;/tmp while it is hashed, checked against the expected digest and size, then renamed into
/// place, so a blob file under blobs/ always has the content its name says. Blob writes are not fsynced
/// one by one: whoever makes them reachable (ImageStore.RegisterImage) syncs the file system once first.
/// </summary>
public sealed class BlobStore
{
    private readonly StorageRoot _root;

    public BlobStore(StorageRoot root) => _root = root;

    public string Directory => _root.Sub("blobs", "sha256");

    public string PathOf(string digest) => System.IO.Path.Combine(Directory, Digest.Hex(digest));

    public bool Has(string digest) => Digest.IsSha256(digest) && File.Exists(PathOf(digest));

    public long SizeOf(string digest) => new FileInfo(PathOf(digest)).Length;

    public Stream Open(string digest)
    {
        string p = PathOf(digest);
        try { return new FileStream(p, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan); }
        catch (FileNotFoundException ex) { throw ContainersException.NotFound("BlobNotFound", $"The blob {digest} is not in the store.", digest, ex); }
    }

    public byte[] ReadAllBytes(string digest)
    {
        try { return File.ReadAllBytes(PathOf(digest)); }
        catch (FileNotFoundException ex) { throw ContainersException.NotFound("BlobNotFound", $"The blob {digest} is not in the store.", digest, ex); }
    }

    /// <summary>Stores bytes (manifest, config); returns the digest.</summary>
    public string Put(ReadOnlySpan<byte> data)
    {
        string d = Digest.Of(data);
        string p = PathOf(d);
        if (File.Exists(p)) return d;
        string tmp = _root.NewTempPath("blob");
        File.WriteAllBytes(tmp, data.ToArray());
        Containers.Native.Sys.FileSys.Rename(tmp, p);
        return d;
    }

    /// <summary>
    /// Reads the stream to its end (or <paramref name="expectedSize"/> bytes when given) into a new blob,
    /// hashing while writing; refuses a digest or size that differs from the expected one (LayerDigestMismatch / BlobSizeMismatch).
    /// </summary>
    public BlobInfo Ingest(Stream source, string? expectedDigest = null, long expectedSize = -1, CancellationToken ct = default)
    {
        if (expectedDigest is not null && Has(expectedDigest))
        {
            // already stored: consume nothing more than needed
            return new BlobInfo(expectedDigest, SizeOf(expectedDigest), PathOf(expectedDigest));
        }
        string tmp = _root.NewTempPath("blob");
        try
        {
            string digest;
            long size;
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var hs = new HashingStream(source, fs, leaveOpen: true, limit: expectedSize >= 0 ? expectedSize + 1 : -1))
            {
                var buf = new byte[1 << 16];
                int n;
                while ((n = hs.Read(buf, 0, buf.Length)) > 0) ct.ThrowIfCancellationRequested();
                digest = hs.Finish();
                size = hs.BytesRead;
            }
            Verify(digest, size, expectedDigest, expectedSize);
            string dest = PathOf(digest);
            Containers.Native.Sys.FileSys.Rename(tmp, dest);
            return new BlobInfo(digest, size, dest);
        }
        finally
        {
            try { File.Delete(tmp); } catch (IOException) { }
        }
    }

    /// <summary>Moves a fully written temp file (whose digest the caller computed) into the store.</summary>
    public BlobInfo Adopt(string tempFile, string digest, long size)
    {
        string dest = PathOf(digest);
        if (File.Exists(dest)) { File.Delete(tempFile); return new BlobInfo(digest, size, dest); }
        Containers.Native.Sys.FileSys.Rename(tempFile, dest);
        return new BlobInfo(digest, size, dest);
    }

    public static void Verify(string digest, long size, string? expectedDigest, long expectedSize, string errorId = "BlobDigestMismatch")
    {
        if (expectedSize >= 0 && size != expectedSize)
            throw ContainersException.DataLoss("BlobSizeMismatch", $"The blob {expectedDigest ?? digest} has {size} bytes, but {expectedSize} were expected.", expectedDigest ?? digest);
        if (expectedDigest is not null && !string.Equals(digest, expectedDigest, StringComparison.Ordinal))
            throw ContainersException.DataLoss(errorId, $"The content's digest is {digest}, but {expectedDigest} was expected: the data is corrupt or was tampered with.", expectedDigest);
    }

    public IEnumerable<string> List()
    {
        if (!System.IO.Directory.Exists(Directory)) yield break;
        foreach (var f in System.IO.Directory.EnumerateFiles(Directory))
        {
            string n = System.IO.Path.GetFileName(f);
            if (n.Length == 64 && Digest.IsLowerHex(n)) yield return Digest.Sha256Prefix + n;
        }
    }

    public void Delete(string digest)
    {
        try { File.Delete(PathOf(digest)); } catch (FileNotFoundException) { }
    }
}
