using System.Runtime.InteropServices;
using Containers.Engine.State;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// What Auto needs, probed at run time and nothing more: a kernel with idmapped mounts of overlayfs lower layers
/// (5.19), root, and the subordinate ranges (or the means to make them: useradd); a storage root on a file system
/// without idmapped mounts gets copied layers instead (<see cref="LayerMode"/>, <see cref="LayerCopies"/>).
/// <see cref="Resolve"/> turns a requested mode into the one a container gets.
/// </summary>
public static class UserNamespaceSupport
{
    /// <summary>
    /// Null when the root can hold Auto containers (ranges aside), else why not. A file system without idmapped
    /// mounts is no reason: the layers are then copies (<see cref="LayerMode"/>, <see cref="LayerCopies"/>).
    /// </summary>
    public static string? RootProblem(StorageRoot root)
    {
        var v = Environment.OSVersion.Version;
        if (v.Major < 5 || (v.Major == 5 && v.Minor < 19)) return $"the kernel ({v}) is older than 5.19, which idmapped overlayfs layers need";
        if (geteuid() != 0) return "user namespaces with subordinate ranges need root (rootless is not supported yet)";
        return null;
    }

    /// <summary>Null when the root's file system gives idmapped mounts (the layers of Auto containers are idmapped), else why not (they are copies).</summary>
    public static string? LayerIdmapProblem(StorageRoot root) => IdmapProblem(root.Path);

    public const string IdmappedLayers = "IdmappedLayers", CopiedLayers = "CopiedLayers", HostLayers = "Host";

    /// <summary>
    /// How a user-namespaced container of the root gets its layers: IdmappedLayers (idmapped mounts of the image's
    /// layers), CopiedLayers (copies with shifted owners, where the file system cannot idmap), Host (no user namespace
    /// can be given: <see cref="RootProblem"/>).
    /// </summary>
    public static string LayerMode(StorageRoot root) =>
        RootProblem(root) is not null ? HostLayers : LayerIdmapProblem(root) is not null ? CopiedLayers : IdmappedLayers;

    /// <summary>The host-wide cache of probes: "dev magic fsid boot result" a line (a file system per line).</summary>
    public static string ProbeCache => Path.Combine(IdRanges.HostDirectory, "idmap-probes");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(ulong Dev, long Magic, long Fsid), string> Probed = new();

    /// <summary>
    /// Whether the file system of <paramref name="path"/> gives idmapped mounts: asked of the kernel once per file
    /// system and boot (`containers-helper idmap-probe`: its type says too little, the standalone ext2 driver has
    /// ext4's magic and no FS_ALLOW_IDMAP), then a stat and a statfs per call. Null when it does, else why not.
    /// </summary>
    internal static string? IdmapProblem(string path)
    {
        if (!Containers.Native.Sys.LayerFs.TryLstat(path, out var st)) return $"the storage root {path} cannot be read";
        var (magic, fsid) = Containers.Native.Sys.Cgroupfs.FileSystemIdentity(path);
        if (Probed.TryGetValue((st.Dev, magic, fsid), out var known)) return known.Length == 0 ? null : known;
        string boot = "";
        try { boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim(); } catch (IOException) { }
        string key = FormattableString.Invariant($"{st.Dev} {magic:x} {fsid:x} {boot} ");
        try
        {
            foreach (var line in File.ReadLines(ProbeCache))
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    string r = line[key.Length..];
                    string p = r == "ok" ? "" : Describe(magic, r);
                    Probed[(st.Dev, magic, fsid)] = p;
                    return p.Length == 0 ? null : p;
                }
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
        string result = RunProbe(path);
        if (result.StartsWith("error", StringComparison.Ordinal))
            return $"the storage root's file system could not be probed for idmapped mounts ({result})";
        try
        {
            Directory.CreateDirectory(IdRanges.HostDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.AppendAllText(ProbeCache, key + result + "\n");
        }
        catch (IOException) { }
        string problem = result == "ok" ? "" : Describe(magic, result);
        Probed[(st.Dev, magic, fsid)] = problem;
        return problem.Length == 0 ? null : problem;
    }

    private static string Describe(long magic, string result) =>
        $"the storage root's file system (magic 0x{magic:x}) does not support idmapped mounts ({result.Replace("no ", "mount_setattr errno ", StringComparison.Ordinal)})";

    private static string RunProbe(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(EngineFiles.HelperPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("idmap-probe");
        psi.ArgumentList.Add(path);
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd().Trim();
            p.StandardError.ReadToEnd();
            p.WaitForExit();
            return output.Length == 0 ? $"error exit {p.ExitCode}" : output;
        }
        catch (System.ComponentModel.Win32Exception ex) { return "error " + ex.Message; }
    }

    [DllImport("libc")] private static extern uint geteuid();

    /// <summary>
    /// The mode a container gets and, where Auto fell back to Host, why (a warning for the user); CopiedLayers when
    /// its layers are to be copies (the root's file system cannot idmap; why is the problem, for the warning).
    /// </summary>
    public static (UserNamespaceMode Mode, string? Warning, string? CopiedLayers) Resolve(StorageRoot root, UserNamespaceMode? asked, bool privileged)
    {
        var mode = asked ?? HostSettings.Load(root).DefaultMode;
        // (before -Privileged's Host: KeepId asked as root is refused whatever else is given)
        if (mode == UserNamespaceMode.KeepId)
            throw Errors.ContainersException.Invalid("UserNamespaceKeepIdRootless", "-UserNamespace KeepId keeps the calling user's uid and gid inside the container and is for rootless use (pwsh run by an ordinary user), as podman's keep-id; as root give Host, Auto or Private.", "KeepId");
        if (privileged || mode == UserNamespaceMode.Host) return (UserNamespaceMode.Host, null, null);
        string? problem = RootProblem(root);
        if (problem is null) return (mode, null, LayerIdmapProblem(root));
        if (mode == UserNamespaceMode.Private)
            throw Errors.ContainersException.System("UserNamespaceUnavailable", $"A user namespace of its own cannot be given: {problem}.", root.Path);
        return (UserNamespaceMode.Host, FallbackWarning(problem), null);
    }

    /// <summary>The stable id at the start of the warning of a fallback from Auto to Host.</summary>
    public const string FallbackWarningId = "UserNamespaceFallback";

    /// <summary>The warning of a container that asked for Auto (or got it as the root's default) and runs in the host's user namespace.</summary>
    public static string FallbackWarning(string why) =>
        $"{FallbackWarningId}: the container runs in the host's user namespace (root inside is root on the host): {why}. Give -UserNamespace Host to say so, or fix the cause.";
}
