using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// The per-root settings record, &lt;root&gt;/settings.json (Set-ContainerHostConfiguration, read by
/// Get-ContainerHost). A root without one runs containers in the host's user namespace (Host) until
/// `Set-ContainerHostConfiguration -DefaultUserNamespace Auto`: Auto is not yet the default of new roots, because a
/// start under Auto still costs about 35 ms more than under Host (docs/SECURITY.md), against the 2 ms that would make
/// it a free default.
/// </summary>
public sealed class HostSettings
{
    public const string FileName = "settings.json";

    /// <summary>The user namespace of a container made without -UserNamespace: Host or Auto.</summary>
    public string DefaultUserNamespace { get; set; } = nameof(UserNamespaceMode.Host);

    public static string PathOf(StorageRoot root) => root.Sub(FileName);

    public static HostSettings Load(StorageRoot root)
    {
        string p = PathOf(root);
        if (!File.Exists(p)) return new HostSettings();
        try { return AtomicFile.ReadRecord<HostSettings>(p, "SettingsRecordCorrupt", "settings record") ?? new HostSettings(); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { return SkippedRecords.Skip<HostSettings>(ex) ?? new HostSettings(); }
    }

    public void Save(StorageRoot root) => AtomicFile.WriteJson(PathOf(root), this, durable: true);

    [System.Text.Json.Serialization.JsonIgnore]
    public UserNamespaceMode DefaultMode => IdRange.ParseMode(DefaultUserNamespace);

}
