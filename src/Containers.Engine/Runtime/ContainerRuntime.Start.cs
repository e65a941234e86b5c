using System.Diagnostics;
using System.Globalization;
using System.Text;
using Containers.Engine.Cgroups;
using Containers.Engine.Errors;
using Containers.Engine.Networking;
using Containers.Engine.State;
using Containers.Engine.Volumes;
using Containers.Engine.UserNamespaces;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    private const ulong MS_RDONLY = 1, MS_NOSUID = 2, MS_NODEV = 4, MS_NOEXEC = 8, MS_REMOUNT = 32, MS_BIND = 4096, MS_REC = 16384, MS_STRICTATIME = 1 << 24;

    /// <summary>Docker's masked paths: (path, is directory).</summary>
    private static readonly (string, bool)[] MaskedPaths =
    [
        ("/proc/asound", true), ("/proc/acpi", true), ("/proc/interrupts", false), ("/proc/kcore", false), ("/proc/keys", false),
        ("/proc/latency_stats", false), ("/proc/timer_list", false), ("/proc/timer_stats", false), ("/proc/sched_debug", false),
        ("/proc/scsi", true), ("/sys/firmware", true), ("/sys/devices/virtual/powercap", true),
    ];

    private static readonly string[] ReadOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    private const string StartingMarker = "starting";

    /// <summary>
    /// Starts a created or exited container: cgroup, network, spec for the helper, then the monitor.
    /// Returns the monitor process (the caller may wait for it when attached) once the first process runs.
    /// </summary>
    public Process Start(string nameOrId, CancellationToken ct = default)
    {
        var p = Start(nameOrId, out var hold, ct);
        hold.Dispose();
        return p;
    }

    /// <summary>
    /// Start that hands the caller the hold on the kernel's cgroup migration fast path (see
    /// <see cref="CgroupFs.HoldMigrationFastPath"/>) instead of ending it: a run keeps it through the wait and the
    /// removal (it ends by itself after a quarter second), so the next start soon after finds the fast path
    /// still open and its first migration does not wait for a grace period.
    /// </summary>
    internal Process Start(string nameOrId, out IDisposable hold, CancellationToken ct = default) =>
        Start(nameOrId, out hold, null, out _, ct);

    /// <summary>
    /// Start whose first process reads <paramref name="input"/> as its stdin (an attached run -i, see
    /// ContainerRuntime.Stdin.cs); <paramref name="feed"/> ends once the input is written and closed, or the
    /// process no longer reads it.
    /// </summary>
    internal Process Start(string nameOrId, out IDisposable hold, Stream? input, out Task feed, CancellationToken ct = default)
    {
        hold = Cgroups.CgroupFs.NoHold.Instance;
        feed = Task.CompletedTask;
        var rec = Find(nameOrId);
        using var _ = Lock(rec.Id, ct);
        rec = LoadLocked(rec.Id) ?? throw ContainersException.NotFound("ContainerNotFound", RuntimeMessages.ContainerNotFound(nameOrId), nameOrId);
        Guard(rec, "start");
        return StartLocked(rec, out hold, input, out feed, 0, ct);
    }

    /// <summary>The start itself, under the container's lock; <paramref name="restarts"/> is the restart count the monitor carries on.</summary>
    private Process StartLocked(Record rec, out IDisposable hold, Stream? input, out Task feed, int restarts, CancellationToken ct)
    {
        hold = Cgroups.CgroupFs.NoHold.Instance;
        feed = Task.CompletedTask;
        var c = rec.Config;
        string dir = rec.Dir;

        // the room a later stop or removal needs on a full disk (one stat when it is there already)
        StorageSpace.Ensure(_root);
        Diagnostics.StepTimes.Mark("start.reserve");
        // the containers whose namespaces this one joins must run now (JoinedContainerNotRunning), before anything is set up
        var joins = new Joins(
            IsContainerMode(c.Network) ? JoinTarget(c, c.Network, "network") : 0,
            IsContainerMode(c.PidMode) ? JoinTarget(c, c.PidMode, "PID") : 0,
            IsContainerMode(c.IpcMode) ? JoinTarget(c, c.IpcMode, "IPC") : 0);
            Diagnostics.StepTimes.Mark("start.joins");
        // compiled (or taken from the cache) before anything is set up, so a profile that fails leaves nothing behind
        Security.SecurityOptions.SeccompProgram(c, SeccompCacheDir);
        SeedVolumes(rec);
        Diagnostics.StepTimes.Mark("start.seccomp+volumes");
        var cg = Cgroup(c.Id);
        var res = new CgroupResources { MemoryBytes = c.Memory, MemorySwapBytes = c.MemorySwap, Cpus = c.Cpus, PidsLimit = c.PidsLimit, AllowAllDevices = c.Privileged };
        // -Device (and -Privileged's host devices): looked up now, made in /dev by the child, allowed in the device cgroup
        var devices = c.Devices.Select(Devices.Resolve).ToList();
        if (c.Privileged) devices.InsertRange(0, Devices.HostDevices());
        res.Devices.AddRange(devices.Select(d => d.Rule));
        try
        {
            cg.Create(res);
            if (c.IdRange is UserNamespaces.IdRange r) UserNamespaceSetup.DelegateCgroup(cg, r);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw ContainersException.System("CgroupSetupFailed", RuntimeMessages.StartFailed(c.Name, ex.Message), c.Name, ex);
        }
        // after the mkdirs: the hold's first migration waits for a grace period holding the kernel's cgroup
        // mutex, which every cgroup mkdir needs too
        var fastPath = Cgroups.CgroupFs.HoldMigrationFastPath();
        Diagnostics.StepTimes.Mark("start.cgroup");
        StdinPipe? stdinPipe = null;
        try
        {
            NetworkSetupResult? net = null;
            if (HasOwnNetworks(c.Network) && NetworkProvider is not null)
            {
                // (rootless: the container's namespace is made by its clone in the user's rootless network namespace)
                var inside = Rootless.RootlessHost.Active ? null : EnsureNetNs(dir, c);
                Diagnostics.StepTimes.Mark("start.netns-pin");
                var ctx = NetContext(c, dir);
                ctx.InsideNetlink = inside;
                try { net = NetworkProvider.Setup(ctx, ct); }
                finally { ctx.TakeInsideNetlink()?.Dispose(); }
                Diagnostics.StepTimes.Mark("start.net-setup");
            }
            // --network container:X uses X's files (mounted from its state directory), as docker shares them
            if (!IsContainerMode(c.Network)) WriteEtcFiles(c, dir, net);
            if (Rootless.RootlessHost.Active) Rootless.RootlessChecks.WriteSlirpResolvConf(c, dir);
            if (Rootless.RootlessKeepId.Is(c)) Rootless.RootlessKeepId.WriteEtcFiles(c, dir);
            Diagnostics.StepTimes.Mark("start.etc-files");
            if (c.IdRange is UserNamespaces.IdRange range) UserNamespaceSetup.PrepareStart(this, rec, range, IsContainerMode(c.Network));
            else if (Rootless.RootlessHost.Active) Rootless.RootlessMounts.PrepareStart(_root, c, dir);

            var spec = BuildSpec(c, dir, cg, joins, devices);
            if (restarts > 0) spec = [.. spec, .. Encoding.UTF8.GetBytes("restarts=" + restarts.ToString(CultureInfo.InvariantCulture) + "\0")];
            // run -i: the FIFO the monitor gives the first process as stdin (a later start's spec has no stdin key)
            if (input is not null) spec = [.. spec, .. AppendStdin(stdinPipe = CreateStdinPipe(dir))];
            AtomicFile.WriteAllBytes(Path.Combine(dir, "spec"), spec, durable: false);
            File.Delete(Path.Combine(dir, "stop-requested"));
            File.Delete(Path.Combine(dir, "paused"));
            File.Delete(Path.Combine(dir, RestartPolicyFile)); // the new spec has the stored policy
            Diagnostics.StepTimes.Mark("start.spec");

            // kept until the monitor has answered: a pwsh killed in between leaves it, and removal then looks for the
            // monitor by its command line, which names the state directory (a spare rewrites its own to say so)
            string starting = Path.Combine(dir, StartingMarker);
            Process? p = SpareMonitors.Hand(dir, starting);
            if (p is null)
            {
                File.WriteAllBytes(starting, []);
                try { p = Process.Start(RootlessUserNetwork(c, SpareMonitors.StartInfo(dir)))!; }
                catch (System.ComponentModel.Win32Exception ex)
                {
                    File.Delete(starting);
                    throw ContainersException.System("HelperNotStartable", RuntimeMessages.StartFailed(c.Name, $"cannot run {EngineFiles.HelperPath}: {ex.Message}"), c.Name, ex);
                }
            }
            string? line = p.StandardOutput.ReadLine();
            Diagnostics.StepTimes.Mark("start.monitor-answer");
            SpareMonitors.Replenish(c.IdRange is not null);
            Diagnostics.StepTimes.Mark("start.spare-replenish");
            if (line is null || !line.StartsWith("ok ", StringComparison.Ordinal))
            {
                string err = p.StandardError.ReadToEnd().Trim();
                p.WaitForExit();
                string reason = (line ?? "").StartsWith("error: ", StringComparison.Ordinal) ? line![7..] : (line + " " + err).Trim();
                if (reason.Length == 0) reason = $"the helper exited with code {p.ExitCode}";
                File.Delete(starting);
                throw StartFailure(dir, c.Name, reason);
            }
            File.Delete(starting);
            Events.EventLog.Record(_root, Model.ContainerEventType.Container, "start", c.Id, c.Name, ("image", c.Image));
            Diagnostics.StepTimes.Mark("start.event");
            if (stdinPipe is not null) feed = FeedStdinPipe(stdinPipe, input!, ct);
            hold = fastPath;
            return p;
        }
        catch
        {
            stdinPipe?.Dispose();
            fastPath.Dispose();
            throw;
        }
    }

    private ContainerNetworkContext NetContext(ContainerConfig c, string dir, bool namespaceReleased = false) => new()
    {
        NamespaceReleased = namespaceReleased,
        ContainerId = c.Id,
        ContainerName = c.Name,
        Hostname = c.Hostname,
        NetNsPath = Path.Combine(dir, "netns"),
        StateDirectory = dir,
        // -IPAddress applies to the first network, ip= of -Network's long form to its network; -NetworkAlias to every network the container joins, the
        // aliases given with one network (-Network name=n,alias=a) to that one only
        Networks = NetworkNames(c.Network).Select((n, i) => new NetworkRequest(n,
            c.NetworkAliasesByNetwork.TryGetValue(n, out var own) ? c.NetworkAliases.Concat(own).ToList() : c.NetworkAliases,
            i == 0 && !string.IsNullOrEmpty(c.IPAddress) ? c.IPAddress : c.IPAddressByNetwork.GetValueOrDefault(n))).ToList(),
        Ports = c.Ports.Select(ParsePort).ToList(),
    };

    internal static PortRequest ParsePort(string spec) => BridgeNetworkProvider.ParsePort(spec);

    /// <summary>
    /// A rootless container on a user network: its monitor is started inside the user's rootless network namespace
    /// (nsenter into its user and network namespaces, then exec: the pid and command line are the monitor's), so the
    /// container is made in the namespace that owns the bridges (Rootless/RootlessNetns.cs).
    /// </summary>
    private static ProcessStartInfo RootlessUserNetwork(ContainerConfig c, ProcessStartInfo psi)
    {
        if (!Rootless.RootlessHost.Active || !HasOwnNetworks(c.Network)) return psi;
        var args = psi.ArgumentList.ToList();
        psi.ArgumentList.Clear();
        foreach (var a in Rootless.RootlessNetns.EnterPrefix(Rootless.RootlessNetns.Ensure()).Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(psi.FileName);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.FileName = Rootless.RootlessNetns.Nsenter;
        return psi;
    }

    /// <summary>The networks of a container's network setting ("a,b" = two networks).</summary>
    internal static List<string> NetworkNames(string network) =>
        network.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Creates and pins the network namespace before the first start (for the network provider); in this process, no helper spawned.</summary>
    private static Containers.Native.Netlink.NetlinkSocket? EnsureNetNs(string dir, ContainerConfig c)
    {
        // a user namespace of its own: the network namespace is made in it, pinned with it (the provider then joins it)
        if (c.IdRange is UserNamespaces.IdRange r)
        {
            UserNamespaceSetup.PinNamespaces(dir, r);
            return null;
        }
        string path = Path.Combine(dir, "netns");
        try { return Containers.Native.Netlink.NetNs.Pin(path); }
        catch (Containers.Native.Sys.NativeException ex)
        {
            throw ContainersException.System("NetworkNamespaceFailed", "Cannot create the container's network namespace: " + ex.Message, path, ex);
        }
    }

    /// <summary>
    /// A start that failed: a command that does not exist or cannot be executed gets its own ErrorId (the
    /// container then shows exit code 127 or 126, as docker and podman give); any other step ContainerStartFailed.
    /// </summary>
    private static ContainersException StartFailure(string dir, string name, string reason)
    {
        var st = ReadStatusFile(Path.Combine(dir, "status"));
        if (st.TryGetValue("failedstep", out var step) && step == "exec")
        {
            bool missing = !st.TryGetValue("exitcode", out var code) || code != "126";
            return missing
                ? ContainersException.NotFound("ContainerCommandNotFound", RuntimeMessages.StartFailed(name, reason), name)
                : new ContainersException(ErrorKind.Unauthorized, "ContainerCommandNotExecutable", RuntimeMessages.StartFailed(name, reason), name);
        }
        // the monitor's user-namespace set-up (maps, idmapped layers, the overlay over them): its own ErrorId, so a
        // file system or kernel without idmapped mounts is told apart (-UserNamespace Host runs it without)
        // rootless: the maps (newuidmap, newgidmap) or the network (slirp4netns) could not be set up
        if (reason.StartsWith("rootless: ", StringComparison.Ordinal))
            return ContainersException.System("RootlessSetupFailed", RuntimeMessages.StartFailed(name, reason), name);
        if (reason.StartsWith("user namespace: ", StringComparison.Ordinal))
            return ContainersException.System("UserNamespaceSetupFailed", RuntimeMessages.StartFailed(name, reason) + " (-UserNamespace Host runs it in the host's user namespace.)", name);
        return ContainersException.System("ContainerStartFailed", RuntimeMessages.StartFailed(name, reason), name);
    }

    private static void WriteEtcFiles(ContainerConfig c, string dir, NetworkSetupResult? net)
    {
        var hosts = new StringBuilder();
        hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        if (c.Network == "host")
        {
            try { hosts.Clear().Append(File.ReadAllText("/etc/hosts")); } catch (IOException) { }
        }
        if (net is not null)
        {
            // one line per address: the provider's lines name the hostname, the container's name and its aliases
            foreach (var h in net.HostsEntries) hosts.Append(h).Append('\n');
        }
        else hosts.Append("127.0.1.1\t").Append(c.Hostname).Append('\n');
        foreach (var h in c.ExtraHosts)
        {
            int colon = h.IndexOf(':');
            string name = h[..colon], ip = h[(colon + 1)..];
            if (ip == RunFlags.HostGateway)
                ip = net?.Endpoints.Select(e => e.IPv4Gateway).FirstOrDefault(g => g is not null)
                    ?? throw ContainersException.Invalid("HostGatewayNeedsBridgeNetwork",
                        $"The extra host '{name}' asks for host-gateway, but the container's network '{c.Network}' has no gateway (an internal network has none).", h);
            hosts.Append(ip).Append('\t').Append(name).Append('\n');
        }
        File.WriteAllText(Path.Combine(dir, "hosts"), hosts.ToString());
        File.WriteAllText(Path.Combine(dir, "hostname"), c.Hostname + "\n");
        string resolv;
        if (c.Dns.Count > 0 || c.DnsSearch.Count > 0 || c.DnsOptions.Count > 0)
        {
            // docker's rule: --dns replaces the name servers, --dns-search the search domains ("." = none); what is
            // not given comes from the network (its DNS server) or the host's file as without them
            var baseLines = ResolvConfLines(net);
            var sb = new StringBuilder();
            var servers = c.Dns.Count > 0 ? c.Dns : baseLines.Where(l => l.StartsWith("nameserver", StringComparison.Ordinal)).Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1)).OfType<string>().ToList();
            var search = c.DnsSearch.Count > 0 ? c.DnsSearch.Where(d => d != ".").ToList()
                : baseLines.Where(l => l.StartsWith("search", StringComparison.Ordinal)).SelectMany(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Skip(1)).ToList();
            if (search.Count > 0) sb.Append("search ").Append(string.Join(' ', search)).Append('\n');
            foreach (var ns in servers) sb.Append("nameserver ").Append(ns).Append('\n');
            // --dns-option replaces the options (docker's rule), else the network's or the host's stay
            if (c.DnsOptions.Count > 0) sb.Append("options ").Append(string.Join(' ', c.DnsOptions)).Append('\n');
            else foreach (var l in baseLines.Where(l => l.StartsWith("options", StringComparison.Ordinal))) sb.Append(l).Append('\n');
            resolv = sb.ToString();
        }
        else if (net is not null && net.Nameservers.Count > 0)
        {
            var sb = new StringBuilder();
            foreach (var ns in net.Nameservers) sb.Append("nameserver ").Append(ns).Append('\n');
            if (net.SearchDomains.Count > 0) sb.Append("search ").Append(string.Join(' ', net.SearchDomains)).Append('\n');
            resolv = sb.ToString();
        }
        else
        {
            try { resolv = File.ReadAllText("/etc/resolv.conf"); } catch (IOException) { resolv = ""; }
        }
        File.WriteAllText(Path.Combine(dir, "resolv.conf"), resolv);
    }

    /// <summary>The resolv.conf lines a container gets without -Dns and -DnsSearch.</summary>
    private static List<string> ResolvConfLines(NetworkSetupResult? net)
    {
        if (net is not null && net.Nameservers.Count > 0)
        {
            var l = net.Nameservers.Select(ns => "nameserver " + ns).ToList();
            if (net.SearchDomains.Count > 0) l.Add("search " + string.Join(' ', net.SearchDomains));
            return l;
        }
        try { return File.ReadAllLines("/etc/resolv.conf").Select(x => x.Trim()).ToList(); } catch (IOException) { return []; }
    }

    /// <summary>
    /// Two directories all containers of the root share. "mountpoints" is a small read-only layer laid over every
    /// image's layers, holding what the runtime mounts over (/proc, /dev, /sys, /etc/hosts, /etc/hostname,
    /// /etc/resolv.conf) and the /etc/mtab link, so making those mount points writes nothing into the container's own layer: it stays
    /// empty until the container's process writes (Docker's init layer, made once per root instead of once per
    /// container). "rootfs" is where each container's overlay is mounted, inside the container's own mount
    /// namespace, so neither the host nor another container ever sees it there.
    /// </summary>
    private (string MountPoints, string RootFs) SharedRuntimeDirs()
    {
        // ".2": the second version adds /etc/mtab; a root made before keeps its first one for nothing
        string rt = _root.Sub("runtime"), mountPoints = Path.Combine(rt, "mountpoints.2"), rootfs = Path.Combine(rt, "rootfs");
        if (Directory.Exists(mountPoints) && Directory.Exists(rootfs)) return (mountPoints, rootfs);
        const UnixFileMode dirMode = (UnixFileMode)0x1ed, fileMode = (UnixFileMode)0x1a4;
        Directory.CreateDirectory(rt);
        Directory.CreateDirectory(rootfs);
        File.SetUnixFileMode(rootfs, dirMode);
        if (!Directory.Exists(mountPoints))
        {
            string tmp = _root.NewTempPath("mountpoints");
            foreach (var d in new[] { "", "proc", "dev", "sys", "etc" })
            {
                Directory.CreateDirectory(Path.Combine(tmp, d));
                File.SetUnixFileMode(Path.Combine(tmp, d), dirMode);
            }
            foreach (var f in new[] { "hosts", "hostname", "resolv.conf" })
            {
                File.WriteAllBytes(Path.Combine(tmp, "etc", f), []);
                File.SetUnixFileMode(Path.Combine(tmp, "etc", f), fileMode);
            }
            // as docker's init layer has it (and podman gives it): tools that read the mount table find it
            File.CreateSymbolicLink(Path.Combine(tmp, "etc", "mtab"), "/proc/mounts");
            try { Directory.Move(tmp, mountPoints); }
            catch (IOException) when (Directory.Exists(mountPoints)) { DeleteTree(tmp); } // another session was first
        }
        return (mountPoints, rootfs);
    }

    private sealed class SpecWriter
    {
        private readonly MemoryStream _ms = new();
        public void Add(string key, string? value)
        {
            if (value is null) return;
            if (value.Contains('\0')) throw ContainersException.Invalid("InvalidArgument", $"The value of '{key}' contains a NUL character.", value);
            var b = Encoding.UTF8.GetBytes(key + "=" + value);
            _ms.Write(b);
            _ms.WriteByte(0);
        }
        public void Op(string kind, int flags, string a, string b = "", string c = "", string d = "", ulong n1 = 0, ulong n2 = 0)
            => Add("op", string.Join('\x1f', kind, flags.ToString(CultureInfo.InvariantCulture), a, b, c, d, n1.ToString(CultureInfo.InvariantCulture), n2.ToString(CultureInfo.InvariantCulture)));
        public byte[] ToArray() => _ms.ToArray();
    }

    /// <summary>The first processes of the containers whose network, PID and IPC namespaces a start joins (0: none).</summary>
    private readonly record struct Joins(int NetPid, int PidPid, int IpcPid);

    // "1,2,3" (string.Join over a uint[] is generic code over a value type, compiled at the session's first start)
    private static string JoinIds(uint[] ids)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < ids.Length; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(ids[i].ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private byte[] BuildSpec(ContainerConfig c, string dir, ICgroupManager cg, Joins joins, List<Devices.Node> devices)
    {
        var w = new SpecWriter();
        w.Add("id", c.Id);
        // ":copied": the lower layers are copies already in the range's ids (UserNamespaces/LayerCopies), not idmapped
        if (c.IdRange is UserNamespaces.IdRange ur) w.Add("userns", c.CopiedLayers ? $"{ur.Start}:{ur.Count}:copied" : $"{ur.Start}:{ur.Count}");
        // rootless: the user's mapping, written by newuidmap/newgidmap for the monitor (Helper/Rootless.cs)
        bool rootless = Rootless.RootlessHost.Active;
        if (rootless) w.Add("rootless", Rootless.RootlessHost.Mapping());
        // -UserNamespace KeepId: the user's uid and gid are the same ids inside (Rootless/RootlessKeepId.cs)
        if (Rootless.RootlessKeepId.Is(c)) w.Add("keepid", Rootless.RootlessKeepId.SpecValue());
        if (rootless && c.Network == Rootless.RootlessChecks.SlirpNetwork) Rootless.RootlessChecks.AddSlirp(w.Add, c);
        // a user network: the monitor runs in the user's rootless network namespace and attaches the container there
        if (rootless && HasOwnNetworks(c.Network))
        {
            w.Add("rootless-joined", "1");
            foreach (var line in new NetworkManager(_root).RootlessAttachments(c.Id)) w.Add("usernet", line);
        }
        var (mountPoints, rootfs) = SharedRuntimeDirs();
        w.Add("merged", rootfs);
        w.Add("log", Path.Combine(dir, "ctr.log"));
        // size-based rotation by the monitor, which writes the log (docker's max-size and max-file)
        if (c.LogMaxSize is long maxSize)
        {
            w.Add("log-max-size", maxSize.ToString(CultureInfo.InvariantCulture));
            w.Add("log-max-files", c.LogMaxFiles.ToString(CultureInfo.InvariantCulture));
        }
        // the monitor records the container's exits and policy restarts in the root's event log
        w.Add("events", Events.EventLog.PathOf(_root));
        w.Add("name", c.Name);
        w.Add("image", c.Image);
        var lowers = c.CopiedLayers && c.IdRange is UserNamespaces.IdRange cr
            ? UserNamespaces.LayerCopies.Lowers(_root, cr, c.LowerDirs, mountPoints)
            : Rootless.RootlessKeepId.UsesCopies(c) ? UserNamespaces.LayerCopies.Lowers(_root, Rootless.RootlessKeepId.CopyKey, c.LowerDirs, mountPoints)
            : Enumerable.Reverse(c.LowerDirs).Prepend(mountPoints).ToList();
        string overlay = $"lowerdir={string.Join(':', lowers)},upperdir={Path.Combine(dir, "upper")},workdir={Path.Combine(dir, "work")}";
        // rootless: mounted inside the user namespace, where overlayfs keeps its metadata in user.overlay.* (the
        // unpacker writes opaque directories so) instead of trusted.*, which needs host privilege
        if (rootless) overlay += ",userxattr";
        if (overlay.Length > 4000) throw ContainersException.Invalid("OverlayOptionsTooLong", "The image has too many layers for one overlay mount.", c.Image);
        w.Add("overlay", overlay);
        // "new": a fresh namespace with only loopback, cloned with the process and never pinned (network none
        // needs nothing set up from outside, and an unpinned namespace costs no bind mount to undo on removal)
        w.Add("netns", c.Network switch
        {
            "host" => "host", "none" or Rootless.RootlessChecks.SlirpNetwork => "new",
            _ when rootless && HasOwnNetworks(c.Network) => "new",
            _ when joins.NetPid > 0 => $"join:/proc/{joins.NetPid}/ns/net",
            _ => Path.Combine(dir, "netns"),
        });
        // the container's user namespace, pinned with the network namespace it owns (UserNamespaceSetup.PinNamespaces)
        if (c.IdRange is not null && !rootless && HasOwnNetworks(c.Network) && joins.NetPid == 0)
        {
            string userPin = Path.Combine(dir, UserNamespaceSetup.UserNsPin);
            if (UserNamespaceSetup.IsPinned(userPin)) w.Add("userns-join", userPin);
        }
        w.Add("pidns", c.PidMode == "host" ? "host" : joins.PidPid > 0 ? $"/proc/{joins.PidPid}/ns/pid" : null);
        w.Add("ipcns", c.IpcMode == "host" ? "host" : joins.IpcPid > 0 ? $"/proc/{joins.IpcPid}/ns/ipc" : null);
        w.Add("hostname", c.Hostname);
        if (c.Domainname.Length > 0) w.Add("domainname", c.Domainname);
        w.Add("cwd", c.WorkingDirectory);
        var user = UserResolver.Resolve(c, dir);
        w.Add("uid", user.Uid.ToString(CultureInfo.InvariantCulture));
        w.Add("gid", user.Gid.ToString(CultureInfo.InvariantCulture));
        w.Add("groups", JoinIds(user.Groups));
        w.Add("caps", c.Capabilities.ToString("x", CultureInfo.InvariantCulture));
        w.Add("nnp", c.NoNewPrivileges ? "1" : "0");
        AddSeccomp(w, c);
        w.Add("readonly", c.ReadOnly ? "1" : "0");
        w.Add("init", c.Init ? "1" : "0");
        if (c.Tty) w.Add("tty", "1");
        w.Add("restart", c.RestartPolicy);
        w.Add("restart-max", c.RestartMax.ToString(CultureInfo.InvariantCulture));
        var (oomFile, oomKey) = cg.OomKillCounter;
        // (a rootless container without a cgroup has no counter)
        if (oomFile.Length > 0)
        {
            w.Add("oom-file", oomFile);
            w.Add("oom-key", oomKey);
        }
        foreach (var f in cg.ProcsFiles) w.Add("cgroup", f);
        AddRlimits(w, c);
        foreach (var a in c.Args) w.Add("arg", a);
        var env = c.Env.ToList();
        if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) env.Add("HOME=" + user.Home);
        // docker run -t: a terminal type, as docker and podman set it
        if (c.Tty && !env.Any(e => e.StartsWith("TERM=", StringComparison.Ordinal))) env.Add("TERM=xterm");
        foreach (var e in env) w.Add("env", e);
        foreach (var x in ExecCandidates(c.Args[0], env)) w.Add("exec", x);
        if (c.Health is not null) AddHealthCheck(w, c, env);
        AddMountOps(w, c, dir, cg, joins, devices);
        // a working directory that does not exist is made, after the mounts (it may lie in a volume), as docker
        // does; the image's WORKDIR itself is given to the container's user (podman's rule; its parents stay
        // root's), one named with -WorkingDirectory stays root's (docker's)
        ulong owner = c.WorkingDirectoryFromImage ? ((ulong)user.Uid << 32) | user.Gid : 0;
        var parts = c.WorkingDirectory.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string cur = "";
        for (int i = 0; i < parts.Length; i++)
        {
            cur += "/" + parts[i];
            w.Op("mkdir", i == parts.Length - 1 && owner != 0 ? 8 : 0, cur, n1: 0x1ed, n2: owner);
        }
        return w.ToArray();
    }

    /// <summary>
    /// The compiled seccomp program (struct sock_filter[]), base64 in the spec: the spec is written on every start
    /// anyway, so the filter costs no file of its own; the helper decodes it before clone.
    /// </summary>
    private void AddSeccomp(SpecWriter w, ContainerConfig c)
    {
        byte[]? prog = Security.SecurityOptions.SeccompProgram(c, SeccompCacheDir);
        if (prog is not null) w.Add("seccomp", Convert.ToBase64String(prog));
    }

    /// <summary>Compiled seccomp programs persist here between sessions (see SeccompPrograms).</summary>
    private string SeccompCacheDir => _root.Sub("runtime", "seccomp");

    private static void AddRlimits(SpecWriter w, ContainerConfig c)
    {
        foreach (var u in c.Ulimits.Select(Ulimits.Parse))
            w.Add("rlimit", string.Join(':', u.Resource, u.Soft, u.Hard));
    }

    internal static IEnumerable<string> ExecCandidates(string argv0, IEnumerable<string> env)
    {
        if (argv0.Contains('/')) { yield return argv0; yield break; }
        string path = env.FirstOrDefault(e => e.StartsWith("PATH=", StringComparison.Ordinal))?[5..] ?? DefaultPath;
        foreach (var d in path.Split(':', StringSplitOptions.RemoveEmptyEntries)) yield return d.TrimEnd('/') + "/" + argv0;
    }

    private static int PathDepth(string p)
    {
        int n = 0;
        foreach (var part in p.Split('/', StringSplitOptions.RemoveEmptyEntries)) if (part != ".") n++;
        return n;
    }

    /// <summary>
    /// The mounts in the order they are made: shallower destinations first, the given order among equals, so a
    /// mount at /app/x is never hidden by one at /app named after it (docker sorts them so too).
    /// </summary>
    internal static List<MountConfig> ByDepth(IReadOnlyList<MountConfig> mounts)
    {
        var list = new List<MountConfig>(mounts.Count);
        foreach (var m in mounts)
        {
            int d = PathDepth(m.Destination), i = list.Count;
            while (i > 0 && PathDepth(list[i - 1].Destination) > d) i--;
            list.Insert(i, m);
        }
        return list;
    }

    /// <summary>
    /// For each mount whose destination lies inside an earlier writable bind of a host folder, the missing
    /// directory (or empty file, for a file's bind) is made in that folder, resolved inside it (a link in the
    /// folder never leads out of it). A failure is left to the child, which then names the step.
    /// </summary>
    private static void MakeNestedMountPoints(List<MountConfig> mounts, VolumeStore volumes)
    {
        for (int i = 1; i < mounts.Count; i++)
        {
            var m = mounts[i];
            string dest = "/" + string.Join('/', m.Destination.Split('/', StringSplitOptions.RemoveEmptyEntries));
            MountConfig? outer = null;
            string rel = "";
            for (int j = i - 1; j >= 0; j--)
            {
                string od = "/" + string.Join('/', mounts[j].Destination.Split('/', StringSplitOptions.RemoveEmptyEntries));
                string prefix = od == "/" ? "/" : od + "/";
                if (!dest.StartsWith(prefix, StringComparison.Ordinal) || dest.Length == prefix.Length) continue;
                outer = mounts[j];
                rel = dest[prefix.Length..];
                break;
            }
            if (outer is null || outer.Type != "bind" || outer.ReadOnly || !Directory.Exists(outer.Source)) continue;
            string src = m.Type == "volume" ? volumes.DataPath(m.Source) : m.Source;
            bool file = m.Type == "bind" && File.Exists(src);
            try
            {
                using var tree = Containers.Native.Sys.RootedFs.Open(outer.Source, Containers.Native.Sys.RootedFs.Resolution.InRoot);
                if (tree.TryStat(rel, out _, followLast: true)) continue;
                if (!file) { tree.MkdirAll(rel, 0x1ed).Dispose(); continue; }
                int slash = rel.LastIndexOf('/');
                if (slash > 0) tree.MkdirAll(rel[..slash], 0x1ed).Dispose();
                tree.CreateFile(rel, 0x1a4, exclusive: true).Dispose();
            }
            catch (Exception e) when (e is Containers.Native.Sys.NativeException or IOException or UnauthorizedAccessException) { }
        }
    }

    private static void MkdirP(SpecWriter w, string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string cur = "";
        foreach (var p in parts) { cur += "/" + p; w.Op("mkdir", 0, cur, n1: 0x1ed); }
    }

    /// <summary>
    /// /sys/fs/cgroup as docker and podman give it: read-only, showing the container's own cgroup as the root
    /// (the child mounts it inside its cgroup namespace), so runtimes that size themselves from it (JVM, .NET,
    /// Go, Node) see -Memory and -Cpus. v2: the cgroup2 file system; v1: a tmpfs with each hierarchy the
    /// container joined, named as on the host, and the single-controller links (cpu -> cpu,cpuacct).
    /// </summary>
    private static void AddCgroupFsOps(SpecWriter w, ICgroupManager cg)
    {
        const ulong ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
        string suffix = "/" + cg.RelativePath + "/cgroup.procs";
        var mounts = cg.ProcsFiles.Where(f => f.EndsWith(suffix, StringComparison.Ordinal)).Select(f => f[..^suffix.Length]).ToList();
        if (mounts.Count == 0) return;
        if (cg is Cgroups.V2.CgroupV2Manager)
        {
            w.Op("mount", 2, "cgroup2", "/sys/fs/cgroup", "cgroup2", "", ro);
            return;
        }
        w.Op("mount", 0, "tmpfs", "/sys/fs/cgroup", "tmpfs", "mode=755,size=64k", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        var links = new List<(string Link, string Target)>();
        foreach (var m in mounts)
        {
            string name = Path.GetFileName(m);
            if (name.Length == 0 || name.Contains('=')) continue;
            w.Op("mkdir", 0, "/sys/fs/cgroup/" + name, n1: 0x1ed);
            // the controllers are the directory's name (Debian and systemd name them so); a failure leaves the
            // directory empty rather than failing the start
            w.Op("mount", 2, "cgroup", "/sys/fs/cgroup/" + name, "cgroup", name, ro);
            if (name.Contains(','))
                foreach (var single in name.Split(','))
                    links.Add((single, name));
        }
        foreach (var (link, target) in links) w.Op("symlink", 2, target, "/sys/fs/cgroup/" + link);
        w.Op("mount", 0, "", "/sys/fs/cgroup", "", "", MS_REMOUNT | ro);
    }

    /// <summary>
    /// A net.* value the monitor writes for a user-namespaced container: net.ipv4.ping_group_range holds group ids,
    /// which the kernel reads in the writer's user namespace, so the container's ids become its range's host ids
    /// (what the container's root would have written, and what it reads back).
    /// </summary>
    private static string HostSysctlValue(ContainerConfig c, string name, string value)
    {
        if (name != "net.ipv4.ping_group_range" || c.IdRange is not UserNamespaces.IdRange r) return value;
        var parts = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !long.TryParse(parts[0], out long lo) || !long.TryParse(parts[1], out long hi)) return value;
        lo = Math.Clamp(lo, 0, r.Count - 1);
        hi = Math.Clamp(hi, 0, r.Count - 1);
        return $"{r.ToHost(lo)} {r.ToHost(hi)}";
    }

    private void AddMountOps(SpecWriter w, ContainerConfig c, string dir, ICgroupManager cg, Joins joins, List<Devices.Node> devices)
    {
        const ulong chr = 0x2000;
        // in a user namespace of its own the child cannot make device nodes nor resolve host paths (the storage
        // root is not its range's to enter): host sources are detached bind clones the monitor makes (flag 16),
        // device nodes binds of the host's, as runc does for user namespaces
        bool userns = c.IdRange is not null;
        int hf = userns ? 16 : 0;
        // (the default nodes are world-readable and writable; -Device implies the host's user namespace)
        // rootless: the child, root of its namespace, binds the host's node itself (flag 0: it resolves host paths)
        bool rootless = Rootless.RootlessHost.Active;
        void Node(string path, ulong mode, ulong rdev, string hostPath)
        {
            if (rootless) { w.Op("touch", 0, path); w.Op("mount", 0, hostPath, path, "", "", MS_BIND); return; }
            if (!userns) { w.Op("mknod", 0, path, n1: mode, n2: rdev); return; }
            w.Op("touch", 0, path);
            w.Op("mount", 16, hostPath, path, "", "", MS_BIND);
        }
        w.Op("mkdir", 0, "/proc", n1: 0x1ed);
        w.Op("mount", 0, "proc", "/proc", "proc", n1: MS_NOSUID | MS_NODEV | MS_NOEXEC);
        w.Op("mkdir", 0, "/dev", n1: 0x1ed);
        w.Op("mount", 0, "tmpfs", "/dev", "tmpfs", "mode=755,size=65536k", MS_NOSUID | MS_STRICTATIME);
        foreach (var (n, maj, min) in new[] { ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0) })
            Node("/dev/" + n, chr | 0x1b6, (ulong)((maj << 8) | min), "/dev/" + n);
        // -Device and -Privileged: the host's node (type, numbers, mode); the default ones above are not made twice
        var made = new HashSet<string>(StringComparer.Ordinal) { "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/ptmx" };
        foreach (var d in devices)
        {
            if (!made.Add(d.Path)) continue;
            MkdirP(w, Path.GetDirectoryName(d.Path)!);
            Node(d.Path, (d.Type == 'c' ? chr : 0x6000UL) | d.Mode, d.Rdev, d.HostPath);
        }
        w.Op("symlink", 0, "/proc/self/fd", "/dev/fd");
        w.Op("symlink", 0, "/proc/self/fd/0", "/dev/stdin");
        w.Op("symlink", 0, "/proc/self/fd/1", "/dev/stdout");
        w.Op("symlink", 0, "/proc/self/fd/2", "/dev/stderr");
        w.Op("symlink", 0, "pts/ptmx", "/dev/ptmx");
        w.Op("mkdir", 0, "/dev/pts", n1: 0x1ed);
        // (rootless with the single mapping: gid 5, tty, does not exist in the namespace and the kernel refuses it, as
        // podman's rootless devpts leaves it out)
        w.Op("mount", 0, "devpts", "/dev/pts", "devpts", rootless && Rootless.RootlessHost.SingleMapping ? "newinstance,ptmxmode=0666,mode=0620" : "newinstance,ptmxmode=0666,mode=0620,gid=5", MS_NOSUID | MS_NOEXEC);
        w.Op("mkdir", 0, "/dev/shm", n1: 0x3ff);
        // POSIX shared memory lives in /dev/shm: -Ipc host shares the host's, as docker does. (-Ipc container:X
        // cannot share X's: X's /dev/shm is a tmpfs mounted inside X's own mount namespace, and the kernel does not
        // bind a mount of another namespace; docker keeps it on the host for that)
        if (c.IpcMode == "host") w.Op("mount", hf, "/dev/shm", "/dev/shm", "", "", MS_BIND | MS_REC);
        else w.Op("mount", 0, "shm", "/dev/shm", "tmpfs", "mode=1777,size=" + (c.ShmSize is long shm ? shm.ToString(CultureInfo.InvariantCulture) : "65536k"), MS_NOSUID | MS_NODEV | MS_NOEXEC);
        w.Op("mkdir", 0, "/dev/mqueue", n1: 0x1ed);
        w.Op("mount", 2, "mqueue", "/dev/mqueue", "mqueue", "", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        w.Op("mkdir", 0, "/sys", n1: 0x1ed);
        // user namespace: the network namespace is the host user namespace's, so the monitor mounts sysfs for it
        w.Op("mount", hf, "sysfs", "/sys", "sysfs", "", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        AddCgroupFsOps(w, cg);
        w.Op("mkdir", 0, "/etc", n1: 0x1ed);
        string etcDir = IsContainerMode(c.Network) ? DirOf(c.Network[ContainerModePrefix.Length..]) : dir;
        foreach (var f in new[] { "hosts", "hostname", "resolv.conf" })
        {
            w.Op("touch", 2, "/etc/" + f);
            w.Op("mount", hf, Path.Combine(etcDir, f), "/etc/" + f, "", "", MS_BIND);
        }
        // KeepId: the image's /etc/passwd and /etc/group with the user's entry (written at this start where it had none)
        if (Rootless.RootlessKeepId.Is(c))
            foreach (var f in new[] { "passwd", "group" })
                if (File.Exists(Path.Combine(dir, f)))
                {
                    w.Op("touch", 2, "/etc/" + f);
                    w.Op("mount", 0, Path.Combine(dir, f), "/etc/" + f, "", "", MS_BIND);
                }
        var volumes = new VolumeStore(_root);
        var mounts = ByDepth(c.Mounts);
        // in a user namespace of its own, the child cannot make a mount point in a host folder bound below it (root
        // of the container is not the folder's owner): compose's `./src:/app` with `/app/node_modules` over it. The
        // engine makes those mount points in the host folder first, as root, as docker's mkdir there does without a
        // user namespace (rootless: the child is the folder's owner and makes them itself)
        if (userns && !rootless) MakeNestedMountPoints(mounts, volumes);
        foreach (var m in mounts)
        {
            switch (m.Type)
            {
                case "tmpfs":
                    MkdirP(w, m.Destination);
                    w.Op("mount", 0, "tmpfs", m.Destination, "tmpfs", m.Options ?? "mode=1777", MS_NOSUID | MS_NODEV | (m.ReadOnly ? MS_RDONLY : 0));
                    break;
                default:
                    string src = m.Type == "volume" ? volumes.DataPath(m.Source) : m.Source;
                    if (File.Exists(src))
                    {
                        MkdirP(w, Path.GetDirectoryName(m.Destination)!);
                        w.Op("touch", 0, m.Destination);
                    }
                    else MkdirP(w, m.Destination);
                    w.Op("mount", userns && m.IdMap ? 32 : hf, src, m.Destination, "", "", MS_BIND | MS_REC);
                    if (m.ReadOnly) w.Op("mount", 0, "", m.Destination, "", "", MS_BIND | MS_REMOUNT | MS_RDONLY);
                    break;
            }
        }
        // -Sysctl: after the mounts (the container's own /proc), before /proc/sys goes read-only; each file is
        // opened in the root like every other step, written from the container's namespaces
        foreach (var s in c.Sysctls)
        {
            int eq = s.IndexOf('=');
            // user namespace: the monitor writes them from inside the network namespace before the clone (/proc/sys is
            // read-only in the container, and a joined or host network namespace is not the container root's)
            if (userns && s.StartsWith("net.", StringComparison.Ordinal)) w.Add("netsysctl", s[..eq].Replace('.', '/') + "=" + HostSysctlValue(c, s[..eq], s[(eq + 1)..]));
            else w.Op("write", 0, s[(eq + 1)..], "/proc/sys/" + s[..eq].Replace('.', '/'));
        }
        // Docker's defaults since 20.10: binding a port below 1024 and ICMP datagram sockets are unprivileged in a
        // container's own network namespace (for its users other than root; -User 1000's ping); set unless -Sysctl gave them
        if (userns && c.IdRange is UserNamespaces.IdRange nr && !IsContainerMode(c.Network) && c.Network != "host")
        {
            if (!c.Sysctls.Any(s => s.StartsWith("net.ipv4.ip_unprivileged_port_start=", StringComparison.Ordinal)))
                w.Add("netsysctl", "net/ipv4/ip_unprivileged_port_start=0");
            if (!c.Sysctls.Any(s => s.StartsWith("net.ipv4.ping_group_range=", StringComparison.Ordinal)))
                w.Add("netsysctl", $"net/ipv4/ping_group_range={nr.Start} {(long)nr.Start + nr.Count - 1}");
        }
        if (!c.Privileged)
        {
            foreach (var (p, isDir) in MaskedPaths)
            {
                if (isDir) w.Op("mount", 1, "tmpfs", p, "tmpfs", "size=0", MS_RDONLY);
                // user namespace: a bind of the container's own /dev/null (already the host's node), not one more host clone
                else w.Op("mount", userns ? 1 | 4 : 1, "/dev/null", p, "", "", MS_BIND);
            }
            foreach (var p in ReadOnlyPaths)
            {
                w.Op("mount", 1 | 4, p, p, "", "", MS_BIND | MS_REC);
                w.Op("mount", 1, "", p, "", "", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
            }
        }
    }
}
