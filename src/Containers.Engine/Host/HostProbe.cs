using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Engine.Host;

/// <summary>Reads what the host kernel offers (cgroups, overlayfs, namespaces) and the storage root's use.</summary>
public static class HostProbe
{
    public static CgroupLayout DetectCgroupLayout(string cgroupRoot = "/sys/fs/cgroup")
    {
        if (File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers"))) return CgroupLayout.V2;
        bool v1 = Directory.Exists(Path.Combine(cgroupRoot, "memory")) || Directory.Exists(Path.Combine(cgroupRoot, "cpu"));
        bool unified = File.Exists(Path.Combine(cgroupRoot, "unified", "cgroup.controllers"));
        if (v1 && unified) return CgroupLayout.Hybrid;
        return v1 ? CgroupLayout.V1 : CgroupLayout.None;
    }

    public static string[] CgroupControllers()
    {
        try
        {
            return File.ReadAllLines("/proc/cgroups").Skip(1)
                .Select(l => l.Split('\t', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length >= 4 && f[3] == "1").Select(f => f[0]).ToArray();
        }
        catch (IOException) { return []; }
    }

    public static bool HasOverlayFs()
    {
        try { return File.ReadAllText("/proc/filesystems").Contains("\toverlay"); }
        catch (IOException) { return false; }
    }

    public static string[] Namespaces()
    {
        try { return Directory.GetFiles("/proc/self/ns").Select(Path.GetFileName).OfType<string>().Order().ToArray(); }
        catch (IOException) { return []; }
    }

    public static ContainerHostInfo Probe(StorageRoot root, string helperPath)
    {
        static int Count(string dir, string pattern = "*") => Directory.Exists(dir) ? Directory.EnumerateFileSystemEntries(dir, pattern).Count(p => !Path.GetFileName(p).StartsWith('.')) : 0;
        string os = "Linux";
        try
        {
            var pretty = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME="));
            if (pretty is not null) os = pretty["PRETTY_NAME=".Length..].Trim('"');
        }
        catch (IOException) { }
        // rootless: the user's own subordinate ids and runtime directory instead of the root-only pool
        bool rootless = Rootless.RootlessHost.Active;
        string? userIds = null, rootlessProblem = null, runtimeDir = null;
        if (rootless)
        {
            // no subordinate ids or no newuidmap: the single mapping, said here as in its warning
            if (Rootless.RootlessHost.SingleMappingReason() is { } single)
                rootlessProblem = $"{Rootless.RootlessHost.SingleMappingId}: {single}; containers get a single id mapping (uid and gid 0 inside are yours, no other id)";
            else
            {
                try { userIds = Rootless.RootlessHost.SubordinateIds().Uids.ToString(); }
                catch (Errors.ContainersException ex) { rootlessProblem = ex.Message; }
            }
            try { runtimeDir = Rootless.RootlessHost.RuntimeDirectory(); }
            catch (Errors.ContainersException ex) { rootlessProblem ??= ex.Message; }
        }
        return new ContainerHostInfo
        {
            HostName = Environment.MachineName,
            KernelVersion = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : Environment.OSVersion.Version.ToString(),
            OperatingSystem = os,
            Architecture = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant() switch { "x64" => "amd64", var a => a },
            CgroupLayout = DetectCgroupLayout(),
            CgroupControllers = CgroupControllers(),
            OverlayFs = HasOverlayFs(),
            Namespaces = Namespaces(),
            IsRoot = Environment.UserName == "root" || geteuidIsZero(),
            StorageRoot = root.Path,
            ScopeId = root.ScopeId,
            ImageCount = Count(root.Sub("images"), "*.json"),
            LayerCount = Count(root.Sub("layers")),
            ContainerCount = Count(root.Sub("containers")),
            VolumeCount = Count(root.Sub("volumes")),
            NetworkCount = Count(root.Sub("networks", "n"), "*.json"), // networks/n/<name>.json (networks/c/ holds containers' endpoints)
            StorageBytes = DirectoryBytes(root.Path),
            HelperPath = helperPath,
            EngineVersion = typeof(HostProbe).Assembly.GetName().Version?.ToString() ?? "0.0",
            DefaultUserNamespace = rootless ? Rootless.RootlessChecks.ModeName : UserNamespaces.HostSettings.Load(root).DefaultMode.ToString(),
            UserNamespaceUser = rootless ? Environment.UserName : UserNamespaces.SubordinateIds.Find() is null ? null : UserNamespaces.SubordinateIds.UserName,
            SubordinateIds = rootless ? userIds : UserNamespaces.SubordinateIds.Find()?.Uids.ToString(),
            UserNamespaceProblem = rootless ? rootlessProblem : UserNamespaces.UserNamespaceSupport.RootProblem(root)
                ?? (UserNamespaces.SubordinateIds.Find() is null ? $"the system user {UserNamespaces.SubordinateIds.UserName} and its subordinate ids do not exist yet (made on first use)" : null),
            UserNamespaceLayers = rootless ? null : UserNamespaces.UserNamespaceSupport.LayerMode(root),
            IdmappedLayersProblem = rootless || UserNamespaces.UserNamespaceSupport.RootProblem(root) is not null ? null : UserNamespaces.UserNamespaceSupport.LayerIdmapProblem(root),
            // (the host-wide table is root's: a rootless run takes no range from it)
            IdRangesInUse = rootless ? 0 : UserNamespaces.IdRanges.List().Count(a => a.Root == root.Path),
            Rootless = rootless,
            RuntimeDirectory = runtimeDir,
            RootlessIdMapping = !rootless ? null : Rootless.RootlessHost.SingleMapping ? "Single" : "SubordinateIds",
            RootlessCgroup = rootless ? Cgroups.RootlessCgroups.DelegatedRoot() : null,
        };
    }

    private static bool geteuidIsZero() => Containers.Native.Sys.Ids.EffectiveUserId == 0;

    /// <summary>Bytes used by regular files below a directory (symbolic links not followed).</summary>
    public static long DirectoryBytes(string dir)
    {
        long total = 0;
        var opts = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        try
        {
            foreach (var f in new DirectoryInfo(dir).EnumerateFiles("*", opts))
            {
                if (f.LinkTarget is not null) continue;
                total += f.Length;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return total;
    }
}
