using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Cgroups;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.Networking;
using Containers.Engine.State;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

/// <summary>
/// Container lifecycle on one storage root. State lives in &lt;root&gt;/containers/&lt;id&gt;/ (config.json from the
/// engine, status from the monitor, the writable layer upper/work, the log, the pinned netns), so any
/// pwsh session sees and controls the containers another started. One partial file per operation.
/// </summary>
public sealed partial class ContainerRuntime
{
    /// <summary>Where images come from (the image store registers itself).</summary>
    public static IRuntimeImageSource ImageSource { get; set; } = new StoreImageSource();

    /// <summary>Bridge networking, when the networking area registers a provider.</summary>
    public static INetworkProvider? NetworkProvider { get; set; } = AnyRootNetworkProvider.Instance;

    /// <summary>Makes the cgroup manager of one container.</summary>
    public static Func<StorageRoot, string, ICgroupManager> CgroupFactory { get; set; } = CgroupManagers.Create;

    private static readonly Regex NameRx = new("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", RegexOptions.Compiled);
    private readonly StorageRoot _root;

    public ContainerRuntime(StorageRoot root) => _root = root;

    public StorageRoot Root => _root;

    internal string DirOf(string id) => _root.Sub("containers", id);

    private ICgroupManager Cgroup(string id) =>
        File.Exists(Path.Combine(DirOf(id), CgroupParentFile)) && File.ReadAllText(Path.Combine(DirOf(id), CgroupParentFile)).Trim() is { Length: > 0 } parent
            ? CgroupManagers.Create(_root, id, parent) : CgroupFactory(_root, id);

    /// <summary>A container made with -CgroupParent keeps the parent here too, so each use of its cgroup finds it without reading its config.</summary>
    internal const string CgroupParentFile = "cgroup-parent";

    private StoreLock Lock(string id, CancellationToken ct = default) => StoreLock.Acquire(_root, "container-" + id, true, TimeSpan.FromSeconds(120), ct);

    // ---------- records ----------

    internal sealed class Record
    {
        public required ContainerConfig Config { get; init; }
        public required string Dir { get; init; }
        public Dictionary<string, string> Raw { get; init; } = new();
        public ContainerStatus Status { get; set; }
        public int Pid { get; set; }
        public long PidStart { get; set; }
        public bool MonitorAlive { get; set; }
        public int MonitorPid { get; set; }
        public long MonitorStart { get; set; }
        /// <summary>The status says running or restarting but its monitor is gone (killed): nobody supervises it.</summary>
        public bool MonitorLost { get; set; }
        public string Id => Config.Id;
        public string Name => Config.Name;
        public bool IsActive => Status is ContainerStatus.Running or ContainerStatus.Paused or ContainerStatus.Restarting;
    }

    internal Record? Load(string id)
    {
        string dir = DirOf(id);
        var cfg = ReadConfig(Path.Combine(dir, "config.json"));
        if (cfg is null) return null;
        var raw = ReadStatusFile(Path.Combine(dir, "status"));
        var rec = new Record { Config = cfg, Dir = dir, Raw = raw };
        Compute(rec);
        return rec;
    }

    /// <summary>
    /// config.json as last read by this process, while the file is the same version. It only ever changes by an
    /// atomic rename of a new file (a new inode), so inode, change time and size name a version; a start, a run or
    /// a removal reads it several times and parsing it each time was a noticeable part of a short run.
    /// Callers treat the returned object as read-only; <see cref="Rename"/> reads its own copy to change it.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, CachedConfig> ConfigCache = new(StringComparer.Ordinal);

    // a class, not a value tuple: a ConcurrentDictionary over a value type has no precompiled (ReadyToRun) code, so
    // the first run of a session compiled it (docs/ARCHITECTURE.md, Cold start)
    private sealed record CachedConfig(ulong Ino, long CSec, long CNsec, long Size, ContainerConfig Config);

    private static ContainerConfig? ReadConfig(string path)
    {
        if (!Containers.Native.Sys.LayerFs.TryLstat(path, out var st)) { ConfigCache.TryRemove(path, out _); return null; }
        if (ConfigCache.TryGetValue(path, out var hit) && hit is not null && hit.Ino == st.Ino && hit.CSec == st.Ctime.Sec && hit.CNsec == st.Ctime.Nsec && hit.Size == st.Size)
            return hit.Config;
        ContainerConfig? cfg;
        // a config.json that does not parse is reported and skipped: one bad record must not hide every
        // other container (its directory stays, so its id is never reused)
        try { cfg = AtomicFile.ReadRecord<ContainerConfig>(path, "ContainerRecordCorrupt", "container record"); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { cfg = SkippedRecords.Skip<ContainerConfig>(ex); }
        if (cfg is null) { ConfigCache.TryRemove(path, out _); return null; }
        if (ConfigCache.Count > 4096) ConfigCache.Clear();
        ConfigCache[path] = new CachedConfig(st.Ino, st.Ctime.Sec, st.Ctime.Nsec, st.Size, cfg);
        return cfg;
    }

    internal static Dictionary<string, string> ReadStatusFile(string path)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadAllLines(path))
            {
                int eq = line.IndexOf('=');
                if (eq > 0) d[line[..eq]] = line[(eq + 1)..];
            }
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
        return d;
    }

    private static int Int(Dictionary<string, string> d, string k) => d.TryGetValue(k, out var v) && int.TryParse(v, out int i) ? i : 0;
    private static long Long(Dictionary<string, string> d, string k) => d.TryGetValue(k, out var v) && long.TryParse(v, out long i) ? i : 0;

    /// <summary>The true state: what the monitor wrote, checked against the process table.</summary>
    private static void Compute(Record r)
    {
        var d = r.Raw;
        if (!d.TryGetValue("state", out var state)) { r.Status = ContainerStatus.Created; return; }
        r.MonitorPid = Int(d, "monitorpid");
        r.MonitorStart = Long(d, "monitorstart");
        r.MonitorAlive = ProcessOps.IsAlive(r.MonitorPid, r.MonitorStart);
        r.Pid = Int(d, "pid");
        r.PidStart = Long(d, "pidstart");
        switch (state)
        {
            case "running" or "restarting" when r.MonitorPid > 0 && !r.MonitorAlive:
                // the monitor died without recording an end (kill -9): the process, if it still runs, is
                // unsupervised (its output goes nowhere, no status follows its exit, no restart). It reads as
                // exited; the engine stops what is left and records the end (see ContainerRuntime.Lost.cs)
                r.MonitorLost = true;
                r.Status = ContainerStatus.Exited;
                break;
            case "running":
                bool alive = ProcessOps.IsAlive(r.Pid, r.PidStart);
                if (alive || r.MonitorAlive)
                    r.Status = File.Exists(Path.Combine(r.Dir, "paused")) ? ContainerStatus.Paused : ContainerStatus.Running;
                else r.Status = ContainerStatus.Exited;
                break;
            case "restarting":
                r.Status = r.MonitorAlive ? ContainerStatus.Restarting : ContainerStatus.Exited;
                break;
            default:
                r.Status = ContainerStatus.Exited;
                break;
        }
    }

    /// <summary>
    /// Every container's labels as its record has them, read without the side effects of <see cref="All"/> (a
    /// container whose monitor died is not ended here): for Test-ContainerStore's checks, which report such a
    /// container instead of settling it, unless asked to repair.
    /// </summary>
    public IEnumerable<IReadOnlyDictionary<string, string>> LabelsOfAll()
    {
        string dir = _root.Sub("containers");
        if (!Directory.Exists(dir)) yield break;
        foreach (var d in Directory.EnumerateDirectories(dir))
            if (Load(Path.GetFileName(d)) is { } r) yield return r.Config.Labels;
    }

    internal IEnumerable<Record> All()
    {
        string dir = _root.Sub("containers");
        if (!Directory.Exists(dir)) yield break;
        foreach (var d in Directory.EnumerateDirectories(dir))
        {
            var r = Load(Path.GetFileName(d));
            if (r is not null && r.MonitorLost) r = SettleLost(r);
            if (r is not null && !RemovedWhenExited(r)) yield return r;
        }
    }

    /// <summary>
    /// A detached container started with -Remove (docker run -d --rm) that has exited is removed by the next
    /// command that looks at the root's containers: there is no daemon to do it when it exits. Only when
    /// its lock is free at once (another session may be busy with it, or this thread may hold it).
    /// </summary>
    private bool RemovedWhenExited(Record r)
    {
        if (!r.Config.AutoRemove || r.Status != ContainerStatus.Exited || r.MonitorAlive) return false;
        StoreLock held;
        try { held = StoreLock.Acquire(_root, "container-" + r.Id, true, TimeSpan.Zero); }
        catch (ContainersException) { return false; }
        using (held)
        {
            var now = Load(r.Id);
            if (now is null) return true;
            if (now.Status != ContainerStatus.Exited || now.MonitorAlive) return false;
            try { RemoveLocked(now); }
            catch (Exception ex) when (ex is IOException or ContainersException or UnauthorizedAccessException) { return false; }
            return true;
        }
    }

    // [0-9a-f]+ without the static Regex cache, whose dictionary over a struct key a session's first run compiled
    private static bool IsLowerHex(string s)
    {
        foreach (char ch in s) if (ch is not ((>= '0' and <= '9') or (>= 'a' and <= 'f'))) return false;
        return true;
    }

    /// <summary>Finds a container by full id, name, or unique id prefix.</summary>
    internal Record Find(string nameOrId)
    {
        if (nameOrId.Length == 64 && IsLowerHex(nameOrId))
        {
            var exact = Load(nameOrId);
            if (exact is not null && exact.MonitorLost) exact = SettleLost(exact);
            if (exact is not null) return exact;
        }
        var all = All().ToList();
        var byName = all.FirstOrDefault(r => r.Name == nameOrId);
        if (byName is not null) return byName;
        if (nameOrId.Length >= 3 && IsLowerHex(nameOrId))
        {
            var pre = all.Where(r => r.Id.StartsWith(nameOrId, StringComparison.Ordinal)).ToList();
            if (pre.Count == 1) return pre[0];
            if (pre.Count > 1) throw ContainersException.Invalid("AmbiguousContainerId", RuntimeMessages.AmbiguousId(nameOrId), nameOrId);
        }
        throw ContainersException.NotFound("ContainerNotFound", RuntimeMessages.ContainerNotFound(nameOrId), nameOrId);
    }

    internal ContainerInfo ToInfo(Record r)
    {
        var d = r.Raw;
        var c = r.Config;
        DateTime? Time(string k) => d.TryGetValue(k, out var v) && DateTime.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null;
        int? exit = r.Status == ContainerStatus.Exited
            ? (d.TryGetValue("exitcode", out var e) && int.TryParse(e, out int ec) ? ec : (d.ContainsKey("state") ? -1 : null))
            : null;
        var (health, healthRec) = HealthOf(r);
        // a container that has stopped is no longer healthy (docker reports its last check's container unhealthy)
        if (health != Health.HealthStatus.None && r.Status == ContainerStatus.Exited && d.ContainsKey("state")) health = Health.HealthStatus.Unhealthy;
        return new ContainerInfo
        {
            Health = health,
            HealthFailingStreak = healthRec?.FailingStreak ?? 0,
            HealthLog = healthRec?.Log.ToArray() ?? [],
            HealthCheck = c.Health,
            Id = c.Id,
            Name = c.Name,
            Image = c.Image,
            ImageId = c.ImageId,
            Command = c.Args.ToArray(),
            Status = r.Status,
            Created = c.Created,
            StartedAt = Time("startedat"),
            FinishedAt = r.Status == ContainerStatus.Exited ? Time("finishedat") : null,
            ExitCode = exit,
            OomKilled = r.Status == ContainerStatus.Exited && d.TryGetValue("oomkilled", out var o) && o == "1",
            RestartCount = Int(d, "restarts"),
            RestartPolicy = c.RestartPolicy + (c.RestartMax > 0 ? ":" + c.RestartMax : ""),
            Pid = r.Status is ContainerStatus.Running or ContainerStatus.Paused && r.Pid > 0 ? r.Pid : null,
            Hostname = c.Hostname,
            Network = c.Network,
            Networks = !HasOwnNetworks(c.Network) ? [] : NetworkNames(c.Network).ToArray(),
            Endpoints = !HasOwnNetworks(c.Network) ? [] : new Networking.NetworkManager(_root).EndpointsOf(c.Id).ToArray(),
            Ports = !HasOwnNetworks(c.Network) || c.Ports.Count == 0 ? [] : new Networking.NetworkManager(_root).PortsOf(c.Id).ToArray(),
            Labels = new Dictionary<string, string>(c.Labels),
            Mounts = c.Mounts.Select(m => new ContainerMount { Type = m.Type, Source = m.Source, Destination = m.Destination, ReadOnly = m.ReadOnly, Options = m.Options, Anonymous = m.Anonymous }).ToArray(),
            Error = d.TryGetValue("error", out var err) ? err : null,
            ExitReason = r.Status == ContainerStatus.Exited ? (r.MonitorLost ? LostReason : d.GetValueOrDefault("reason")) : null,
            Ulimits = c.Ulimits.ToArray(),
            SecurityOptions = c.SecurityOptions.ToArray(),
            Seccomp = Security.SecurityOptions.SeccompShown(c),
            ExtraHosts = c.ExtraHosts.ToArray(),
            Dns = c.Dns.ToArray(),
            DnsSearch = c.DnsSearch.ToArray(),
            DnsOptions = c.DnsOptions.ToArray(),
            Domainname = c.Domainname,
            CgroupParent = c.CgroupParent,
            ShmSize = c.ShmSize ?? 64L * 1024 * 1024,
            GroupAdd = c.GroupAdd.ToArray(),
            Memory = c.Memory is > 0 ? c.Memory : null,
            MemorySwap = c.MemorySwap,
            Sysctls = c.Sysctls.ToArray(),
            Entrypoint = c.Entrypoint?.ToArray(),
            Environment = c.Env.ToArray(),
            User = c.User,
            WorkingDirectory = c.WorkingDirectory,
            // unlimited is null, never -1 or 0
            Cpus = c.Cpus is > 0 ? c.Cpus : null,
            PidsLimit = c.PidsLimit is > 0 ? c.PidsLimit : null,
            Capabilities = Capabilities.NamesOf(c.Capabilities),
            Privileged = c.Privileged,
            UserNamespace = c.UserNamespace,
            IdRange = c.IdRange?.ToString(),
            NoNewPrivileges = c.NoNewPrivileges,
            ReadOnly = c.ReadOnly,
            Init = c.Init,
            Tty = c.Tty,
            StopSignal = c.StopSignal,
            StopTimeout = c.StopTimeout,
            AutoRemove = c.AutoRemove,
            NetworkAliases = c.NetworkAliases.ToArray(),
            NetworkAliasesByNetwork = c.NetworkAliasesByNetwork.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal),
            PidMode = c.PidMode,
            IpcMode = c.IpcMode,
        };
    }

    public ContainerInfo Get(string nameOrId) => ToInfo(Find(nameOrId));

    public IReadOnlyList<ContainerInfo> List() => All().Select(ToInfo).OrderByDescending(i => i.Created).ToList();

    // ---------- guards: the one place that says which transitions are legal ----------

    internal static void Guard(Record r, string action)
    {
        bool ok = action switch
        {
            "start" => r.Status is ContainerStatus.Created or ContainerStatus.Exited,
            "pause" => r.Status is ContainerStatus.Running,
            "resume" => r.Status is ContainerStatus.Paused,
            "exec" => r.Status is ContainerStatus.Running,
            "remove" => !r.IsActive,
            "rename" or "stop" or "kill" or "restart" or "export" or "commit" => true,
            _ => false,
        };
        if (!ok)
        {
            string id = action switch
            {
                "start" => "ContainerAlreadyRunning",
                "remove" => "ContainerRunning",
                "exec" => "ContainerNotRunning",
                "pause" => "ContainerNotRunning",
                "resume" => "ContainerNotPaused",
                _ => "InvalidContainerState",
            };
            throw ContainersException.Conflict(id, RuntimeMessages.IllegalTransition(r.Name, r.Status.ToString().ToLowerInvariant(), action), r.Name);
        }
    }

    // ---------- helpers ----------

    private static bool WaitUntil(Func<bool> cond, TimeSpan timeout, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        int delay = 1;
        while (!cond())
        {
            if (sw.Elapsed > timeout) return false;
            ct.ThrowIfCancellationRequested();
            Thread.Sleep(delay);
            delay = Math.Min(delay * 2, 20);
        }
        return true;
    }

    private static string NewId() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

    private static readonly string[] Adjectives = ["brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nimble", "proud", "quiet", "swift", "tidy", "witty"];
    private static readonly string[] Nouns = ["badger", "cedar", "dolphin", "falcon", "gecko", "heron", "ibis", "jaguar", "koala", "lynx", "marten", "newt", "otter", "panda", "quokka", "raven"];

    private string NewName()
    {
        var names = All().Select(r => r.Name).ToHashSet();
        while (true)
        {
            string n = $"{Adjectives[Random.Shared.Next(Adjectives.Length)]}_{Nouns[Random.Shared.Next(Nouns.Length)]}_{Random.Shared.Next(100, 999)}";
            if (!names.Contains(n)) return n;
        }
    }
}
