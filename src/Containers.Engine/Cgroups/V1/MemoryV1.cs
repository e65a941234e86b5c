using System.Globalization;

namespace Containers.Engine.Cgroups.V1;

/// <summary>v1 memory controller: memory.limit_in_bytes, memory.memsw.limit_in_bytes (when swap accounting is on), OOM counter.</summary>
public static class MemoryV1
{
    public const string Limit = "memory.limit_in_bytes", SwapLimit = "memory.memsw.limit_in_bytes", OomControl = "memory.oom_control";

    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        bool swapAccounting = File.Exists(Path.Combine(dir, SwapLimit));
        var (mem, swap) = ResourceChecks.Memory(r, swapAccounting);
        if (mem is null && swap is null) return;
        // the kernel keeps memsw >= memory at every moment: raise memsw first when the new memory limit is above it
        long curSwap = fs.ReadLong(dir, SwapLimit, -1);
        bool swapFirst = swap is not null && mem is not null && (mem == -1 || (curSwap != -1 && mem > curSwap));
        if (swapFirst) fs.Write(dir, SwapLimit, S(swap!.Value));
        if (mem is not null) fs.Write(dir, Limit, S(mem.Value));
        if (swap is not null && !swapFirst) fs.Write(dir, SwapLimit, S(swap.Value));
    }

    internal static void Read(CgroupFs fs, string dir, StatsBuilder s)
    {
        s.MemoryBytes = fs.ReadLong(dir, "memory.usage_in_bytes");
        s.MemoryLimitBytes = fs.ReadLong(dir, Limit, -1);
        s.MemoryMaxUsageBytes = fs.ReadLong(dir, "memory.max_usage_in_bytes");
        s.OomKills = fs.ReadKeyed(dir, OomControl).GetValueOrDefault("oom_kill");
    }

    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
}
