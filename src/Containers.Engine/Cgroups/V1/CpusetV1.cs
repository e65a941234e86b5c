namespace Containers.Engine.Cgroups.V1;

/// <summary>
/// v1 cpuset controller. A new v1 cpuset cgroup starts with empty cpus and mems, and a task cannot join it
/// (ENOSPC) until they are set: copy them from the parent unless the container asks for its own.
/// </summary>
public static class CpusetV1
{
    internal static void Inherit(CgroupFs fs, string parentDir, string dir)
    {
        foreach (var f in new[] { "cpuset.cpus", "cpuset.mems" })
        {
            if (!string.IsNullOrEmpty(fs.Read(dir, f))) continue;
            string? v = fs.Read(parentDir, f);
            if (!string.IsNullOrEmpty(v)) fs.Write(dir, f, v);
        }
    }

    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        if (!string.IsNullOrEmpty(r.CpusetCpus)) fs.Write(dir, "cpuset.cpus", r.CpusetCpus);
        if (!string.IsNullOrEmpty(r.CpusetMems)) fs.Write(dir, "cpuset.mems", r.CpusetMems);
    }
}
