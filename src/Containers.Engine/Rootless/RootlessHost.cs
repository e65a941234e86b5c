using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Containers.Engine.Errors;
using Containers.Engine.State;
using Containers.Engine.UserNamespaces;

namespace Containers.Engine.Rootless;

/// <summary>
/// Rootless operation: pwsh started by an ordinary user (euid not 0). Everything the engine does as root elsewhere is
/// done here through one user namespace mapping, the user's own: container uid 0 is the user's uid, 1..N the user's
/// subordinate ids (/etc/subuid, /etc/subgid), written by the setuid newuidmap/newgidmap (package uidmap), as podman
/// does. The storage root defaults to $XDG_DATA_HOME/pscontainers, the runtime directory to
/// $XDG_RUNTIME_DIR/pscontainers or, with none, /tmp/pscontainers-&lt;uid&gt; (checked: a directory of the user's
/// own, mode 0700, never a link, so another user cannot pre-create it). Files the user cannot touch as itself (what
/// the container's other ids own: image layers, writable layers, volumes) are changed and removed by the helper in
/// that user namespace (<see cref="RunInUserNamespace"/>).
/// </summary>
public static class RootlessHost
{
    [DllImport("libc")] private static extern uint geteuid();
    [DllImport("libc")] private static extern uint getegid();

    private static readonly Lazy<bool> s_active = new(() => geteuid() != 0);

    /// <summary>True when this process is not root: every container is a rootless one.</summary>
    public static bool Active => s_active.Value;

    public static uint Uid => geteuid();
    public static uint Gid => getegid();

    /// <summary>$XDG_DATA_HOME/pscontainers, or ~/.local/share/pscontainers (podman's ~/.local/share/containers).</summary>
    public static string DefaultStorageRoot
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
            if (string.IsNullOrEmpty(xdg) || !Path.IsPathRooted(xdg))
            {
                string? home = Environment.GetEnvironmentVariable("HOME");
                if (string.IsNullOrEmpty(home) || !Path.IsPathRooted(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                xdg = Path.Combine(home, ".local", "share");
            }
            return Path.Combine(xdg, "pscontainers");
        }
    }

    /// <summary>
    /// The user's runtime directory (made on first use): $XDG_RUNTIME_DIR/pscontainers when that is set (logind makes
    /// it, 0700, the user's), else /tmp/pscontainers-&lt;uid&gt;, as podman's /tmp/podman-run-&lt;uid&gt;. /tmp is
    /// world-writable, so the directory is checked after mkdir: a directory (never a link), owned by the user, mode
    /// 0700; anything else (another user made it first) is refused with RootlessRuntimeDirUnsafe.
    /// </summary>
    public static string RuntimeDirectory()
    {
        string? xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        string dir = !string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg) && Directory.Exists(xdg)
            ? Path.Combine(xdg, "pscontainers")
            : "/tmp/pscontainers-" + Uid.ToString(CultureInfo.InvariantCulture);
        try { Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ContainersException(ErrorKind.Unauthorized, "RootlessRuntimeDirUnsafe", $"Cannot make the runtime directory '{dir}': {ex.Message}", dir, ex);
        }
        if (!Containers.Native.Sys.LayerFs.TryLstat(dir, out var st) || (st.Mode & Containers.Native.Sys.LayerFs.S_IFMT) != Containers.Native.Sys.LayerFs.S_IFDIR
            || st.Uid != Uid || (st.Mode & 0x3f) != 0)
            throw new ContainersException(ErrorKind.Unauthorized, "RootlessRuntimeDirUnsafe",
                $"The runtime directory '{dir}' is not a directory of uid {Uid} with mode 0700 (another user may have made it); remove it or set XDG_RUNTIME_DIR.", dir);
        return dir;
    }

    private static (IdRange Uids, IdRange Gids)? s_ids;

    /// <summary>The user's subordinate uid and gid ranges (the first of each with at least 65536 ids), by name or uid.</summary>
    public static (IdRange Uids, IdRange Gids) SubordinateIds()
    {
        if (s_ids is { } have) return have;
        string name = Environment.UserName;
        string uid = Uid.ToString(CultureInfo.InvariantCulture);
        var u = Read("/etc/subuid", name, uid);
        var g = Read("/etc/subgid", name, uid);
        if (u is null || g is null)
            throw ContainersException.Invalid("RootlessNoSubordinateIds",
                $"The user '{name}' (uid {uid}) has no range of at least 65536 ids in {(u is null ? "/etc/subuid" : "/etc/subgid")}; rootless containers map their ids onto it. An administrator adds one: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}.",
                u is null ? "/etc/subuid" : "/etc/subgid");
        s_ids = (u.Value, g.Value);
        return s_ids.Value;
    }

    private static IdRange? Read(string file, string name, string uid)
    {
        try
        {
            return UserNamespaces.SubordinateIds.FirstRange(File.ReadLines(file), name, uid);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    /// <summary>Where newuidmap and newgidmap (package uidmap) are looked for.</summary>
    public static string[] UidmapTools { get; set; } = ["/usr/bin/newuidmap", "/usr/bin/newgidmap"];

    private static string? s_singleReason;
    private static bool s_singleChecked;

    /// <summary>
    /// Null when the user's subordinate ids and newuidmap/newgidmap are there (the full mapping); else why containers
    /// get the single mapping only (podman's fallback): the user's own uid and gid as 0 inside, and no other id.
    /// </summary>
    public static string? SingleMappingReason()
    {
        if (s_singleChecked) return s_singleReason;
        string? why = null;
        foreach (var tool in UidmapTools)
            if (!File.Exists(tool)) { why = $"{tool} is missing (Debian package uidmap)"; break; }
        if (why is null)
        {
            try { SubordinateIds(); }
            catch (ContainersException ex) when (ex.ErrorId == "RootlessNoSubordinateIds")
            {
                why = $"the user '{Environment.UserName}' (uid {Uid}) has no range of at least 65536 ids in /etc/subuid and /etc/subgid";
            }
        }
        s_singleReason = why;
        s_singleChecked = true;
        return why;
    }

    /// <summary>True when containers get the single mapping (<see cref="SingleMappingReason"/>).</summary>
    public static bool SingleMapping => SingleMappingReason() is not null;

    /// <summary>The stable id at the start of the single mapping's warning (and of Get-ContainerHost's RootlessIdMapping).</summary>
    public const string SingleMappingId = "RootlessSingleMapping";

    /// <summary>The warning a rootless container of the single mapping gets when it is made.</summary>
    public static string SingleMappingWarning() =>
        $"{SingleMappingId}: {SingleMappingReason()}, so this container gets a single id mapping: uid and gid 0 inside are yours and no other id exists in it (a -User or image USER other than root cannot be taken; files other owners have in image layers are kept as yours, as podman's ignore_chown_errors does). " +
        $"For the full mapping an administrator installs uidmap and gives you subordinate ids: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {Environment.UserName}.";

    private static int s_ownersKept;
    private static string? s_ownersKeptExample;
    private static int s_ownersKeptWarned;

    /// <summary>The single mapping unpacked a layer whose entries have other owners: they are kept as the user's (warned once per session).</summary>
    internal static void NoteOwnersKept(int count, string example)
    {
        Interlocked.Add(ref s_ownersKept, count);
        Interlocked.CompareExchange(ref s_ownersKeptExample, example, null);
    }

    /// <summary>The warning that owners were kept as the user's, once per session (null before and after).</summary>
    public static string? TakeOwnersKeptWarning()
    {
        if (Volatile.Read(ref s_ownersKept) == 0 || Interlocked.Exchange(ref s_ownersKeptWarned, 1) != 0) return null;
        return $"RootlessOwnersKept: image layer entries owned by ids other than root ({s_ownersKept} so far, e.g. '{s_ownersKeptExample}') are kept as yours, as podman's ignore_chown_errors does: without subordinate ids ({SingleMappingReason()}) no other id exists in your containers. Said once per session.";
    }

    /// <summary>
    /// The mapping as the helper takes it ("uid:subStart:subCount:gid:subStart:subCount"): 0 is the user, 1..count the
    /// subordinate ids; with the single mapping the counts are 0 (the monitor writes the maps itself, no newuidmap).
    /// </summary>
    public static string Mapping()
    {
        if (SingleMapping) return string.Join(':', Uid, 0, 0, Gid, 0, 0);
        var (u, g) = SubordinateIds();
        return string.Join(':', Uid, u.Start, u.Count, Gid, g.Start, g.Count);
    }

    /// <summary>The host uid a container uid is stored as on disk (0 the user, 1.. the subordinate range; beyond: -1).</summary>
    public static long ToHostUid(long id)
    {
        if (id == 0) return Uid;
        if (SingleMapping) return -1;
        var (u, _) = SubordinateIds();
        return id <= u.Count ? u.Start + id - 1 : -1;
    }

    /// <summary>The host gid a container gid is stored as on disk.</summary>
    public static long ToHostGid(long id)
    {
        if (id == 0) return Gid;
        if (SingleMapping) return -1;
        var (_, g) = SubordinateIds();
        return id <= g.Count ? g.Start + id - 1 : -1;
    }

    /// <summary>
    /// The container's ids of the host ids a rootless container's files have on disk (its writable layer, as commit,
    /// Export-Container and a copy out read it): the inverse of <see cref="ToHostUid"/> and <see cref="ToHostGid"/>, and
    /// for a KeepId container the inverse of its layout (RootlessKeepId: the user's own ids are the same inside, the
    /// subordinate ids around them). An id outside the mapping is the kernel's overflow id, 65534, as the container sees it.
    /// </summary>
    public static Func<(int Uid, int Gid), (int Uid, int Gid)> ToContainerIds(bool keepId)
    {
        bool single = SingleMapping;
        var (u, g) = single ? (new IdRange(0, 0), new IdRange(0, 0)) : SubordinateIds();
        long uid = Uid, gid = Gid;
        // the id in the user's namespace of the ordinary mapping (0 the user, 1..count the subordinate ids), or -1
        static long Namespace(long host, long own, IdRange r) =>
            host == own ? 0 : host >= r.Start && host < (long)r.Start + r.Count ? host - r.Start + 1 : -1;
        // KeepId: namespace id 0 is the user's own id inside, 1..min(own,count) are 0..own-1, the rest own+1..
        static long KeepId(long ns, long own, long count)
        {
            if (ns <= 0) return ns == 0 ? own : -1;
            long below = Math.Min(own, count);
            return ns <= below ? ns - 1 : ns - below + own;
        }
        int Container(long host, long own, IdRange r)
        {
            long ns = Namespace(host, own, r);
            long c = keepId ? KeepId(ns, own, r.Count) : ns;
            return c < 0 || c > int.MaxValue ? 65534 : (int)c;
        }
        return o => (Container(o.Uid, uid, u), Container(o.Gid, gid, g));
    }

    /// <summary>
    /// Runs <paramref name="argv"/> as root of a fresh user namespace with the user's mapping (the helper's
    /// userns-exec mode: clone, newuidmap/newgidmap, then exec). Throws RootlessUserNamespaceFailed with its output.
    /// </summary>
    public static void RunInUserNamespace(string what, params string[] argv)
    {
        var psi = new ProcessStartInfo(EngineFiles.HelperPath)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add("userns-exec");
        psi.ArgumentList.Add(Mapping());
        psi.ArgumentList.Add("--");
        foreach (var a in argv) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            p.StandardInput.Close();
            var err = p.StandardError.ReadToEndAsync();
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw ContainersException.System("RootlessUserNamespaceFailed", $"Cannot {what} in the user's namespace (exit code {p.ExitCode}): {(err.Result + " " + output).Trim()}", what);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw ContainersException.System("HelperNotStartable", $"Cannot run {EngineFiles.HelperPath}: {ex.Message}", what, ex);
        }
    }

    /// <summary>
    /// Removes a tree that holds files of the container's ids (a writable layer, an image layer, a volume): as the
    /// namespace's root, which may remove them; rm stays on the file system and follows no link.
    /// </summary>
    public static void RemoveTree(string path)
    {
        if (!Directory.Exists(path) && !File.Exists(path)) return;
        RunInUserNamespace("remove " + path, "/bin/rm", "-rf", "--one-file-system", "--", path);
    }

    /// <summary>
    /// Gives the entries of an unpacked layer their owners: each record "uid gid mode rel" (NUL-terminated) of
    /// <paramref name="list"/> is applied inside <paramref name="dir"/> by the helper's idfix mode as the namespace's
    /// root (paths resolved inside the directory, links never followed; the mode again after the chown, which clears
    /// setuid and setgid bits).
    /// </summary>
    public static void FixOwners(string dir, IReadOnlyList<(string Rel, int Uid, int Gid, uint Mode, bool Link)> entries)
    {
        if (entries.Count == 0) return;
        if (SingleMapping)
        {
            // no other id exists in the user's namespace: the entries stay the user's (ignore_chown_errors)
            NoteOwnersKept(entries.Count, "/" + entries[0].Rel);
            return;
        }
        string list = Path.Combine(RuntimeDirectory(), "idfix-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var w = new StreamWriter(list, false, new System.Text.UTF8Encoding(false)))
                foreach (var (rel, uid, gid, mode, link) in entries)
                    w.Write(FormattableString.Invariant($"{(uint)uid} {(uint)gid} {(link ? "-" : mode.ToString(CultureInfo.InvariantCulture))} {rel}\0"));
            RunInUserNamespace("give the layer's files their owners", EngineFiles.HelperPath, "idfix", dir, list);
        }
        finally { try { File.Delete(list); } catch (IOException) { } }
    }

    /// <summary>Refuses resource limits where the user has no cgroup of its own to set them in.</summary>
    public static ContainersException CgroupsNotDelegated(string what) => new(ErrorKind.NotImplemented, "RootlessCgroupsNotDelegated",
        $"{what} needs a cgroup, and this rootless run has none: {Cgroups.RootlessCgroups.Reason()}. Run without it, as root, or on a cgroup v2 host where the user's cgroup is delegated (systemd's user@.service).", what);
}
