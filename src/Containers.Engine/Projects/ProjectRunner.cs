using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Containers.Engine.Compose;
using Containers.Engine.Errors;
using Containers.Engine.Health;
using Containers.Engine.Model;
using Containers.Engine.Networking;
using Containers.Engine.Runtime;
using Containers.Engine.State;
using Containers.Engine.Volumes;

namespace Containers.Engine.Projects;

/// <summary>
/// Brings compose projects up and down on one storage root (docker compose up -d, stop, restart, down, ls, ps).
/// Everything it creates carries docker compose's labels; a re-up compares each service's config hash (a
/// label) with the file's and recreates only what changed. Nothing runs in the background: an up returns once
/// every service it was asked for is started (and healthy, with Wait).
/// </summary>
public sealed class ProjectRunner
{
    private readonly StorageRoot _root;
    private readonly ContainerRuntime _rt;
    private readonly ProjectStore _store;

    public ProjectRunner(StorageRoot root)
    {
        _root = root;
        _rt = new ContainerRuntime(root);
        _store = new ProjectStore(root);
    }

    // ---------------------------------------------------------------- up

    /// <summary>docker compose up -d: networks and volumes, images, then the services in dependency order.</summary>
    public ContainerProjectInfo Up(ComposeProject p, ProjectUpOptions o, IProgressSink sink, CancellationToken ct = default)
    {
        var byName = p.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        foreach (var n in o.Services)
            if (!byName.ContainsKey(n))
                throw ContainersException.NotFound("ComposeServiceNotFound", p.DisabledServices.Contains(n)
                    ? $"The service '{n}' is not active: enable one of its profiles (-Profile)."
                    : $"The project '{p.Name}' has no service '{n}'.", n);
        var order = Order(p, o.Services.Count > 0 ? o.Services : p.Services.Select(s => s.Name));
        var warnings = new List<string>();
        foreach (var s in order) warnings.AddRange(ServiceMapper.CheckKeys(p, s));
        foreach (var w in warnings) sink.Warn(w);

        using var held = _store.Lock(p.Name, ct);
        var rec = _store.Read(p.Name) ?? new ProjectStore.ProjectRecord { Name = p.Name, Created = DateTime.UtcNow };
        rec.WorkingDirectory = p.WorkingDirectory;
        rec.ConfigFiles = p.ComposeFiles.ToList();
        rec.Updated = DateTime.UtcNow;
        _store.Write(rec);

        EnsureNetworks(p, order, sink, ct);
        EnsureVolumes(p, order, sink);
        foreach (var s in order) EnsureImage(p, s, o, sink, ct);

        var all = ProjectContainers(p.Name);
        var known = new HashSet<string>(p.Services.Select(s => s.Name).Concat(p.DisabledServices), StringComparer.Ordinal);
        var orphans = all.Where(c => !known.Contains(c.Labels.GetValueOrDefault(ProjectLabels.Service) ?? "")).ToList();
        if (orphans.Count > 0)
        {
            if (o.RemoveOrphans)
                foreach (var c in orphans) { sink.Verbose($"Removing orphan container {c.Name}"); StopAndRemove(c.Name, null, false, ct); }
            else
                sink.Warn($"Found orphan containers ({string.Join(", ", orphans.Select(c => c.Name))}) for this project. If you removed or renamed this service in your compose file, you can run this command with -RemoveOrphans to clean it up.");
        }

        StartServices(p, order, o, sink, ct);
        if (o.Wait) WaitHealthy(p, order, o, ct);
        return List(p.Name).FirstOrDefault() ?? Empty(p.Name);
    }

    /// <summary>
    /// Reconciles the services in parallel where their dependencies allow, as docker compose v2 does: each service
    /// has a worker (a thread of its own: they block on polls) that waits for its dependencies' workers, then for
    /// their conditions, then creates or starts its containers. A service that fails fails alone: the others go on,
    /// its dependents are not started (a warning names them), and the errors are thrown together, one per service.
    /// </summary>
    private void StartServices(ComposeProject p, List<ComposeService> order, ProjectUpOptions o, IProgressSink sink, CancellationToken ct)
    {
        var recreated = new System.Collections.Concurrent.ConcurrentDictionary<string, byte>(StringComparer.Ordinal);
        var errors = new System.Collections.Concurrent.ConcurrentDictionary<string, Exception>(StringComparer.Ordinal);
        var tasks = new Dictionary<string, Task>(StringComparer.Ordinal);
        var names = order.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var s in order) // dependencies first, so their tasks exist
        {
            var deps = DependenciesOf(p, s).Where(names.Contains).Distinct(StringComparer.Ordinal).ToList();
            var waitFor = deps.Select(d => tasks[d]).ToArray();
            tasks[s.Name] = Task.Factory.StartNew(() =>
            {
                // a failed dependency ends the worker quietly (its own error is reported once, by its worker)
                try { Task.WaitAll(waitFor); } catch (AggregateException) { }
                var failed = deps.Where(errors.ContainsKey).ToList();
                if (failed.Count > 0)
                {
                    errors.TryAdd(s.Name, new SkippedException());
                    sink.Warn($"The service '{s.Name}' was not started: its dependency {string.Join(", ", failed.Select(f => "'" + f + "'"))} failed.");
                    return;
                }
                try
                {
                    ct.ThrowIfCancellationRequested();
                    WaitForDependencies(p, s, o, ct);
                    Reconcile(p, s, o, recreated, sink, ct);
                }
                catch (Exception ex)
                {
                    errors.TryAdd(s.Name, ex);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        Task.WaitAll(tasks.Values.ToArray());
        var real = order.Where(s => errors.TryGetValue(s.Name, out var e) && e is not SkippedException).Select(s => errors[s.Name]).ToList();
        if (real.Count == 1) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(real[0]);
        if (real.Count > 1) throw new AggregateException("Several services failed to start.", real);
    }

    /// <summary>Marks a service not started because a dependency failed (reported as a warning, not an error).</summary>
    private sealed class SkippedException : Exception;

    /// <summary>The services to bring up (with what they depend on, transitively), dependencies first.</summary>
    internal static List<ComposeService> Order(ComposeProject p, IEnumerable<string> wanted)
    {
        var byName = p.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var result = new List<ComposeService>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        void Visit(string n)
        {
            if (!byName.TryGetValue(n, out var s)) return; // a non-required dependency that is not there
            switch (state.GetValueOrDefault(n))
            {
                case 2: return;
                case 1: throw ContainersException.Invalid("ComposeDependencyCycle", $"The services' dependencies make a cycle through '{n}'.", n);
            }
            state[n] = 1;
            foreach (var d in DependenciesOf(p, s)) Visit(d);
            state[n] = 2;
            result.Add(s);
        }
        foreach (var n in wanted) Visit(n);
        return result;
    }

    /// <summary>depends_on, plus the services whose namespaces network_mode, pid and ipc join.</summary>
    private static IEnumerable<string> DependenciesOf(ComposeProject p, ComposeService s)
    {
        foreach (var d in s.DependsOn) yield return d.Service;
        foreach (var v in SharedWith(p, s)) yield return v;
    }

    private static IEnumerable<string> SharedWith(ComposeProject p, ComposeService s)
    {
        if (s.NetworkMode is { } nm && nm.StartsWith("service:", StringComparison.Ordinal)) yield return nm[8..];
        var raw = (IDictionary<string, object?>)((IDictionary<string, object?>)p.ToTree()["services"]!)[s.Name]!;
        foreach (var k in new[] { "pid", "ipc" })
            if (ServiceMapper.Get(raw, k) is string v && v.StartsWith("service:", StringComparison.Ordinal)) yield return v[8..];
    }

    private void EnsureNetworks(ComposeProject p, List<ComposeService> services, IProgressSink sink, CancellationToken ct)
    {
        var used = services.Where(s => s.NetworkMode is null).SelectMany(s => s.Networks.Select(n => n.Name)).ToHashSet(StringComparer.Ordinal);
        var mgr = new NetworkManager(_root);
        var existing = mgr.List().ToDictionary(n => n.Name, StringComparer.Ordinal);
        foreach (var n in p.Networks.Where(n => used.Contains(n.Key)))
        {
            if (n.External)
            {
                if (!existing.ContainsKey(n.Name))
                    throw ContainersException.NotFound("NetworkNotFound", $"The external network '{n.Name}' of project '{p.Name}' does not exist; create it first (New-ContainerNetwork).", n.Name);
                continue;
            }
            if (n.Driver is not (null or "bridge"))
                throw new ContainersException(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"networks.{n.Key}.driver: the driver '{n.Driver}' is not available; only bridge networks are.", $"networks.{n.Key}.driver");
            if (n.DriverOpts.Count > 0)
                throw new ContainersException(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"networks.{n.Key}.driver_opts: driver options are not implemented.", $"networks.{n.Key}.driver_opts");
            if (existing.TryGetValue(n.Name, out var have))
            {
                if (have.Labels.GetValueOrDefault(ProjectLabels.Project) is { } owner && owner != p.Name)
                    sink.Warn($"The network '{n.Name}' belongs to project '{owner}'; project '{p.Name}' uses it as it is.");
                continue;
            }
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in n.Labels) labels[k] = v ?? "";
            labels[ProjectLabels.Network] = n.Key;
            labels[ProjectLabels.Project] = p.Name;
            sink.Verbose($"Creating network {n.Name}");
            mgr.Create(new NetworkCreateOptions { Name = n.Name, Internal = n.Internal, IPv6 = n.EnableIpv6, Subnet = n.Subnets.FirstOrDefault(s => !s.Contains(':')), IPv6Subnet = n.Subnets.FirstOrDefault(s => s.Contains(':')), Labels = labels }, ct);
        }
    }

    private void EnsureVolumes(ComposeProject p, List<ComposeService> services, IProgressSink sink)
    {
        var used = services.SelectMany(s => s.Volumes.Where(v => v.Type == "volume" && v.Source is { Length: > 0 }).Select(v => v.Source!)).ToHashSet(StringComparer.Ordinal);
        var store = new VolumeStore(_root);
        var existing = store.List().ToDictionary(v => v.Name, StringComparer.Ordinal);
        foreach (var v in p.Volumes.Where(v => used.Contains(v.Key)))
        {
            if (v.External)
            {
                if (!existing.ContainsKey(v.Name))
                    throw ContainersException.NotFound("VolumeNotFound", $"The external volume '{v.Name}' of project '{p.Name}' does not exist; create it first (New-ContainerVolume).", v.Name);
                continue;
            }
            if (v.Driver is not (null or "local"))
                throw new ContainersException(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"volumes.{v.Key}.driver: the driver '{v.Driver}' is not available; only local volumes are.", $"volumes.{v.Key}.driver");
            if (v.DriverOpts.Count > 0)
                throw new ContainersException(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"volumes.{v.Key}.driver_opts: driver options are not implemented.", $"volumes.{v.Key}.driver_opts");
            if (existing.ContainsKey(v.Name)) continue;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, val) in v.Labels) labels[k] = val ?? "";
            labels[ProjectLabels.Project] = p.Name;
            labels[ProjectLabels.Volume] = v.Key;
            sink.Verbose($"Creating volume {v.Name}");
            store.Create(v.Name, labels);
        }
    }

    private void EnsureImage(ComposeProject p, ComposeService s, ProjectUpOptions o, IProgressSink sink, CancellationToken ct)
    {
        string image = ServiceMapper.ImageOf(p, s);
        bool present = ContainerRuntime.ImageSource.Resolve(_root, image) is not null;
        string policy = s.PullPolicy ?? "missing";
        if (s.Build is { } b && (o.Build || policy == "build" || !present))
        {
            sink.Verbose($"Building image {image} for service {s.Name}");
            var bo = new Build.BuildOptions
            {
                ContextDir = b.Context ?? p.WorkingDirectory,
                Target = b.Target,
                Network = b.Network is "host" or "none" ? b.Network : NetworkManager.DefaultNetworkName,
            };
            if (b.DockerfileInline is { } inline) bo.DockerfileText = inline;
            else bo.DockerfilePath = Path.Combine(bo.ContextDir, b.Dockerfile ?? "Dockerfile");
            bo.Tags.Add(image);
            foreach (var (k, v) in b.Args) if (v is not null) bo.BuildArgs[k] = v;
            foreach (var (k, v) in b.Labels) bo.Labels[k] = v ?? "";
            new Build.BuildExecutor(_rt).Build(bo, ct);
            return;
        }
        if (policy == "never" && !present)
            throw ContainersException.NotFound("ImageNotFound", $"services.{s.Name}: the image '{image}' is not in the store and pull_policy is never.", image);
        if (o.Pull || policy is "always" || !present)
        {
            if (s.Image is null)
                throw ContainersException.Invalid("ComposeImageRequired", $"services.{s.Name}: give image or build.", $"services.{s.Name}");
            sink.Verbose($"Pulling image {image} for service {s.Name}");
            Registry.ImagePuller.Pull(_root, image, new Registry.RegistryOptions(), sink, ct);
        }
    }

    private List<ContainerInfo> ProjectContainers(string project, string? service = null)
        => _rt.List().Where(c => c.Labels.GetValueOrDefault(ProjectLabels.Project) == project
                                 && (service is null || c.Labels.GetValueOrDefault(ProjectLabels.Service) == service)
                                 && c.Labels.GetValueOrDefault(ProjectLabels.OneOff) != "True")
            .OrderBy(c => Number(c)).ToList();

    private static int Number(ContainerInfo c) => int.TryParse(c.Labels.GetValueOrDefault(ProjectLabels.Number), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : 0;

    /// <summary>The secret and config files of a service: (host file, target) plus a digest of their content for the hash.</summary>
    private List<(string File, string Target)> Files(ComposeProject p, ComposeService s, List<string> hashParts)
    {
        var list = new List<(string, string)>();
        foreach (var (mounts, defs, kind) in new[] { (s.Secrets, p.Secrets, "secrets"), (s.Configs, p.Configs, "configs") })
            foreach (var m in mounts)
            {
                var def = defs.FirstOrDefault(d => d.Key == m.Source)
                    ?? throw ContainersException.NotFound("ComposeSecretNotFound", $"services.{s.Name}.{kind}: '{m.Source}' is not defined at the top level.", m.Source);
                string file;
                if (def.External)
                    throw new ContainersException(ErrorKind.NotImplemented, "ComposeKeyNotSupported", $"{kind}.{def.Key}.external: external {kind} live in a swarm; give file or environment.", $"{kind}.{def.Key}.external");
                if (def.File is { } f)
                {
                    if (!File.Exists(f)) throw ContainersException.NotFound("ComposeSecretNotFound", $"{kind}.{def.Key}: the file '{f}' does not exist.", f);
                    file = f;
                }
                else if (def.Environment is { } env)
                {
                    string value = System.Environment.GetEnvironmentVariable(env)
                        ?? throw ContainersException.NotFound("ComposeSecretNotFound", $"{kind}.{def.Key}: the environment variable '{env}' is not set.", env);
                    file = _store.WriteFile(p.Name, kind, def.Key, value);
                }
                else if (def.Content is { } content) file = _store.WriteFile(p.Name, kind, def.Key, content);
                else throw ContainersException.Invalid("ComposeSecretInvalid", $"{kind}.{def.Key}: give file, environment or content.", def.Key);
                hashParts.Add(kind + ":" + m.Target + ":" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
                list.Add((file, m.Target));
            }
        return list;
    }

    private string FirstContainerOf(ComposeProject p, string service)
    {
        var c = ProjectContainers(p.Name, service).FirstOrDefault()
            ?? throw ContainersException.NotFound("ContainerNotFound", $"The service '{service}' has no container to share namespaces with.", service);
        return c.Name;
    }

    private void Reconcile(ComposeProject p, ComposeService s, ProjectUpOptions o, System.Collections.Concurrent.ConcurrentDictionary<string, byte> recreated, IProgressSink sink, CancellationToken ct)
    {
        int replicas = ServiceMapper.Replicas(s);
        var hashParts = new List<string>();
        var files = Files(p, s, hashParts);
        // a container that joins another's namespaces must follow it when it is recreated
        foreach (var other in SharedWith(p, s)) hashParts.Add("ns:" + string.Join(',', ProjectContainers(p.Name, other).Select(c => c.Id)));
        string image = ServiceMapper.ImageOf(p, s);
        string? imageId = ContainerRuntime.ImageSource.Resolve(_root, image)?.Id;
        string hash = ServiceMapper.ConfigHash(p, s, imageId, hashParts);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ProjectLabels.Project] = p.Name,
            [ProjectLabels.Service] = s.Name,
            [ProjectLabels.OneOff] = "False",
            [ProjectLabels.ConfigHash] = hash,
            [ProjectLabels.WorkingDir] = p.WorkingDirectory,
            [ProjectLabels.ConfigFiles] = string.Join(',', p.ComposeFiles),
            [ProjectLabels.DependsOn] = string.Join(',', s.DependsOn.Select(d => $"{d.Service}:{d.Condition}:{(d.Restart ? "true" : "false")}")),
        };
        if (imageId is not null) labels[ProjectLabels.Image] = imageId;
        bool restartForDeps = s.DependsOn.Any(d => d.Restart && recreated.ContainsKey(d.Service));

        var existing = ProjectContainers(p.Name, s.Name);
        var have = new HashSet<int>();
        foreach (var c in existing)
        {
            ct.ThrowIfCancellationRequested();
            int n = Number(c);
            if (n < 1 || n > replicas || !have.Add(n))
            {
                sink.Verbose($"Removing {c.Name} (service {s.Name} runs {replicas})");
                StopAndRemove(c.Name, null, false, ct);
                continue;
            }
            if (o.ForceRecreate || c.Labels.GetValueOrDefault(ProjectLabels.ConfigHash) != hash)
            {
                sink.Verbose($"Recreating {c.Name}");
                StopAndRemove(c.Name, null, false, ct);
                CreateAndStart(p, s, n, labels, files, sink, ct);
                recreated[s.Name] = 0;
            }
            else if (c.Status is ContainerStatus.Created or ContainerStatus.Exited)
            {
                sink.Verbose($"Starting {c.Name}");
                using (_rt.Start(c.Id, ct)) { }
            }
            else if (restartForDeps)
            {
                sink.Verbose($"Restarting {c.Name} (a dependency was recreated)");
                _rt.Restart(c.Id, null, ct);
            }
        }
        // the missing replicas at once (docker compose creates a service's containers in parallel)
        var missing = Enumerable.Range(1, replicas).Where(n => !have.Contains(n)).ToList();
        foreach (var n in missing) sink.Verbose($"Creating {ServiceMapper.ContainerName(p, s, n)}");
        if (missing.Count == 1) CreateAndStart(p, s, missing[0], labels, files, sink, ct);
        else if (missing.Count > 1)
        {
            var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            Parallel.ForEach(missing, new ParallelOptions { MaxDegreeOfParallelism = 8 }, n =>
            {
                try { CreateAndStart(p, s, n, labels, files, sink, ct); }
                catch (Exception ex) { errors.Enqueue(ex); }
            });
            if (!errors.IsEmpty) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(errors.First());
        }
        if (missing.Count > 0) recreated[s.Name] = 0;
    }

    private void CreateAndStart(ComposeProject p, ComposeService s, int n, Dictionary<string, string> labels, List<(string File, string Target)> files, IProgressSink sink, CancellationToken ct)
    {
        var l = new Dictionary<string, string>(labels, StringComparer.Ordinal) { [ProjectLabels.Number] = n.ToString(CultureInfo.InvariantCulture) };
        var opts = ServiceMapper.Map(p, s, n, l, files, svc => FirstContainerOf(p, svc));
        opts.Warning = sink.Warn;
        var info = _rt.Create(opts, ct);
        try { using (_rt.Start(info.Id, ct)) { } }
        catch
        {
            // nothing half-made: a container that could not start is removed (the next up makes it again)
            try { _rt.Remove(info.Id, true, true, CancellationToken.None); } catch (ContainersException) { }
            throw;
        }
    }

    private void StopAndRemove(string name, int? timeout, bool volumes, CancellationToken ct)
    {
        try { _rt.Stop(name, timeout, null, false, ct); }
        catch (ContainersException ex) when (ex.Kind == ErrorKind.NotFound) { return; }
        _rt.Remove(name, true, volumes, ct);
    }

    // ---------------------------------------------------------------- conditions

    private bool HasHealthCheck(ComposeService? s, ContainerInfo c)
    {
        if (s?.HealthCheck is { Disable: false, Test.Count: > 0 }) return true;
        if (s?.HealthCheck is { Disable: true }) return false;
        try { return _rt.Find(c.Id).Config.Health is { Test: [_, ..] } h && h.Test[0] != "NONE"; }
        catch (ContainersException) { return false; }
    }

    private void WaitForDependencies(ComposeProject p, ComposeService s, ProjectUpOptions o, CancellationToken ct)
    {
        var byName = p.Services.ToDictionary(x => x.Name, StringComparer.Ordinal);
        foreach (var d in s.DependsOn)
        {
            if (!byName.TryGetValue(d.Service, out var dep)) continue;
            if (d.Condition == "service_started") continue;
            var sw = Stopwatch.StartNew();
            bool checkedHealth = false;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var cs = ProjectContainers(p.Name, d.Service);
                bool done;
                if (d.Condition == "service_completed_successfully")
                {
                    var failed = cs.FirstOrDefault(c => c.Status == ContainerStatus.Exited && c.ExitCode != 0);
                    if (failed is not null)
                        throw ContainersException.Conflict("ComposeDependencyFailed", $"Service '{s.Name}' depends on '{d.Service}' completing successfully; container {failed.Name} exited with code {failed.ExitCode}.", failed.Name);
                    done = cs.All(c => c.Status == ContainerStatus.Exited);
                }
                else
                {
                    if (!checkedHealth)
                    {
                        var none = cs.FirstOrDefault(c => !HasHealthCheck(dep, c));
                        if (none is not null)
                            throw ContainersException.Invalid("ComposeDependencyNoHealthCheck", $"Service '{s.Name}' waits for '{d.Service}' to be healthy, but container {none.Name} has no health check.", none.Name);
                        checkedHealth = true;
                    }
                    var bad = cs.FirstOrDefault(c => c.Health == HealthStatus.Unhealthy || c.Status == ContainerStatus.Exited);
                    if (bad is not null)
                        throw ContainersException.Conflict("ComposeDependencyUnhealthy", $"Service '{s.Name}' waits for '{d.Service}' to be healthy; container {bad.Name} is {(bad.Status == ContainerStatus.Exited ? "exited" : "unhealthy")}.", bad.Name);
                    done = cs.All(c => c.Health == HealthStatus.Healthy);
                }
                if (done) break;
                if (o.WaitTimeout is { } t && sw.Elapsed > t)
                    throw new ContainersException(ErrorKind.Timeout, "ComposeWaitTimeout", $"Service '{s.Name}' waited {t.TotalSeconds:0.#} s for '{d.Service}' ({d.Condition}).", d.Service);
                Thread.Sleep(o.PollInterval);
            }
        }
    }

    private void WaitHealthy(ComposeProject p, List<ComposeService> services, ProjectUpOptions o, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var oneShot = p.Services.SelectMany(s => s.DependsOn).Where(d => d.Condition == "service_completed_successfully").Select(d => d.Service).ToHashSet(StringComparer.Ordinal);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            bool done = true;
            foreach (var s in services)
                foreach (var c in ProjectContainers(p.Name, s.Name))
                {
                    if (c.Status == ContainerStatus.Exited)
                    {
                        if (oneShot.Contains(s.Name) && c.ExitCode == 0) continue;
                        throw ContainersException.Conflict("ComposeServiceExited", $"Container {c.Name} of service '{s.Name}' exited with code {c.ExitCode}.", c.Name);
                    }
                    if (c.Health == HealthStatus.Unhealthy)
                        throw ContainersException.Conflict("ComposeServiceUnhealthy", $"Container {c.Name} of service '{s.Name}' is unhealthy.", c.Name);
                    if (c.Status != ContainerStatus.Running || (c.Health != HealthStatus.Healthy && HasHealthCheck(s, c))) done = false;
                }
            if (done) return;
            if (o.WaitTimeout is { } t && sw.Elapsed > t)
                throw new ContainersException(ErrorKind.Timeout, "ComposeWaitTimeout", $"The project '{p.Name}' was not running and healthy after {t.TotalSeconds:0.#} s.", p.Name);
            Thread.Sleep(o.PollInterval);
        }
    }

    // ---------------------------------------------------------------- stop, start, restart, down

    /// <summary>The services of a project's containers, dependencies first, from their depends_on labels.</summary>
    private static List<string> LabelOrder(IEnumerable<ContainerInfo> containers)
    {
        var deps = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var c in containers)
        {
            string svc = c.Labels.GetValueOrDefault(ProjectLabels.Service) ?? "";
            if (!deps.TryGetValue(svc, out var set)) deps[svc] = set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var d in (c.Labels.GetValueOrDefault(ProjectLabels.DependsOn) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
                set.Add(d.Split(':')[0]);
        }
        var result = new List<string>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        void Visit(string n)
        {
            if (!deps.ContainsKey(n) || state.GetValueOrDefault(n) != 0) return;
            state[n] = 1;
            foreach (var d in deps[n].Order(StringComparer.Ordinal)) Visit(d);
            state[n] = 2;
            result.Add(n);
        }
        foreach (var n in deps.Keys.Order(StringComparer.Ordinal)) Visit(n);
        return result;
    }

    private List<ContainerInfo> Require(string project)
    {
        var cs = ProjectContainers(project);
        if (cs.Count == 0 && _store.Read(project) is null && !ProjectNames().Contains(project))
            throw ContainersException.NotFound("ContainerProjectNotFound", $"No project named '{project}' exists in this storage root.", project);
        return cs;
    }

    /// <summary>
    /// Groups of services that can be stopped together: the last group holds the services nothing depends on.
    /// A service's level is one more than its deepest dependency's.
    /// </summary>
    private static List<List<string>> Levels(IEnumerable<ContainerInfo> containers)
    {
        var order = LabelOrder(containers);
        var deps = containers.GroupBy(c => c.Labels.GetValueOrDefault(ProjectLabels.Service) ?? "")
            .ToDictionary(g => g.Key, g => g.SelectMany(c => (c.Labels.GetValueOrDefault(ProjectLabels.DependsOn) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(d => d.Split(':')[0])).ToHashSet(StringComparer.Ordinal));
        var level = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var svc in order)
            level[svc] = deps[svc].Where(level.ContainsKey).Select(d => level[d] + 1).DefaultIfEmpty(0).Max();
        return order.GroupBy(s => level[s]).OrderBy(g => g.Key).Select(g => g.ToList()).ToList();
    }

    /// <summary>Runs the action on every container of each group of services, the containers of a group at once (docker compose stops them in parallel).</summary>
    private static void InParallel(IEnumerable<List<string>> groups, List<ContainerInfo> cs, Func<ContainerInfo, bool> which, Action<ContainerInfo> action, CancellationToken ct)
    {
        foreach (var g in groups)
        {
            var batch = cs.Where(c => g.Contains(c.Labels.GetValueOrDefault(ProjectLabels.Service) ?? "") && which(c)).ToList();
            if (batch.Count == 1) { action(batch[0]); continue; }
            var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            Parallel.ForEach(batch, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = 16 }, c =>
            {
                try { action(c); }
                catch (Exception ex) { errors.Enqueue(ex); }
            });
            if (!errors.IsEmpty) throw errors.Count == 1 ? errors.First() : new AggregateException(errors);
        }
    }

    /// <summary>docker compose stop: every container of the project, dependents first.</summary>
    public ContainerProjectInfo Stop(string project, IReadOnlyList<string> services, int? timeout, CancellationToken ct = default)
    {
        var cs = Require(project);
        var groups = Enumerable.Reverse(Levels(cs)).Select(g => g.Where(s => services.Count == 0 || services.Contains(s)).ToList());
        InParallel(groups, cs, c => c.Status is not (ContainerStatus.Exited or ContainerStatus.Created), c => _rt.Stop(c.Id, timeout, null, false, ct), ct);
        return List(project).FirstOrDefault() ?? Empty(project);
    }

    /// <summary>docker compose start: the project's existing containers, dependencies first.</summary>
    public ContainerProjectInfo Start(string project, IReadOnlyList<string> services, CancellationToken ct = default)
    {
        var cs = Require(project);
        foreach (var svc in LabelOrder(cs))
        {
            if (services.Count > 0 && !services.Contains(svc)) continue;
            foreach (var c in cs.Where(c => c.Labels.GetValueOrDefault(ProjectLabels.Service) == svc && c.Status is ContainerStatus.Exited or ContainerStatus.Created))
                using (_rt.Start(c.Id, ct)) { }
        }
        return List(project).FirstOrDefault() ?? Empty(project);
    }

    /// <summary>docker compose restart: stop (dependents first), then start (dependencies first).</summary>
    public ContainerProjectInfo Restart(string project, IReadOnlyList<string> services, int? timeout, CancellationToken ct = default)
    {
        Stop(project, services, timeout, ct);
        return Start(project, services, ct);
    }

    /// <summary>docker compose down: containers (dependents first), the project's networks, with options its volumes and images, and its record.</summary>
    public void Down(string project, ProjectDownOptions o, IProgressSink sink, CancellationToken ct = default)
    {
        var cs = Require(project);
        using var held = _store.Lock(project, ct);
        var images = cs.Select(c => (Image: c.Image, Service: c.Labels.GetValueOrDefault(ProjectLabels.Service) ?? "")).Distinct().ToList();
        foreach (var c in cs) sink.Verbose($"Removing {c.Name}");
        InParallel(Enumerable.Reverse(Levels(cs)), cs, _ => true, c => StopAndRemove(c.Id, o.Timeout, o.Volumes, ct), ct);
        var mgr = new NetworkManager(_root);
        foreach (var n in mgr.List().Where(n => n.Labels.GetValueOrDefault(ProjectLabels.Project) == project))
        {
            sink.Verbose($"Removing network {n.Name}");
            try { mgr.Remove(n.Name, false, ct); }
            catch (ContainersException ex) when (ex.ErrorId == "NetworkInUse") { sink.Warn($"The network {n.Name} is in use by containers of another project; it is kept."); }
        }
        if (o.Volumes)
        {
            var vols = new VolumeStore(_root);
            foreach (var v in vols.List().Where(v => v.Labels.GetValueOrDefault(ProjectLabels.Project) == project))
            {
                sink.Verbose($"Removing volume {v.Name}");
                try { vols.Remove(v.Name); }
                catch (ContainersException ex) when (ex.ErrorId == "VolumeInUse") { sink.Warn($"The volume {v.Name} is in use by another container; it is kept."); }
            }
        }
        if (o.Images is "All" or "Local")
        {
            var store = new Images.ImageStore(_root);
            foreach (var (image, svc) in images)
            {
                if (o.Images == "Local" && image != $"{project}-{svc}" && !image.StartsWith($"{project}-{svc}:", StringComparison.Ordinal)) continue;
                sink.Verbose($"Removing image {image}");
                try { store.Remove(image); }
                catch (ContainersException ex) when (ex.Kind is ErrorKind.NotFound or ErrorKind.Conflict) { sink.Warn($"The image {image} was not removed: {ex.Message}"); }
            }
        }
        _store.Delete(project);
    }

    // ---------------------------------------------------------------- listings

    private HashSet<string> ProjectNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        // the records' labels as they are: a read that settles a container whose monitor died would hide that
        // from Test-ContainerStore, which calls this through InUse
        foreach (var l in _rt.LabelsOfAll()) if (l.GetValueOrDefault(ProjectLabels.Project) is { } p) names.Add(p);
        foreach (var n in new NetworkManager(_root).List()) if (n.Labels.GetValueOrDefault(ProjectLabels.Project) is { } p) names.Add(p);
        foreach (var v in new VolumeStore(_root).List()) if (v.Labels.GetValueOrDefault(ProjectLabels.Project) is { } p) names.Add(p);
        return names;
    }

    /// <summary>Names of projects something in the store still belongs to (containers, networks, volumes).</summary>
    public ISet<string> InUse() => ProjectNames();

    private static ContainerProjectInfo Empty(string name) => new() { Name = name, Services = [] };

    /// <summary>The projects of the root (or the one named), with their services' containers.</summary>
    public IReadOnlyList<ContainerProjectInfo> List(string? name = null)
    {
        var containers = _rt.List().Where(c => c.Labels.ContainsKey(ProjectLabels.Project) && c.Labels.GetValueOrDefault(ProjectLabels.OneOff) != "True").ToList();
        var nets = new NetworkManager(_root).List().Where(n => n.Labels.ContainsKey(ProjectLabels.Project)).ToList();
        var vols = new VolumeStore(_root).List().Where(v => v.Labels.ContainsKey(ProjectLabels.Project)).ToList();
        var records = _store.List().ToDictionary(r => r.Name, StringComparer.Ordinal);
        var names = containers.Select(c => c.Labels[ProjectLabels.Project])
            .Concat(nets.Select(n => n.Labels[ProjectLabels.Project])).Concat(vols.Select(v => v.Labels[ProjectLabels.Project]))
            .Concat(records.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var result = new List<ContainerProjectInfo>();
        foreach (var pn in names)
        {
            if (name is not null && pn != name) continue;
            var mine = containers.Where(c => c.Labels[ProjectLabels.Project] == pn).ToList();
            records.TryGetValue(pn, out var rec);
            var order = LabelOrder(mine);
            result.Add(new ContainerProjectInfo
            {
                Name = pn,
                WorkingDirectory = rec?.WorkingDirectory ?? mine.Select(c => c.Labels.GetValueOrDefault(ProjectLabels.WorkingDir)).FirstOrDefault(x => x is not null),
                ConfigFiles = rec?.ConfigFiles.ToArray() ?? (mine.Select(c => c.Labels.GetValueOrDefault(ProjectLabels.ConfigFiles)).FirstOrDefault(x => x is not null)?.Split(',') ?? []),
                Created = rec?.Created,
                Networks = nets.Where(n => n.Labels[ProjectLabels.Project] == pn).Select(n => n.Name).ToArray(),
                Volumes = vols.Where(v => v.Labels[ProjectLabels.Project] == pn).Select(v => v.Name).ToArray(),
                Services = order.Select(svc =>
                {
                    var cs = mine.Where(c => c.Labels.GetValueOrDefault(ProjectLabels.Service) == svc).OrderBy(Number).ToArray();
                    return new ContainerProjectService { Project = pn, Name = svc, Image = cs.Select(c => c.Image).FirstOrDefault() ?? "", Containers = cs };
                }).ToArray(),
            });
        }
        return result;
    }

    /// <summary>The containers of a project (optionally of one service), by service and number.</summary>
    public IReadOnlyList<ContainerInfo> Containers(string project, string? service = null)
    {
        var cs = ProjectContainers(project, service);
        if (cs.Count == 0)
        {
            if (service is not null && ProjectContainers(project).Count > 0)
                throw ContainersException.NotFound("ComposeServiceNotFound", $"The project '{project}' has no container of service '{service}'.", service);
            Require(project);
        }
        return cs;
    }
}
