using System.Runtime.InteropServices;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// The first process's pseudo-terminal (run -t) and the attach socket that relays it (run -it, Connect-Container).
/// The child makes the terminal in the container's own devpts instance (after pivot_root: /dev/pts/ptmx), so
/// ttyname() inside names /dev/pts/N; it hands the master to the monitor over a socket pair made before the
/// clone (SCM_RIGHTS). The monitor keeps the master, logs what it reads from it and relays it to one attached
/// client at a time over a Unix socket in the state directory ("attach.sock", relative to the directory so a
/// long root path never exceeds sun_path); the client gets the master too, only to set the window size.
/// </summary>
internal static unsafe class Tty
{
    public const string SocketName = "attach.sock";
    private const int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000, SOL_SOCKET = 1, SCM_RIGHTS = 1, MSG_NOSIGNAL = 0x4000;

    [DllImport("libc"), SuppressGCTransition] private static extern int socketpair(int domain, int type, int protocol, int* sv);
    [DllImport("libc"), SuppressGCTransition] private static extern nint sendmsg(int fd, MsgHdr* msg, int flags);
    [DllImport("libc", EntryPoint = "recvmsg")] private static extern nint recvmsg(int fd, MsgHdr* msg, int flags);
    [DllImport("libc"), SuppressGCTransition] private static extern int bind(int fd, byte* addr, int len);
    [DllImport("libc"), SuppressGCTransition] private static extern int listen(int fd, int backlog);
    [DllImport("libc"), SuppressGCTransition] private static extern int accept4(int fd, void* addr, void* len, int flags);
    [DllImport("libc", EntryPoint = "connect")] private static extern int connect(int fd, byte* addr, int len);
    [DllImport("libc", EntryPoint = "send")] public static extern nint send(int fd, byte* buf, nint len, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name; public uint NameLen; public void* Iov; public nuint IovLen;
        public void* Control; public nuint ControlLen; public int Flags;
    }

    public static int SocketPair(int* sv) => socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);

    /// <summary>Sends one descriptor (with one byte of data); no allocation (the child calls it).</summary>
    public static bool SendFd(int sock, int fd)
    {
        byte data = 1;
        nuint* iov = stackalloc nuint[2];
        iov[0] = (nuint)(&data); iov[1] = 1;
        long* ctl = stackalloc long[3]; // CMSG_SPACE(4) = 24
        ctl[0] = 20; // cmsg_len = CMSG_LEN(4)
        ((int*)ctl)[2] = SOL_SOCKET; ((int*)ctl)[3] = SCM_RIGHTS; ((int*)ctl)[4] = fd; ((int*)ctl)[5] = 0;
        MsgHdr m = default;
        m.Iov = iov; m.IovLen = 1; m.Control = ctl; m.ControlLen = 24;
        return sendmsg(sock, &m, MSG_NOSIGNAL) == 1;
    }

    /// <summary>Receives one descriptor sent by <see cref="SendFd"/>; -1 when none came (the peer ended first).</summary>
    public static int RecvFd(int sock)
    {
        byte data = 0;
        nuint* iov = stackalloc nuint[2];
        iov[0] = (nuint)(&data); iov[1] = 1;
        long* ctl = stackalloc long[3];
        ctl[0] = 0; ctl[1] = 0; ctl[2] = 0;
        MsgHdr m = default;
        m.Iov = iov; m.IovLen = 1; m.Control = ctl; m.ControlLen = 24;
        nint n;
        while ((n = recvmsg(sock, &m, 0x40000000 /* MSG_CMSG_CLOEXEC */)) < 0 && Errno == 4) { }
        if (n <= 0 || m.ControlLen < 20 || ((int*)ctl)[2] != SOL_SOCKET || ((int*)ctl)[3] != SCM_RIGHTS) return -1;
        return ((int*)ctl)[4];
    }

    private static int Address(byte* sa)
    {
        for (int i = 0; i < 110; i++) sa[i] = 0;
        *(ushort*)sa = AF_UNIX;
        for (int i = 0; i < SocketName.Length; i++) sa[2 + i] = (byte)SocketName[i];
        return 2 + SocketName.Length + 1;
    }

    /// <summary>The listening socket, made in the current directory (the state directory), owner-only; -1 on failure.</summary>
    public static int Listen()
    {
        byte* sa = stackalloc byte[110];
        int len = Address(sa);
        unlink(sa + 2);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return -1;
        if (bind(s, sa, len) != 0 || chmod(sa + 2, 0x180 /* 0600 */) != 0 || listen(s, 4) != 0) { close(s); return -1; }
        return s;
    }

    public static int Accept(int listenFd) => accept4(listenFd, null, null, SOCK_CLOEXEC);

    /// <summary>Connects to the socket in the current directory; -1 (errno set) on failure.</summary>
    public static int Connect()
    {
        byte* sa = stackalloc byte[110];
        int len = Address(sa);
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return -1;
        if (connect(s, sa, len) != 0) { int e = Errno; close(s); *__errno_location() = e; return -1; }
        return s;
    }

    /// <summary>
    /// In the child, after pivot_root and the stdio dup2s: a terminal from the container's devpts, its master
    /// sent to the monitor, its slave the controlling terminal and fds 0-2. Returns errno, 0 on success.
    /// </summary>
    public static int SetUpInChild(int sock)
    {
        byte* ptmx = stackalloc byte[14];
        ReadOnlySpan<byte> path = "/dev/pts/ptmx"u8;
        for (int i = 0; i < path.Length; i++) ptmx[i] = path[i];
        ptmx[path.Length] = 0;
        int master = open(ptmx, 2 | 0x100 | 0x80000 /* O_RDWR|O_NOCTTY|O_CLOEXEC */, 0);
        if (master < 0) return Errno;
        if (unlockpt(master) != 0) return Errno;
        int slave = ioctl(master, 0x5441 /* TIOCGPTPEER */, (void*)(2 | 0x100 | 0x80000));
        if (slave < 0) return Errno;
        if (!SendFd(sock, master)) return Errno;
        close(master);
        close(sock);
        // the session leader (setsid at the start) takes it as its controlling terminal
        if (ioctl(slave, 0x540E /* TIOCSCTTY */, null) != 0) return Errno;
        dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
        close(slave);
        return 0;
    }
}
