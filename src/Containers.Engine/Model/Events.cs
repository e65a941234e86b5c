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
