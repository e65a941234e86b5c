using Containers.Engine.Errors;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// -UserNamespace, podman's --userns names: Host (the host's user namespace: root inside is root outside), Auto (a
/// user namespace of its own with a range of 65536 host ids of its own, falling back to Host with a warning where
/// the host cannot give one), Private (the same, but an error where it cannot), KeepId (rootless only; reserved).
/// </summary>
public enum UserNamespaceMode { Host, Auto, Private, KeepId }

/// <summary>A range of host ids (uid and gid alike) a container's user namespace maps 0..Count-1 onto.</summary>
public readonly record struct IdRange(uint Start, uint Count)
{
    /// <summary>The ids every container range has: 65536 (0..65535 inside), as podman's --userns=auto:size=65536.</summary>
    public const uint Size = 65536;

    public bool Contains(long hostId) => hostId >= Start && hostId < (long)Start + Count;

    /// <summary>A host id as the container sees it: inside the range its offset, any other unmapped (the kernel's overflow id 65534).</summary>
    public int ToContainer(long hostId) => Contains(hostId) ? (int)(hostId - Start) : 65534;

    /// <summary>A container id as stored on the host (ids past the range are refused by the caller).</summary>
    public int ToHost(long containerId) => (int)(Start + (uint)containerId);

    public bool Overlaps(IdRange o) => Start < (long)o.Start + o.Count && o.Start < (long)Start + Count;

    public override string ToString() => $"{Start}-{(long)Start + Count - 1}";

    public static UserNamespaceMode ParseMode(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return UserNamespaceMode.Host;
        if (Enum.TryParse<UserNamespaceMode>(text.Trim(), ignoreCase: true, out var m) && Enum.IsDefined(m)) return m;
        if (text.Trim().Equals("keep-id", StringComparison.OrdinalIgnoreCase)) return UserNamespaceMode.KeepId;
        throw ContainersException.Invalid("InvalidUserNamespace", $"'{text}' is not a user namespace mode: give Host, Auto or Private.", text);
    }
}
