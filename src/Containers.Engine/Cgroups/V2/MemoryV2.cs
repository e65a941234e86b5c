using System.Globalization;

namespace Containers.Engine.Cgroups.V2;

/// <summary>v2 memory controller: memory.max, memory.swap.max (swap alone: Docker's memory+swap minus memory), memory.events oom_kill.</summary>
public static class MemoryV2
{
    public const string Max = "memory.max", SwapMax = "memory.swap.max", Events = "memory.events";

    internal static void Apply(CgroupFs fs, string dir, CgroupResources r, bool swapAccounting)
    {
        var (mem, swap) = ResourceChecks.Memory(r, swapAccounting);
        if (mem is not null) fs.Write(dir, Max, Limit(mem.Value));
        if (swap is not null)
        {
            // v2 limits swap on its own; v1/Docker's figure is memory+swap
            long swapOnly = swap == -1 ? -1 : swap.Value - (mem ?? 0);
            fs.Write(dir, SwapMax, Limit(swapOnly));
        }
    }

    internal static void Read(CgroupFs fs, string dir, StatsBuilder s)
    {
        s.MemoryBytes = fs.ReadLong(dir, "memory.current");
        s.MemoryLimitBytes = fs.ReadLong(dir, Max, -1);
        s.MemoryMaxUsageBytes = fs.ReadLong(dir, "memory.peak"); // 5.19+; 0 before
        s.OomKills = fs.ReadKeyed(dir, Events).GetValueOrDefault("oom_kill");
    }

    internal static string Limit(long v) => v < 0 ? "max" : v.ToString(CultureInfo.InvariantCulture);
}
