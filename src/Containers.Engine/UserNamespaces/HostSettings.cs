using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// The per-root settings record, &lt;root&gt;/settings.json (Set-ContainerHostConfiguration, read by
/// Get-ContainerHost). A root the engine lays out new gets one saying DefaultUserNamespace Auto; a root made by
/// an earlier version has none and keeps Host, what it always did, until it is set.
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

    /// <summary>Called once when a root is laid out new: new roots default to Auto.</summary>
    public static void InitializeNewRoot(string rootPath)
    {
        string p = System.IO.Path.Combine(rootPath, FileName);
        if (File.Exists(p)) return;
        AtomicFile.WriteJson(p, new HostSettings { DefaultUserNamespace = nameof(UserNamespaceMode.Auto) }, durable: false);
    }
}
