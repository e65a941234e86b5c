using Containers.Engine.Errors;
using Containers.Engine.Runtime;

namespace Containers.Engine.Rootless;

/// <summary>
/// What a rootless container may ask for, checked when it is created so nothing is set up for a request that cannot
/// be met. Each refusal has its ErrorId: RootlessCgroupsNotDelegated (a limit without a delegated cgroup),
/// RootlessUnsupported (what needs host privilege: -Privileged, -Device, the host's or another container's PID or IPC
/// namespace), RootlessNetworkUnsupported (a network mode this rootless engine does not give).
/// </summary>
internal static class RootlessChecks
{
    /// <summary>ContainerInfo.UserNamespace of a rootless container.</summary>
    public const string ModeName = "Rootless";

    /// <summary>The network a rootless container gets without -Network.</summary>
    public const string DefaultNetwork = "none";

    public static void Check(ContainerConfig c, bool publishAll)
    {
        var limits = new List<string>();
        if (c.Memory is not null) limits.Add("-Memory");
        if (c.MemorySwap is not null) limits.Add("-MemorySwap");
        if (c.Cpus is not null) limits.Add("-Cpus");
        if (c.PidsLimit is not null) limits.Add("-PidsLimit");
        if (limits.Count > 0 && Cgroups.RootlessCgroups.DelegatedRoot() is null)
            throw RootlessHost.CgroupsNotDelegated(string.Join(", ", limits));
        string? what = c.Privileged ? "-Privileged" : c.Devices.Count > 0 ? "-Device" : c.PidMode.Length > 0 ? "-Pid " + c.PidMode : c.IpcMode.Length > 0 ? "-Ipc " + c.IpcMode : null;
        if (what is not null)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessUnsupported",
                $"{what} needs privileges on the host that a rootless container does not have; run it as root.", c.Name);
        if (c.Network != "none")
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported",
                $"The network '{c.Network}' is not available to rootless containers yet; give -Network none.", c.Network);
        if (c.Ports.Count > 0 || publishAll)
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessNetworkUnsupported",
                "Published ports are not available to rootless containers yet.", c.Name);
    }
}
