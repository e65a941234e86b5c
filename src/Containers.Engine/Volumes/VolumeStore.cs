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
        /// <summary>
        /// Not yet mounted by any container: the first container that mounts it seeds it from its image's content at
        /// the mount point when the volume is empty (docker's and podman's copy-up), then this is cleared. A record
        /// from before this field reads as false (never seeded).
        /// </summary>
        public bool NeedsCopyUp { get; set; }
    }

    /// <summary>The label docker puts on anonymous volumes (an image VOLUME, -v /path).</summary>
    public const string AnonymousLabel = "com.docker.volume.anonymous";

    /// <summary>A fresh anonymous volume name: 64 hex digits, as docker's.</summary>
    public static string NewAnonymousName() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

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
    internal void Ensure(string name, IDictionary<string, string>? labels = null)
    {
        using var _ = StoreLock.Acquire(_root, "volumes");
        if (!Directory.Exists(Dir(name))) CreateLocked(name, labels);
    }

    /// <summary>
    /// Copy-up: when the volume has never been mounted and is empty, <paramref name="seed"/> fills its data directory
    /// (given as an open descriptor); either way the volume is then marked as mounted, so this happens once. Under
    /// the volumes lock, so two containers starting at once do not both seed.
    /// </summary>
    internal void SeedOnce(string name, Action<Microsoft.Win32.SafeHandles.SafeFileHandle> seed)
    {
        using var _ = StoreLock.Acquire(_root, "volumes");
        string file = Path.Combine(Dir(name), "volume.json");
        var rec = AtomicFile.ReadRecord<VolumeRecord>(file, "VolumeRecordCorrupt", "volume record");
        if (rec is null || !rec.NeedsCopyUp) return;
        // O_NOFOLLOW on the last component: the data directory is the engine's, never a link
        using (var data = Containers.Native.Sys.FileSys.OpenHandle(DataPath(name), Containers.Native.Sys.FileSys.O_RDONLY | Containers.Native.Sys.FileSys.O_DIRECTORY | Containers.Native.Sys.FileSys.O_NOFOLLOW))
        {
            if (Containers.Native.Sys.RootedFs.ReadDir(data).Count == 0) seed(data);
        }
        rec.NeedsCopyUp = false;
        AtomicFile.WriteJson(file, rec);
    }

    private void CreateLocked(string name, IDictionary<string, string>? labels)
    {
        string tmp = _root.NewTempPath("vol");
        Directory.CreateDirectory(Path.Combine(tmp, "_data"));
        AtomicFile.WriteJson(Path.Combine(tmp, "volume.json"), new VolumeRecord
        {
            Name = name, Created = DateTime.UtcNow, Labels = labels is null ? new() : new Dictionary<string, string>(labels),
            NeedsCopyUp = true,
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
