using System.Collections;
using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>Shared parameters of New-Container and Invoke-ContainerImage.</summary>
public abstract partial class ContainerCreateCmdlet : ContainerCmdletBase
{
    protected const string ImageSet = "Image", RootFsSet = "RootFs";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ImageSet, ValueFromPipelineByPropertyName = true)]
    [Alias("ImageName", "Reference")]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(Images.ImageNameCompleter))]
    public string Image { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = RootFsSet)]
    [ValidateNotNullOrEmpty]
    public string RootFs { get; set; } = "";

    /// <summary>When to pull the image from its registry: Missing (default), Always or Never.</summary>
    [Parameter(ParameterSetName = ImageSet)]
    public PullPolicy Pull { get; set; } = PullPolicy.Missing;

    /// <summary>Pulls the image per -Pull (registry area: RegistryService.EnsureImage), drawing progress.</summary>
    protected void EnsureImage()
    {
        if (ParameterSetName != ImageSet) return;
        // an image in the store needs no pull (the default policy): no worker thread to draw progress from, whose
        // start and hand-back cost a run several milliseconds on a busy machine
        if (Pull == PullPolicy.Missing && new global::Containers.Engine.Images.ImageStore(Root).TryResolve(Image) is not null) return;
        RunWithProgress((sink, ct) => global::Containers.Engine.Registry.RegistryService.EnsureImage(
            Root, Image, Pull, global::Containers.Engine.Registry.RegistryOptions.Default, sink, ct));
    }

    [Parameter(Position = 1, ValueFromRemainingArguments = false)]
    [Alias("ArgumentList")]
    public string[]? Command { get; set; }

    [Parameter] public string? Name { get; set; }
    [Parameter] public string[]? Entrypoint { get; set; }
    [Parameter] public Hashtable? Environment { get; set; }
    [Parameter] public string[]? EnvironmentFile { get; set; }
    [Parameter] public string? WorkingDirectory { get; set; }
    [Parameter] public string? User { get; set; }
    [Parameter] public string? Hostname { get; set; }
    [Parameter] [ByteSizeTransformation] [ValidateRange(6 * 1024 * 1024, long.MaxValue)] public long Memory { get; set; }
    [Parameter] [ByteSizeTransformation] public long MemorySwap { get; set; }
    [Parameter] [ValidateRange(0.01, 1024.0)] public double Cpus { get; set; }
    [Parameter] public long PidsLimit { get; set; }
    /// <summary>Resource limits as docker run --ulimit: name=soft[:hard], e.g. nofile=1024:2048.</summary>
    [Parameter] public string[]? Ulimit { get; set; }
    [Parameter] [ArgumentCompleter(typeof(VolumeNameCompleter))] public string[]? Volume { get; set; }
    [Parameter] public string[]? Tmpfs { get; set; }
    /// <summary>docker's --mount: type=bind|volume|tmpfs,source=...,target=...[,readonly][,...]; may be given several times.</summary>
    [Parameter] public string[]? Mount { get; set; }
    [Parameter] public SwitchParameter ReadOnly { get; set; }
    [Parameter] [ArgumentCompleter(typeof(RestartPolicyCompleter))] public string? RestartPolicy { get; set; }
    [Parameter] [ArgumentCompleter(typeof(CapabilityNameCompleter))] public string[]? CapabilityAdd { get; set; }
    [Parameter] [ArgumentCompleter(typeof(CapabilityNameCompleter))] public string[]? CapabilityDrop { get; set; }
    [Parameter] public SwitchParameter Privileged { get; set; }
    [Parameter] public SwitchParameter NoNewPrivileges { get; set; }
    /// <summary>docker's --security-opt: seccomp=&lt;profile file&gt;, seccomp=unconfined, no-new-privileges[=true|false].</summary>
    [Parameter] public string[]? SecurityOption { get; set; }
    [Parameter] public Hashtable? Label { get; set; }
    [Parameter] public SwitchParameter Init { get; set; }
    [Parameter] public SwitchParameter Replace { get; set; }
    [Parameter] [ArgumentCompleter(typeof(SignalNameCompleter))] public string? StopSignal { get; set; }
    [Parameter] [ValidateRange(0, 3600)] public int StopTimeout { get; set; } = -1;
    [Parameter] [ArgumentCompleter(typeof(Networks.NetworkNameCompleter))] public string[]? Network { get; set; }
    [Parameter] public string[]? NetworkAlias { get; set; }
    [Parameter] public string? IPAddress { get; set; }
    [Parameter] [Alias("Publish")] public string[]? Port { get; set; }
    /// <summary>docker's -P: publishes every port the image EXPOSEs on a free host port.</summary>
    [Parameter] public SwitchParameter PublishAll { get; set; }
    /// <summary>docker's --device: /dev/host[:/dev/container][:rwm].</summary>
    [Parameter] public string[]? Device { get; set; }
    /// <summary>The host address -PublishAll binds (every address when not given, as -Port without one).</summary>
    [Parameter] public string? PublishAllAddress { get; set; }
    /// <summary>docker's --add-host: name:ip lines for /etc/hosts (ip may be host-gateway).</summary>
    [Parameter] public string[]? AddHost { get; set; }
    /// <summary>docker's --dns: name servers for /etc/resolv.conf.</summary>
    [Parameter] public string[]? Dns { get; set; }
    /// <summary>docker's --dns-search: search domains for /etc/resolv.conf.</summary>
    [Parameter] public string[]? DnsSearch { get; set; }
    /// <summary>docker's --shm-size: the size of /dev/shm in bytes.</summary>
    [Parameter] [ByteSizeTransformation] public long ShmSize { get; set; }
    /// <summary>docker's --group-add: supplementary groups (names from the image's /etc/group, or numbers).</summary>
    [Parameter] public string[]? GroupAdd { get; set; }
    /// <summary>docker's --sysctl: name=value, namespaced kernel parameters only.</summary>
    [Parameter] public string[]? Sysctl { get; set; }
    /// <summary>docker's --pid: host, or container:&lt;name|id&gt; to share another running container's PID namespace.</summary>
    [Parameter] [ArgumentCompleter(typeof(NamespaceModeCompleter))] public string? Pid { get; set; }
    /// <summary>docker's --ipc: host, or container:&lt;name|id&gt; to share another running container's IPC namespace and /dev/shm.</summary>
    [Parameter] [ArgumentCompleter(typeof(NamespaceModeCompleter))] public string? Ipc { get; set; }
    /// <summary>podman's --userns: Host, Auto (a range of 65536 host ids of its own; Host with a warning where unavailable) or Private (the same, or an error); default the storage root's (Set-ContainerHostConfiguration).</summary>
    [Parameter] public Containers.Engine.UserNamespaces.UserNamespaceMode? UserNamespace { get; set; }

    private int _pipelineThread;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _warnings = new();

    /// <summary>Warnings the engine gave on another thread, written now.</summary>
    protected void FlushWarnings()
    {
        while (_warnings.TryDequeue(out var w)) WriteWarning(w);
    }

    private void Warn(string message)
    {
        if (System.Environment.CurrentManagedThreadId == _pipelineThread) WriteWarning(message);
        else _warnings.Enqueue(message);
    }

    /// <summary>
    /// Auto's first use on a host without the system user of the id ranges: made now, after ShouldProcess (as docker
    /// makes dockremap); declined, the container falls back to the host's user namespace with a warning.
    /// </summary>
    protected void EnsureSubordinateIds()
    {
        var mode = UserNamespace ?? Containers.Engine.UserNamespaces.HostSettings.Load(Root).DefaultMode;
        if (Privileged || mode is Containers.Engine.UserNamespaces.UserNamespaceMode.Host or Containers.Engine.UserNamespaces.UserNamespaceMode.KeepId) return;
        if (Containers.Engine.UserNamespaces.SubordinateIds.Find() is not null) return;
        if (Containers.Engine.UserNamespaces.UserNamespaceSupport.RootProblem(Root) is not null) return;
        if (!ShouldProcess(Containers.Engine.UserNamespaces.SubordinateIds.UserName,
            "Create the system user and its subordinate id ranges (/etc/subuid, /etc/subgid) for user namespaces")) return;
        Containers.Engine.UserNamespaces.SubordinateIds.Create();
    }

    protected ContainerCreateOptions BuildOptions()
    {
        var o = new ContainerCreateOptions
        {
            Image = ParameterSetName == ImageSet ? Image : null,
            RootFs = ParameterSetName == RootFsSet ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(RootFs) : null,
            Name = Name, Command = Command, Entrypoint = Entrypoint, WorkingDirectory = WorkingDirectory, User = User,
            Hostname = Hostname, Memory = MyInvocation.BoundParameters.ContainsKey(nameof(Memory)) ? Memory : null,
            MemorySwap = MyInvocation.BoundParameters.ContainsKey(nameof(MemorySwap)) ? MemorySwap : null,
            Cpus = MyInvocation.BoundParameters.ContainsKey(nameof(Cpus)) ? Cpus : null,
            PidsLimit = MyInvocation.BoundParameters.ContainsKey(nameof(PidsLimit)) ? PidsLimit : null,
            ReadOnly = ReadOnly, RestartPolicy = RestartPolicy ?? "no", Privileged = Privileged, NoNewPrivileges = NoNewPrivileges,
            Init = Init, Replace = Replace, StopSignal = StopSignal, StopTimeout = StopTimeout >= 0 ? StopTimeout : null,
            Network = Network is { Length: > 0 } ? string.Join(",", Network) : null, IPAddress = IPAddress,
        };
        ApplyLogOptions(o);
        ApplyHealthOptions(o);
        ApplyDnsOptions(o);
        o.Ulimits.AddRange(Ulimit ?? []);
        foreach (var f in EnvironmentFile ?? [])
        {
            foreach (var line in File.ReadAllLines(SessionState.Path.GetUnresolvedProviderPathFromPSPath(f)))
            {
                string l = line.Trim();
                if (l.Length == 0 || l.StartsWith('#')) continue;
                int eq = l.IndexOf('=');
                if (eq > 0) o.Environment[l[..eq]] = l[(eq + 1)..];
                else o.Environment[l] = System.Environment.GetEnvironmentVariable(l) ?? "";
            }
        }
        foreach (var kv in ToDictionary(Environment)) o.Environment[kv.Key] = kv.Value;
        foreach (var kv in ToDictionary(Label)) o.Labels[kv.Key] = kv.Value;
        o.Volumes.AddRange(Volume ?? []);
        o.Tmpfs.AddRange(Tmpfs ?? []);
        o.Mounts.AddRange(Mount ?? []);
        o.CapabilityAdd.AddRange(CapabilityAdd ?? []);
        o.CapabilityDrop.AddRange(CapabilityDrop ?? []);
        o.NetworkAliases.AddRange(NetworkAlias ?? []);
        // a profile file's path is resolved like any path parameter (relative to the current location)
        foreach (var so in SecurityOption ?? [])
        {
            int eq = so.IndexOf('=');
            bool file = eq > 0 && so[..eq].Trim().Equals("seccomp", StringComparison.OrdinalIgnoreCase) && so[(eq + 1)..] is { Length: > 0 } v && v is not ("unconfined" or "builtin");
            o.SecurityOptions.Add(file ? "seccomp=" + SessionState.Path.GetUnresolvedProviderPathFromPSPath(so[(eq + 1)..]) : so);
        }
        o.Ports.AddRange(Port ?? []);
        o.AddHost.AddRange(AddHost ?? []);
        o.Dns.AddRange(Dns ?? []);
        o.DnsSearch.AddRange(DnsSearch ?? []);
        if (MyInvocation.BoundParameters.ContainsKey(nameof(ShmSize))) o.ShmSize = ShmSize;
        o.GroupAdd.AddRange(GroupAdd ?? []);
        o.Sysctls.AddRange(Sysctl ?? []);
        o.Pid = Pid;
        o.PublishAll = PublishAll;
        o.Devices.AddRange(Device ?? []);
        o.PublishAllAddress = PublishAllAddress;
        o.Ipc = Ipc;
        o.UserNamespace = UserNamespace;
        _pipelineThread = System.Environment.CurrentManagedThreadId;
        o.Warning = Warn;
        return o;
    }
}

/// <summary>New-Container: creates a container from an image (or a root file system directory) without starting it.</summary>
[Cmdlet(VerbsCommon.New, "Container", SupportsShouldProcess = true, DefaultParameterSetName = ImageSet)]
[OutputType(typeof(ContainerInfo))]
public sealed class NewContainerCommand : ContainerCreateCmdlet
{
    protected override void ProcessRecord()
    {
        string target = ParameterSetName == ImageSet ? Image : RootFs;
        if (!ShouldProcess(target, "Create container" + (Name is null ? "" : $" '{Name}'"))) return;
        if (!TryItem(target, EnsureImage)) return;
        if (!TryItem(target, EnsureSubordinateIds)) return;
        WarnIfRootOnHost();
        ContainerCreateOptions o;
        try { o = BuildOptions(); }
        catch (IOException ex) { Fail(ex, target); return; }
        catch (Engine.Errors.ContainersException ex) { WriteFailure(ex, target); return; }
        TryItem(target, () => WriteObject(Runtime.Create(o, CancellationToken)));
        FlushWarnings();
    }
}
