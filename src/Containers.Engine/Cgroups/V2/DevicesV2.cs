namespace Containers.Engine.Cgroups.V2;

/// <summary>v2 has no devices files: the rules become an eBPF program attached to the cgroup.</summary>
public static class DevicesV2
{
    internal static DeviceProgram? Apply(string dir, CgroupResources r, IDeviceProgramAttacher? attacher)
    {
        if (r.AllowAllDevices && r.Devices.Count == 0) return null; // privileged: no filter at all
        var program = DeviceProgram.Build(DefaultDevices.For(r));
        attacher?.Attach(dir, program);
        return program;
    }
}
