namespace Containers.Engine.Registry;

/// <summary>Every user-facing message of the registry client, in one place.</summary>
internal static class Messages
{
    public static string InvalidRegistry(string r) => $"'{r}' is not a valid registry name (expected a host name with an optional port, e.g. registry.example.com or localhost:5000).";
    public static string CredentialFileInvalid(string f) => $"The login file '{f}' is not valid JSON with an 'auths' object.";
    public static string CertificateFileInvalid(string f, string why) => $"Cannot read CA certificates from '{f}': {why}";
    public static string CertificateInvalid(string reg, string why) => $"The TLS certificate of registry '{reg}' is not trusted: {why} Use -CertificatePath with its CA, or -Insecure.";
    public static string Unreachable(string reg, string why) => $"Cannot reach registry '{reg}': {why}";
    public static string BadChallenge(string reg) => $"Registry '{reg}' asked for a token without a usable realm.";
    public static string BadToken(string reg) => $"The token service of registry '{reg}' returned no token.";
    public static string AuthFailed(string reg, string? user) => user is null
        ? $"Registry '{reg}' requires a login: use Connect-ContainerRegistry or -Credential."
        : $"Registry '{reg}' rejected the credentials of user '{user}'.";
    public static string AuthRequired(string reg) => $"Registry '{reg}' requires a login: use Connect-ContainerRegistry or -Credential.";
    public static string RegistryStatus(string reg, int status, string? code, string detail) =>
        $"Registry '{reg}' answered HTTP {status}{(code is null ? "" : " " + code)}{(detail.Length > 0 ? ": " + detail : ".")}";
    public static string NotFound(object target, string reg, string? code) => code switch
    {
        "NAME_UNKNOWN" => $"The repository of '{target}' does not exist in registry '{reg}'.",
        "BLOB_UNKNOWN" => $"Registry '{reg}' does not have the blob '{target}'.",
        _ => $"'{target}' was not found in registry '{reg}'.",
    };
    public static string ManifestTooLarge(object t) => $"The manifest of '{t}' is larger than 4 MiB.";
    public static string ManifestInvalid(object t, string why) => $"The manifest of '{t}' is not valid: {why}";
    public static string UnsupportedManifest(object t, string mt) => $"'{t}' has a manifest of type '{mt}', which is not supported (Docker schema 2 and OCI are).";
    public static string UnsupportedDigest(string d) => $"The digest '{d}' is not a sha256 digest.";
    public static string UnsupportedMediaType(string mt) => $"The layer media type '{mt}' is not supported (tar, gzip and zstd are).";
    public static string DigestMismatch(string expected, string actual) => $"Content verification failed: expected {expected}, got {actual}.";
    public static string DiffIdMismatch(string expected, string actual) => $"The unpacked layer does not match its diff_id: expected {expected}, got {actual}.";
    public static string LayerCorrupt(string d, string why) => $"The layer {d} could not be unpacked: {why}";
    public static string LayerPathEscapes(string name) => $"The layer entry '{name}' points outside the layer.";
    public static string InvalidPlatform(string p) => $"'{p}' is not a platform (expected os/architecture[/variant], e.g. linux/arm64).";
    public static string PlatformNotFound(object t, string p, string have) => $"'{t}' has no image for platform {p} (it has: {have}).";
    public static string DownloadFailed(string d, int resumes, string why) => $"Downloading {d} failed after {resumes} resumed attempts: {why}";
    public static string NoUploadLocation(string reg) => $"Registry '{reg}' opened an upload without a Location.";
    public static string LocalBlobMissing(string d) => $"The blob {d} is not in the local store.";
    public static string LocalImageNotFound(string s) => $"No local image named '{s}'.";
    public static string NotLoggedIn(string reg) => $"There is no stored login for registry '{reg}'.";
    public static string RepositoryWithTag(string r) => $"'{r}' names a tag or digest; give only the repository (e.g. localhost:5000/app).";
    public static string IndexIncomplete(string source, string index, int have, int count, string platform, string manifest) =>
        $"'{source}' was pulled through the multi-platform index {index}, but only {have} of the {count} manifests it lists are in the local store: " +
        $"pushing the {platform} manifest {manifest} alone (as docker does), so the pushed name gets that digest, not the index's. " +
        "Pull the other platforms too (Request-ContainerImage -Platform) to push the whole index.";
    public static string SelectedPlatform(object t, string p, string d) => $"{t}: selected {p} manifest {d}.";

    public static string PullActivity(object t) => $"Pulling {t}";
    public static string PushActivity(object t) => $"Pushing {t}";
    public static string LayerActivity(string digest) => "Layer " + Spec.Digest.Hex(digest)[..Math.Min(12, Spec.Digest.Hex(digest).Length)];
    public const string LayerExists = "Already exists";
    public const string LayerMounted = "Mounted from another repository";
    public const string LayerDone = "Done";
    public static string PullStatus(long n, long total) => $"{Mb(n)} / {Mb(total)}";
    public static string PushStatus(long n, long total) => $"{Mb(n)} / {Mb(total)} uploaded";
    private static string Mb(long n) => (n / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " MB";
    public static string ConfigTooLarge(object target, int max) => $"The image config of '{target}' is larger than {max >> 20} MiB; it was refused.";
}
