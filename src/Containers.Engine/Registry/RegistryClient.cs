using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Containers.Engine.Errors;
using Containers.Engine.Spec;

namespace Containers.Engine.Registry;

/// <summary>
/// The OCI distribution API for one registry: HTTPS with the system trust store (plus an optional CA file),
/// plain HTTP only for loopback registries and ones marked insecure, the Bearer token flow
/// (WWW-Authenticate realm/service/scope) and Basic auth, with credentials from the call or the login store.
/// </summary>
public sealed class RegistryClient : IDisposable
{
    private static readonly string AcceptManifests = string.Join(", ", MediaTypes.OciIndex, MediaTypes.DockerManifestList, MediaTypes.OciManifest, MediaTypes.DockerManifest);

    private readonly HttpClient _http;
    private readonly RegistryOptions _options;
    private readonly SemaphoreSlim _baseLock = new(1, 1);
    private readonly ConcurrentDictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private RegistryCredential? _credential;
    private Uri? _base;
    private AuthChallenge? _challenge;

    /// <summary>The registry as named in references (docker.io, localhost:5000...).</summary>
    public string Registry { get; }

    /// <summary>How many blob GET requests this client sent (tests and diagnostics).</summary>
    public int BlobRequests => _blobRequests;
    private int _blobRequests;

    public RegistryClient(string registry, RegistryOptions? options = null)
    {
        Registry = registry;
        _options = options ?? RegistryOptions.Default;
        _credential = _options.Credential ?? new CredentialStore(_options.AuthFile).Get(registry);
        var handler = new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = true,
            MaxConnectionsPerServer = 16,
            ConnectTimeout = TimeSpan.FromSeconds(15),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            UseProxy = false,
        };
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = ValidateCertificate,
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("pscontainers/0.1");
    }

    public string ApiHost => Registry == RegistryReference.DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>True for registries on loopback (plain HTTP allowed, as Docker and Podman do).</summary>
    public static bool IsLoopback(string registry)
    {
        string host = registry;
        if (host.StartsWith('['))
        {
            int end = host.IndexOf(']');
            host = end > 0 ? host[1..end] : host;
        }
        else
        {
            int c = host.LastIndexOf(':');
            if (c > 0) host = host[..c];
        }
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    private bool PlainAllowed => _options.Insecure || IsLoopback(Registry);

    private X509Certificate2Collection? _extraRoots;

    private volatile bool _certificateRejected;

    private bool ValidateCertificate(object sender, X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
    {
        bool ok = CheckCertificate(cert, chain, errors);
        if (!ok) _certificateRejected = true;
        return ok;
    }

    private bool CheckCertificate(X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (_options.Insecure) return true;
        if (_options.CertificatePath is null || cert is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
        _extraRoots ??= LoadRoots(_options.CertificatePath);
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var el in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(el.Certificate);
        return custom.Build(new X509Certificate2(cert));
    }

    private static X509Certificate2Collection LoadRoots(string path)
    {
        var c = new X509Certificate2Collection();
        try { c.ImportFromPemFile(path); }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            throw ContainersException.Invalid("RegistryCertificateFileInvalid", Messages.CertificateFileInvalid(path, ex.Message), path, ex);
        }
        return c;
    }

    // ---------------------------------------------------------------- base URL, ping, auth

    /// <summary>Finds the API base (https, or http where allowed) and the registry's auth challenge.</summary>
    public async Task<Uri> GetBaseAsync(CancellationToken ct)
    {
        if (_base is not null) return _base;
        await _baseLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_base is not null) return _base;
            Exception? first = null;
            foreach (string scheme in PlainAllowed ? new[] { "https", "http" } : new[] { "https" })
            {
                var b = new Uri($"{scheme}://{ApiHost}/v2/");
                try
                {
                    using var resp = await _http.GetAsync(b, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                    if (resp.StatusCode == HttpStatusCode.Unauthorized)
                        _challenge = PickChallenge(AuthChallenge.From(resp));
                    else if (!resp.IsSuccessStatusCode && resp.StatusCode != HttpStatusCode.NotFound)
                        throw await ErrorFromAsync(resp, "RegistryPingFailed", Registry, ct).ConfigureAwait(false);
                    _base = b;
                    return b;
                }
                catch (HttpRequestException ex)
                {
                    first ??= ex;
                    // the server speaks TLS but we don't trust it: plain HTTP is not the answer
                    if (_certificateRejected) break;
                }
            }
            throw Unreachable(first!);
        }
        finally { _baseLock.Release(); }
    }

    private ContainersException Unreachable(Exception ex)
    {
        if (_certificateRejected)
            return new ContainersException(ErrorKind.Unavailable, "RegistryCertificateInvalid", Messages.CertificateInvalid(Registry, ex.InnerException?.Message ?? ex.Message), Registry, ex);
        return new ContainersException(ErrorKind.Unavailable, "RegistryUnreachable", Messages.Unreachable(Registry, ex.Message), Registry, ex);
    }

    private static AuthChallenge? PickChallenge(List<AuthChallenge> list) =>
        list.FirstOrDefault(c => c.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        ?? list.FirstOrDefault(c => c.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase));

    /// <summary>Obtains the Authorization header value for a scope (null when the registry wants none).</summary>
    private async Task<string?> AuthorizationAsync(string scope, bool refresh, CancellationToken ct)
    {
        var ch = _challenge;
        if (ch is null) return null;
        if (ch.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            if (_credential is null) return null;
            return "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(_credential.UserName + ":" + _credential.Password));
        }
        if (!refresh && _tokens.TryGetValue(scope, out var cached)) return cached;
        string token = await FetchTokenAsync(ch, scope, ct).ConfigureAwait(false);
        string value = "Bearer " + token;
        _tokens[scope] = value;
        return value;
    }

    private async Task<string> FetchTokenAsync(AuthChallenge ch, string? scope, CancellationToken ct)
    {
        string? realm = ch["realm"];
        if (string.IsNullOrEmpty(realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri))
            throw new ContainersException(ErrorKind.Unavailable, "RegistryAuthChallengeInvalid", Messages.BadChallenge(Registry), Registry);
        var q = new StringBuilder();
        if (ch["service"] is { } service) q.Append("service=").Append(Uri.EscapeDataString(service));
        if (!string.IsNullOrEmpty(scope))
            foreach (string s in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                q.Append(q.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(s));
        if (_credential is not null) q.Append(q.Length > 0 ? "&" : "").Append("account=").Append(Uri.EscapeDataString(_credential.UserName));
        var ub = new UriBuilder(realmUri);
        ub.Query = string.IsNullOrEmpty(ub.Query) ? q.ToString() : ub.Query.TrimStart('?') + "&" + q;
        using var req = new HttpRequestMessage(HttpMethod.Get, ub.Uri);
        if (_credential is not null)
            req.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_credential.UserName + ":" + _credential.Password)));
        HttpResponseMessage resp;
        try { resp = await _http.SendAsync(req, ct).ConfigureAwait(false); }
        catch (HttpRequestException ex) { throw Unreachable(ex); }
        using (resp)
        {
            if (resp.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                throw new ContainersException(ErrorKind.Unauthorized, "RegistryAuthenticationFailed", Messages.AuthFailed(Registry, _credential?.UserName), Registry);
            if (!resp.IsSuccessStatusCode)
                throw await ErrorFromAsync(resp, "RegistryTokenFailed", Registry, ct).ConfigureAwait(false);
            JsonNode? doc;
            try { doc = JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false)); }
            catch (System.Text.Json.JsonException ex)
            {
                throw new ContainersException(ErrorKind.Unavailable, "RegistryTokenFailed", Messages.BadToken(Registry), Registry, ex);
            }
            string? token = doc?["token"]?.GetValue<string>() ?? doc?["access_token"]?.GetValue<string>();
            if (string.IsNullOrEmpty(token))
                throw new ContainersException(ErrorKind.Unavailable, "RegistryTokenFailed", Messages.BadToken(Registry), Registry);
            return token;
        }
    }

    /// <summary>Checks that the credentials are accepted (Connect-ContainerRegistry); throws when not.</summary>
    public async Task VerifyLoginAsync(RegistryCredential credential, CancellationToken ct)
    {
        _credential = credential;
        _tokens.Clear();
        await GetBaseAsync(ct).ConfigureAwait(false);
        var ch = _challenge;
        if (ch is null) return;
        if (ch.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            await FetchTokenAsync(ch, null, ct).ConfigureAwait(false);
            return;
        }
        using var resp = await SendAsync(b => new HttpRequestMessage(HttpMethod.Get, b), "", "RegistryPingFailed", Registry, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a request built by <paramref name="make"/> (called again for a retry) with the scope's
    /// authorization; answers one 401 by (re)authenticating. Non-success statuses become engine errors,
    /// 404 with <paramref name="notFoundId"/>.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> make, string scope, string notFoundId, object target,
        CancellationToken ct, HttpCompletionOption completion = HttpCompletionOption.ResponseHeadersRead, bool allowNotFound = false)
    {
        Uri b = await GetBaseAsync(ct).ConfigureAwait(false);
        for (int attempt = 0; ; attempt++)
        {
            using var req = make(b);
            string? auth = await AuthorizationAsync(scope, refresh: attempt > 0, ct).ConfigureAwait(false);
            if (auth is not null) req.Headers.TryAddWithoutValidation("Authorization", auth);
            HttpResponseMessage resp;
            try { resp = await _http.SendAsync(req, completion, ct).ConfigureAwait(false); }
            catch (HttpRequestException ex) { throw Unreachable(ex); }
            if (resp.StatusCode == HttpStatusCode.Unauthorized && attempt == 0)
            {
                var ch = PickChallenge(AuthChallenge.From(resp));
                resp.Dispose();
                if (ch is not null) _challenge = ch;
                if (ch is null || (ch.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) && _credential is null))
                    throw new ContainersException(ErrorKind.Unauthorized, "RegistryAuthenticationFailed", Messages.AuthRequired(Registry), target);
                continue;
            }
            if (resp.IsSuccessStatusCode || (allowNotFound && resp.StatusCode == HttpStatusCode.NotFound)) return resp;
            using (resp) throw await ErrorFromAsync(resp, notFoundId, target, ct).ConfigureAwait(false);
        }
    }

    private async Task<ContainersException> ErrorFromAsync(HttpResponseMessage resp, string notFoundId, object target, CancellationToken ct)
    {
        string detail = "";
        string? code = null;
        try
        {
            string body = await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            if (body.Length > 0 && JsonNode.Parse(body)?["errors"] is JsonArray errs && errs.Count > 0)
            {
                code = errs[0]?["code"]?.GetValue<string>();
                detail = errs[0]?["message"]?.GetValue<string>() ?? "";
            }
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or HttpRequestException or IOException or InvalidOperationException) { }
        int status = (int)resp.StatusCode;
        string msg = Messages.RegistryStatus(Registry, status, code, detail);
        return resp.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new ContainersException(ErrorKind.Unauthorized, "RegistryAuthenticationFailed", Messages.AuthFailed(Registry, _credential?.UserName), target),
            HttpStatusCode.Forbidden => new ContainersException(ErrorKind.Unauthorized, "RegistryAccessDenied", msg, target),
            HttpStatusCode.NotFound => ContainersException.NotFound(code == "NAME_UNKNOWN" && notFoundId == "ManifestNotFound" ? "RepositoryNotFound" : notFoundId, Messages.NotFound(target, Registry, code), target),
            HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout
                => new ContainersException(ErrorKind.Unavailable, "RegistryUnavailable", msg, target),
            HttpStatusCode.BadRequest when code is "MANIFEST_INVALID" or "MANIFEST_BLOB_UNKNOWN" or "DIGEST_INVALID" or "BLOB_UNKNOWN" or "TAG_INVALID" or "NAME_INVALID"
                => ContainersException.Invalid("RegistryRejected", msg, target),
            _ => new ContainersException(ErrorKind.System, "RegistryError", msg, target),
        };
    }

    // ---------------------------------------------------------------- API calls

    public static string PullScope(string repo) => $"repository:{repo}:pull";
    public static string PushScope(string repo) => $"repository:{repo}:pull,push";

    /// <summary>A manifest or index: its bytes, media type and digest (verified when fetched by digest).</summary>
    public sealed record ManifestResponse(byte[] Bytes, string MediaType, string Digest);

    public async Task<ManifestResponse> GetManifestAsync(string repo, string selector, object target, CancellationToken ct)
    {
        using var resp = await SendAsync(b =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, new Uri(b, $"{repo}/manifests/{selector}"));
            r.Headers.TryAddWithoutValidation("Accept", AcceptManifests);
            r.Headers.TryAddWithoutValidation("Accept", MediaTypes.DockerManifestV1Signed);
            return r;
        }, PullScope(repo), "ManifestNotFound", target, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        byte[] bytes = await ReadCappedAsync(resp, MaxManifestBytes, ct).ConfigureAwait(false)
            ?? throw ContainersException.Invalid("ManifestTooLarge", Messages.ManifestTooLarge(target), target);
        string digest = Spec.Digest.Of(bytes);
        if (RegistryReference.IsDigest(selector) && selector != digest)
            throw ContainersException.DataLoss("ManifestDigestMismatch", Messages.DigestMismatch(selector, digest), target);
        string mediaType = resp.Content.Headers.ContentType?.MediaType ?? "";
        try
        {
            if (JsonNode.Parse(bytes)?["mediaType"]?.GetValue<string>() is { Length: > 0 } inner) mediaType = inner;
            else if (mediaType is "" or "application/json" or "text/plain")
                mediaType = JsonNode.Parse(bytes)?["manifests"] is not null ? MediaTypes.OciIndex : MediaTypes.OciManifest;
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw ContainersException.Invalid("ManifestInvalid", Messages.ManifestInvalid(target, ex.Message), target, ex);
        }
        return new ManifestResponse(bytes, mediaType, digest);
    }

    /// <summary>Opens a blob for reading; reads resume with Range requests after a dropped connection.</summary>
    public async Task<Stream> OpenBlobAsync(string repo, string digest, long size, object target, CancellationToken ct)
    {
        var s = new ResumableBlobStream(this, repo, digest, size, target, _options.Retries);
        await s.ConnectAsync(0, ct).ConfigureAwait(false);
        return s;
    }

    internal async Task<HttpResponseMessage> GetBlobAsync(string repo, string digest, long offset, object target, CancellationToken ct)
    {
        Interlocked.Increment(ref _blobRequests);
        return await SendAsync(b =>
        {
            var r = new HttpRequestMessage(HttpMethod.Get, new Uri(b, $"{repo}/blobs/{digest}"));
            if (offset > 0) r.Headers.Range = new RangeHeaderValue(offset, null);
            return r;
        }, PullScope(repo), "BlobNotFound", target, ct).ConfigureAwait(false);
    }

    /// <summary>A manifest or index larger than this is refused, as containerd refuses it (4 MiB).</summary>
    internal const int MaxManifestBytes = 4 << 20;
    /// <summary>An image config read into memory: configs with long histories are a few hundred KiB.</summary>
    internal const int MaxConfigBytes = 64 << 20;

    /// <summary>
    /// The body, read as it arrives and given up past <paramref name="max"/> bytes (null then): a hostile or
    /// broken registry that sends an endless body must not fill the session's memory.
    /// </summary>
    private static async Task<byte[]?> ReadCappedAsync(HttpResponseMessage resp, int max, CancellationToken ct)
    {
        if (resp.Content.Headers.ContentLength is long declared && declared > max) return null;
        await using var body = await resp.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var ms = new MemoryStream();
        byte[] buf = new byte[81920];
        while (true)
        {
            int n = await body.ReadAsync(buf, ct).ConfigureAwait(false);
            if (n == 0) return ms.ToArray();
            if (ms.Length + n > max) return null;
            ms.Write(buf, 0, n);
        }
    }

    public async Task<byte[]> GetBlobBytesAsync(string repo, string digest, object target, CancellationToken ct)
    {
        Interlocked.Increment(ref _blobRequests);
        using var resp = await SendAsync(b => new HttpRequestMessage(HttpMethod.Get, new Uri(b, $"{repo}/blobs/{digest}")),
            PullScope(repo), "BlobNotFound", target, ct, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        byte[] bytes = await ReadCappedAsync(resp, MaxConfigBytes, ct).ConfigureAwait(false)
            ?? throw ContainersException.Invalid("ConfigTooLarge", Messages.ConfigTooLarge(target, MaxConfigBytes), target);
        string actual = Spec.Digest.Of(bytes);
        if (actual != digest)
            throw ContainersException.DataLoss("BlobDigestMismatch", Messages.DigestMismatch(digest, actual), target);
        return bytes;
    }

    /// <summary>True when the registry already has the blob in that repository.</summary>
    public async Task<bool> HasBlobAsync(string repo, string digest, object target, CancellationToken ct)
    {
        using var resp = await SendAsync(b => new HttpRequestMessage(HttpMethod.Head, new Uri(b, $"{repo}/blobs/{digest}")),
            PushScope(repo), "BlobNotFound", target, ct, allowNotFound: true).ConfigureAwait(false);
        return resp.IsSuccessStatusCode;
    }

    /// <summary>Tries a cross-repository mount; true when the registry mounted it.</summary>
    public async Task<bool> TryMountBlobAsync(string repo, string digest, string fromRepo, object target, CancellationToken ct)
    {
        string scope = PushScope(repo) + " " + PullScope(fromRepo);
        using var resp = await SendAsync(b => new HttpRequestMessage(HttpMethod.Post,
            new Uri(b, $"{repo}/blobs/uploads/?mount={Uri.EscapeDataString(digest)}&from={Uri.EscapeDataString(fromRepo)}")),
            scope, "RepositoryNotFound", target, ct).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.Created) return true;
        // 202: an upload session was opened instead; cancel it (best effort)
        if (resp.Headers.Location is { } loc)
        {
            try
            {
                Uri b = await GetBaseAsync(ct).ConfigureAwait(false);
                using var del = await SendAsync(_ => new HttpRequestMessage(HttpMethod.Delete, new Uri(b, loc)), scope, "BlobUploadUnknown", target, ct, allowNotFound: true).ConfigureAwait(false);
            }
            catch (ContainersException) { }
        }
        return false;
    }

    /// <summary>Uploads a blob: POST a session, then one PUT with the whole content and its digest.</summary>
    public async Task UploadBlobAsync(string repo, string digest, Func<Stream> open, long size, Action<long>? progress, object target, CancellationToken ct)
    {
        string scope = PushScope(repo);
        Uri location;
        using (var start = await SendAsync(b => new HttpRequestMessage(HttpMethod.Post, new Uri(b, $"{repo}/blobs/uploads/")), scope, "RepositoryNotFound", target, ct).ConfigureAwait(false))
        {
            Uri b = await GetBaseAsync(ct).ConfigureAwait(false);
            location = start.Headers.Location is { } l ? new Uri(b, l)
                : throw new ContainersException(ErrorKind.System, "RegistryError", Messages.NoUploadLocation(Registry), target);
        }
        string sep = location.Query.Length > 0 ? "&" : "?";
        var put = new Uri(location + sep + "digest=" + Uri.EscapeDataString(digest));
        using var resp = await SendAsync(_ =>
        {
            var r = new HttpRequestMessage(HttpMethod.Put, put);
            var body = new ProgressStream(open(), progress);
            r.Content = new StreamContent(body, 256 * 1024);
            r.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            r.Content.Headers.ContentLength = size;
            return r;
        }, scope, "BlobUploadUnknown", target, ct).ConfigureAwait(false);
    }

    public async Task<string> PutManifestAsync(string repo, string reference, byte[] bytes, string mediaType, object target, CancellationToken ct)
    {
        using var resp = await SendAsync(b =>
        {
            var r = new HttpRequestMessage(HttpMethod.Put, new Uri(b, $"{repo}/manifests/{reference}"));
            r.Content = new ByteArrayContent(bytes);
            r.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return r;
        }, PushScope(repo), "RepositoryNotFound", target, ct).ConfigureAwait(false);
        return resp.Headers.TryGetValues("Docker-Content-Digest", out var v) ? v.First() : Spec.Digest.Of(bytes);
    }

    /// <summary>Lists a repository's tags, following Link pagination.</summary>
    public async Task<List<string>> ListTagsAsync(string repo, object target, CancellationToken ct)
    {
        var tags = new List<string>();
        string next = $"{repo}/tags/list?n=1000";
        for (int page = 0; page < 1000 && next is not null; page++)
        {
            string current = next;
            using var resp = await SendAsync(b => new HttpRequestMessage(HttpMethod.Get, new Uri(b, current)), PullScope(repo), "RepositoryNotFound", target, ct,
                HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
            var doc = JsonNode.Parse(await resp.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
            if (doc?["tags"] is JsonArray arr)
                foreach (var t in arr) if (t?.GetValue<string>() is { } s) tags.Add(s);
            next = null!;
            if (resp.Headers.TryGetValues("Link", out var links))
            {
                string link = links.First();
                int lt = link.IndexOf('<'), gt = link.IndexOf('>');
                if (lt >= 0 && gt > lt)
                {
                    string u = link[(lt + 1)..gt];
                    next = u.StartsWith("/v2/", StringComparison.Ordinal) ? u[4..] : u;
                }
            }
        }
        return tags;
    }

    public void Dispose()
    {
        _http.Dispose();
        _baseLock.Dispose();
    }
}

/// <summary>A read-through stream that reports how many bytes went past.</summary>
internal sealed class ProgressStream(Stream inner, Action<long>? progress) : Stream
{
    private long _pos;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));
    public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => Count(await inner.ReadAsync(buffer, ct).ConfigureAwait(false));
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
    private int Count(int n) { _pos += n; if (n > 0) progress?.Invoke(_pos); return n; }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
}
