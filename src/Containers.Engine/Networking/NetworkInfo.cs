namespace Containers.Engine.Networking;

/// <summary>A container attached to a network, with its addresses (an element of <see cref="ContainerNetworkInfo.Containers"/>).</summary>
public sealed class NetworkEndpoint
{
    public string ContainerId { get; }
    public string ContainerName { get; }
    public string? IPv4Address { get; }
    public string? IPv6Address { get; }
    public string MacAddress { get; }
    public IReadOnlyList<string> Aliases { get; }
    public bool Active { get; }

    internal NetworkEndpoint(EndpointRecord e)
    {
        ContainerId = e.ContainerId; ContainerName = e.ContainerName; IPv4Address = e.IPv4Address; IPv6Address = e.IPv6Address;
        MacAddress = e.MacAddress; Aliases = e.Aliases.ToArray(); Active = e.Active;
    }

    public override string ToString() => $"{ContainerName} ({IPv4Address ?? IPv6Address})";
}

/// <summary>A network as Get-ContainerNetwork shows it.</summary>
public sealed class ContainerNetworkInfo
{
    public string Name { get; }
    public string Id { get; }
    public string Driver => "bridge";
    public string Bridge { get; }
    public string Subnet { get; }
    public string Gateway { get; }
    public string? IPRange { get; }
    public string? IPv6Subnet { get; }
    public string? IPv6Gateway { get; }
    public bool Internal { get; }
    public bool DnsEnabled { get; }
    public bool IsDefault { get; }
    public string Domain { get; }
    public IReadOnlyList<string> DnsUpstream { get; }
    public IReadOnlyDictionary<string, string> Labels { get; }
    public DateTime Created { get; }
    public IReadOnlyList<NetworkEndpoint> Containers { get; }
    public string StorageRoot { get; }

    internal ContainerNetworkInfo(NetworkRecord r, string root)
    {
        Name = r.Name; Id = r.Id; Bridge = r.Bridge; Subnet = r.Subnet; Gateway = r.Gateway; IPRange = r.IPRange;
        IPv6Subnet = r.IPv6Subnet; IPv6Gateway = r.IPv6Gateway; Internal = r.Internal; DnsEnabled = r.DnsEnabled; IsDefault = r.IsDefault;
        Domain = r.Domain; DnsUpstream = r.DnsUpstream.ToArray(); Labels = new Dictionary<string, string>(r.Labels); Created = r.Created;
        Containers = r.Endpoints.Select(e => new NetworkEndpoint(e)).ToArray();
        StorageRoot = root;
    }

    public override string ToString() => Name;
}

/// <summary>What New-ContainerNetwork asks for.</summary>
public sealed class NetworkCreateOptions
{
    public required string Name { get; init; }
    public string? Subnet { get; init; }
    public string? Gateway { get; init; }
    public string? IPRange { get; init; }
    public bool IPv6 { get; init; }
    public string? IPv6Subnet { get; init; }
    public bool Internal { get; init; }
    public bool DisableDns { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public IReadOnlyList<string>? DnsUpstream { get; init; }
}
