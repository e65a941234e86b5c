using System.Globalization;
using Containers.Engine.Cgroups;

namespace Containers.Engine.Runtime;

/// <summary>
/// TEMPORARY minimal cgroup v1 manager (memory, pids, cpu, cpuacct, freezer) so the runtime runs before the
/// cgroups area lands in main; replaced by CgroupManagers.Create then. Not for v2.
/// </summary>
internal sealed class CgroupStubV1 : ICgroupManager
{
    private static readonly string[] Controllers = ["memory", "pids", "cpu", "cpuacct", "freezer"];
    private const string Base = "/sys/fs/cgroup";

    public CgroupStubV1(string scopeId, string id) => RelativePath = $"pscontainers-{scopeId}/{id}";

    public string RelativePath { get; }
    private string Dir(string c) => Path.Combine(Base, c, RelativePath);
    private IEnumerable<string> Dirs => Controllers.Select(Dir).Where(d => Directory.Exists(Path.GetDirectoryName(Path.GetDirectoryName(d)!)!)).Distinct();

    public IReadOnlyList<string> ProcsFiles => Dirs.Select(d => Path.Combine(d, "cgroup.procs")).ToList();
    public (string File, string Key) OomKillCounter => (Path.Combine(Dir("memory"), "memory.oom_control"), "oom_kill");
    public bool Exists => Directory.Exists(Dir("memory"));

    public void Create(CgroupResources r)
    {
        foreach (var d in Dirs) Directory.CreateDirectory(d);
        Update(r);
    }

    public void Update(CgroupResources r)
    {
        if (r.MemoryBytes is long m) Write("memory", "memory.limit_in_bytes", m);
        if (r.MemorySwapBytes is long s && File.Exists(Path.Combine(Dir("memory"), "memory.memsw.limit_in_bytes"))) Write("memory", "memory.memsw.limit_in_bytes", s);
        if (r.PidsLimit is long p) Write("pids", "pids.max", p <= 0 ? "max" : p.ToString(CultureInfo.InvariantCulture));
        if (r.Cpus is double c)
        {
            long period = r.CpuPeriodMicroseconds ?? 100_000;
            Write("cpu", "cpu.cfs_period_us", period);
            Write("cpu", "cpu.cfs_quota_us", (long)(c * period));
        }
    }

    private void Write(string c, string file, object value) => File.WriteAllText(Path.Combine(Dir(c), file), Convert.ToString(value, CultureInfo.InvariantCulture));

    public void Join(int pid) { foreach (var f in ProcsFiles) File.WriteAllText(f, pid.ToString(CultureInfo.InvariantCulture)); }

    public void Freeze() { Write("freezer", "freezer.state", "FROZEN"); Wait(() => Read("freezer", "freezer.state").Trim() == "FROZEN"); }
    public void Thaw() { Write("freezer", "freezer.state", "THAWED"); Wait(() => Read("freezer", "freezer.state").Trim() == "THAWED"); }
    public bool IsFrozen => Exists && Read("freezer", "freezer.state").Trim() is "FROZEN" or "FREEZING";

    private string Read(string c, string file)
    {
        try { return File.ReadAllText(Path.Combine(Dir(c), file)); } catch (IOException) { return ""; }
    }

    private long Num(string c, string file) => long.TryParse(Read(c, file).Trim(), out long v) ? v : 0;

    private static void Wait(Func<bool> cond)
    {
        for (int i = 0; i < 400 && !cond(); i++) Thread.Sleep(5);
    }

    public CgroupStats Stats()
    {
        long oom = 0, thrP = 0, thrT = 0;
        foreach (var l in Read("memory", "memory.oom_control").Split('\n'))
            if (l.StartsWith("oom_kill ", StringComparison.Ordinal)) long.TryParse(l[9..], out oom);
        foreach (var l in Read("cpu", "cpu.stat").Split('\n'))
        {
            if (l.StartsWith("nr_throttled ", StringComparison.Ordinal)) long.TryParse(l[13..], out thrP);
            if (l.StartsWith("throttled_time ", StringComparison.Ordinal)) long.TryParse(l[15..], out thrT);
        }
        string pmax = Read("pids", "pids.max").Trim();
        return new CgroupStats
        {
            CpuTime = TimeSpan.FromTicks(Num("cpuacct", "cpuacct.usage") / 100),
            MemoryBytes = Num("memory", "memory.usage_in_bytes"),
            MemoryLimitBytes = Num("memory", "memory.limit_in_bytes"),
            MemoryMaxUsageBytes = Num("memory", "memory.max_usage_in_bytes"),
            Pids = Num("pids", "pids.current"),
            PidsLimit = pmax == "max" || pmax.Length == 0 ? -1 : long.Parse(pmax, CultureInfo.InvariantCulture),
            ThrottledPeriods = thrP,
            ThrottledTime = TimeSpan.FromTicks(thrT / 100),
            OomKills = oom,
        };
    }

    public int[] Pids()
    {
        var set = new HashSet<int>();
        foreach (var d in Dirs.Where(Directory.Exists))
            foreach (var l in File.ReadAllLines(Path.Combine(d, "cgroup.procs")))
                if (int.TryParse(l, out int p)) set.Add(p);
        return set.ToArray();
    }

    public void KillAll(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        bool frozen = IsFrozen;
        while (true)
        {
            var pids = Pids();
            if (pids.Length == 0) break;
            foreach (int p in pids) Native.Proc.ProcessOps.Signal(p, 0, 9);
            if (frozen) { Thaw(); frozen = false; }
            if (DateTime.UtcNow > deadline) break;
            Thread.Sleep(5);
        }
    }

    public void Destroy()
    {
        if (Exists && Pids().Length > 0) KillAll(TimeSpan.FromSeconds(5));
        foreach (var d in Dirs)
        {
            for (int i = 0; i < 100 && Directory.Exists(d); i++)
            {
                try { Directory.Delete(d); } catch (IOException) { Thread.Sleep(10); }
            }
            try { Directory.Delete(Path.GetDirectoryName(d)!); } catch (IOException) { } // the scope parent, once empty
        }
    }
}
