using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.Networking.Bridge;

namespace Containers.Engine.Networking;

/// <summary>
/// Deferred teardown. Deleting a veth pair makes the kernel wait for the device's last references (25-40 ms
/// here, more under load), which a run on a network used to wait for at its removal. When the caller releases the
/// container's network namespace right after Teardown (<see cref="ContainerNetworkContext.NamespaceReleased"/>),
/// the kernel deletes the pair by itself with the namespace, in its own worker; Teardown then only records the
/// endpoint in the network record's <see cref="NetworkRecord.Releasing"/> list (written before the namespace is
/// released, so a pwsh killed in between leaves the record) and its addresses stay taken. The next operation on
/// the network (a start, a removal, the network's removal) finishes the record: a link that is gone is dropped and
/// its addresses are free again; one still there after <see cref="ReleaseGrace"/> (the namespace was not released:
/// a killed pwsh, a process still in it) is deleted then. Test-ContainerStore reports the latter
/// (<c>DeferredTeardown</c>) and -Repair deletes it.
/// </summary>
public sealed partial class NetworkManager
{
    /// <summary>How long a releasing veth may stay before the next operation deletes it itself.</summary>
    internal static readonly TimeSpan ReleaseGrace = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Finishes the network's deferred teardowns (under the network lock): drops the records of links that are gone;
    /// deletes links still there after the grace, or at once with <paramref name="wait"/> after waiting up to two
    /// seconds for the kernel. True when the record changed (the caller saves it).
    /// </summary>
    private static bool FinishReleases(NetworkRecord n, bool wait)
    {
        if (n.Releasing.Count == 0) return false;
        bool changed = false;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        foreach (var r in n.Releasing.ToList())
        {
            bool exists = BridgeDriver.LinkExists(r.HostInterface);
            while (exists && wait && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(5);
                exists = BridgeDriver.LinkExists(r.HostInterface);
            }
            if (exists && !wait && DateTime.UtcNow - r.Since < ReleaseGrace) continue;
            if (exists) { try { BridgeDriver.DeleteLink(r.HostInterface); } catch (ContainersException) { continue; } }
            n.Releasing.Remove(r);
            changed = true;
        }
        return changed;
    }

    /// <summary>Releases at once an address a deferred teardown still holds that a start asks for by name (-IPAddress).</summary>
    private static void ReleaseAddressNow(NetworkRecord n, string? address)
    {
        if (string.IsNullOrEmpty(address)) return;
        foreach (var r in n.Releasing.Where(r => r.IPv4Address == address || r.IPv6Address == address).ToList())
        {
            BridgeDriver.DeleteLink(r.HostInterface);
            n.Releasing.Remove(r);
        }
    }

    /// <summary>
    /// Test-ContainerStore: veth pairs of removed containers that the kernel has not deleted within the grace (the
    /// namespace was kept by something, or a killed pwsh never released it), one <c>DeferredTeardown</c> finding
    /// each; with <paramref name="repair"/> they are deleted. Records of links already gone are dropped with -Repair.
    /// </summary>
    public IReadOnlyList<StoreProblem> CheckDeferredTeardown(bool repair)
    {
        var problems = new List<StoreProblem>();
        if (LoadAll().All(n => n.Releasing.Count == 0)) return problems;
        using var l = Lock();
        foreach (var n in LoadAll())
        {
            bool changed = false;
            foreach (var r in n.Releasing.ToList())
            {
                bool exists = BridgeDriver.LinkExists(r.HostInterface);
                if (exists && DateTime.UtcNow - r.Since < ReleaseGrace) continue; // the kernel is at it
                if (exists)
                {
                    bool done = false;
                    if (repair)
                    {
                        try { BridgeDriver.DeleteLink(r.HostInterface); done = true; }
                        catch (ContainersException) { }
                    }
                    problems.Add(new StoreProblem
                    {
                        Kind = "DeferredTeardown", Severity = "Garbage", Target = r.HostInterface, Repaired = done,
                        Message = done
                            ? $"The veth pair of removed container {r.ContainerId[..Math.Min(12, r.ContainerId.Length)]} on network '{n.Name}' was still there; deleted, and its addresses released."
                            : $"The veth pair of removed container {r.ContainerId[..Math.Min(12, r.ContainerId.Length)]} on network '{n.Name}' is still there (its namespace was not released); the next operation on the network, or -Repair, deletes it.",
                    });
                    if (!done) continue;
                }
                else if (!repair) continue;
                n.Releasing.Remove(r);
                changed = true;
            }
            if (changed) Save(n);
        }
        return problems;
    }
}
