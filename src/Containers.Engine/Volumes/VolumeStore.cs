using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.Runtime;
using Containers.Engine.State;

namespace Containers.Engine.Volumes;

/// <summary>Named volumes: &lt;root&gt;/volumes/&lt;name&gt;/_data plus volume.json. They outlive containers.</summary>
public sealed class VolumeStore
{
    private static readonly Regex NameRx = new("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", RegexOptions.Compiled);
    private readonly StorageRoot _root;

    public VolumeStore(StorageRoot root) => _root = root;

    public sealed class VolumeRecord
    {
        public string Name { get; set; } = "";
        public DateTime Created { get; set; }
        public Dictionary<string, string> Labels { get; set; } = new();
    }

    public static void ValidateName(string name)
    {
        if (!NameRx.IsMatch(name) || name.Length > 128)
            throw ContainersException.Invalid("InvalidVolumeName", RuntimeMessages.InvalidVolumeName(name), name);
    }

    private string Dir(string name) => _root.Sub("volumes", name);
    public string DataPath(string name) => Path.Combine(Dir(name), "_data");

    public ContainerVolumeInfo Create(string name, IDictionary<string, string>? labels = null)
    {
        ValidateName(name);
        using var _ = StoreLock.Acquire(_root, "volumes");
        if (Directory.Exists(Dir(name))) throw ContainersException.Exists("VolumeExists", RuntimeMessages.VolumeExists(name), name);
        CreateLocked(name, labels);
        return Get(name);
    }

    /// <summary>Creates the volume if missing (a container naming it brings it into being).</summary>
    internal void Ensure(string name)
    {
        using var _ = StoreLock.Acquire(_root, "volumes");
        if (!Directory.Exists(Dir(name))) CreateLocked(name, null);
    }

    private void CreateLocked(string name, IDictionary<string, string>? labels)
    {
        string tmp = _root.NewTempPath("vol");
        Directory.CreateDirectory(Path.Combine(tmp, "_data"));
        AtomicFile.WriteJson(Path.Combine(tmp, "volume.json"), new VolumeRecord
        {
            Name = name, Created = DateTime.UtcNow, Labels = labels is null ? new() : new Dictionary<string, string>(labels),
        });
        Directory.Move(tmp, Dir(name));
        Events.EventLog.Record(_root, Model.ContainerEventType.Volume, "create", name, name);
    }

    public ContainerVolumeInfo Get(string name)
    {
        var rec = AtomicFile.ReadRecord<VolumeRecord>(Path.Combine(Dir(name), "volume.json"), "VolumeRecordCorrupt", "volume record")
            ?? throw ContainersException.NotFound("VolumeNotFound", RuntimeMessages.VolumeNotFound(name), name);
        return new ContainerVolumeInfo
        {
            Name = rec.Name, Mountpoint = DataPath(name), Created = rec.Created, Labels = rec.Labels, UsedBy = UsedBy(name),
        };
    }

    public IReadOnlyList<ContainerVolumeInfo> List()
    {
        string d = _root.Sub("volumes");
        if (!Directory.Exists(d)) return [];
        var list = new List<ContainerVolumeInfo>();
        foreach (var v in Directory.EnumerateDirectories(d))
        {
            try { list.Add(Get(Path.GetFileName(v))); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { SkippedRecords.Report(ex); }
            catch (ContainersException) { }
        }
        return list.OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    private string[] UsedBy(string name)
    {
        var rt = new ContainerRuntime(_root);
        return rt.All().Where(r => r.Config.Mounts.Any(m => m.Type == "volume" && m.Source == name)).Select(r => r.Name).ToArray();
    }

    public void Remove(string name, bool force = false)
    {
        using var _ = StoreLock.Acquire(_root, "volumes");
        var info = Get(name);
        if (info.UsedBy.Length > 0)
            throw ContainersException.Conflict("VolumeInUse", RuntimeMessages.VolumeInUse(name, string.Join(", ", info.UsedBy)), name);
        string trash = _root.NewTempPath("rmvol");
        Directory.Move(Dir(name), trash);
        Events.EventLog.Record(_root, Model.ContainerEventType.Volume, "remove", name, name);
        ContainerRuntime.DeleteTree(trash);
    }
}
