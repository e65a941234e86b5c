using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Runtime;
using Containers.Engine.State;
using Containers.Engine.UserNamespaces;

namespace Containers.Engine.Rootless;

/// <summary>
/// -UserNamespace KeepId of a rootless container (podman's --userns=keep-id): the user's uid and gid are the SAME ids
/// inside the container, so what it writes in a bind-mounted folder of the user is the user's on the host. The
/// container's ids, as podman's GetKeepIdMapping lays them out over the user's subordinate range of N ids: 0..uid-1 are
/// the range's first uid ids, uid is the user, uid+1..N the rest of the range (the same N+1 ids as the ordinary
/// rootless mapping, in another order). With the single mapping (no subordinate ids) only uid exists inside (uid_map
/// "uid uid 1"), as podman's keep-id then maps only the user.
/// <para>
/// The process runs as uid:gid unless -User is given (the user's name given as -User is the uid). An /etc/passwd and
/// /etc/group with an entry for the user are bound over the image's when the image has none (podman's entry:
/// name:*:uid:gid::home:/bin/sh, name:x:gid:name); home, and HOME when not given, is the user's home where a mount
/// puts it (or a folder above it) in the container, else the working directory, as podman chooses it.
/// </para>
/// <para>
/// The image's layers are unpacked in the ordinary mapping (container id c is stored as the user's namespace id c), so
/// the container sees them through copies whose owners are moved into this mapping (c below uid: c+1; uid: 0; above:
/// c), made once per layer and kept under idcopies/&lt;uid&gt;/ (<see cref="LayerCopies"/>, as the root engine's
/// copies per id range), by cp -a and the helper's idshift, both run as root of the user's namespace. With the single
/// mapping every file is the user's anyway and no copy is made.
/// </para>
/// ErrorIds: RootlessUserNotMapped (single mapping: a -User other than the user), RootlessUserNamespaceFailed (a copy).
/// </summary>
public static class RootlessKeepId
{
    /// <summary>ContainerInfo.UserNamespace of a rootless container with -UserNamespace KeepId.</summary>
    public const string ModeName = "KeepId";

    /// <summary>True for a rootless container made with -UserNamespace KeepId.</summary>
    public static bool Is(ContainerConfig c) => RootlessHost.Active && c.UserNamespace == ModeName;

    /// <summary>The spec's "keepid" value: the user's uid and gid, the ids it keeps inside.</summary>
    public static string SpecValue() => string.Join(':', RootlessHost.Uid, RootlessHost.Gid);

    /// <summary>
    /// At creation (after the mounts are known): the mode, the default user (uid:gid; the user's own name becomes its
    /// uid), HOME, and, with the single mapping, the refusal of any other user (RootlessUserNotMapped).
    /// </summary>
    internal static void Apply(ContainerConfig c, string? user)
    {
        c.UserNamespace = ModeName;
        string uid = RootlessHost.Uid.ToString(CultureInfo.InvariantCulture), gid = RootlessHost.Gid.ToString(CultureInfo.InvariantCulture);
        string u = (user ?? "").Trim(), g = "";
        int colon = u.IndexOf(':');
        if (colon >= 0) { g = u[(colon + 1)..]; u = u[..colon]; }
        if (u == Environment.UserName) u = uid;
        if (g == GroupName()) g = gid;
        c.User = u.Length == 0 ? uid + ":" + gid : g.Length == 0 ? u : u + ":" + g;
        if (RootlessHost.SingleMapping && ((u.Length > 0 && u != uid) || (g.Length > 0 && g != gid)))
            throw ContainersException.Invalid("RootlessUserNotMapped",
                $"The user '{user}' has no id in a KeepId container of the single mapping, where only your own uid {uid} and gid {gid} exist: {RootlessHost.SingleMappingReason()}. Leave -User out (or give {uid}:{gid}), or have subordinate ids given to you (usermod --add-subuids, package uidmap).", c.Name);
        if (!c.Env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal))) c.Env.Add("HOME=" + Home(c));
    }

    /// <summary>The user's home where a mount of the container reaches it (podman's rule), else the working directory.</summary>
    internal static string Home(ContainerConfig c)
    {
        string? home = HostHome();
        if (home is not null)
            for (string? d = home; d is { Length: > 1 }; d = Path.GetDirectoryName(d))
                if (c.Mounts.Any(m => m.Destination == d)) return home;
        return string.IsNullOrEmpty(c.WorkingDirectory) ? "/" : c.WorkingDirectory;
    }

    /// <summary>
    /// At each start: the /etc/passwd and /etc/group the container gets bound over the image's (written in its state
    /// directory) where the image has no entry for the user's uid or gid; returns the names written ("passwd",
    /// "group"), the others removed from an earlier start.
    /// </summary>
    internal static List<string> WriteEtcFiles(ContainerConfig c, string dir)
    {
        var written = new List<string>();
        uint uid = RootlessHost.Uid, gid = RootlessHost.Gid;
        string name = Environment.UserName, group = GroupName() ?? name;
        string home = c.Env.LastOrDefault(e => e.StartsWith("HOME=", StringComparison.Ordinal))?[5..] is { Length: > 0 } h ? h : Home(c);
        var passwd = UserResolver.ReadEtc(c, dir, "passwd");
        var groups = UserResolver.ReadEtc(c, dir, "group");
        string sUid = uid.ToString(CultureInfo.InvariantCulture), sGid = gid.ToString(CultureInfo.InvariantCulture);
        Write("passwd", passwd, !passwd.Any(l => l.Split(':') is { Length: >= 7 } f && (f[2] == sUid || f[0] == name)),
            $"{name}:*:{sUid}:{sGid}::{home}:/bin/sh");
        Write("group", groups, !groups.Any(l => l.Split(':') is { Length: >= 4 } f && (f[2] == sGid || f[0] == group)),
            $"{group}:x:{sGid}:{name}");
        // the container's root (namespace id 1 under KeepId: the first subordinate id) owns the files and the writable
        // layer's top, which is the container's /, as the image's root owns them; the user (uid inside) does not
        var give = written.Select(f => Path.Combine(dir, f)).ToList();
        string upper = Path.Combine(dir, "upper");
        if (Containers.Native.Sys.LayerFs.TryLstat(upper, out var st) && st.Uid == uid) give.Add(upper);
        if (!RootlessHost.SingleMapping && give.Count > 0)
            RootlessHost.RunInUserNamespace("give the KeepId container's /etc files to its root", ["/bin/chown", "-h", "--", "1:1", .. give]);
        return written;

        void Write(string file, string[] lines, bool add, string entry)
        {
            string path = Path.Combine(dir, file);
            if (!add) { File.Delete(path); return; }
            var sb = new StringBuilder();
            foreach (var l in lines) sb.Append(l).Append('\n');
            sb.Append(entry).Append('\n');
            AtomicFile.WriteAllText(path, sb.ToString(), durable: false);
            File.SetUnixFileMode(path, (UnixFileMode)0x1a4);
            written.Add(file);
        }
    }

    /// <summary>The id range the copies of a KeepId container's layers are kept under (idcopies/&lt;uid&gt;).</summary>
    public static IdRange CopyKey => new(RootlessHost.Uid, 0);

    /// <summary>True when the container's layers are seen through copies in the KeepId mapping (the full mapping).</summary>
    internal static bool UsesCopies(ContainerConfig c) => Is(c) && !RootlessHost.SingleMapping && c.RootFs is null;

    /// <summary>
    /// Copies a layer's tree (<paramref name="source"/>, ids of the ordinary mapping) into the empty directory
    /// <paramref name="destination"/> with its owners moved into the KeepId mapping: cp -a (links as links, hard links,
    /// modes, times, xattrs, whiteouts) and the helper's idshift (by descriptor, no link followed), as root of the
    /// user's namespace.
    /// </summary>
    internal static void CopyLayer(string source, string destination)
    {
        RootlessHost.RunInUserNamespace("copy a layer for KeepId", "/bin/cp", "-a", "-T", "--", source, destination);
        ShiftTree(destination);
    }

    /// <summary>Moves the owners of a tree of the ordinary mapping's ids into the KeepId mapping (the helper's idshift).</summary>
    internal static void ShiftTree(string dir)
    {
        var (u, g) = RootlessHost.SubordinateIds();
        RootlessHost.RunInUserNamespace("give " + dir + " the KeepId owners", EngineFiles.HelperPath, "idshift", dir,
            FormattableString.Invariant($"{RootlessHost.Uid}:{u.Count}"), FormattableString.Invariant($"{RootlessHost.Gid}:{g.Count}"));
    }

    /// <summary>
    /// A KeepId container's uid as the user's namespace of the ordinary mapping (0 the user, 1..N the subordinate
    /// ids) names it: below the user's uid c+1, the user's uid 0, above c-uid+min(uid,N) (the helper's idshift).
    /// </summary>
    public static long NamespaceUid(long c) => ToNamespace(c, RootlessHost.Uid, RootlessHost.SingleMapping ? 0 : RootlessHost.SubordinateIds().Uids.Count);

    /// <summary>A KeepId container's gid as the user's namespace of the ordinary mapping names it.</summary>
    public static long NamespaceGid(long c) => ToNamespace(c, RootlessHost.Gid, RootlessHost.SingleMapping ? 0 : RootlessHost.SubordinateIds().Gids.Count);

    private static long ToNamespace(long c, long own, long count)
    {
        long n1 = Math.Min(own, count);
        if (c == own) return 0;
        if (c < n1) return c + 1;
        if (c > own && c - own + n1 <= count) return c - own + n1;
        throw ContainersException.Invalid("RootlessUserNotMapped", count == 0
            ? $"The id {c} has no id on the host in a KeepId container of the single mapping (its only id: {own})." : $"The id {c} has no id on the host in a KeepId container (its ids: 0..{n1 - 1}, {own}, {own + 1}..{own + count - n1}).", c);
    }

    [DllImport("libc", SetLastError = true)] private static extern IntPtr getpwuid(uint uid);
    [DllImport("libc", SetLastError = true)] private static extern IntPtr getgrgid(uint gid);

    /// <summary>The user's home directory from the host's user database (pw_dir), or $HOME.</summary>
    private static string? HostHome()
    {
        IntPtr pw = getpwuid(RootlessHost.Uid);
        // struct passwd: pw_name, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell
        string? dir = pw == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(pw, 2 * IntPtr.Size + 8 + IntPtr.Size));
        if (string.IsNullOrEmpty(dir)) dir = Environment.GetEnvironmentVariable("HOME");
        return string.IsNullOrEmpty(dir) || !Path.IsPathRooted(dir) ? null : Path.TrimEndingDirectorySeparator(dir);
    }

    /// <summary>The name of the user's primary group in the host's group database.</summary>
    private static string? GroupName()
    {
        IntPtr gr = getgrgid(RootlessHost.Gid);
        return gr == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(gr));
    }
}
