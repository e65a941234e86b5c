using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Containers.Helper.Net;

/// <summary>
/// containers-helper proxy &lt;container-id&gt; proto,hostIp,hostPort,targetIp,targetPort ...: binds every host
/// port first (prints "error proto ip port message" and exits 3 when one is taken), prints
/// "bound proto ip port containerPort" for each and "ready", then carries TCP connections and UDP datagrams
/// to the container until it is ended by the engine (SIGTERM, by PID).
/// </summary>
internal static class PortProxy
{
    public static int Run(string[] args)
    {
        if (args.Length < 3) { Console.Error.WriteLine("usage: containers-helper proxy <id> <spec>..."); return 2; }
        Detach.NewSession();
        var listeners = new List<(Socket Sock, string Proto, IPEndPoint Target)>();
        foreach (var spec in args.Skip(2))
        {
            var f = spec.Split(',');
            string proto = f[0];
            var ip = IPAddress.Parse(f[1]);
            int port = int.Parse(f[2]);
            var target = new IPEndPoint(IPAddress.Parse(f[3]), int.Parse(f[4]));
            var s = proto == "udp" ? new Socket(ip.AddressFamily, SocketType.Dgram, ProtocolType.Udp) : new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // SO_REUSEADDR alone (a restarted proxy binds past TIME_WAIT): .NET's ReuseAddress also sets
                // SO_REUSEPORT on Linux, which let a second container bind the same host port and split its traffic
                if (proto == "tcp") s.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
                s.Bind(new IPEndPoint(ip, port));
                if (proto == "tcp") s.Listen(512);
            }
            catch (SocketException ex)
            {
                Console.Out.WriteLine($"error {proto} {ip} {port} {ex.Message}");
                Console.Out.Flush();
                return 3;
            }
            listeners.Add((s, proto, target));
            Console.Out.WriteLine($"bound {proto} {ip} {((IPEndPoint)s.LocalEndPoint!).Port} {target.Port}");
        }
        Detach.Ready();
        foreach (var (sock, proto, target) in listeners)
        {
            var t = proto == "udp" ? new Thread(() => UdpLoop(sock, target)) : new Thread(() => TcpLoop(sock, target));
            t.IsBackground = true;
            t.Start();
        }
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    private static void TcpLoop(Socket listener, IPEndPoint target)
    {
        while (true)
        {
            Socket client;
            try { client = listener.Accept(); } catch (SocketException) { continue; }
            _ = Task.Run(async () =>
            {
                using var c = client;
                using var up = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await up.ConnectAsync(target, cts.Token);
                    c.NoDelay = true; up.NoDelay = true;
                    var a = Pump(c, up);
                    var b = Pump(up, c);
                    await Task.WhenAll(a, b);
                }
                catch (Exception) { }
            });
        }
    }

    private static async Task Pump(Socket from, Socket to)
    {
        var buf = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buf, SocketFlags.None);
                if (n <= 0) break;
                int sent = 0;
                while (sent < n) sent += await to.SendAsync(buf.AsMemory(sent, n - sent), SocketFlags.None);
            }
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        try { to.Shutdown(SocketShutdown.Send); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    private static void UdpLoop(Socket listener, IPEndPoint target)
    {
        var sessions = new ConcurrentDictionary<EndPoint, Socket>();
        var buf = new byte[65536];
        while (true)
        {
            EndPoint from = new IPEndPoint(listener.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
            int n;
            try { n = listener.ReceiveFrom(buf, ref from); } catch (SocketException) { continue; }
            if (!sessions.TryGetValue(from, out var up))
            {
                up = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                up.Connect(target);
                sessions[from] = up;
                var client = from;
                var t = new Thread(() =>
                {
                    // Replies go back to the client; a session idle for 60 s ends.
                    var rb = new byte[65536];
                    up.ReceiveTimeout = 60_000;
                    try
                    {
                        while (true)
                        {
                            int m = up.Receive(rb);
                            listener.SendTo(rb.AsSpan(0, m), client);
                        }
                    }
                    catch (SocketException) { }
                    sessions.TryRemove(client, out _);
                    up.Dispose();
                }) { IsBackground = true };
                t.Start();
            }
            try { up.Send(buf.AsSpan(0, n)); } catch (SocketException) { } catch (ObjectDisposedException) { }
        }
    }
}
