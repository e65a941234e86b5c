using Containers.Engine.Events;
using Containers.Engine.Images;
using Containers.Engine.State;

namespace Containers.Engine.Runtime;

/// <summary>What one kind's check gets: the root, whether to repair, where progress goes.</summary>
public sealed record StoreCheckContext(StorageRoot Root, bool Repair, IProgressSink Progress, CancellationToken Ct);

/// <summary>
/// One kind of thing a storage root holds: the entries of the root's top level it owns, and the check (with its
/// repair) that Test-ContainerStore runs for it.
/// </summary>
public sealed class StoreKind
{
    /// <summary>The kind's name (what an unknown-entry finding is compared against, and what docs call it).</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The names at the root's top level that belong to this kind: exact names, or a prefix ending in '*'
    /// (temp files of its atomic writes, records set aside). Everything else at the top level is unknown.
    /// </summary>
    public required IReadOnlyList<string> Entries { get; init; }

    /// <summary>
    /// Its check: one <see cref="StoreProblem"/> per finding; with <see cref="StoreCheckContext.Repair"/>, it also
    /// repairs what it can and says so (Repaired). Null when another kind's check covers these entries
    /// (<see cref="CheckedBy"/>) or there is nothing to check (a cache, locks).
    /// </summary>
    public Func<StoreCheckContext, IEnumerable<StoreProblem>>? Check { get; init; }

    /// <summary>For a kind without a check of its own: which kind's check covers it, or why none is needed.</summary>
    public string? CheckedBy { get; init; }

    public bool Owns(string entry) => Entries.Any(e => e.EndsWith('*')
        ? entry.StartsWith(e[..^1], StringComparison.Ordinal)
        : entry == e);
}

/// <summary>
/// Every kind of record a storage root holds, in one list: Test-ContainerStore runs each kind's check in this
/// order, then reports every top-level entry of the root that no kind owns as an <c>UnknownEntry</c> finding.
/// -Repair never removes an unknown entry (nor anything inside a kind it does not know): what it is for is
/// not known, so it may be in use (a newer engine's record, a user's file). A feature that adds a new kind
/// of record to the root adds one <see cref="StoreKind"/> here, with its check and repair, and nothing else
/// needs to change.
/// </summary>
public static class StoreKinds
{
    public static IReadOnlyList<StoreKind> All { get; } =
    [
        new StoreKind
        {
            // the image check also verifies that every other kind's JSON records parse (containers, networks,
            // volumes, names) and collects tmp/ leftovers: one pass under the gc lock
            Name = "Images",
            Entries = ["blobs", "layers", "l", "images", "repositories.json", ".repositories.json.tmp-*", "repositories.json.corrupt-*"],
            Check = c => new ImageStore(c.Root).Check(c.Repair, c.Progress, c.Ct),
        },
        new StoreKind
        {
            Name = "Containers",
            Entries = ["containers"],
            Check = c => new ContainerRuntime(c.Root).CheckInterrupted(c.Repair),
        },
        new StoreKind
        {
            // Build-ContainerImage's recipes, for base tracking (Update-ContainerImage)
            Name = "Recipes",
            Entries = ["recipes"],
            Check = c => new ImageStore(c.Root).CheckRecipes(c.Repair),
        },
        // Build-ContainerImage's build cache: entries are checked with the images (they parse, their layers and
        // blobs exist; the garbage collection keeps what they reference); cache mounts are RUN steps' own files
        new StoreKind { Name = "BuildCache", Entries = ["buildcache"], CheckedBy = "Images (entries parse, their blobs and layers exist)" },
        new StoreKind { Name = "BuildCacheMounts", Entries = ["buildcache-mounts"], CheckedBy = "none: RUN --mount=type=cache directories, the RUN steps' own files (Remove-ContainerBuildCache -All removes them)" },
        new StoreKind { Name = "Networks", Entries = ["networks"], CheckedBy = "Images (records parse); Containers (what killed starts left)" },
        new StoreKind { Name = "Volumes", Entries = ["volumes"], CheckedBy = "Images (records parse)" },
        new StoreKind
        {
            Name = "EventLog",
            Entries = [EventLog.FileName, EventLog.FileName + ".1", "." + EventLog.FileName + ".tmp-*", "." + EventLog.FileName + ".1.tmp-*"],
            Check = c => EventLogCheck.Check(c.Root, c.Repair),
        },
        new StoreKind
        {
            // compose projects (Engine/Projects): project.json and the files of environment/inline secrets
            Name = "Projects",
            Entries = ["projects"],
            Check = c => new Projects.ProjectStore(c.Root).Check(c.Repair, new Projects.ProjectRunner(c.Root).InUse()),
        },
        new StoreKind
        {
            // user namespaces: each Auto container's id range (userns/<id>; orphans found and freed by the Containers
            // check) and the root's settings record (Set-ContainerHostConfiguration)
            Name = "UserNamespaces",
            Entries = ["userns", UserNamespaces.HostSettings.FileName, "." + UserNamespaces.HostSettings.FileName + ".tmp*", UserNamespaces.HostSettings.FileName + ".corrupt-*"],
            CheckedBy = "Containers (IdRangeOrphan); the settings record is read with a corrupt one set aside",
        },
        new StoreKind
        {
            // user namespaces on a file system without idmapped mounts: copies of layers with owners shifted into an
            // id range (UserNamespaces/LayerCopies), made under a temporary name; half-made and orphaned ones removed
            Name = "LayerCopies",
            Entries = [UserNamespaces.LayerCopies.DirName],
            Check = c => UserNamespaces.LayerCopies.Check(c.Root, c.Repair, c.Ct),
        },
        new StoreKind { Name = "Runtime", Entries = ["runtime"], CheckedBy = "none: mount points and a cache of compiled seccomp programs, remade as needed" },
        new StoreKind { Name = "Temp", Entries = ["tmp"], CheckedBy = "Images (leftovers of interrupted work); Containers (unfinished removals)" },
        new StoreKind { Name = "FileSystem", Entries = ["lost+found"], CheckedBy = "none: the file system's own (fsck's), there when the root is the top of an ext4 file system" },
        new StoreKind { Name = "Locks", Entries = ["locks"], CheckedBy = "none: flock files, free when no process holds them" },
        new StoreKind { Name = "Reserve", Entries = [StorageSpace.ReserveName, StorageSpace.ReserveName + ".tmp"], CheckedBy = "none: remade by the next start" },
    ];

    /// <summary>The kind that owns a top-level entry of the root; null when none does.</summary>
    public static StoreKind? Of(string entry) => All.FirstOrDefault(k => k.Owns(entry));

    /// <summary>Test-ContainerStore: every kind's check in turn, then the entries of no known kind.</summary>
    public static IReadOnlyList<StoreProblem> CheckAll(StorageRoot root, bool repair, IProgressSink? progress = null, CancellationToken ct = default)
    {
        var ctx = new StoreCheckContext(root, repair, progress ?? NullProgressSink.Instance, ct);
        var problems = new List<StoreProblem>();
        foreach (var k in All)
        {
            ct.ThrowIfCancellationRequested();
            if (k.Check is not null) problems.AddRange(k.Check(ctx));
        }
        problems.AddRange(Unknown(root));
        return problems;
    }

    /// <summary>One Warning per top-level entry of the root that no kind owns. Never removed, with or without -Repair.</summary>
    public static IEnumerable<StoreProblem> Unknown(StorageRoot root)
    {
        if (!Directory.Exists(root.Path)) yield break;
        foreach (var e in Directory.EnumerateFileSystemEntries(root.Path).Order(StringComparer.Ordinal))
        {
            if (Of(Path.GetFileName(e)) is not null) continue;
            yield return new StoreProblem
            {
                Kind = "UnknownEntry", Severity = "Warning", Target = e,
                Message = "This entry of the storage root is of no kind this engine knows; it was neither checked nor changed, and -Repair never removes it.",
            };
        }
    }
}
