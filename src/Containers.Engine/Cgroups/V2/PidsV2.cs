namespace Containers.Engine.Cgroups.V2;

/// <summary>v2 pids controller: pids.max, pids.current.</summary>
public static class PidsV2
{
    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        if (r.PidsLimit is long l) fs.Write(dir, "pids.max", ResourceChecks.Pids(l));
    }

    internal static void Read(CgroupFs fs, string dir, StatsBuilder s)
    {
        s.Pids = fs.ReadLong(dir, "pids.current");
        s.PidsLimit = fs.ReadLong(dir, "pids.max", -1);
    }
}
