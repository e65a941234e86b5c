namespace Containers.Engine.Cgroups.V1;

/// <summary>v1 pids controller: pids.max ("max" for no limit; Docker treats 0 and below as no limit).</summary>
public static class PidsV1
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
