using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// The per-root settings record, &lt;root&gt;/settings.json (Set-ContainerHostConfiguration, read by
/// Get-ContainerHost). A new root gets one with DefaultUserNamespace Auto when it is laid out (StorageRoot): root in a
/// container is an unprivileged range of host ids unless asked otherwise. A root without one was laid out by an
/// earlier version, whose containers all ran in the host's user namespace: it stays Host (its named volumes hold host
/// root's files, which a container of a range could not write) until `Set-ContainerHostConfiguration
/// -DefaultUserNamespace Auto`. A record that does not parse is skipped (Test-ContainerStore reports it) and read as
/// this version's default, Auto.
/// </summary>
public sealed class HostSettings
{
    public const string FileName = "settings.json";

    /// <summary>The user namespace of a container made without -UserNamespace: Host or Auto.</summary>
    public string DefaultUserNamespace { get; set; } = nameof(UserNamespaceMode.Auto);

    /// <summary>What a root without a settings record (laid out by an earlier version) is read as.</summary>
    public static HostSettings Legacy => new() { DefaultUserNamespace = nameof(UserNamespaceMode.Host) };

    public static string PathOf(StorageRoot root) => root.Sub(FileName);

    // every create reads it up to three times (the cmdlet's checks, the engine): parsed again only when it changed
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Stamp, HostSettings Value)> Cache = new(StringComparer.Ordinal);

    public static HostSettings Load(StorageRoot root)
    {
        string p = PathOf(root);
        var fi = new FileInfo(p);
        if (!fi.Exists) return Legacy;
        long stamp = fi.LastWriteTimeUtc.Ticks ^ (fi.Length << 48);
        if (Cache.TryGetValue(p, out var c) && c.Stamp == stamp) return c.Value.Copy();
        HostSettings s;
        try { s = AtomicFile.ReadRecord<HostSettings>(p, "SettingsRecordCorrupt", "settings record") ?? new HostSettings(); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { return SkippedRecords.Skip<HostSettings>(ex) ?? new HostSettings(); }
        Cache[p] = (stamp, s.Copy());
        return s;
    }

    private HostSettings Copy() => new() { DefaultUserNamespace = DefaultUserNamespace };

    public void Save(StorageRoot root) => AtomicFile.WriteJson(PathOf(root), this, durable: true);

    /// <summary>The record of a root being laid out for the first time: this version's defaults.</summary>
    internal static void WriteForNewRoot(StorageRoot root) => new HostSettings().Save(root);

    [System.Text.Json.Serialization.JsonIgnore]
    public UserNamespaceMode DefaultMode => IdRange.ParseMode(DefaultUserNamespace);

}
