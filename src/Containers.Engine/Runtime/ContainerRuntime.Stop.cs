using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>Stops a container: its stop signal (or <paramref name="signal"/>), SIGKILL after the timeout. No restart follows.</summary>
    public ContainerInfo Stop(string nameOrId, int? timeoutSeconds = null, string? signal = null, bool force = false, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        using (Lock(rec.Id, ct)) StopLocked(rec.Id, timeoutSeconds, signal, force, ct);
        return Get(rec.Id);
    }

    private void StopLocked(string id, int? timeoutSeconds, string? signal, bool force, CancellationToken ct)
    {
        // a stop must never need new disk space: on a full disk the reserve goes first (StorageSpace)
        StorageSpace.ReleaseIfLow(_root);
        var rec = LoadLocked(id)!;
        if (!rec.IsActive) return;
        var c = rec.Config;
        File.WriteAllText(Path.Combine(rec.Dir, "stop-requested"), "");
        int sig = force ? 9 : Signals.Parse(signal ?? c.StopSignal);
        var timeout = TimeSpan.FromSeconds(force ? 0 : Math.Max(0, timeoutSeconds ?? c.StopTimeout));
        bool wasPaused = rec.Status == ContainerStatus.Paused;
        // each kill is recorded before the signal, so it comes before the die the monitor records
        if (rec.Status != ContainerStatus.Restarting)
        {
            Event("kill", c, ("signal", sig.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            ProcessOps.Signal(rec.Pid, rec.PidStart, sig);
        }
        if (wasPaused) { try { Cgroup(id).Thaw(); } catch (IOException) { } File.Delete(Path.Combine(rec.Dir, "paused")); }
        bool Gone()
        {
            var r = Load(id);
            return r is null || (!ProcessOps.IsAlive(r.Pid, r.PidStart) && !ProcessOps.IsAlive(r.MonitorPid, r.MonitorStart));
        }
        if (!WaitUntil(Gone, timeout, ct))
        {
            Event("kill", c, ("signal", "9"));
            ProcessOps.Signal(rec.Pid, rec.PidStart, 9);
            if (!WaitUntil(Gone, TimeSpan.FromSeconds(5), ct))
            {
                try { Cgroup(id).KillAll(TimeSpan.FromSeconds(5)); } catch (IOException) { }
                WaitUntil(Gone, TimeSpan.FromSeconds(5), ct);
            }
        }
        // a container whose monitor was killed has nobody to record its end: do it here
        var after = Load(id)!;
        if (after.Raw.TryGetValue("state", out var st) && st != "exited")
        {
            after.Raw["state"] = "exited";
            after.Raw.Remove("pid"); after.Raw.Remove("pidstart");
            after.Raw.TryAdd("exitcode", "137");
            after.Raw["finishedat"] = DateTime.UtcNow.ToString("o");
            WriteStatus(after.Dir, after.Raw);
            // nobody else will record this exit
            Event("die", c, ("exitCode", after.Raw["exitcode"]));
        }
        Event("stop", c);
        if (NetworkProvider is not null && HasOwnNetworks(c.Network))
            NetworkProvider.Stopped(NetContext(c, rec.Dir));
    }

    private void Event(string action, ContainerConfig c, params (string, string?)[] attributes)
        => Events.EventLog.Record(_root, Model.ContainerEventType.Container, action, c.Id, c.Name, [("image", c.Image), .. attributes]);

    private static void WriteStatus(string dir, Dictionary<string, string> raw)
        => AtomicFile.WriteAllText(Path.Combine(dir, "status"), string.Concat(raw.Select(kv => kv.Key + "=" + kv.Value + "\n")), durable: false);

    public ContainerInfo Restart(string nameOrId, int? timeoutSeconds = null, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        Stop(rec.Id, timeoutSeconds, null, false, ct);
        using var p = Start(rec.Id, ct);
        Event("restart", rec.Config);
        return Get(rec.Id);
    }

    /// <summary>Removes a container: its writable layer, cgroup, pinned netns and state. Named volumes stay.</summary>
    public void Remove(string nameOrId, bool force = false, CancellationToken ct = default) => Remove(nameOrId, force, false, ct);

    /// <summary>Remove with <paramref name="volumes"/>: its anonymous volumes go too (docker rm -v); a container made with -Remove always takes them.</summary>
    public void Remove(string nameOrId, bool force, bool volumes, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        using (Lock(rec.Id, ct))
        {
            // removal is how a full disk is emptied: it must never need new space (StorageSpace)
            StorageSpace.ReleaseIfLow(_root);
            rec = LoadLocked(rec.Id);
            if (rec is null) return;
            if (rec.IsActive)
            {
                if (!force) Guard(rec, "remove");
                StopLocked(rec.Id, 0, "SIGKILL", true, ct);
            }
            RemoveLocked(rec, volumes);
        }
    }

    private void RemoveLocked(Record rec, bool volumes = false)
    {
    Diagnostics.StepTimes.Mark("remove.find+lock+load");
        var c = rec.Config;
        // a monitor killed mid-start can leave the first process running: the cgroup finds it
        var cg = Cgroup(c.Id);
        if (MonitorMayBeAlive(rec)) KillHelpersOf(rec.Dir);
        Diagnostics.StepTimes.Mark("remove.helpers");
        if (NetworkProvider is not null && HasOwnNetworks(c.Network))
            NetworkProvider.Teardown(NetContext(c, rec.Dir, namespaceReleased: true));
        Diagnostics.StepTimes.Mark("remove.net-teardown");
        // the pin is the namespace's last reference (the container's processes are gone): the kernel deletes it,
        // and the veth pairs in it, in its own worker; nothing here waits for that (deferred teardown)
        string netns = Path.Combine(rec.Dir, "netns");
        if (File.Exists(netns)) while (ProcessOps.Unmount(netns)) { }
        // and the user namespace pinned with it (UserNamespaceSetup.PinNamespaces)
        string userns = Path.Combine(rec.Dir, UserNamespaces.UserNamespaceSetup.UserNsPin);
        if (c.IdRange is not null || File.Exists(userns)) while (ProcessOps.Unmount(userns)) { }
        foreach (var leftover in new[] { "merged", "export" }) ProcessOps.Unmount(Path.Combine(rec.Dir, leftover));
        Diagnostics.StepTimes.Mark("remove.unmounts");
        cg.Destroy();
        // rootless: a monitor killed with kill -9 leaves its slirp4netns API socket in the runtime directory
        if (Rootless.RootlessHost.Active) Rootless.RootlessChecks.RemoveSlirpSocket(c);
        Diagnostics.StepTimes.Mark("remove.cgroup");
        // the rename is the removal; the files go on a background thread (see Trash)
        string trash = _root.NewTempPath(Trash.Prefix);
        Directory.Move(rec.Dir, trash);
        ConfigCache.TryRemove(Path.Combine(rec.Dir, "config.json"), out _);
        Trash.Delete(trash);
        Diagnostics.StepTimes.Mark("remove.rename");
        // its id range went back to the pool with the rename (IdRanges: a line is live while its directory exists)
        Event("remove", c);
        Diagnostics.StepTimes.Mark("remove.event");
        Trash.SweepOnce(_root);
        // after the rename: the volumes are no longer in use by this container (docker's --rm takes them too)
        if (volumes || c.AutoRemove) RemoveAnonymousVolumes(c);
    }

    /// <summary>
    /// Whether a monitor of this state directory may still run. Start marks the directory "starting" until the
    /// monitor has answered, and the monitor records its pid and start time before it answers; so with no marker
    /// and a recorded monitor that is gone, no helper of this directory is left and the /proc scan is skipped.
    /// </summary>
    private static bool MonitorMayBeAlive(Record rec)
        => File.Exists(Path.Combine(rec.Dir, StartingMarker)) || rec.MonitorPid <= 0 || rec.MonitorAlive;

    /// <summary>
    /// A pwsh killed in the middle of a start can leave a monitor still starting the container after this
    /// session saw it as created: kill our helper processes for this state directory (matched by their
    /// exact command line; the cloned init of -Init shares it). The rest is in the cgroup.
    /// </summary>
    private static void KillHelpersOf(string dir)
    {
        byte[] want = System.Text.Encoding.UTF8.GetBytes("monitor\0" + dir + "\0");
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid) || pid == Environment.ProcessId) continue;
            byte[] cmd;
            try { cmd = File.ReadAllBytes(Path.Combine(d, "cmdline")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (cmd.AsSpan().IndexOf(want) < 0) continue;
            long start = ProcessOps.StartTime(pid);
            if (start != 0) ProcessOps.Signal(pid, start, 9);
        }
    }

    internal static void DeleteTree(string path)
    {
        if (Rootless.RootlessHost.Active)
        {
            // rootless: what the container's other ids own is removed as the user namespace's root
            try { Directory.Delete(path, true); }
            catch (DirectoryNotFoundException) { }
            catch (Exception ex) when (ex is UnauthorizedAccessException or IOException) { Rootless.RootlessHost.RemoveTree(path); }
            return;
        }
        try { Directory.Delete(path, true); }
        catch (UnauthorizedAccessException)
        {
            // overlay's work/work is mode 000 and files may be immutable-free but read-only: chmod and retry
            foreach (var d in Directory.EnumerateDirectories(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                // a link to a directory (a container's writable layer holds any it likes) is listed too: chmod
                // would follow it to the host
                if (new DirectoryInfo(d).LinkTarget is not null) continue;
                try { File.SetUnixFileMode(d, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); } catch (IOException) { }
            }
            Directory.Delete(path, true);
        }
        catch (DirectoryNotFoundException) { }
    }

    public ContainerInfo Pause(string nameOrId, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        using (Lock(rec.Id, ct))
        {
            rec = Load(rec.Id)!;
            Guard(rec, "pause");
            Cgroup(rec.Id).Freeze();
            File.WriteAllText(Path.Combine(rec.Dir, "paused"), "");
            Event("pause", rec.Config);
        }
        return Get(rec.Id);
    }

    public ContainerInfo Resume(string nameOrId, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        using (Lock(rec.Id, ct))
        {
            rec = Load(rec.Id)!;
            Guard(rec, "resume");
            Cgroup(rec.Id).Thaw();
            File.Delete(Path.Combine(rec.Dir, "paused"));
            Event("unpause", rec.Config);
        }
        return Get(rec.Id);
    }

    public ContainerInfo Rename(string nameOrId, string newName, CancellationToken ct = default)
    {
        if (!NameRx.IsMatch(newName)) throw ContainersException.Invalid("InvalidContainerName", RuntimeMessages.InvalidName(newName), newName);
        var rec = Find(nameOrId);
        using (StoreLock.Acquire(_root, "containers", true, null, ct))
        {
            var clash = All().FirstOrDefault(r => r.Name == newName && r.Id != rec.Id);
            if (clash is not null) throw ContainersException.Exists("ContainerNameInUse", RuntimeMessages.NameInUse(newName, clash.Id), newName);
            using (Lock(rec.Id, ct))
            {
                // a private copy: Load's may be shared with other callers of this process
                // (torn since it was found: a Corrupt error for this item, never a raw JSON exception)
                var cfg = AtomicFile.ReadRecord<ContainerConfig>(Path.Combine(rec.Dir, "config.json"), "ContainerRecordCorrupt", "container record")
                    ?? throw ContainersException.NotFound("ContainerNotFound", RuntimeMessages.ContainerNotFound(nameOrId), nameOrId);
                string oldName = cfg.Name;
                cfg.Name = newName;
                AtomicFile.WriteJson(Path.Combine(rec.Dir, "config.json"), cfg);
                Event("rename", cfg, ("oldName", oldName));
            }
        }
        return Get(rec.Id);
    }

    /// <summary>Waits until the container is exited (its monitor done) or running.</summary>
    public ContainerInfo Wait(string nameOrId, ContainerStatus condition, TimeSpan? timeout, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        string id = rec.Id;
        bool Reached()
        {
            var r = Load(id);
            if (r is null) return true;
            return condition == ContainerStatus.Exited
                ? r.Status == ContainerStatus.Exited && !r.MonitorAlive
                : r.Status == ContainerStatus.Running;
        }
        if (!WaitUntil(Reached, timeout ?? TimeSpan.MaxValue, ct))
            throw new ContainersException(ErrorKind.Timeout, "WaitTimeout", RuntimeMessages.Timeout(rec.Name, condition.ToString().ToLowerInvariant()), rec.Name);
        return Load(id) is null ? ToInfo(rec) : Get(id);
    }
}
