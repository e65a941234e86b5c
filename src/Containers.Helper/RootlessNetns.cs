using System.Globalization;
using System.Net;
using Containers.Native.Netlink;
using Containers.Native.Proc;
using FileSys = Containers.Native.Sys.FileSys;
using NativeException = Containers.Native.Sys.NativeException;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// The rootless network namespace of a user (podman's "rootless netns"): the user networks of a rootless engine live
/// in one long-lived pair of namespaces, a user namespace with the user's mapping and a network namespace it owns.
/// Three parts:
/// <list type="bullet">
/// <item>"rootless-netns &lt;mapping&gt; &lt;api socket&gt;": the holder. It clones a pause process into a new user and
/// network namespace, has newuidmap/newgidmap write the maps, attaches slirp4netns to it (tap0, outbound traffic and
/// the published ports' host forwards, over the API socket), prints "pid &lt;pause pid&gt;" and "ready", and stays to
/// supervise: when the pause process ends (the engine kills it by pid) slirp4netns is stopped and the holder exits.
/// The pause process dies with the holder (PR_SET_PDEATHSIG), so nothing is left half.</item>
/// <item>"netns-bridge add|del ..." (run by the engine through nsenter into those namespaces): a network's bridge with
/// its gateway address, forwarding on, and proxy ARP on tap0 so slirp4netns's forwards reach the containers.</item>
/// <item><see cref="Attach"/>: a monitor started inside those namespaces (nsenter) clones the container without a user
/// namespace of its own (it is created in the holder's, which owns the container's network namespace too) and gives it
/// a veth pair on the network's bridge before it goes on.</item>
/// </list>
/// </summary>
internal static unsafe class RootlessNetns
{
    /// <summary>"rootless-netns &lt;mapping&gt; &lt;api socket&gt;": see the class.</summary>
    public static int Holder(string[] args)
    {
        if (args.Length != 3) { Console.Error.WriteLine("usage: rootless-netns <mapping> <api socket>"); return 2; }
        int* sync = stackalloc int[2];
        if (pipe2(sync, 0x80000) != 0) { Console.Out.WriteLine("error pipe: errno " + Errno); return 1; }
        int parent = getpid();
        // its own session before the clone, so neither it nor the pause process gets the starter's terminal signals
        Net.Detach.NewSession();
        int pid = Clone(CLONE_NEWUSER | CLONE_NEWNET | (ulong)SIGCHLD);
        if (pid == 0)
        {
            ulong none = 0;
            sigprocmask(2 /* SIG_SETMASK */, &none, null);
            for (int sig = 1; sig < 65; sig++) if (sig != SIGKILL && sig != SIGSTOP) signal(sig, 0);
            prctl(1 /* PR_SET_PDEATHSIG */, SIGKILL, 0, 0, 0);
            close(sync[1]);
            byte go = 0;
            if (read(sync[0], &go, 1) != 1 || getppid_() != parent) _exit(1);
            close(sync[0]);
            if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) _exit(1);
            ContainerChild.LoopbackUp();
            for (int i = 0; i < 3; i++) close(i);
            long* ts = stackalloc long[2];
            while (true) { ts[0] = 3600; ts[1] = 0; nanosleep(ts, null); }
        }
        close(sync[0]);
        if (pid < 0) { Console.Out.WriteLine("error clone(CLONE_NEWUSER|CLONE_NEWNET): errno " + Errno); return 1; }
        string? err = Rootless.WriteMaps(pid, args[1]) ?? SlirpNet.Start(pid, args[2], []);
        int st;
        if (err is not null)
        {
            close(sync[1]);
            SlirpNet.Stop();
            kill(pid, SIGKILL);
            wait4Blocking(pid, &st, 0, null);
            Console.Out.WriteLine("error " + err);
            return 1;
        }
        byte one = 1;
        write(sync[1], &one, 1);
        close(sync[1]);
        Console.Out.WriteLine("pid " + pid.ToString(CultureInfo.InvariantCulture));
        Net.Detach.Ready();
        while (wait4Blocking(pid, &st, 0, null) < 0 && Errno == 4) { }
        SlirpNet.Stop();
        return 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getppid")]
    private static extern int getppid_();

    /// <summary>
    /// "netns-bridge add &lt;name&gt; &lt;gateway&gt; &lt;prefix&gt;" or "netns-bridge del &lt;name&gt;", inside the
    /// rootless network namespace (as its root). Idempotent. Exit code 0, else 1 with the reason on stderr.
    /// </summary>
    public static int Bridge(string[] args)
    {
        try
        {
            if (args.Length == 5 && args[1] == "add")
            {
                EnsureBridge(args[2], IPAddress.Parse(args[3]), int.Parse(args[4], CultureInfo.InvariantCulture));
                return 0;
            }
            if (args.Length == 3 && args[1] == "del")
            {
                using var rt = RtNetlink.Host();
                rt.DeleteLink(args[2]);
                return 0;
            }
            Console.Error.WriteLine("usage: netns-bridge add <name> <gateway> <prefix> | del <name>");
            return 2;
        }
        catch (Exception ex) when (ex is NativeException or IOException or FormatException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("netns-bridge: " + ex.Message);
            return 1;
        }
    }

    private static void EnsureBridge(string name, IPAddress gateway, int prefix)
    {
        using var rt = RtNetlink.Host();
        if (rt.LinkIndex(name) == 0)
        {
            // a fixed MAC (as the root engine's bridges): the containers' ARP entries for the gateway stay valid
            var gw = gateway.GetAddressBytes();
            int idx = rt.CreateBridge(name, [0x02, 0x50, gw[0], gw[1], gw[2], gw[3]]);
            rt.AddAddress(idx, gateway, prefix);
            rt.SetLink(idx, up: true);
        }
        // routed between the bridges and tap0 (slirp4netns); proxy ARP lets slirp4netns reach a container's address
        // (the host forward of a published port) through tap0
        File.WriteAllText("/proc/sys/net/ipv4/ip_forward", "1");
        if (File.Exists("/proc/sys/net/ipv4/conf/tap0/proxy_arp")) File.WriteAllText("/proc/sys/net/ipv4/conf/tap0/proxy_arp", "1");
    }

    /// <summary>
    /// The monitor's half of a container on a user network (spec "usernet=bridge,gateway,prefix,host-if,if,ip,mac,route",
    /// one per network): a veth pair from the bridge into the child's network namespace, addresses and the default
    /// route inside. The monitor runs in the rootless network namespace as root of its user namespace. Null on success.
    /// </summary>
    public static string? Attach(int child, Spec spec) => Attach(child, spec.All("usernet"));

    /// <summary>
    /// "netns-attach &lt;pid&gt; &lt;usernet line&gt;" (run by the engine through nsenter into the rootless network
    /// namespace): Connect-ContainerNetwork of a running rootless container, one more veth pair as <see cref="Attach"/>
    /// gives at the start. Exit code 0, else 1 with the reason on stderr.
    /// </summary>
    public static int AttachMode(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
        {
            Console.Error.WriteLine("usage: netns-attach <pid> <bridge,gateway,prefix,host-if,if,ip,mac,route>");
            return 2;
        }
        string? err = Attach(pid, [args[2]]);
        if (err is null) return 0;
        Console.Error.WriteLine(err);
        return 1;
    }

    private static string? Attach(int child, IReadOnlyList<string> nets)
    {
        if (nets.Count == 0) return null;
        string nsPath = "/proc/" + child.ToString(CultureInfo.InvariantCulture) + "/ns/net";
        int nsfd = -1;
        try
        {
            nsfd = FileSys.Open(nsPath, FileSys.O_RDONLY);
            using var rt = RtNetlink.Host();
            using var ins = new RtNetlink(NetlinkSocket.OpenIn(nsfd, nsPath));
            int lo = ins.LinkIndex("lo");
            if (lo != 0) ins.SetLink(lo, up: true);
            foreach (var line in nets)
            {
                var f = line.Split(',');
                if (f.Length != 8) return "malformed usernet: " + line;
                var gw = IPAddress.Parse(f[1]);
                int prefix = int.Parse(f[2], CultureInfo.InvariantCulture);
                EnsureBridge(f[0], gw, prefix);
                int bridge = rt.LinkIndex(f[0]);
                // a pair left by the previous run of this container (the kernel deletes it with that namespace, later)
                if (rt.LinkIndex(f[3]) != 0) rt.DeleteLink(f[3]);
                byte[]? mac = f[6].Length == 0 ? null : f[6].Split(':').Select(h => Convert.ToByte(h, 16)).ToArray();
                rt.CreateVethPair(f[3], f[4], nsfd, mac, master: bridge, up: true);
                int idx = ins.LinkIndex(f[4]);
                ins.AddAddress(idx, IPAddress.Parse(f[5]), prefix);
                ins.SetLink(idx, up: true);
                if (f[7] == "1") ins.AddDefaultRoute(gw, idx);
            }
            return null;
        }
        catch (Exception ex) when (ex is NativeException or IOException or FormatException or UnauthorizedAccessException)
        {
            return "cannot attach the container to its network: " + ex.Message;
        }
        finally { if (nsfd >= 0) FileSys.Close(nsfd); }
    }
}
