using System.Diagnostics;
using System.Globalization;
using Containers.Engine.Errors;

namespace Containers.Engine.UserNamespaces;

/// <summary>
/// The dedicated system user whose subordinate ranges (/etc/subuid, /etc/subgid) Auto containers take their ids
/// from, as Docker's dockremap: <see cref="UserName"/>. Made by <see cref="Create"/> on first use (the cmdlets ask
/// ShouldProcess first), with useradd --system and usermod --add-subuids/--add-subgids, never by writing the files.
/// </summary>
public static class SubordinateIds
{
    public const string UserName = "pscontainers";

    /// <summary>The ranges made for the user: 8192 containers' worth of ids, far above ordinary users' ranges.</summary>
    public const uint DefaultStart = 1_000_000_000, DefaultCount = 8192 * IdRange.Size;

    /// <summary>The user's subordinate uid and gid ranges (the first of each), or null when it has none.</summary>
    public static (IdRange Uids, IdRange Gids)? Find(string subuid = "/etc/subuid", string subgid = "/etc/subgid")
    {
        // every create under Auto asks: read the files again only when one of them changed (three stats, no reads)
        var key = (Stamp(subuid), Stamp(subgid), Stamp("/etc/passwd"));
        var cached = _found;
        if (cached is not null && cached.Value.Files == (subuid, subgid) && cached.Value.Key == key) return cached.Value.Ranges;
        var u = Read(subuid);
        var g = Read(subgid);
        (IdRange, IdRange)? r = u is null || g is null ? null : (u.Value, g.Value);
        _found = ((subuid, subgid), key, r);
        return r;
    }

    private static ((string, string) Files, (long, long, long) Key, (IdRange Uids, IdRange Gids)? Ranges)? _found;

    private static long Stamp(string file)
    {
        var fi = new FileInfo(file);
        return fi.Exists ? fi.LastWriteTimeUtc.Ticks ^ (fi.Length << 40) : -1;
    }

    private static IdRange? Read(string file)
    {
        string? uid = null;
        try { uid = UidOf(UserName); } catch (IOException) { }
        try
        {
            return FirstRange(File.ReadLines(file), UserName, uid);
        }
        catch (FileNotFoundException) { }
        catch (DirectoryNotFoundException) { }
        return null;
    }

    /// <summary>The first range of at least <see cref="IdRange.Size"/> ids that /etc/subuid or /etc/subgid lines give a user (by name or uid).</summary>
    internal static IdRange? FirstRange(IEnumerable<string> lines, string name, string? uid)
    {
        foreach (var line in lines)
        {
            var f = line.Split(':');
            if (f.Length != 3 || (f[0] != name && f[0] != uid)) continue;
            if (uint.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint s)
                && uint.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out uint c) && c >= IdRange.Size)
                return new IdRange(s, c);
        }
        return null;
    }

    private static string? UidOf(string name)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var f = line.Split(':');
            if (f.Length > 2 && f[0] == name) return f[2];
        }
        return null;
    }

    /// <summary>The first start at or above <see cref="DefaultStart"/> that overlaps no range of /etc/subuid or /etc/subgid.</summary>
    internal static uint FreeStart()
    {
        long start = DefaultStart;
        var taken = new List<(long S, long E)>();
        foreach (var file in new[] { "/etc/subuid", "/etc/subgid" })
        {
            try
            {
                foreach (var line in File.ReadLines(file))
                {
                    var f = line.Split(':');
                    if (f.Length == 3 && long.TryParse(f[1], out long s) && long.TryParse(f[2], out long c)) taken.Add((s, s + c));
                }
            }
            catch (IOException) { }
        }
        bool moved = true;
        while (moved)
        {
            moved = false;
            foreach (var (s, e) in taken)
                if (start < e && s < start + DefaultCount) { start = e; moved = true; }
        }
        if (start + DefaultCount > uint.MaxValue - 1)
            throw ContainersException.System("SubordinateIdsExhausted", "No free subordinate id range is left for the pscontainers user.", "/etc/subuid");
        return (uint)start;
    }

    /// <summary>Makes the system user and its ranges (root only). Idempotent: what exists is kept.</summary>
    public static (IdRange Uids, IdRange Gids) Create()
    {
        if (Find() is { } have) return have;
        string? uid = null;
        try { uid = UidOf(UserName); } catch (IOException) { }
        if (uid is null)
            Run("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                "--comment", "PowerShell Containers user namespaces", UserName);
        uint start = FreeStart();
        string range = $"{start}-{(long)start + DefaultCount - 1}";
        Run("usermod", "--add-subuids", range, "--add-subgids", range, UserName);
        return Find() ?? throw ContainersException.System("SubordinateIdsNotCreated",
            $"usermod ran, but /etc/subuid or /etc/subgid has no range of {UserName}.", "/etc/subuid");
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw ContainersException.System("SubordinateIdsNotCreated", $"{file} failed (exit code {p.ExitCode}): {err.Trim()}", UserName);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw ContainersException.System("SubordinateIdsNotCreated", $"Cannot run {file}: {ex.Message} (package passwd).", UserName, ex);
        }
    }
}
