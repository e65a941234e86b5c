using Containers.Engine.Networking;
using System.Globalization;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Engine.Volumes;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Creates a container (state dir, writable layer) without starting it.</summary>
    public ContainerInfo Create(ContainerCreateOptions o, CancellationToken ct = default)
    {
        string name = o.Name ?? "";
        if (name.Length > 0 && !NameRx.IsMatch(name))
            throw ContainersException.Invalid("InvalidContainerName", RuntimeMessages.InvalidName(name), name);

        // image or plain root file system
        var cfg = new ContainerConfig { Id = NewId(), Created = DateTime.UtcNow };
        RuntimeImage? image = null;
        if (!string.IsNullOrEmpty(o.RootFs))
        {
            string full = Path.GetFullPath(o.RootFs);
            if (!Directory.Exists(full)) throw ContainersException.NotFound("RootFsNotFound", RuntimeMessages.RootFsNotFound(full), o.RootFs);
            cfg.RootFs = full;
            cfg.Image = full;
            cfg.LowerDirs = [full];
        }
        else
        {
            string reference = o.Image ?? throw ContainersException.Invalid("ImageRequired", "Give -Image or -RootFs.", null);
            image = ImageSource.Resolve(_root, reference)
                ?? throw ContainersException.NotFound("ImageNotFound", RuntimeMessages.ImageNotFound(reference), reference);
            cfg.Image = reference;
            cfg.ImageId = image.Id;
            cfg.LowerDirs = image.LayerPaths.ToList();
        }

        // command: entrypoint + cmd, Docker's rules (a new entrypoint drops the image's cmd)
        // -Entrypoint '' clears the image's entrypoint (docker's --entrypoint ""); the image's cmd goes with it
        var entry = (o.Entrypoint is [""] ? [] : o.Entrypoint) ?? image?.Entrypoint ?? [];
        var cmd = o.Command ?? (o.Entrypoint is null ? image?.Cmd : null) ?? [];
        cfg.Args = entry.Concat(cmd).ToList();
        cfg.Entrypoint = entry.ToList();
        if (cfg.Args.Count == 0) throw ContainersException.Invalid("NoCommand", RuntimeMessages.NoCommand(name.Length > 0 ? name : cfg.Id[..12]), name);

        cfg.Hostname = string.IsNullOrEmpty(o.Hostname) ? cfg.Id[..12] : o.Hostname;
        // --network container:X: the hostname is X's (set before HOSTNAME goes into the environment)
        if (!string.IsNullOrEmpty(o.Network) && NetworkNames(o.Network) is var asked && asked.Any(IsContainerMode))
        {
            if (asked.Count > 1)
                throw ContainersException.Invalid("NetworkModeExclusive", $"The network mode '{o.Network}' mixes container: with other networks; it stands alone.", o.Network);
            cfg.Network = o.Network.Trim();
            ResolveContainerNetwork(o, cfg);
        }
        var env = new List<string>(image?.Env ?? []);
        void SetEnv(string k, string v)
        {
            env.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
            env.Add(k + "=" + v);
        }
        foreach (var kv in o.Environment) SetEnv(kv.Key, kv.Value);
        if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal))) env.Insert(0, "PATH=" + DefaultPath);
        if (!env.Any(e => e.StartsWith("HOSTNAME=", StringComparison.Ordinal))) env.Add("HOSTNAME=" + cfg.Hostname);
        cfg.Env = env;
        cfg.WorkingDirectory = string.IsNullOrEmpty(o.WorkingDirectory) ? (string.IsNullOrEmpty(image?.WorkingDir) ? "/" : image!.WorkingDir!) : o.WorkingDirectory;
        cfg.WorkingDirectoryFromImage = string.IsNullOrEmpty(o.WorkingDirectory) && !string.IsNullOrEmpty(image?.WorkingDir);
        cfg.User = o.User ?? image?.User ?? "";
        cfg.Memory = o.Memory;
        cfg.MemorySwap = o.MemorySwap;
        cfg.Cpus = o.Cpus;
        cfg.PidsLimit = o.PidsLimit;
        if (o.LogMaxFiles is not null && o.LogMaxSize is null)
            throw ContainersException.Invalid("LogMaxFilesWithoutMaxSize", "-LogMaxFiles needs -LogMaxSize (docker's max-file needs max-size).", o.LogMaxFiles);
        if (o.LogMaxSize is < 4096) throw ContainersException.Invalid("InvalidLogMaxSize", "-LogMaxSize must be at least 4 KiB.", o.LogMaxSize);
        if (o.LogMaxFiles is < 1 or > 100) throw ContainersException.Invalid("InvalidLogMaxFiles", "-LogMaxFiles must be between 1 and 100.", o.LogMaxFiles);
        cfg.LogMaxSize = o.LogMaxSize;
        cfg.LogMaxFiles = o.LogMaxFiles ?? 1;
        var ulimits = new Dictionary<string, UlimitSetting>(StringComparer.Ordinal);
        foreach (var spec in o.Ulimits)
        {
            var u = Ulimits.Parse(spec);
            Ulimits.CheckRaisable(u);
            ulimits[u.Name] = u; // the last one given for a name wins, as with docker run
        }
        cfg.Ulimits = ulimits.Values.Select(u => u.ToString()).ToList();
        cfg.ReadOnly = o.ReadOnly;
        (cfg.RestartPolicy, cfg.RestartMax) = ParseRestart(o.RestartPolicy);
        if (o.AutoRemove && cfg.RestartPolicy != "no")
            throw ContainersException.Invalid("ConflictingOptions", RuntimeMessages.RemoveWithRestart(cfg.RestartPolicy), o.RestartPolicy);
        cfg.Privileged = o.Privileged;
        foreach (var d in o.Devices) Devices.Resolve(d); // DeviceNotFound, NotADevice, InvalidDeviceSpec now, not at a start
        cfg.Devices = o.Devices.ToList();
        cfg.Capabilities = Capabilities.Compute(o.CapabilityAdd, o.CapabilityDrop, o.Privileged);
        cfg.NoNewPrivileges = o.NoNewPrivileges;
        Security.SecurityOptions.Apply(o.SecurityOptions, cfg);
        cfg.Labels = new Dictionary<string, string>(o.Labels);
        cfg.Init = o.Init;
        cfg.Tty = o.Tty;
        cfg.Interactive = o.Interactive && o.Tty;
        cfg.StopSignal = o.StopSignal ?? image?.StopSignal ?? "SIGTERM";
        Signals.Parse(cfg.StopSignal);
        cfg.StopTimeout = o.StopTimeout ?? 10;
        // docker merges the image's HEALTHCHECK with --health-* field by field; NONE or --no-healthcheck: none
        cfg.Health = Health.HealthChecks.Effective(Health.HealthChecks.FromImage(image?.Healthcheck), o.Health, o.NoHealthCheck);
        if (cfg.Health?.Test[0] == "CMD-SHELL" && image?.Shell is { Length: > 0 } shell) cfg.HealthShell = shell.ToList();
        // Like Docker, a container without -Network joins the default bridge network (rootless: see RootlessChecks).
        if (!IsContainerMode(cfg.Network))
            cfg.Network = string.IsNullOrEmpty(o.Network)
                ? (NetworkProvider is null || Rootless.RootlessHost.Active ? Rootless.RootlessChecks.DefaultNetwork : Networking.NetworkManager.DefaultNetworkName)
                : o.Network;
        var networks = NetworkNames(cfg.Network);
        if (networks.Count > 1 && networks.Any(n => n is "none" or "host" || IsContainerMode(n)))
            throw ContainersException.Invalid("NetworkModeExclusive", $"The network mode '{cfg.Network}' mixes none, host or container: with other networks; they stand alone.", cfg.Network);
        cfg.PidMode = ParseNamespaceMode(o.Pid, "pid");
        cfg.IpcMode = ParseNamespaceMode(o.Ipc, "ipc");
        if (HasOwnNetworks(cfg.Network))
        {
            if (NetworkProvider is null)
                throw ContainersException.Invalid("NetworkNotFound", RuntimeMessages.BadNetwork(cfg.Network), cfg.Network);
            // the default network comes into being on first use; any other must exist (NetworkNotFound otherwise)
            foreach (var n in networks)
                if (n != Networking.NetworkManager.DefaultNetworkName) new Networking.NetworkManager(_root).Get(n);
        }
        cfg.NetworkAliases = o.NetworkAliases.ToList();
        foreach (var (net, aliases) in o.NetworkAliasesByNetwork)
        {
            if (!networks.Contains(net))
                throw ContainersException.Invalid("NetworkAliasWithoutNetwork", $"Aliases are given for the network '{net}', which the container does not join ({cfg.Network}).", net);
            cfg.NetworkAliasesByNetwork[net] = aliases.Select(a => a.Trim()).Where(a => a.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        }
        cfg.IPAddress = o.IPAddress;
        foreach (var (net, ip) in o.IPAddressByNetwork)
        {
            if (!networks.Contains(net))
                throw ContainersException.Invalid("NetworkAddressWithoutNetwork", $"An address is given for the network '{net}', which the container does not join ({cfg.Network}).", net);
            if (!System.Net.IPAddress.TryParse(ip, out var a) || a.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                throw ContainersException.Invalid("InvalidIPAddress", $"The address '{ip}' for the network '{net}' is not an IPv4 address.", ip);
            if (net == networks[0] && !string.IsNullOrEmpty(o.IPAddress))
                throw ContainersException.Invalid("ConflictingOptions", $"-IPAddress and ip= both give the address on the network '{net}'; give one.", net);
            cfg.IPAddressByNetwork[net] = a.ToString();
        }
        // port ranges become one mapping per port; -PublishAll adds each EXPOSEd port not published already
        cfg.Ports = o.Ports.SelectMany(PortSpecs.Expand).ToList();
        if (!string.IsNullOrEmpty(o.PublishAllAddress) && !o.PublishAll)
            throw ContainersException.Invalid("PublishAllAddressWithoutPublishAll", "-PublishAllAddress is the address -PublishAll binds: give -PublishAll too.", o.PublishAllAddress);
        if (o.PublishAll)
        {
            if (cfg.Network is "none" or "host")
                throw ContainersException.Invalid("PortsNeedBridgeNetwork", $"Published ports need a bridge network; the container's network is '{cfg.Network}'.", cfg.Network);
            cfg.Ports.AddRange(PortSpecs.PublishAll(image?.ExposedPorts, cfg.Ports.Select(ParsePort).ToList(), o.PublishAllAddress).ToList());
        }
        if (cfg.Ports.Count > 0)
        {
            if (cfg.Network is "none" or "host")
                throw ContainersException.Invalid("PortsNeedBridgeNetwork", $"Published ports need a bridge network; the container's network is '{cfg.Network}'.", cfg.Network);
            Networking.BridgeNetworkProvider.ValidatePorts(cfg.Ports.Select(ParsePort).ToList());
        }
        cfg.AutoRemove = o.AutoRemove;
        foreach (var h in o.AddHost)
        {
            var (hn, ip) = RunFlags.ParseAddHost(h, cfg.Network);
            cfg.ExtraHosts.Add(hn + ":" + ip);
        }
        cfg.Dns = o.Dns.Select(RunFlags.CheckDns).ToList();
        cfg.DnsSearch = o.DnsSearch.Select(RunFlags.CheckDnsSearch).ToList();
        cfg.DnsOptions = o.DnsOptions.Select(RunFlags.CheckDnsOption).ToList();
        cfg.Domainname = string.IsNullOrEmpty(o.Domainname) ? "" : RunFlags.CheckDomainname(o.Domainname);
        cfg.CgroupParent = string.IsNullOrEmpty(o.CgroupParent) ? null : Cgroups.CgroupManagers.CheckParent(o.CgroupParent);
        if (o.ShmSize is long shm && shm <= 0)
            throw ContainersException.Invalid("InvalidShmSize", $"The /dev/shm size {shm} is not valid: it must be more than 0 bytes.", shm);
        cfg.ShmSize = o.ShmSize;
        cfg.GroupAdd = o.GroupAdd.Select(g => g.Trim()).ToList();
        // names must be in the image's /etc/group now (GroupNotFound), not at a later start
        UserResolver.AddedGroups(cfg, Path.Combine(_root.Sub("containers"), "-none-"));
        var sysctls = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in o.Sysctls)
        {
            var (sn, sv) = RunFlags.ParseSysctl(s, cfg.Network);
            sysctls.Remove(sn);
            sysctls[sn] = sv; // the last one given for a name wins
        }
        cfg.Sysctls = sysctls.Select(kv => kv.Key + "=" + kv.Value).ToList();
        var volumes = new VolumeStore(_root);
        foreach (var v in o.Volumes) cfg.Mounts.Add(ParseVolume(v, volumes, create: false));
        foreach (var m in o.Mounts) cfg.Mounts.Add(MountSpec.Parse(m));
        foreach (var t in o.Tmpfs) cfg.Mounts.Add(ParseTmpfs(t));
        CheckDuplicateDestinations(cfg.Mounts);
        // the image's VOLUMEs: an anonymous volume each, unless a mount already covers that path (docker's rule)
        foreach (var path in image?.Volumes ?? [])
        {
            if (!path.StartsWith('/')) continue;
            string dest = Path.GetFullPath(path);
            if (cfg.Mounts.Any(m => m.Destination == dest)) continue;
            cfg.Mounts.Add(new MountConfig { Type = "volume", Source = VolumeStore.NewAnonymousName(), Destination = dest, Anonymous = true });
        }

        // rootless: what needs host privilege, a cgroup or a network it cannot have is refused before anything is made
        if (Rootless.RootlessHost.Active) Rootless.RootlessChecks.Check(cfg, o.PublishAll, o.UserNamespace);
        else if (cfg.Network == Rootless.RootlessChecks.SlirpNetwork)
            throw ContainersException.Invalid("RootlessNetworkUnsupported", $"The network '{cfg.Network}' is the one of rootless containers; as root, give a bridge network (the default) or none.", cfg.Network);
        // -UserNamespace (or the root's default): Auto and Private take a range of host ids below (UserNamespaces/)
        // -Pid or -Ipc host or container:X: the namespace to share is owned by another user namespace, in which this
        // container's root could not mount /proc or manage IPC; -Device: the host's node is root's (devtmpfs has no
        // idmapped mounts and a user namespace may not mknod), so root inside could not open it. Like -Privileged,
        // these mean the host's user namespace (docker's rule for userns-remap)
        bool needsHost = !Rootless.RootlessHost.Active && cfg.PidMode.Length > 0 || cfg.IpcMode.Length > 0 || cfg.Devices.Count > 0 || cfg.Network == "host";
        if (needsHost && o.UserNamespace is UserNamespaces.UserNamespaceMode.Private)
            throw ContainersException.Invalid("UserNamespaceConflict", "-UserNamespace Private cannot share the host's network namespace or the host's or another container's PID or IPC namespace (-Network host, -Pid, -Ipc) nor give host devices (-Device); give -UserNamespace Host.", cfg.Name);
        // rootless: every container is in a user namespace with the user's own mapping (Rootless/); no range is taken
        var (usermode, uswarn, copyWhy) = Rootless.RootlessHost.Active ? (UserNamespaces.UserNamespaceMode.Host, (string?)null, (string?)null)
            : UserNamespaces.UserNamespaceSupport.Resolve(_root, o.UserNamespace, o.Privileged || needsHost);
        // layers that cannot be idmapped are copied per range (UserNamespaces/LayerCopies); a -RootFs directory is no
        // layer of the store, so it has no copies
        // a build's RUN binds (cache, secret, context copies, heredoc scripts) hold container ids and would need idmapped
        // binds of the root's own directories, which its file system cannot give: such a RUN runs as before, Host
        bool runBinds = o.BindsHoldContainerIds && cfg.Mounts.Any(m => m.Type == "bind");
        if (copyWhy is not null && usermode != UserNamespaces.UserNamespaceMode.Host && (cfg.RootFs is not null || runBinds))
        {
            string why = cfg.RootFs is not null ? $"{copyWhy}, and a -RootFs directory is not copied per id range"
                : $"{copyWhy}, and a build step's mounts would need idmapped binds";
            if (usermode == UserNamespaces.UserNamespaceMode.Private)
                throw ContainersException.System("UserNamespaceUnavailable", $"A user namespace of its own cannot be given: {why}.", cfg.RootFs ?? (string.IsNullOrEmpty(cfg.Name) ? cfg.Image : cfg.Name));
            usermode = UserNamespaces.UserNamespaceMode.Host;
            uswarn = UserNamespaces.UserNamespaceSupport.FallbackWarning(why);
        }
        UserNamespaces.IdRange? pool = null;
        if (usermode != UserNamespaces.UserNamespaceMode.Host)
        {
            pool = UserNamespaces.SubordinateIds.Find()?.Uids;
            if (pool is null)
            {
                string why = $"the system user {UserNamespaces.SubordinateIds.UserName} has no subordinate ids (Set-ContainerHostConfiguration -DefaultUserNamespace Auto, or New-Container with -UserNamespace Auto and -Confirm, makes them)";
                if (usermode == UserNamespaces.UserNamespaceMode.Private)
                    throw ContainersException.System("SubordinateIdsMissing", $"A user namespace of its own cannot be given: {why}.", UserNamespaces.SubordinateIds.UserName);
                usermode = UserNamespaces.UserNamespaceMode.Host;
                uswarn = UserNamespaces.UserNamespaceSupport.FallbackWarning(why);
            }
        }
        if (uswarn is not null) o.Warning?.Invoke(uswarn);
        if (copyWhy is not null && usermode != UserNamespaces.UserNamespaceMode.Host)
        {
            cfg.CopiedLayers = true;
            UserNamespaces.LayerCopies.WarnOnce(_root, copyWhy, o.Warning);
        }
        // rootless -UserNamespace KeepId: the user's ids kept inside, its uid the default user (Rootless/RootlessKeepId.cs)
        if (Rootless.RootlessHost.Active && o.UserNamespace == UserNamespaces.UserNamespaceMode.KeepId) Rootless.RootlessKeepId.Apply(cfg, o.User);
        else if (Rootless.RootlessHost.Active) Rootless.RootlessChecks.CheckSingleMapping(cfg, o.Warning);
        if (!Rootless.RootlessKeepId.Is(cfg)) cfg.UserNamespace = Rootless.RootlessHost.Active ? Rootless.RootlessChecks.ModeName : usermode.ToString();
        // rootless :idmap: an idmapped mount needs CAP_SYS_ADMIN over the source's file system (the host's user namespace
        // for a disk), which no rootless process has; :U is given at each start (Rootless/RootlessMounts.cs)
        if (Rootless.RootlessHost.Active && cfg.Mounts.Any(m => m.IdMap))
            throw new ContainersException(ErrorKind.NotImplemented, "RootlessUnsupported",
                "The :idmap volume option needs privilege over the source's file system that a rootless container does not have. Its root is your own uid already, so what it writes in a bind mount is yours; give the bind without :idmap, or with :U to give the source to the container's user.", cfg.Name);
        if (o.BindsHoldContainerIds && usermode != UserNamespaces.UserNamespaceMode.Host)
            foreach (var m in cfg.Mounts.Where(m => m.Type == "bind")) m.IdMap = true;
        if (!Rootless.RootlessHost.Active && cfg.Mounts.Any(m => m.IdMap || m.Chown) && usermode == UserNamespaces.UserNamespaceMode.Host)
            throw ContainersException.Invalid("MountNeedsUserNamespace", "The :idmap and :U volume options map ids into the container's user namespace; this container runs in the host's (-UserNamespace Host, -Privileged, or Auto unavailable).", cfg.Name);

        Diagnostics.StepTimes.Mark("create.checks");
        using (StoreLock.Acquire(_root, "containers", true, null, ct))
        {
            if (name.Length == 0) name = NewName();
            var clash = All().FirstOrDefault(r => r.Name == name);
            if (clash is not null)
            {
                if (!o.Replace) throw ContainersException.Exists("ContainerNameInUse", RuntimeMessages.NameInUse(name, clash.Id), name);
                Remove(clash.Id, force: true, ct);
            }
            cfg.Name = name;
            // named volumes come into being with their first container (Docker's behaviour)
            foreach (var m in cfg.Mounts.Where(m => m.Type == "volume"))
                volumes.Ensure(m.Source, m.Anonymous ? new Dictionary<string, string> { [VolumeStore.AnonymousLabel] = "" } : null);
            // named after the id: while it exists, an id range allocated for the container is live (IdRanges)
            string tmp = UserNamespaces.IdRanges.CreatingPath(_root, cfg.Id);
            Directory.CreateDirectory(Path.Combine(tmp, "upper"));
            Directory.CreateDirectory(Path.Combine(tmp, "work"));
            try
            {
                if (pool is UserNamespaces.IdRange p)
                {
                    var range = UserNamespaces.IdRanges.Allocate(_root, cfg.Id, p);
                    cfg.IdRangeStart = range.Start;
                    cfg.IdRangeCount = range.Count;
                    // the overlay's root directory is the upper one: the container's root owns it (its files are the range's on disk)
                    Containers.Native.Sys.FileSys.Lchown(Path.Combine(tmp, "upper"), (int)range.Start, (int)range.Start);
                    Diagnostics.StepTimes.Mark("create.id-range");
                }
                AtomicFile.WriteJson(Path.Combine(tmp, "config.json"), cfg, durable: false);
                if (cfg.CgroupParent is { } cgp) File.WriteAllText(Path.Combine(tmp, CgroupParentFile), cgp);
                Directory.Move(tmp, DirOf(cfg.Id));
            }
            catch
            {
                // the half-made directory goes, and with it the range's claim
                try { Directory.Delete(tmp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                throw;
            }
        }
        Events.EventLog.Record(_root, Model.ContainerEventType.Container, "create", cfg.Id, cfg.Name, ("image", cfg.Image));
        return Get(cfg.Id);
    }

    internal static (string, int) ParseRestart(string? policy)
    {
        string p = string.IsNullOrWhiteSpace(policy) ? "no" : policy.Trim().ToLowerInvariant();
        int max = 0;
        int colon = p.IndexOf(':');
        if (colon > 0)
        {
            if (!int.TryParse(p[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out max) || p[..colon] != "on-failure")
                throw ContainersException.Invalid("InvalidRestartPolicy", RuntimeMessages.BadRestartPolicy(policy!), policy);
            p = p[..colon];
        }
        if (p is not ("no" or "always" or "unless-stopped" or "on-failure"))
            throw ContainersException.Invalid("InvalidRestartPolicy", RuntimeMessages.BadRestartPolicy(policy!), policy);
        return (p, max);
    }

    internal static MountConfig ParseVolume(string spec, VolumeStore volumes, bool create)
    {
        string[] parts = spec.Split(':');
        // "-v /path": an anonymous volume there (docker's form)
        if (parts.Length == 1 && spec.StartsWith('/'))
            return new MountConfig { Type = "volume", Source = VolumeStore.NewAnonymousName(), Destination = Path.GetFullPath(spec), Anonymous = true };
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0 || !parts[1].StartsWith('/'))
            throw ContainersException.Invalid("InvalidVolumeSpec", RuntimeMessages.BadVolume(spec), spec);
        bool ro = false, idmap = false, chown = false;
        if (parts.Length == 3)
        {
            foreach (var opt in parts[2].Split(','))
            {
                if (opt == "ro") ro = true;
                else if (opt == "idmap") idmap = true;
                else if (opt == "U") chown = true;
                else if (opt is not ("rw" or "z" or "Z")) throw ContainersException.Invalid("InvalidVolumeSpec", RuntimeMessages.BadVolume(spec), spec);
            }
        }
        string dest = Path.GetFullPath(parts[1]);
        if (parts[0].StartsWith('/'))
        {
            string src = Path.GetFullPath(parts[0]);
            if (!Path.Exists(src)) throw ContainersException.NotFound("BindSourceNotFound", RuntimeMessages.BindSourceMissing(src), src);
            return new MountConfig { Type = "bind", Source = src, Destination = dest, ReadOnly = ro, IdMap = idmap, Chown = chown };
        }
        VolumeStore.ValidateName(parts[0]);
        return new MountConfig { Type = "volume", Source = parts[0], Destination = dest, ReadOnly = ro, IdMap = idmap, Chown = chown };
    }

    /// <summary>Two mounts on one container path: refused as docker refuses them ("Duplicate mount point").</summary>
    private static void CheckDuplicateDestinations(List<MountConfig> mounts)
    {
        var dup = mounts.GroupBy(m => m.Destination, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw ContainersException.Invalid("DuplicateMountPoint", $"Two mounts have the same container path '{dup.Key}'.", dup.Key);
    }

    internal static MountConfig ParseTmpfs(string spec)
    {
        int colon = spec.IndexOf(':');
        string path = colon < 0 ? spec : spec[..colon];
        string? opts = colon < 0 ? null : spec[(colon + 1)..];
        if (!path.StartsWith('/')) throw ContainersException.Invalid("InvalidTmpfsSpec", RuntimeMessages.BadTmpfs(spec), spec);
        return new MountConfig { Type = "tmpfs", Source = "tmpfs", Destination = Path.GetFullPath(path), Options = opts };
    }
}
