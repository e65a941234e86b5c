namespace Containers.Engine.Networking;

/// <summary>A network as stored in &lt;root&gt;/networks/n/&lt;name&gt;.json: its configuration and its address allocations.</summary>
public sealed class NetworkRecord
{
    public string Name { get; set; } = "";
    public string Id { get; set; } = "";
    public string Bridge { get; set; } = "";
    public string Subnet { get; set; } = "";
    public string Gateway { get; set; } = "";
    public string? IPRange { get; set; }
    public string? IPv6Subnet { get; set; }
    public string? IPv6Gateway { get; set; }
    public bool Internal { get; set; }
    public bool DnsEnabled { get; set; } = true;
    public bool IsDefault { get; set; }
    public string Domain { get; set; } = NetworkManager.DnsDomain;
    public Dictionary<string, string> Labels { get; set; } = new();
    public List<string> DnsUpstream { get; set; } = new();
    public DateTime Created { get; set; }
    public List<EndpointRecord> Endpoints { get; set; } = new();
    /// <summary>
    /// Endpoints of removed containers whose veth pair the kernel is still deleting (deferred teardown, see
    /// docs/NETWORKING.md): their addresses stay taken until the next operation on the network sees the link gone.
    /// </summary>
    public List<ReleasingEndpoint> Releasing { get; set; } = new();
}

/// <summary>A removed container's endpoint whose veth pair is being deleted by the kernel (the record of a deferred teardown).</summary>
public sealed class ReleasingEndpoint
{
    public string ContainerId { get; set; } = "";
    public string HostInterface { get; set; } = "";
    public string? IPv4Address { get; set; }
    public string? IPv6Address { get; set; }
    /// <summary>When the teardown was deferred (UTC).</summary>
    public DateTime Since { get; set; }
}

/// <summary>One container's endpoint on a network: its persistent addresses and DNS names.</summary>
public sealed class EndpointRecord
{
    public string ContainerId { get; set; } = "";
    public string ContainerName { get; set; } = "";
    public List<string> Aliases { get; set; } = new();
    public string? IPv4Address { get; set; }
    public string? IPv6Address { get; set; }
    public string MacAddress { get; set; } = "";
    public string HostInterface { get; set; } = "";
    public string Interface { get; set; } = "";
    /// <summary>True while the container runs (its names are in DNS).</summary>
    public bool Active { get; set; }
}

/// <summary>What the provider remembers about a container it set up (for Connect/Disconnect and teardown).</summary>
public sealed class ContainerNetRecord
{
    public string ContainerId { get; set; } = "";
    public string ContainerName { get; set; } = "";
    public string Hostname { get; set; } = "";
    public string NetNsPath { get; set; } = "";
    public string StateDirectory { get; set; } = "";
    public List<string> Networks { get; set; } = new();
    public List<PortBindingInfo> Ports { get; set; } = new();
    public List<PortRequest> PortRequests { get; set; } = new();
    public int ProxyPid { get; set; }
    public bool Running { get; set; }
}
