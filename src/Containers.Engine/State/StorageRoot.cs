using System.Security.Cryptography;
using System.Text;
using Containers.Engine.Errors;

namespace Containers.Engine.State;

/// <summary>
/// One storage root: where images, layers, containers, volumes and networks of one engine live, and the
/// short scope id that names everything host-global the engine creates for this root (bridges, cgroup
/// parent, firewall tables, DNS listeners), so two roots never collide and leftovers are recognisable.
/// </summary>
public sealed class StorageRoot
{
    /// <summary>The default root: not Docker's (/var/lib/docker) nor Podman's (/var/lib/containers).</summary>
    public const string DefaultPath = "/var/lib/pscontainers";

    /// <summary>The environment variable that overrides the default root.</summary>
    public const string EnvironmentVariable = "PSCONTAINERS_ROOT";

    private static readonly Dictionary<string, StorageRoot> Cache = new(StringComparer.Ordinal);

    /// <summary>Absolute, normalised path of the root.</summary>
    public string Path { get; }

    /// <summary>Six lower-case hex digits derived from <see cref="Path"/>; prefix of host-global names.</summary>
    public string ScopeId { get; }

    private StorageRoot(string path)
    {
        Path = path;
        ScopeId = DeriveScopeId(path);
    }

    /// <summary>Resolves the root for a call: explicit path, else $PSCONTAINERS_ROOT, else the default.</summary>
    public static StorageRoot Resolve(string? explicitPath = null)
    {
        string? p = explicitPath;
        if (string.IsNullOrWhiteSpace(p)) p = Environment.GetEnvironmentVariable(EnvironmentVariable);
        // rootless (an ordinary user): the user's own, $XDG_DATA_HOME/pscontainers (Rootless/RootlessHost.cs)
        if (string.IsNullOrWhiteSpace(p)) p = Rootless.RootlessHost.Active ? Rootless.RootlessHost.DefaultStorageRoot : DefaultPath;
        if (!System.IO.Path.IsPathRooted(p))
            throw ContainersException.Invalid("StorageRootNotAbsolute", $"The storage root '{p}' must be an absolute path.", p);
        string full = System.IO.Path.GetFullPath(p).TrimEnd('/');
        if (full.Length == 0) full = "/";
        if (full is "/var/lib/docker" or "/var/lib/containers" || full == "/")
            throw ContainersException.Invalid("StorageRootReserved", $"The storage root '{full}' belongs to the system or another engine; choose another.", full);
        lock (Cache)
        {
            if (!Cache.TryGetValue(full, out var root))
            {
                root = new StorageRoot(full);
                Cache[full] = root;
            }
            root.EnsureLayout();
            return root;
        }
    }

    public static string DeriveScopeId(string path)
    {
        byte[] h = SHA256.HashData(Encoding.UTF8.GetBytes(path));
        return Convert.ToHexString(h, 0, 3).ToLowerInvariant();
    }

    private bool _laidOut;

    private void EnsureLayout()
    {
        if (_laidOut && Directory.Exists(Path)) return;
        try
        {
            Directory.CreateDirectory(Path);
            // a root without containers/ is new: it gets this version's settings (Auto: UserNamespaces/HostSettings);
            // one laid out by an earlier version keeps what it had
            // (written before containers/ is made, so a root killed in between is still new at the next call)
            if (!Directory.Exists(System.IO.Path.Combine(Path, "containers")) && !File.Exists(UserNamespaces.HostSettings.PathOf(this)))
                UserNamespaces.HostSettings.WriteForNewRoot(this);
            foreach (var d in new[] { "blobs/sha256", "layers", "l", "images", "containers", "volumes", "networks", "tmp", "locks" })
                Directory.CreateDirectory(System.IO.Path.Combine(Path, d));
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ContainersException(ErrorKind.Unauthorized, "StorageRootAccessDenied",
                $"Cannot create the storage root '{Path}': {ex.Message} Run as root or choose another root.", Path, ex);
        }
        catch (IOException ex)
        {
            throw ContainersException.System("StorageRootUnusable", $"Cannot create the storage root '{Path}': {ex.Message}", Path, ex);
        }
        _laidOut = true;
    }

    public string Sub(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>A fresh temporary path inside the root (same file system, so renames are atomic).</summary>
    public string NewTempPath(string prefix = "tmp") => Sub("tmp", $"{prefix}-{Guid.NewGuid():N}");

    public override string ToString() => Path;
}
