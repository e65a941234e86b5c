using System.Text;
using System.Text.Json.Nodes;
using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.Registry;

/// <summary>A user name and secret for one registry.</summary>
public sealed record RegistryCredential(string UserName, string Password);

/// <summary>
/// Logins in the <c>auths</c> format of Docker's config.json ({"auths":{"host":{"auth":"base64(user:pass)"}}}).
/// Our file ($PSCONTAINERS_AUTH_FILE, else ~/.config/pscontainers/auth.json) is written mode 0600; Docker's
/// ($DOCKER_CONFIG/config.json or ~/.docker/config.json) and Podman's (${XDG_RUNTIME_DIR}/containers/auth.json,
/// /run/containers/&lt;uid&gt;/auth.json) are read as fallbacks so existing logins are reused.
/// </summary>
public sealed class CredentialStore
{
    public const string EnvironmentVariable = "PSCONTAINERS_AUTH_FILE";

    /// <summary>The file this store writes.</summary>
    public string Path { get; }

    /// <summary>Files consulted, in order, when looking a login up (ours first).</summary>
    public IReadOnlyList<string> ReadPaths { get; }

    public CredentialStore(string? path = null)
    {
        string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        string home = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        Path = !string.IsNullOrEmpty(path) ? path : !string.IsNullOrEmpty(env) ? env : System.IO.Path.Combine(home, ".config/pscontainers/auth.json");
        var read = new List<string> { Path };
        if (string.IsNullOrEmpty(path) && string.IsNullOrEmpty(env))
        {
            string? dockerConfig = Environment.GetEnvironmentVariable("DOCKER_CONFIG");
            read.Add(System.IO.Path.Combine(string.IsNullOrEmpty(dockerConfig) ? System.IO.Path.Combine(home, ".docker") : dockerConfig, "config.json"));
            string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            if (!string.IsNullOrEmpty(xdg)) read.Add(System.IO.Path.Combine(xdg, "containers/auth.json"));
            read.Add($"/run/containers/{Environment.GetEnvironmentVariable("UID") ?? "0"}/auth.json");
        }
        ReadPaths = read;
    }

    /// <summary>The keys a registry may be stored under (Docker Hub's legacy URL among them).</summary>
    private static IEnumerable<string> KeysFor(string registry)
    {
        yield return registry;
        yield return "https://" + registry;
        yield return "http://" + registry;
        if (registry == RegistryReference.DockerHub)
        {
            yield return "https://index.docker.io/v1/";
            yield return "index.docker.io";
            yield return "registry-1.docker.io";
        }
    }

    /// <summary>The stored login for a registry, or null.</summary>
    public RegistryCredential? Get(string registry)
    {
        foreach (string file in ReadPaths)
        {
            JsonObject? auths = ReadAuths(file, throwOnBad: false);
            if (auths is null) continue;
            foreach (string key in KeysFor(registry))
            {
                if (auths[key] is JsonObject entry && Decode(entry) is { } cred) return cred;
            }
            foreach (var kv in auths)
            {
                if (kv.Value is JsonObject e && RegistryReference.NormalizeRegistrySafe(kv.Key) == registry && Decode(e) is { } c) return c;
            }
        }
        return null;
    }

    /// <summary>Stores (replaces) the login for a registry in our file, mode 0600, atomically.</summary>
    public void Set(string registry, RegistryCredential credential)
    {
        Update(auths =>
        {
            string raw = Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.UserName + ":" + credential.Password));
            auths[registry] = new JsonObject { ["auth"] = raw };
            return true;
        });
    }

    /// <summary>Removes the login for a registry from our file; false when there was none.</summary>
    public bool Remove(string registry)
    {
        bool removed = false;
        Update(auths =>
        {
            foreach (string key in KeysFor(registry).ToList())
                removed |= auths.Remove(key);
            return removed;
        });
        return removed;
    }

    private void Update(Func<JsonObject, bool> change)
    {
        string dir = System.IO.Path.GetDirectoryName(Path)!;
        Directory.CreateDirectory(dir);
        using var fs = new FileStream(Path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        fs.Lock(0, 0);
        JsonObject doc = ReadDocument(Path) ?? new JsonObject();
        if (doc["auths"] is not JsonObject auths)
        {
            auths = new JsonObject();
            doc["auths"] = auths;
        }
        if (!change(auths)) return;
        byte[] bytes = Encoding.UTF8.GetBytes(doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        string tmp = Path + ".tmp-" + Environment.ProcessId;
        using (var w = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            w.Write(bytes);
            w.Flush(true);
        }
        File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Move(tmp, Path, overwrite: true);
        Native.Sys.FileSys.FsyncDirectory(dir);
    }

    private static JsonObject? ReadDocument(string file)
    {
        try
        {
            string text = File.ReadAllText(file);
            if (string.IsNullOrWhiteSpace(text)) return null;
            return JsonNode.Parse(text) as JsonObject
                ?? throw ContainersException.Invalid("CredentialFileInvalid", Messages.CredentialFileInvalid(file), file);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        catch (System.Text.Json.JsonException ex)
        {
            throw ContainersException.Invalid("CredentialFileInvalid", Messages.CredentialFileInvalid(file), file, ex);
        }
    }

    private static JsonObject? ReadAuths(string file, bool throwOnBad)
    {
        try { return ReadDocument(file)?["auths"] as JsonObject; }
        catch (ContainersException) when (!throwOnBad) { return null; }
        catch (UnauthorizedAccessException) when (!throwOnBad) { return null; }
    }

    private static RegistryCredential? Decode(JsonObject entry)
    {
        if (entry["auth"]?.GetValue<string>() is { Length: > 0 } b64)
        {
            try
            {
                string s = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
                int i = s.IndexOf(':');
                if (i > 0) return new RegistryCredential(s[..i], s[(i + 1)..]);
            }
            catch (FormatException) { }
        }
        if (entry["username"]?.GetValue<string>() is { } u && entry["password"]?.GetValue<string>() is { } p)
            return new RegistryCredential(u, p);
        return null;
    }
}
