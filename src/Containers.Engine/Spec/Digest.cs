using System.Security.Cryptography;
using Containers.Engine.Errors;

namespace Containers.Engine.Spec;

/// <summary>Content digests ("sha256:&lt;64 hex&gt;"): validation and computation.</summary>
public static class Digest
{
    public const string Sha256Prefix = "sha256:";

    public static bool IsSha256(string? d)
        => d is { Length: 71 } && d.StartsWith(Sha256Prefix, StringComparison.Ordinal) && IsLowerHex(d.AsSpan(7));

    public static bool IsLowerHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
        return s.Length > 0;
    }

    /// <summary>The 64 hex digits of a sha256 digest; throws InvalidDigest otherwise.</summary>
    public static string Hex(string digest)
    {
        if (!IsSha256(digest))
        {
            if (digest is not null && digest.Contains(':') && !digest.StartsWith(Sha256Prefix, StringComparison.Ordinal))
                throw ContainersException.Invalid("UnsupportedDigestAlgorithm", $"The digest '{digest}' uses an algorithm other than sha256, which this engine does not support.", digest);
            throw ContainersException.Invalid("InvalidDigest", $"'{digest}' is not a valid sha256 digest (sha256: followed by 64 lower-case hex digits).", digest);
        }
        return digest.Substring(7);
    }

    public static string FromHash(ReadOnlySpan<byte> hash) => Sha256Prefix + Convert.ToHexStringLower(hash);

    public static string Of(ReadOnlySpan<byte> data) => FromHash(SHA256.HashData(data));
}
