namespace Containers.Engine.Model;

/// <summary>What an event is about (docker events' Type).</summary>
public enum ContainerEventType { Container, Image, Network, Volume }

/// <summary>
/// One record of the storage root's event log (Get-ContainerEvent; docker events): what happened to which
/// object, when, and which process of which user did it.
/// </summary>
public sealed class ContainerEvent
{
    /// <summary>When it happened (UTC).</summary>
    public required DateTime Time { get; init; }
    public required ContainerEventType Type { get; init; }
    /// <summary>create, start, die, kill, stop, restart, pause, unpause, rename, remove (containers); pull, import, tag, untag, remove, push, commit (images); create, remove, connect, disconnect (networks); create, remove (volumes).</summary>
    public required string Action { get; init; }
    /// <summary>The object's id (a container's or image's id, a network's or volume's name).</summary>
    public required string Id { get; init; }
    /// <summary>The object's name at the time (container name, image reference, network or volume name).</summary>
    public string? Name { get; init; }
    /// <summary>Details: exitCode for die, signal for kill, oldName for rename, image for container events, container for connect...</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    /// <summary>The effective uid of the process that recorded it.</summary>
    public uint Uid { get; init; }
    /// <summary>The process that recorded it: the pwsh that ran the cmdlet, or the container's monitor (die, and starts by the restart policy).</summary>
    public int Pid { get; init; }
    /// <summary>That process's name (pwsh, containers-helper...).</summary>
    public string? ProcessName { get; init; }

    public override string ToString() => $"{Time:o} {Type.ToString().ToLowerInvariant()} {Action} {Id}{(Name is null ? "" : " (" + Name + ")")}";
}

/// <summary>What happened to a path in a container's writable layer (docker diff's C, A, D; the same numbers).</summary>
public enum ContainerChangeKind { Changed = 0, Added = 1, Deleted = 2 }

/// <summary>One changed path of a container's file system, relative to its image (Get-ContainerChange; docker diff).</summary>
public sealed class ContainerChange
{
    /// <summary>The absolute path inside the container.</summary>
    public required string Path { get; init; }
    public required ContainerChangeKind Kind { get; init; }
    public required string ContainerName { get; init; }
    public required string ContainerId { get; init; }

    /// <summary>docker diff's line: "C /etc".</summary>
    public override string ToString() => Kind switch { ContainerChangeKind.Added => "A", ContainerChangeKind.Deleted => "D", _ => "C" } + " " + Path;
}
