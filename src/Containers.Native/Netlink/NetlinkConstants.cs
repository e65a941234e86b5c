namespace Containers.Native.Netlink;

/// <summary>rtnetlink constants (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h, linux/veth.h).</summary>
internal static class Nl
{
    public const int AF_UNSPEC = 0, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_BRIDGE = 7;
    public const int NETLINK_ROUTE = 0;
    public const int SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000;
    public const int CLONE_NEWNET = 0x40000000;

    // nlmsghdr types and flags
    public const ushort NLMSG_ERROR = 2, NLMSG_DONE = 3;
    public const ushort NLM_F_REQUEST = 0x1, NLM_F_MULTI = 0x2, NLM_F_ACK = 0x4, NLM_F_ROOT = 0x100, NLM_F_MATCH = 0x200,
        NLM_F_DUMP = 0x300, NLM_F_REPLACE = 0x100, NLM_F_EXCL = 0x200, NLM_F_CREATE = 0x400;

    // rtnetlink message types
    public const ushort RTM_NEWLINK = 16, RTM_DELLINK = 17, RTM_GETLINK = 18, RTM_SETLINK = 19,
        RTM_NEWADDR = 20, RTM_DELADDR = 21, RTM_GETADDR = 22, RTM_NEWROUTE = 24, RTM_DELROUTE = 25, RTM_GETROUTE = 26;

    // link attributes
    public const ushort IFLA_ADDRESS = 1, IFLA_IFNAME = 3, IFLA_MTU = 4, IFLA_MASTER = 10, IFLA_LINKINFO = 18,
        IFLA_NET_NS_PID = 19, IFLA_NET_NS_FD = 28;
    public const ushort IFLA_INFO_KIND = 1, IFLA_INFO_DATA = 2;
    public const ushort VETH_INFO_PEER = 1;
    public const ushort NLA_F_NESTED = 0x8000;
    public const uint IFF_UP = 0x1;

    // address attributes
    public const ushort IFA_ADDRESS = 1, IFA_LOCAL = 2;
    public const byte IFA_F_NODAD = 0x02;

    // route attributes and values
    public const ushort RTA_DST = 1, RTA_OIF = 4, RTA_GATEWAY = 5, RTA_TABLE = 15;
    public const byte RT_TABLE_MAIN = 254, RTPROT_BOOT = 3, RTPROT_KERNEL = 2;
    public const byte RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253, RT_SCOPE_HOST = 254;
    public const byte RTN_UNICAST = 1, RTN_LOCAL = 2;

    public const int NlMsgHdrSize = 16, IfInfoMsgSize = 16, IfAddrMsgSize = 8, RtMsgSize = 12;

    public static int Align(int n) => (n + 3) & ~3;
}
