using Containers.Engine.Errors;

namespace Containers.Engine.Cgroups.V2;

/// <summary>v2 freezer (no controller to enable): cgroup.freeze 1/0, done when cgroup.events says "frozen 1"/"frozen 0".</summary>
public static class FreezerV2
{
    internal static void Set(CgroupFs fs, string dir, bool frozen, TimeSpan timeout)
    {
        fs.Write(dir, "cgroup.freeze", frozen ? "1" : "0");
        if (!CgroupFs.WaitUntil(() => IsFrozen(fs, dir) == frozen, timeout))
        {
            if (frozen) fs.Write(dir, "cgroup.freeze", "0");
            throw new ContainersException(ErrorKind.Timeout, frozen ? "CgroupFreezeTimeout" : "CgroupThawTimeout",
                frozen ? CgroupMessages.FreezeTimeout(dir) : CgroupMessages.ThawTimeout(dir), dir);
        }
    }

    internal static bool IsFrozen(CgroupFs fs, string dir) => fs.ReadKeyed(dir, "cgroup.events").GetValueOrDefault("frozen") == 1;
}
