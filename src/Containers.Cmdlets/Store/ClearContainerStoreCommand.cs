using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Store;

/// <summary>
/// Clear-ContainerStore (docker system prune, and container/image/volume/network prune with -Kind): removes the
/// objects of the storage root nothing uses. Stopped containers, unused networks and dangling images by default;
/// -All takes every image no container uses; volumes only when -Kind names them. One ShouldProcess per object;
/// writes what it removed with the bytes freed.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "ContainerStore", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ContainerPruneResult))]
public sealed class ClearContainerStoreCommand : ContainersCmdlet
{
    /// <summary>What to prune; docker system prune's set (Container, Network, Image, BuildCache) by default.</summary>
    [Parameter(Position = 0)]
    public ContainerStoreKind[] Kind { get; set; } = [ContainerStoreKind.Container, ContainerStoreKind.Network, ContainerStoreKind.Image, ContainerStoreKind.BuildCache];

    /// <summary>Every image no container uses and every build cache entry, not only the dangling ones (docker prune -a).</summary>
    [Parameter] public SwitchParameter All { get; set; }

    /// <summary>Only objects created before this time (docker prune --filter until=...).</summary>
    [Parameter] public DateTime Until { get; set; }

    protected override void ProcessRecord()
    {
        var root = Root;
        var m = new StoreMaintenance(root);
        DateTime? until = MyInvocation.BoundParameters.ContainsKey(nameof(Until)) ? Until.ToUniversalTime() : null;
        // containers first: the images and volumes they held may be unused afterwards (docker's order)
        var order = new[] { ContainerStoreKind.Container, ContainerStoreKind.Network, ContainerStoreKind.Volume, ContainerStoreKind.Image, ContainerStoreKind.BuildCache };
        foreach (var kind in order.Where(k => Kind.Contains(k)))
        {
            IReadOnlyList<PruneCandidate> candidates = [];
            if (!TryItem(kind, () => candidates = m.Candidates(kind, All, until))) continue;
            foreach (var c in candidates)
            {
                if (Stopping) return;
                if (!ShouldProcess($"{kind.ToString().ToLowerInvariant()} {c}", "Remove unused")) continue;
                TryItem(c.Name ?? c.Id, () => WriteObject(m.Remove(c, CancellationToken)));
            }
        }
    }
}
