namespace Containers.Engine.Model;

/// <summary>The cgroup layout of the host.</summary>
public enum CgroupLayout { None, V1, Hybrid, V2 }

/// <summary>What Get-ContainerHost reports: the kernel's abilities and the storage root's use.</summary>
public sealed class ContainerHostInfo
{
    public required string HostName { get; init; }
    public required string KernelVersion { get; init; }
    public required string OperatingSystem { get; init; }
    public required string Architecture { get; init; }
    public required CgroupLayout CgroupLayout { get; init; }
    public required string[] CgroupControllers { get; init; }
    public required bool OverlayFs { get; init; }
    public required string[] Namespaces { get; init; }
    public required bool IsRoot { get; init; }
    public required string StorageRoot { get; init; }
    public required string ScopeId { get; init; }
    public required int ImageCount { get; init; }
    public required int LayerCount { get; init; }
    public required int ContainerCount { get; init; }
    public required int VolumeCount { get; init; }
    public required int NetworkCount { get; init; }
    public required long StorageBytes { get; init; }
    public required string HelperPath { get; init; }
    public required string EngineVersion { get; init; }
    /// <summary>The user namespace of containers made without -UserNamespace (the root's settings record): Host or Auto.</summary>
    public string DefaultUserNamespace { get; init; } = "Host";
    /// <summary>The system user whose subordinate ids Auto containers use, or null when it does not exist yet.</summary>
    public string? UserNamespaceUser { get; init; }
    /// <summary>That user's subordinate uid range ("first-last"), or null.</summary>
    public string? SubordinateIds { get; init; }
    /// <summary>Why Auto falls back to Host on this root (kernel, file system, rights), or null when it can be given.</summary>
    public string? UserNamespaceProblem { get; init; }
    /// <summary>
    /// How the layers of this root's user-namespaced containers are given: IdmappedLayers, CopiedLayers (the file
    /// system cannot idmap: copies with shifted owners, per id range), Host (no user namespace can be given); null rootless.
    /// </summary>
    public string? UserNamespaceLayers { get; init; }
    /// <summary>With CopiedLayers: why the layers cannot be idmapped.</summary>
    public string? IdmappedLayersProblem { get; init; }
    /// <summary>Id ranges allocated to this root's containers.</summary>
    public int IdRangesInUse { get; init; }
    /// <summary>True when the engine runs as an ordinary user (rootless: Rootless/RootlessHost.cs).</summary>
    public bool Rootless { get; init; }
    /// <summary>Rootless: the user's runtime directory ($XDG_RUNTIME_DIR/pscontainers or /tmp/pscontainers-&lt;uid&gt;); null as root.</summary>
    public string? RuntimeDirectory { get; init; }
    /// <summary>
    /// Rootless: how container ids map to the user's: SubordinateIds (0 is the user, 1.. its /etc/subuid range, through
    /// newuidmap) or Single (only 0, the user: no subordinate ids or no newuidmap; UserNamespaceProblem says which); null as root.
    /// </summary>
    public string? RootlessIdMapping { get; init; }
    /// <summary>Rootless: the cgroup v2 directory delegated to the user that containers go below (limits work), or null (refused).</summary>
    public string? RootlessCgroup { get; init; }
}
