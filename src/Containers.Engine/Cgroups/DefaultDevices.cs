namespace Containers.Engine.Cgroups;

/// <summary>
/// Docker's default device allowlist (as docker 20.10+ writes to devices.list): mknod of any node is
/// allowed (CAP_MKNOD is in the default set), but only these character devices can be opened; every
/// block device, and every other character device, is denied.
/// </summary>
public static class DefaultDevices
{
    public static IReadOnlyList<DeviceRule> Rules { get; } =
    [
        new('c', -1, -1, "m"),          // mknod of any char device
        new('b', -1, -1, "m"),          // mknod of any block device (opening stays denied)
        new('c', 1, 3, "rwm"),          // /dev/null
        new('c', 1, 5, "rwm"),          // /dev/zero
        new('c', 1, 7, "rwm"),          // /dev/full
        new('c', 1, 8, "rwm"),          // /dev/random
        new('c', 1, 9, "rwm"),          // /dev/urandom
        new('c', 5, 0, "rwm"),          // /dev/tty
        new('c', 5, 1, "rwm"),          // /dev/console
        new('c', 5, 2, "rwm"),          // /dev/ptmx
        new('c', 10, 200, "rwm"),       // /dev/net/tun
        new('c', 136, -1, "rwm"),       // /dev/pts/*
    ];

    /// <summary>
    /// The full ordered rule list for a container: deny everything, then the allowlist, then the caller's
    /// rules (later rules win). Privileged: one rule allowing everything.
    /// </summary>
    public static List<DeviceRule> For(CgroupResources r)
    {
        if (r.AllowAllDevices) return [new DeviceRule('a', -1, -1, "rwm", Allow: true)];
        var list = new List<DeviceRule> { new('a', -1, -1, "rwm", Allow: false) };
        list.AddRange(Rules);
        list.AddRange(r.Devices);
        return list;
    }
}
