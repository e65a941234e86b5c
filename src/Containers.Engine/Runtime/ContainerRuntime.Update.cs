using Containers.Engine.Cgroups;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Engine.Runtime;

/// <summary>What Set-Container changes (docker update); null leaves a setting as it is.</summary>
public sealed class ContainerUpdateOptions
{
    public long? Memory { get; init; }
    /// <summary>Memory plus swap; -1 = unlimited swap.</summary>
    public long? MemorySwap { get; init; }
    public double? Cpus { get; init; }
    public long? PidsLimit { get; init; }
    public string? RestartPolicy { get; init; }
}

public sealed partial class ContainerRuntime
{
    /// <summary>The file a running container's monitor reads its restart policy from, once Set-Container changed it.</summary>
    internal const string RestartPolicyFile = "restart-policy";

    /// <summary>
    /// docker update: changes the limits and restart policy of a container, running or not. The stored config
    /// changes (the next start applies it); a running container's cgroup is written at once (v1 or v2), and its
    /// monitor takes a new restart policy at the container's next exit.
    /// </summary>
    public ContainerInfo Update(string nameOrId, ContainerUpdateOptions o, CancellationToken ct = default)
    {
        var found = Find(nameOrId);
        using (Lock(found.Id, ct))
        {
            var rec = Load(found.Id) ?? throw ContainersException.NotFound("ContainerNotFound", RuntimeMessages.ContainerNotFound(nameOrId), nameOrId);
            // a private copy: Load's may be shared with other callers of this process
            var cfg = AtomicFile.ReadRecord<ContainerConfig>(Path.Combine(rec.Dir, "config.json"), "ContainerRecordCorrupt", "container record")
                ?? throw ContainersException.NotFound("ContainerNotFound", RuntimeMessages.ContainerNotFound(nameOrId), nameOrId);
            if (o.Memory is long m) cfg.Memory = m;
            if (o.MemorySwap is long sw) cfg.MemorySwap = sw;
            if (o.Cpus is double cpus) cfg.Cpus = cpus;
            if (o.PidsLimit is long pids) cfg.PidsLimit = pids;
            if (o.MemorySwap is not null && cfg.Memory is null)
                throw ContainersException.Invalid("MemorySwapWithoutMemory", $"The container '{rec.Name}' has no memory limit: give -Memory with -MemorySwap.", rec.Name);
            if (cfg.MemorySwap is long s2 && s2 >= 0 && cfg.Memory is long m2 && s2 < m2)
                throw ContainersException.Invalid("MemorySwapBelowMemory", $"The memory plus swap limit ({s2} bytes) must not be below the memory limit ({m2} bytes).", rec.Name);
            bool policyChanged = false;
            if (o.RestartPolicy is not null)
            {
                var (policy, max) = ParseRestart(o.RestartPolicy);
                if (cfg.AutoRemove && policy != "no")
                    throw ContainersException.Invalid("ConflictingOptions", RuntimeMessages.RemoveWithRestart(policy), o.RestartPolicy);
                policyChanged = policy != cfg.RestartPolicy || max != cfg.RestartMax;
                (cfg.RestartPolicy, cfg.RestartMax) = (policy, max);
            }
            var cg = Cgroup(rec.Id);
            if (rec.IsActive && cg.Exists)
            {
                bool memory = o.Memory is not null || o.MemorySwap is not null;
                var res = new CgroupResources
                {
                    MemoryBytes = memory ? cfg.Memory : null, MemorySwapBytes = memory ? cfg.MemorySwap : null,
                    Cpus = o.Cpus, PidsLimit = o.PidsLimit,
                };
                try { cg.Update(res); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ContainersException { Kind: not ErrorKind.InvalidArgument })
                {
                    throw new ContainersException(ErrorKind.Conflict, "ContainerUpdateFailed",
                        $"Cannot change the limits of the running container '{rec.Name}': {ex.Message}", rec.Name, ex);
                }
            }
            AtomicFile.WriteJson(Path.Combine(rec.Dir, "config.json"), cfg);
            // the monitor read the policy from the spec at start; it looks for this file at each exit
            if (policyChanged && rec.MonitorAlive)
                AtomicFile.WriteAllText(Path.Combine(rec.Dir, RestartPolicyFile), $"{cfg.RestartPolicy} {cfg.RestartMax}", durable: false);
            Events.EventLog.Record(_root, ContainerEventType.Container, "update", cfg.Id, cfg.Name, ("image", cfg.Image),
                ("memory", o.Memory?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("memorySwap", o.MemorySwap?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("cpus", o.Cpus?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("pidsLimit", o.PidsLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("restartPolicy", o.RestartPolicy is null ? null : cfg.RestartPolicy + (cfg.RestartMax > 0 ? ":" + cfg.RestartMax : "")));
        }
        return Get(found.Id);
    }
}
