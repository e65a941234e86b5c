using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// The network of a rootless container ("slirp=&lt;api socket&gt;" and "port=proto:hostip:hostport:ctrport" in the
/// spec): slirp4netns, started by the monitor for each run of the container once its child is cloned (with its own
/// network namespace, owned by its user namespace) and mapped, and before the child goes on. slirp4netns joins that
/// namespace (and its user namespace), makes tap0 10.0.2.100/24 with the gateway 10.0.2.2 and the DNS forwarder
/// 10.0.2.3 (--configure), and carries the traffic as an ordinary process of the user's: nothing on the host changes.
/// --disable-host-loopback keeps the host's loopback services out of the container's reach; --enable-sandbox and
/// --enable-seccomp confine slirp4netns itself. Published ports are slirp4netns host forwards added over its API
/// socket (in the user's runtime directory). It ends when the monitor closes its exit pipe (the run ended) or dies.
/// </summary>
internal static unsafe class SlirpNet
{
    public const string Binary = "/usr/bin/slirp4netns";

    private static int _pid = -1, _exitW = -1;
    private static string? _socket;

    /// <summary>Starts slirp4netns for the child <paramref name="child"/> and adds the ports; null on success, else why not.</summary>
    public static string? Start(int child, Spec spec)
    {
        string? socket = spec.Get("slirp");
        // KeepId of the single mapping: the container's user namespace has no uid 0, which the sandbox (a mount
        // namespace and pivot_root of slirp4netns's own, made as root of that namespace) needs: seccomp only
        bool sandbox = !(spec.Get("keepid") is not null && spec.Get("rootless") is { } m && m.EndsWith(":0", StringComparison.Ordinal));
        return socket is null ? null : Start(child, socket, spec.All("port"), sandbox);
    }

    /// <summary>Starts slirp4netns for the namespaces of <paramref name="child"/> with its API socket at <paramref name="socket"/>.</summary>
    public static string? Start(int child, string socket, IEnumerable<string> ports, bool sandbox = true)
    {
        int* ready = stackalloc int[2];
        int* exit = stackalloc int[2];
        if (pipe2(ready, 0x80000) != 0 || pipe2(exit, 0x80000) != 0) return "pipe: errno " + Errno;
        try { File.Delete(socket); } catch (IOException) { }
        string[] args =
        [
            Binary, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
            "--ready-fd=" + ready[1].ToString(CultureInfo.InvariantCulture), "--exit-fd=" + exit[0].ToString(CultureInfo.InvariantCulture),
            "--api-socket=" + socket, child.ToString(CultureInfo.InvariantCulture), "tap0",
        ];
        byte** argv = NStr.Array(sandbox ? args : args.Where(a => a != "--enable-sandbox").ToArray());
        byte** envp = NStr.Array(["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]);
        byte* file = NStr.Of(Binary);
        byte* devNull = NStr.Of("/dev/null");
        int rw = ready[1], er = exit[0];
        int pid = Clone((ulong)SIGCHLD);
        if (pid == 0)
        {
            // only these two descriptors cross the exec (every other one is close-on-exec)
            fcntl(rw, 2 /* F_SETFD */, 0);
            fcntl(er, 2, 0);
            setsid();
            int dn = open(devNull, 2, 0);
            if (dn >= 0) { dup2(dn, 0); dup2(dn, 1); dup2(dn, 2); }
            execve(file, argv, envp);
            _exit(127);
        }
        close(ready[1]);
        close(exit[0]);
        if (pid < 0) { close(ready[0]); close(exit[1]); return "cannot start slirp4netns: errno " + Errno; }
        _pid = pid;
        _exitW = exit[1];
        _socket = socket;
        // slirp4netns writes "1" once tap0 is configured; end of file means it failed (or /dev/net/tun is not the user's)
        PollFd pfd;
        pfd.Fd = ready[0]; pfd.Events = 1; pfd.Revents = 0;
        byte b = 0;
        nint n = poll(&pfd, 1, 10_000) > 0 ? read(ready[0], &b, 1) : -1;
        close(ready[0]);
        if (n != 1)
        {
            Stop();
            return Access("/dev/net/tun", 6) ? "slirp4netns did not configure the network namespace"
                : "slirp4netns cannot open /dev/net/tun (it must be readable and writable by the user, as udev makes it: mode 0666)";
        }
        foreach (string port in ports)
        {
            string? err = AddPort(socket, port);
            if (err is not null) { Stop(); return err; }
        }
        return null;
    }

    private static bool Access(string path, int mode) => access(NStr.Of(path), mode) == 0;

    /// <summary>One host forward over the API socket: "proto:hostip:hostport:ctrport".</summary>
    private static string? AddPort(string socket, string port)
    {
        var f = port.Split(':');
        if (f.Length != 4) return "malformed port " + port;
        string json = "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"" + f[0] + "\",\"host_addr\":\"" + (f[1].Length == 0 ? "0.0.0.0" : f[1])
            + "\",\"host_port\":" + f[2] + ",\"guest_port\":" + f[3] + "}}";
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(socket));
            s.Send(Encoding.ASCII.GetBytes(json));
            s.Shutdown(SocketShutdown.Send);
            var buf = new byte[4096];
            int got = 0, r;
            while (got < buf.Length && (r = s.Receive(buf, got, buf.Length - got, SocketFlags.None)) > 0) got += r;
            string reply = Encoding.UTF8.GetString(buf, 0, got);
            return reply.Contains("\"error\"", StringComparison.Ordinal)
                ? $"cannot publish {f[1]}:{f[2]}->{f[3]}/{f[0]}: {reply.Trim()}" : null;
        }
        catch (SocketException ex) { return $"cannot reach slirp4netns's API socket: {ex.Message}"; }
    }

    /// <summary>Ends slirp4netns (its exit pipe closes) and waits for it; removes its socket.</summary>
    public static void Stop()
    {
        if (_exitW >= 0) { close(_exitW); _exitW = -1; }
        if (_pid > 0)
        {
            int st;
            long* ts = stackalloc long[2];
            // it exits on the closed pipe at once; a hung one is killed after a second (it is reaped either way)
            bool reaped = false;
            for (int i = 0; i < 100 && !reaped; i++)
            {
                reaped = wait4(_pid, &st, WNOHANG, null) == _pid;
                if (!reaped) { ts[0] = 0; ts[1] = 10_000_000; nanosleep(ts, null); }
            }
            if (!reaped) { kill(_pid, SIGKILL); wait4Blocking(_pid, &st, 0, null); }
            _pid = -1;
        }
        if (_socket is not null) { try { File.Delete(_socket); } catch (IOException) { } _socket = null; }
    }
}
