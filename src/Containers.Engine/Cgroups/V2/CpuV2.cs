using System.Globalization;

namespace Containers.Engine.Cgroups.V2;

/// <summary>v2 cpu controller: cpu.max "quota period" and cpu.weight; cpu.stat for usage and throttling.</summary>
public static class CpuV2
{
    /// <summary>
    /// Docker's shares (2..262144, default 1024) to a v2 weight (1..10000, default 100), the linear map runc
    /// and crun use: 2 -> 1, 262144 -> 10000 (1024 -> 39).
    /// </summary>
    public static long SharesToWeight(long shares)
    {
        if (shares == 0) return 0;
        shares = Math.Clamp(shares, 2, 262144);
        return 1 + ((shares - 2) * 9999) / 262142;
    }

    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        var q = ResourceChecks.Cpu(r);
        if (q is not null)
            fs.Write(dir, "cpu.max", (q.Value.Quota < 0 ? "max" : q.Value.Quota.ToString(CultureInfo.InvariantCulture)) + " " +
                q.Value.Period.ToString(CultureInfo.InvariantCulture));
        if (ResourceChecks.Shares(r) is long shares)
            fs.Write(dir, "cpu.weight", SharesToWeight(shares).ToString(CultureInfo.InvariantCulture));
    }

    internal static void Read(CgroupFs fs, string dir, StatsBuilder s)
    {
        var stat = fs.ReadKeyed(dir, "cpu.stat");
        s.CpuTime = TimeSpan.FromTicks(stat.GetValueOrDefault("usage_usec") * 10);
        s.ThrottledPeriods = stat.GetValueOrDefault("nr_throttled");
        s.ThrottledTime = TimeSpan.FromTicks(stat.GetValueOrDefault("throttled_usec") * 10);
    }
}
