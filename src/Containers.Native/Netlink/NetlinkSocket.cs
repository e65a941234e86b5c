using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Containers.Native.Sys;

namespace Containers.Native.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket. A netlink socket stays bound to the network namespace it was created in, so
/// <see cref="OpenIn"/> creates one inside a container's namespace (on a short-lived thread that joins it
/// with setns and never runs anything else) and every later request through it acts there.
/// </summary>
internal sealed partial class NetlinkSocket : IDisposable
{
    private int _fd;
    private uint _seq;
    private readonly byte[] _rx = new byte[65536];

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int socket_(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint send_(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint recv_(int fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int setns_(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int close_(int fd);

    private NetlinkSocket(int fd) { _fd = fd; _seq = (uint)Environment.TickCount; }

    /// <summary>A socket in the calling thread's network namespace.</summary>
    public static NetlinkSocket Open()
    {
        int fd = socket_(Nl.AF_NETLINK, Nl.SOCK_RAW | Nl.SOCK_CLOEXEC, Nl.NETLINK_ROUTE);
        if (fd < 0) throw NativeException.Last("socket(AF_NETLINK)");
        return new NetlinkSocket(fd);
    }

    /// <summary>A socket bound to the network namespace at <paramref name="netnsPath"/> (an nsfs file or its bind mount).</summary>
    public static NetlinkSocket OpenIn(string netnsPath)
    {
        int nsfd = FileSys.Open(netnsPath, FileSys.O_RDONLY);
        try { return OpenIn(nsfd, netnsPath); }
        finally { FileSys.Close(nsfd); }
    }

    public static NetlinkSocket OpenIn(int netnsFd, string what)
    {
        NetlinkSocket? result = null;
        Exception? error = null;
        var t = new Thread(() =>
        {
            int self = -1;
            try
            {
                self = FileSys.Open("/proc/thread-self/ns/net", FileSys.O_RDONLY);
                if (setns_(netnsFd, Nl.CLONE_NEWNET) != 0) throw NativeException.Last("setns", what);
                try { result = Open(); }
                finally
                {
                    // Go back so the thread ends where it began (it ends right after in any case).
                    setns_(self, Nl.CLONE_NEWNET);
                }
            }
            catch (Exception ex) { error = ex; }
            finally { if (self >= 0) close_(self); }
        }, 256 * 1024) { IsBackground = true, Name = "netns-join" };
        t.Start();
        t.Join();
        if (error is not null) throw error;
        return result!;
    }

    /// <summary>Sends a request with NLM_F_ACK and waits for the kernel's answer; throws on a negative errno.</summary>
    public void Request(NetlinkMessage msg, string what, params int[] tolerated)
    {
        uint seq = ++_seq;
        SendRaw(msg.Finish(seq), what);
        while (true)
        {
            int n = Receive(what);
            var buf = _rx.AsSpan(0, n);
            while (buf.Length >= Nl.NlMsgHdrSize)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(buf);
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(buf[4..]);
                uint mseq = BinaryPrimitives.ReadUInt32LittleEndian(buf[8..]);
                if (len < Nl.NlMsgHdrSize || len > buf.Length) break;
                if (mseq == seq && type == Nl.NLMSG_ERROR)
                {
                    int err = -BinaryPrimitives.ReadInt32LittleEndian(buf[16..]);
                    if (err == 0 || Array.IndexOf(tolerated, err) >= 0) return;
                    throw new NativeException("netlink " + what, err);
                }
                buf = buf[Math.Min(Nl.Align(len), buf.Length)..];
            }
        }
    }

    /// <summary>Sends a dump request and calls <paramref name="onMessage"/> with (type, payload) of each answer.</summary>
    public void Dump(NetlinkMessage msg, string what, NlMessageHandler onMessage)
    {
        uint seq = ++_seq;
        SendRaw(msg.Finish(seq), what);
        while (true)
        {
            int n = Receive(what);
            var buf = _rx.AsSpan(0, n);
            while (buf.Length >= Nl.NlMsgHdrSize)
            {
                int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(buf);
                ushort type = BinaryPrimitives.ReadUInt16LittleEndian(buf[4..]);
                uint mseq = BinaryPrimitives.ReadUInt32LittleEndian(buf[8..]);
                if (len < Nl.NlMsgHdrSize || len > buf.Length) break;
                if (mseq == seq)
                {
                    if (type == Nl.NLMSG_DONE) return;
                    if (type == Nl.NLMSG_ERROR)
                    {
                        int err = -BinaryPrimitives.ReadInt32LittleEndian(buf[16..]);
                        if (err != 0) throw new NativeException("netlink " + what, err);
                        return;
                    }
                    onMessage(type, buf[Nl.NlMsgHdrSize..len]);
                }
                buf = buf[Math.Min(Nl.Align(len), buf.Length)..];
            }
        }
    }

    private unsafe void SendRaw(ReadOnlySpan<byte> data, string what)
    {
        fixed (byte* p = data)
        {
            while (send_(_fd, p, data.Length, 0) < 0)
            {
                int e = Marshal.GetLastPInvokeError();
                if (e != Errno.EINTR) throw new NativeException("send(netlink " + what + ")", e);
            }
        }
    }

    private unsafe int Receive(string what)
    {
        fixed (byte* p = _rx)
        {
            while (true)
            {
                nint n = recv_(_fd, p, _rx.Length, 0);
                if (n >= 0) return (int)n;
                int e = Marshal.GetLastPInvokeError();
                if (e != Errno.EINTR) throw new NativeException("recv(netlink " + what + ")", e);
            }
        }
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0) close_(fd);
    }
}

internal delegate void NlMessageHandler(ushort type, ReadOnlySpan<byte> payload);
