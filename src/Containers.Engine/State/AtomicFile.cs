using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.State;

/// <summary>
/// Writes that a kill -9 at any moment cannot tear: write a temp file beside the target, fsync it,
/// rename it over the target, fsync the directory.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> data, bool durable = true)
    {
        string dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp-" + Environment.ProcessId + "-" + Environment.CurrentManagedThreadId);
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(data);
            fs.Flush(durable);
        }
        FileSys.Rename(tmp, path);
        if (durable) FileSys.FsyncDirectory(dir);
    }

    /// <summary>
    /// Atomic for readers (they see the old or the new file) but not across a crash of the machine, after which it
    /// may read empty: for files such a crash makes moot (a running server's config). The new file is swapped in
    /// (RENAME_EXCHANGE) and the old one deleted, which costs ext4 no early write-back of the new data as a rename over
    /// an existing file does.
    /// </summary>
    public static void ReplaceVolatile(string path, ReadOnlySpan<byte> data)
    {
        string dir = Path.GetDirectoryName(path)!;
        string tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp-" + Environment.ProcessId + "-" + Environment.CurrentManagedThreadId);
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None)) fs.Write(data);
        if (FileSys.Exchange(tmp, path)) File.Delete(tmp);
        else FileSys.Rename(tmp, path);
    }

    public static void WriteAllText(string path, string text, bool durable = true)
        => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text), durable);

    public static void WriteJson<T>(string path, T value, bool durable = true)
        => WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(value, Json.Options), durable);

    /// <summary>Reads a JSON file written by <see cref="WriteJson{T}"/>; null when it does not exist.</summary>
    public static T? ReadJson<T>(string path) where T : class
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return JsonSerializer.Deserialize<T>(fs, Json.Options);
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
    }

    /// <summary>
    /// Reads a state record like <see cref="ReadJson{T}"/>, but a file that does not parse (truncated, garbled,
    /// the JSON literal null) throws a <see cref="ErrorKind.Corrupt"/> ContainersException with
    /// <paramref name="errorId"/> and the file's path as the target; null only when the file does not exist.
    /// </summary>
    public static T? ReadRecord<T>(string path, string errorId, string what) where T : class
    {
        T? value;
        try { value = ReadJson<T>(path); }
        catch (JsonException ex) { throw Corrupt(path, errorId, what, ex.Message, ex); }
        if (value is null && File.Exists(path)) throw Corrupt(path, errorId, what, "the document is null", null);
        return value;
    }

    private static ContainersException Corrupt(string path, string errorId, string what, string detail, Exception? inner)
        => ContainersException.Corrupt(errorId, $"The {what} '{path}' is corrupt and was skipped ({detail}). Test-ContainerStore reports it; -Repair moves it aside.", path, inner);
}

/// <summary>The JSON settings every state file uses.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        // the records of a run from compile-time metadata (JsonContexts.cs), the rest by reflection
        TypeInfoResolver = StateJsonContext.WithReflectionFallback(),
    };

    /// <summary>For OCI documents: keep property names as written, indent nothing.</summary>
    public static readonly JsonSerializerOptions Oci = new()
    {
        WriteIndented = false,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
