using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.State;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// What a killed start or removal, or a killed monitor, left behind among the root's containers, for
    /// Test-ContainerStore: one finding per container (<c>InterruptedStart</c>: helper processes of a container
    /// that is not running, its cgroup directories, the start marker; <c>MonitorLost</c>: a container whose
    /// monitor died while it ran), cgroup directories of no container (<c>CgroupOrphan</c>), and removed
    /// containers' files a killed session left in tmp/ (<c>RemovalUnfinished</c>), veth pairs of removed containers still
    /// there after their deferred teardown (<c>DeferredTeardown</c>). With <paramref name="repair"/>
    /// each is finished as the next operation on the container would (the lost container's restart policy
    /// included). A container whose lock is held is being worked on and is skipped.
    /// </summary>
    public IReadOnlyList<StoreProblem> CheckInterrupted(bool repair)
    {
        var problems = new List<StoreProblem>();
        string dir = _root.Sub("containers");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(dir))
        {
            foreach (var d in Directory.EnumerateDirectories(dir))
            {
                string id = Path.GetFileName(d);
                ids.Add(id);
                StoreLock held;
                try { held = StoreLock.Acquire(_root, "container-" + id, true, TimeSpan.Zero); }
                catch (ContainersException) { continue; }
                using (held)
                {
                    Record? rec;
                    try { rec = Load(id); }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { continue; }
                    if (rec is null) continue; // no record or a corrupt one (reported by the store's check)
                    if (rec.MonitorLost)
                    {
                        if (repair) EndLost(rec, mayRestart: true);
                        problems.Add(new StoreProblem
                        {
                            Kind = "MonitorLost", Severity = "Error", Target = rec.Dir, Repaired = repair,
                            Message = repair
                                ? $"The monitor of '{rec.Name}' had died while it ran; the container was ended (ExitReason MonitorLost) and its restart policy applied."
                                : $"The monitor of '{rec.Name}' died while it ran: nothing supervises it. The next command that reads it, or -Repair, ends it and applies its restart policy.",
                        });
                        continue;
                    }
                    var left = Interrupted(rec);
                    if (left.Count == 0) continue;
                    if (repair) FinishInterrupted(rec);
                    problems.Add(new StoreProblem
                    {
                        Kind = "InterruptedStart", Severity = "Error", Target = rec.Dir, Repaired = repair,
                        Message = $"'{rec.Name}' is {rec.Status.ToString().ToLowerInvariant()} but a killed start or removal left {string.Join(", ", left)}" +
                            (repair ? "; removed." : ". Its next start, stop or removal, or -Repair, removes them."),
                    });
                }
            }
        }
        foreach (var (cgDir, id) in CgroupChildren())
        {
            if (ids.Contains(id)) continue;
            // a container made after the listing above is not an orphan
            if (Directory.Exists(DirOf(id))) continue;
            bool done = false;
            if (repair)
            {
                try { Cgroup(id).Destroy(); done = true; }
                catch (ContainersException) { }
            }
            problems.Add(new StoreProblem
            {
                Kind = "CgroupOrphan", Severity = "Error", Target = cgDir, Repaired = done,
                Message = done ? "A cgroup of no container of this root; removed (its processes killed)." : "A cgroup of no container of this root; -Repair removes it (its processes are killed).",
            });
        }
        // veth pairs of removed containers the kernel was to delete with their namespace and has not (deferred teardown)
        problems.AddRange(new Networking.NetworkManager(_root).CheckDeferredTeardown(repair));
        // the first version's records of id ranges (userns/<id>) whose container is gone: a removal killed between
        // the rename and the free (a range now goes with its container's directory: UserNamespaces/IdRanges)
        foreach (var (id, range) in UserNamespaces.IdRanges.Orphans(_root, id => Directory.Exists(DirOf(id))))
        {
            if (repair) UserNamespaces.IdRanges.Free(_root, id);
            problems.Add(new StoreProblem
            {
                Kind = "IdRangeOrphan", Severity = "Error", Target = UserNamespaces.IdRanges.RecordPath(_root, id), Repaired = repair,
                Message = repair ? $"The id range {range} of the removed container {id} was still allocated; freed."
                    : $"The id range {range} is allocated to the container {id}, which no longer exists; -Repair frees it.",
            });
        }
        string tmp = _root.Sub("tmp");
        if (Directory.Exists(tmp))
        {
            foreach (var d in Directory.EnumerateDirectories(tmp, Trash.Prefix + "-*"))
            {
                // the background delete of this or another live session may be at work on a fresh one
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(d) < TimeSpan.FromMinutes(1)) continue;
                if (repair) DeleteTree(d);
                problems.Add(new StoreProblem
                {
                    Kind = "RemovalUnfinished", Severity = "Garbage", Target = d, Repaired = repair,
                    Message = "The files of a removed container that a killed session did not finish deleting.",
                });
            }
            // a creation killed before its directory was complete (it holds the container's id range while it exists)
            foreach (var d in Directory.EnumerateDirectories(tmp, "ctr-*"))
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(d) < TimeSpan.FromMinutes(1)) continue;
                if (repair) DeleteTree(d);
                problems.Add(new StoreProblem
                {
                    Kind = "CreationUnfinished", Severity = "Garbage", Target = d, Repaired = repair,
                    Message = "The state directory of a container whose creation a killed session did not finish (and its id range).",
                });
            }
        }
        return problems;
    }

    /// <summary>What a killed start or removal left of a container that is not running (empty when nothing).</summary>
    private List<string> Interrupted(Record rec)
    {
        var left = new List<string>();
        if (rec.IsActive) return left;
        if (File.Exists(Path.Combine(rec.Dir, StartingMarker))) left.Add("the start marker");
        if (HelpersOf(rec.Dir).Count > 0) left.Add("helper processes");
        try { if (Cgroup(rec.Id).Exists) left.Add("cgroup directories"); }
        catch (ContainersException) { }
        return left;
    }

    /// <summary>
    /// Finishes what a killed start (or a monitor that could not remove its cgroup) left of a container that is
    /// not running, under its lock: a monitor of the killed start still at work is killed (it would start the
    /// container behind the caller's back), the processes in its cgroup too, then the cgroup and the start marker go.
    /// True when there was something to finish.
    /// </summary>
    private bool FinishInterrupted(Record rec)
    {
        if (rec.IsActive) return false;
        string marker = Path.Combine(rec.Dir, StartingMarker);
        var cg = Cgroup(rec.Id);
        bool hasMarker = File.Exists(marker);
        if (!hasMarker && !cg.Exists) return false;
        KillHelpersOf(rec.Dir);
        try { cg.Destroy(); }
        catch (ContainersException) { }
        File.Delete(marker);
        return true;
    }

    /// <summary>Our helper processes for this state directory (matched by their exact command line).</summary>
    private static List<int> HelpersOf(string dir)
    {
        var pids = new List<int>();
        byte[] want = System.Text.Encoding.UTF8.GetBytes("monitor\0" + dir + "\0");
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid) || pid == Environment.ProcessId) continue;
            byte[] cmd;
            try { cmd = File.ReadAllBytes(Path.Combine(d, "cmdline")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (cmd.AsSpan().IndexOf(want) >= 0) pids.Add(pid);
        }
        return pids;
    }

    /// <summary>The container directories under this root's cgroup parent, in every hierarchy: (path, id).</summary>
    private IEnumerable<(string Dir, string Id)> CgroupChildren()
    {
        string parent = Cgroups.CgroupManagers.ParentName(_root.ScopeId);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var parents = new List<string> { Path.Combine(Cgroups.CgroupManagers.DefaultRoot, parent) };
        try { parents.AddRange(Directory.EnumerateDirectories(Cgroups.CgroupManagers.DefaultRoot).Select(h => Path.Combine(h, parent))); }
        catch (IOException) { }
        foreach (var p in parents)
        {
            if (!Directory.Exists(p)) continue;
            foreach (var c in Directory.EnumerateDirectories(p))
            {
                string id = Path.GetFileName(c);
                if (seen.Add(id)) yield return (c, id);
            }
        }
    }
}
