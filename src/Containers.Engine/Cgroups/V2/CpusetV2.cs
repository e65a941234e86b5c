namespace Containers.Engine.Cgroups.V2;

/// <summary>v2 cpuset controller: cpuset.cpus / cpuset.mems (empty = the parent's effective set, unlike v1).</summary>
public static class CpusetV2
{
    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        if (!string.IsNullOrEmpty(r.CpusetCpus)) fs.Write(dir, "cpuset.cpus", r.CpusetCpus);
        if (!string.IsNullOrEmpty(r.CpusetMems)) fs.Write(dir, "cpuset.mems", r.CpusetMems);
    }
}
