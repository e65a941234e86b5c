using System.Globalization;

namespace Containers.Engine.Cgroups.V1;

/// <summary>v1 cpu controller (CFS quota/period, shares) and cpuacct usage.</summary>
public static class CpuV1
{
    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        var q = ResourceChecks.Cpu(r);
        if (q is not null)
        {
            // period first: a quota is checked against the period in force
            fs.Write(dir, "cpu.cfs_period_us", q.Value.Period.ToString(CultureInfo.InvariantCulture));
            fs.Write(dir, "cpu.cfs_quota_us", q.Value.Quota.ToString(CultureInfo.InvariantCulture));
        }
        if (ResourceChecks.Shares(r) is long shares)
            fs.Write(dir, "cpu.shares", shares.ToString(CultureInfo.InvariantCulture));
    }

    internal static void Read(CgroupFs fs, string cpuDir, string? cpuacctDir, StatsBuilder s)
    {
        var stat = fs.ReadKeyed(cpuDir, "cpu.stat");
        s.ThrottledPeriods = stat.GetValueOrDefault("nr_throttled");
        s.ThrottledTime = TimeSpan.FromTicks(stat.GetValueOrDefault("throttled_time") / 100);
        if (cpuacctDir is not null) s.CpuTime = TimeSpan.FromTicks(fs.ReadLong(cpuacctDir, "cpuacct.usage") / 100);
    }
}
