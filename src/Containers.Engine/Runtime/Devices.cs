using Containers.Engine.Cgroups;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.Runtime;

/// <summary>
/// docker run --device and the host devices of --privileged. A device is looked up on the host at each start (its
/// numbers can change across reboots), made in the container's /dev with mknod (the host's type, numbers and mode),
/// and allowed in the device cgroup with the permissions given.
/// </summary>
internal static class Devices
{
    /// <summary>One device to make: container path, type ('c' or 'b'), raw dev_t, mode bits, cgroup permissions.</summary>
    /// <remarks>A class: every start builds a list of these, and a List of a struct has no precompiled code (the
    /// session's first start compiled it; docs/ARCHITECTURE.md, Cold start).</remarks>
    internal sealed record Node(string Path, char Type, ulong Rdev, uint Mode, string Permissions, string? Host = null)
    {
        /// <summary>The host's node (a user-namespaced container binds it rather than making one).</summary>
        public string HostPath => Host ?? Path;
        public DeviceRule Rule => new(Type, LayerFs.Major(Rdev), LayerFs.Minor(Rdev), Permissions);
    }

    private static bool IsPerms(string s) => s.Length is > 0 and <= 3 && s.All(ch => ch is 'r' or 'w' or 'm') && s.Distinct().Count() == s.Length;

    /// <summary>"/dev/x[:/dev/y][:rwm]", as docker parses it: (host path, container path, permissions).</summary>
    public static (string Host, string Container, string Perms) Parse(string spec)
    {
        var p = spec.Split(':');
        string host = p[0], ctr = p[0], perms = "rwm";
        if (p.Length == 2) { if (IsPerms(p[1])) perms = p[1]; else ctr = p[1]; }
        else if (p.Length == 3) { ctr = p[1]; perms = p[2]; }
        if (p.Length > 3 || !host.StartsWith('/') || !ctr.StartsWith('/') || !IsPerms(perms))
            throw ContainersException.Invalid("InvalidDeviceSpec", $"The device '{spec}' is not valid: give /dev/host[:/dev/container][:rwm].", spec);
        return (Path.GetFullPath(host), Path.GetFullPath(ctr), perms);
    }

    /// <summary>The device a -Device value names, as the host has it now (a link, e.g. /dev/disk/by-id/..., is followed).</summary>
    public static Node Resolve(string spec)
    {
        var (host, ctr, perms) = Parse(spec);
        string real = host;
        try { real = File.ResolveLinkTarget(host, returnFinalTarget: true)?.FullName ?? host; }
        catch (IOException) { }
        if (!LayerFs.TryLstat(real, out var st))
            throw ContainersException.NotFound("DeviceNotFound", $"The device '{host}' does not exist on the host.", host);
        uint type = st.Mode & LayerFs.S_IFMT;
        if (type is not (LayerFs.S_IFCHR or LayerFs.S_IFBLK))
            throw ContainersException.Invalid("NotADevice", $"'{host}' is not a character or block device.", host);
        return new Node(ctr, type == LayerFs.S_IFCHR ? 'c' : 'b', st.Rdev, st.Mode & 0xFFF, perms, real);
    }

    /// <summary>Directories of the host's /dev that hold no device to give (docker's list) or are the container's own.</summary>
    private static readonly HashSet<string> SkippedDirs = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

    /// <summary>
    /// -Privileged: every character and block device of the host's /dev, at the same path (docker's HostDevices:
    /// /dev/console and the directories above are left out).
    /// </summary>
    public static List<Node> HostDevices()
    {
        var list = new List<Node>();
        void Walk(string dir)
        {
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(dir).ToList(); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return; }
            foreach (var e in entries)
            {
                if (!LayerFs.TryLstat(e, out var st)) continue;
                uint type = st.Mode & LayerFs.S_IFMT;
                if (type == LayerFs.S_IFDIR)
                {
                    if (!(dir == "/dev" && SkippedDirs.Contains(Path.GetFileName(e)))) Walk(e);
                }
                else if ((type is LayerFs.S_IFCHR or LayerFs.S_IFBLK) && e != "/dev/console")
                    list.Add(new Node(e, type == LayerFs.S_IFCHR ? 'c' : 'b', st.Rdev, st.Mode & 0xFFF, "rwm"));
            }
        }
        Walk("/dev");
        return list;
    }
}
