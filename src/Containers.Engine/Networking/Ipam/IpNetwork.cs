using System.Net;
using System.Net.Sockets;
using Containers.Engine.Errors;

namespace Containers.Engine.Networking.Ipam;

/// <summary>An IPv4 or IPv6 prefix (address + length) with the arithmetic IPAM needs.</summary>
public readonly record struct IpNetwork(IPAddress Network, int PrefixLength)
{
    public bool IsIPv6 => Network.AddressFamily == AddressFamily.InterNetworkV6;
    public int Bits => IsIPv6 ? 128 : 32;

    public static UInt128 ToNumber(IPAddress a)
    {
        byte[] b = a.GetAddressBytes();
        UInt128 v = 0;
        foreach (byte x in b) v = (v << 8) | x;
        return v;
    }

    public static IPAddress FromNumber(UInt128 v, bool v6)
    {
        byte[] b = new byte[v6 ? 16 : 4];
        for (int i = b.Length - 1; i >= 0; i--) { b[i] = (byte)(v & 0xff); v >>= 8; }
        return new IPAddress(b);
    }

    private UInt128 Mask => PrefixLength == 0 ? 0 : (UInt128.MaxValue << (128 - PrefixLength)) >> (128 - Bits);
    public UInt128 First => ToNumber(Network) & Mask;
    public UInt128 Last => First | (~Mask & (Bits == 32 ? (UInt128)uint.MaxValue : UInt128.MaxValue));

    public bool Contains(IPAddress a) => a.AddressFamily == Network.AddressFamily && ToNumber(a) >= First && ToNumber(a) <= Last;
    public bool Contains(IpNetwork n) => n.IsIPv6 == IsIPv6 && n.First >= First && n.Last <= Last;
    public bool Overlaps(IpNetwork n) => n.IsIPv6 == IsIPv6 && n.First <= Last && First <= n.Last;

    /// <summary>The address at offset <paramref name="k"/> from the network address.</summary>
    public IPAddress At(UInt128 k) => FromNumber(First + k, IsIPv6);

    public UInt128 Size => Last - First + 1;

    public override string ToString() => $"{FromNumber(First, IsIPv6)}/{PrefixLength}";

    public static bool TryParse(string? s, out IpNetwork net)
    {
        net = default;
        if (string.IsNullOrWhiteSpace(s)) return false;
        int slash = s.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(s[..slash], out var a) || !int.TryParse(s[(slash + 1)..], out int len)) return false;
        int bits = a.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (len < 0 || len > bits) return false;
        var n = new IpNetwork(a, len);
        net = new IpNetwork(FromNumber(n.First, n.IsIPv6), len);
        return true;
    }

    public static IpNetwork Parse(string s, string what) =>
        TryParse(s, out var n) ? n : throw ContainersException.Invalid("InvalidSubnet", Messages.InvalidSubnet(what, s), s);
}
