namespace Containers.Engine.Cgroups;

/// <summary>User-facing messages of the cgroups area, in one place.</summary>
internal static class CgroupMessages
{
    public static string ValueRejected(string path, string value, string why) => $"The kernel rejected '{value}' for the cgroup file '{path}': {why}";
    public static string Busy(string path, string value, string why) => $"Cannot write '{value}' to '{path}' because the cgroup is busy: {why}";
    public static string WriteFailed(string path, string value, string why) => $"Cannot write '{value}' to the cgroup file '{path}': {why}";
    public static string CreateFailed(string dir, string why) => $"Cannot create the cgroup '{dir}': {why}";
    public static string RemoveFailed(string dir, string why) => $"Cannot remove the cgroup '{dir}': {why}";
    public static string StillBusy(string dir) => $"The cgroup '{dir}' still has processes or child cgroups and cannot be removed.";
    public static string ParentHasProcesses(string dir) =>
        $"Cannot enable controllers in '{dir}': it has processes of its own, and cgroup v2 allows controllers to be delegated only from a cgroup without processes (the \"no internal processes\" rule). Move those processes out.";
    public static string ControllerMissing(string controller, string root) =>
        $"The cgroup controller '{controller}' is not available under '{root}'; the limit cannot be applied.";
    public static string FreezeTimeout(string dir) => $"The cgroup '{dir}' did not reach the frozen state in time.";
    public static string ThawTimeout(string dir) => $"The cgroup '{dir}' did not thaw in time.";
    public static string KillTimeout(string dir, int left) => $"{left} process(es) in the cgroup '{dir}' were still alive after SIGKILL.";
    public static string NameInvalid(string name) => $"'{name}' cannot name a cgroup: use letters, digits, '_', '-' and '.'.";
    public static string MemoryTooLow(long bytes) => $"The memory limit {bytes} bytes is below the minimum of 6 MiB.";
    public static string SwapBelowMemory(long swap, long mem) => $"The memory+swap limit ({swap} bytes) must not be lower than the memory limit ({mem} bytes).";
    public static string SwapWithoutMemory => "A memory+swap limit needs a memory limit as well.";
    public static string CpusOutOfRange(double cpus, int max) => $"-Cpus {cpus} is out of range: use a value above 0.01 and at most {max} (the host's CPUs).";
    public static string PeriodOutOfRange(long period) => $"The CPU period {period} µs is out of range (1000 to 1000000).";
    public static string ParentInvalid(string value) =>
        $"The cgroup parent '{value}' is not valid: give a path below the cgroup hierarchy's root such as /mygroup or mygroup/sub, each level made of letters, digits, '_', '-' and '.' (not '.' or '..'), not a storage root's own pscontainers-* cgroup.";
    public static string NoSuchCgroup(string path) => $"The cgroup '{path}' does not exist.";
}
