using System.Runtime.InteropServices;
using Containers.Engine.State;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// What Auto needs, probed at run time and nothing more: a kernel with idmapped mounts of overlayfs lower layers
/// (5.19), a storage root on a file system that supports idmapped mounts, and the subordinate ranges (or the means
/// to make them: root, useradd). <see cref="Resolve"/> turns a requested mode into the one a container gets.
/// </summary>
public static class UserNamespaceSupport
{
    // ext4, xfs, btrfs, tmpfs, f2fs: FS_ALLOW_IDMAP file systems whose magic statfs reports
    private static readonly long[] IdmapFileSystems = [0xEF53, 0x58465342, 0x9123683E, 0x01021994, unchecked((int)0xF2F52010)];

    /// <summary>Null when the root can hold Auto containers (ranges aside), else why not (statfs of the root; no fork, no mount).</summary>
    public static string? RootProblem(StorageRoot root)
    {
        var v = Environment.OSVersion.Version;
        if (v.Major < 5 || (v.Major == 5 && v.Minor < 19)) return $"the kernel ({v}) is older than 5.19, which idmapped overlayfs layers need";
        long fs = Containers.Native.Sys.Cgroupfs.FileSystemType(root.Path);
        if (!IdmapFileSystems.Contains(fs)) return $"the storage root's file system (magic 0x{fs:x}) does not support idmapped mounts";
        if (Environment.UserName != "root" && geteuid() != 0) return "user namespaces with subordinate ranges need root (rootless is not supported yet)";
        return null;
    }

    [DllImport("libc")] private static extern uint geteuid();

    /// <summary>The mode a container gets and, where Auto fell back to Host, why (a warning for the user).</summary>
    public static (UserNamespaceMode Mode, string? Warning) Resolve(StorageRoot root, UserNamespaceMode? asked, bool privileged)
    {
        var mode = asked ?? HostSettings.Load(root).DefaultMode;
        if (privileged || mode == UserNamespaceMode.Host) return (UserNamespaceMode.Host, null);
        if (mode == UserNamespaceMode.KeepId)
            throw Errors.ContainersException.Invalid("UserNamespaceKeepIdRootless", "-UserNamespace KeepId keeps the calling user's id and is for rootless use, which this engine does not offer yet; give Host, Auto or Private.", "KeepId");
        string? problem = RootProblem(root);
        if (problem is null) return (mode, null);
        if (mode == UserNamespaceMode.Private)
            throw Errors.ContainersException.System("UserNamespaceUnavailable", $"A user namespace of its own cannot be given: {problem}.", root.Path);
        return (UserNamespaceMode.Host, FallbackWarning(problem));
    }

    /// <summary>The stable id at the start of the warning of a fallback from Auto to Host.</summary>
    public const string FallbackWarningId = "UserNamespaceFallback";

    /// <summary>The warning of a container that asked for Auto (or got it as the root's default) and runs in the host's user namespace.</summary>
    public static string FallbackWarning(string why) =>
        $"{FallbackWarningId}: the container runs in the host's user namespace (root inside is root on the host): {why}. Give -UserNamespace Host to say so, or fix the cause.";
}
