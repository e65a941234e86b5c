using Containers.Engine.Errors;

namespace Containers.Engine.Cgroups.V1;

/// <summary>v1 freezer: freezer.state FROZEN/THAWED; FREEZING while tasks are still being stopped, so poll (and re-ask, as runc does).</summary>
public static class FreezerV1
{
    public const string State = "freezer.state";

    internal static void Freeze(CgroupFs fs, string dir, TimeSpan timeout)
    {
        fs.Write(dir, State, "FROZEN");
        bool ok = CgroupFs.WaitUntil(() =>
        {
            string? s = fs.Read(dir, State);
            if (s == "FROZEN") return true;
            if (s == "THAWED") fs.Write(dir, State, "FROZEN"); // a racing thaw: ask again
            return false;
        }, timeout);
        if (!ok)
        {
            fs.Write(dir, State, "THAWED");
            throw new ContainersException(ErrorKind.Timeout, "CgroupFreezeTimeout", CgroupMessages.FreezeTimeout(dir), dir);
        }
    }

    internal static void Thaw(CgroupFs fs, string dir, TimeSpan timeout)
    {
        fs.Write(dir, State, "THAWED");
        if (!CgroupFs.WaitUntil(() => fs.Read(dir, State) == "THAWED", timeout))
            throw new ContainersException(ErrorKind.Timeout, "CgroupThawTimeout", CgroupMessages.ThawTimeout(dir), dir);
    }

    internal static bool IsFrozen(CgroupFs fs, string dir) => fs.Read(dir, State) is "FROZEN";
}
