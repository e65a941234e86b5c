using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Containers.Engine.State;

namespace Containers.Engine.Security.Seccomp;

/// <summary>
/// The compiled program for (profile, capability set), compiled once: kept in memory for the session and under
/// the storage root (runtime/seccomp/&lt;key&gt;.bpf) for later sessions, so a warm start does no compiling.
/// The key covers the profile's SHA-256, the capabilities, the kernel version (minKernel) and
/// <see cref="CompilerVersion"/>.
/// </summary>
public static class SeccompPrograms
{
    /// <summary>Bumped whenever the compiler's output changes, so programs cached on disk by an older one are not used.</summary>
    public const int CompilerVersion = 3;

    private static readonly ConcurrentDictionary<string, byte[]> Memory = new(StringComparer.Ordinal);
    /// <summary>Cache files known to exist (or written) in this session.</summary>
    private static readonly ConcurrentDictionary<string, bool> Persisted = new(StringComparer.Ordinal);
    private static readonly Lazy<string> DefaultDigest = new(() => Digest(SeccompProfile.DefaultProfileJson));

    private static string Digest(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// The program for a profile (null: Docker's default shipped with the engine) and capability set.
    /// <paramref name="cacheDir"/>: where compiled programs persist (null: memory only).
    /// </summary>
    public static byte[] Get(string? profileJson, ulong capabilities, string? cacheDir = null)
    {
        if (string.IsNullOrEmpty(profileJson)) profileJson = null; // PowerShell passes $null as ""
        if (string.IsNullOrEmpty(cacheDir)) cacheDir = null;
        string digest = profileJson is null ? DefaultDigest.Value : Digest(profileJson);
        string key = string.Create(CultureInfo.InvariantCulture, $"{digest[..32]}-{capabilities:x}-{SeccompProfile.HostKernel}-v{CompilerVersion}");
        string? file = cacheDir is null ? null : Path.Combine(cacheDir, key + ".bpf");
        Memory.TryGetValue(key, out byte[]? prog);
        if (prog is null && file is not null)
        {
            try
            {
                var b = File.ReadAllBytes(file);
                if (b.Length > 0 && b.Length % 8 == 0) prog = b;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
            if (prog is not null) Persisted.TryAdd(file, true);
        }
        if (prog is null)
        {
            var profile = SeccompProfile.Parse(profileJson ?? SeccompProfile.DefaultProfileJson, profileJson is null ? "default" : "the container's profile");
            prog = SeccompCompiler.Compile(profile, capabilities, SeccompProfile.HostKernel);
        }
        // once per storage root and session: a program compiled for another root is kept under this one too
        if (file is not null && Persisted.TryAdd(file, true) && !File.Exists(file))
        {
            // a cache: losing it to a crash costs one compile, so no fsync
            try { AtomicFile.WriteAllBytes(file, prog, durable: false); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        Memory.TryAdd(key, prog);
        return prog;
    }
}
