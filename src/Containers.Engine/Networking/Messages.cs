namespace Containers.Engine.Networking;

/// <summary>The networking area's user-facing messages, in one place.</summary>
internal static class Messages
{
    public static string InvalidSubnet(string what, string value) => $"The {what} '{value}' is not a valid CIDR prefix (like 10.90.1.0/24 or fd00:1::/64).";
    public static string InvalidAddress(string what, string value) => $"The {what} '{value}' is not a valid IP address.";
    public static string NotInSubnet(string what, string value, string subnet) => $"The {what} '{value}' is not inside the subnet {subnet}.";
    public static string SubnetTooSmall(string subnet) => $"The subnet {subnet} is too small: a network needs room for a gateway and at least one container (prefix /30 or shorter for IPv4, /126 for IPv6).";
    public static string SubnetInUse(string subnet, string by) => $"The subnet {subnet} overlaps {by}; choose another with -Subnet.";
    public static string NoFreeSubnet => "No free subnet is left in the pool 10.90.0.0/15-10.127.255.0/24; give one with -Subnet.";
    public static string NetworkExists(string name) => $"A network named '{name}' already exists.";
    public static string NetworkNotFound(string name) => $"No network named '{name}' exists.";
    public static string InvalidName(string name) => $"The network name '{name}' is not valid: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters.";
    public static string NetworkInUse(string name, int count) => $"The network '{name}' has {count} container(s) attached; disconnect them first or use -Force.";
    public static string DefaultNetworkReserved(string name) => $"The network '{name}' is the default network; it is created on first use and cannot be created or removed by hand while containers use it.";
    public static string NoFreeAddress(string name) => $"The network '{name}' has no free address left.";
    public static string AddressInUse(string address, string name, string by) => $"The address {address} on network '{name}' is already used by '{by}'.";
    public static string AddressReserved(string address, string name) => $"The address {address} on network '{name}' is reserved (network, gateway or broadcast address).";
    public static string PortAlreadyAllocated(string proto, string ip, int port, string why) => $"The host port {ip}:{port}/{proto} is already in use ({why}); choose another host port or leave it out to get a free one.";
    public static string InvalidPort(string spec) => $"The port '{spec}' is not valid: use [hostIp:][hostPort:]containerPort[/tcp|/udp], ports 1-65535.";
    public static string ContainerNotConnected(string container, string network) => $"The container '{container}' is not connected to the network '{network}'.";
    public static string ContainerAlreadyConnected(string container, string network) => $"The container '{container}' is already connected to the network '{network}'.";
    public static string ContainerNotRunning(string container) => $"The container '{container}' has no network namespace set up (is it running?).";
    public static string HelperFailed(string mode, string detail) => $"The containers-helper {mode} process failed: {detail}";
    public static string FirewallFailed(string tool, string detail) => $"{tool} failed: {detail}. Install the 'iptables' package (nf_tables backend).";
    public static string NetlinkFailed(string what, string detail) => $"Configuring the network ({what}) failed: {detail}";
    public static string InternalNoPorts(string name) => $"The network '{name}' is internal: ports cannot be published from it.";
}
