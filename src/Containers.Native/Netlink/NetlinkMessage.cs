using System.Buffers.Binary;
using System.Text;

namespace Containers.Native.Netlink;

/// <summary>Builds one netlink request: header, a fixed family struct, then (nested) attributes.</summary>
internal sealed class NetlinkMessage
{
    private byte[] _buf = new byte[512];
    private int _len;
    private readonly Stack<int> _nests = new();

    public NetlinkMessage(ushort type, ushort flags)
    {
        _len = Nl.NlMsgHdrSize;
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(6), flags);
    }

    private Span<byte> Reserve(int n)
    {
        int aligned = Nl.Align(n);
        if (_len + aligned > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + aligned));
        var s = _buf.AsSpan(_len, aligned);
        s.Clear();
        _len += aligned;
        return s[..n];
    }

    /// <summary>struct ifinfomsg.</summary>
    public NetlinkMessage IfInfo(int family, int index, uint flags = 0, uint change = 0)
    {
        var s = Reserve(Nl.IfInfoMsgSize);
        s[0] = (byte)family;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], change);
        return this;
    }

    /// <summary>struct ifaddrmsg.</summary>
    public NetlinkMessage IfAddr(int family, int prefixLen, byte flags, byte scope, int index)
    {
        var s = Reserve(Nl.IfAddrMsgSize);
        s[0] = (byte)family; s[1] = (byte)prefixLen; s[2] = flags; s[3] = scope;
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], index);
        return this;
    }

    /// <summary>struct rtmsg.</summary>
    public NetlinkMessage Rt(int family, int dstLen, byte table, byte protocol, byte scope, byte type)
    {
        var s = Reserve(Nl.RtMsgSize);
        s[0] = (byte)family; s[1] = (byte)dstLen; s[4] = table; s[5] = protocol; s[6] = scope; s[7] = type;
        return this;
    }

    public NetlinkMessage Attr(ushort type, ReadOnlySpan<byte> data)
    {
        var s = Reserve(4 + data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(4 + data.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], type);
        data.CopyTo(s[4..]);
        return this;
    }

    public NetlinkMessage Attr(ushort type, string value)
    {
        byte[] b = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, b);
        return Attr(type, b);
    }

    public NetlinkMessage Attr(ushort type, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return Attr(type, b);
    }

    public NetlinkMessage BeginNest(ushort type)
    {
        _nests.Push(_len);
        var s = Reserve(4);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)(type | Nl.NLA_F_NESTED));
        return this;
    }

    public NetlinkMessage EndNest()
    {
        int start = _nests.Pop();
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(start), (ushort)(_len - start));
        return this;
    }

    /// <summary>The finished message with its length and sequence number filled in.</summary>
    public ReadOnlySpan<byte> Finish(uint seq)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buf, (uint)_len);
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(8), seq);
        return _buf.AsSpan(0, _len);
    }
}

/// <summary>One attribute of a received message.</summary>
internal readonly ref struct NlAttr
{
    public readonly ushort Type;
    public readonly ReadOnlySpan<byte> Data;
    public NlAttr(ushort type, ReadOnlySpan<byte> data) { Type = type; Data = data; }
    public string AsString() => Encoding.UTF8.GetString(Data.IndexOf((byte)0) is var z && z >= 0 ? Data[..z] : Data);
    public uint AsUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Data);
}

/// <summary>Walks the attributes that follow a fixed struct.</summary>
internal ref struct NlAttrReader
{
    private ReadOnlySpan<byte> _rest;
    public NlAttrReader(ReadOnlySpan<byte> attrs) => _rest = attrs;

    public bool Next(out NlAttr attr)
    {
        attr = default;
        if (_rest.Length < 4) return false;
        int len = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(_rest[2..]) & 0x3fff);
        if (len < 4 || len > _rest.Length) return false;
        attr = new NlAttr(type, _rest[4..len]);
        int adv = Math.Min(Nl.Align(len), _rest.Length);
        _rest = _rest[adv..];
        return true;
    }
}
