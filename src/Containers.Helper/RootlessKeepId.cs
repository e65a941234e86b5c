using System.Globalization;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Helper;

/// <summary>
/// Rootless -UserNamespace KeepId (podman's --userns=keep-id; the engine's Rootless/RootlessKeepId.cs): the container's
/// user namespace maps the user's uid and gid to the same ids inside. Over the user's N subordinate ids, as podman's
/// GetKeepIdMapping: inside 0..uid-1 are the first uid subordinate ids, uid is the user, uid+1..N the rest. With the
/// single mapping (no subordinate ids) only "uid uid 1" (setgroups deny), written by the monitor itself.
/// </summary>
internal static class RootlessKeepId
{
    /// <summary>
    /// The child's maps, as the host sees them (the default network: its user namespace is a child of the host's):
    /// newuidmap/newgidmap with three ranges, or the single mapping written here. Null on success.
    /// </summary>
    public static string? WriteMaps(int pid, string mapping, string keepId)
    {
        var f = mapping.Split(':');
        var k = keepId.Split(':');
        if (f.Length != 6 || k.Length != 2) return "the id mapping is malformed: " + mapping + " " + keepId;
        string p = pid.ToString(CultureInfo.InvariantCulture);
        if (f[2] == "0" && f[5] == "0")
        {
            try
            {
                File.WriteAllText($"/proc/{p}/uid_map", $"{k[0]} {f[0]} 1\n");
                File.WriteAllText($"/proc/{p}/setgroups", "deny");
                File.WriteAllText($"/proc/{p}/gid_map", $"{k[1]} {f[3]} 1\n");
                return null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return "cannot write the single KeepId mapping: " + ex.Message;
            }
        }
        return Run("/usr/bin/newuidmap", p, HostRanges(long.Parse(k[0], CultureInfo.InvariantCulture), long.Parse(f[0], CultureInfo.InvariantCulture), long.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture)))
            ?? Run("/usr/bin/newgidmap", p, HostRanges(long.Parse(k[1], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture)));
    }

    /// <summary>newuidmap's triples: inside 0..n1-1 = sub..; own = the user's host id; own+1.. = the rest of the range.</summary>
    private static List<string> HostRanges(long own, long hostOwn, long subStart, long count)
    {
        long n1 = Math.Min(own, count);
        var r = new List<string>();
        if (n1 > 0) r.AddRange([Str(0), Str(subStart), Str(n1)]);
        r.AddRange([Str(own), Str(hostOwn), "1"]);
        if (count - n1 > 0) r.AddRange([Str(own + 1), Str(subStart + n1), Str(count - n1)]);
        return r;
    }

    /// <summary>
    /// The child's maps on a user network: its user namespace is a child of the holder's (0 = the user, 1..N the
    /// subordinate ids), of which this monitor is root, so it writes them itself. Null on success.
    /// </summary>
    public static string? WriteNestedMaps(int pid, string mapping, string keepId)
    {
        var f = mapping.Split(':');
        var k = keepId.Split(':');
        if (f.Length != 6 || k.Length != 2) return "the id mapping is malformed: " + mapping + " " + keepId;
        try
        {
            string p = pid.ToString(CultureInfo.InvariantCulture);
            File.WriteAllText($"/proc/{p}/uid_map", NestedMap(long.Parse(k[0], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture)));
            File.WriteAllText($"/proc/{p}/gid_map", NestedMap(long.Parse(k[1], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture)));
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return "cannot write the KeepId maps below the rootless network namespace's: " + ex.Message;
        }
    }

    private static string NestedMap(long own, long count)
    {
        long n1 = Math.Min(own, count);
        string map = n1 > 0 ? $"0 1 {Str(n1)}\n" : "";
        map += $"{Str(own)} 0 1\n";
        if (count - n1 > 0) map += $"{Str(own + 1)} {Str(n1 + 1)} {Str(count - n1)}\n";
        return map;
    }

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string? Run(string file, string pid, List<string> args) => Rootless.Run(file, [pid, .. args]);

    /// <summary>
    /// "idshift &lt;dir&gt; &lt;uid&gt;:&lt;count&gt; &lt;gid&gt;:&lt;count&gt;" (as root of the user's namespace): every
    /// entry of the tree, which holds the ordinary mapping's ids (container id c as namespace id c), gets the id that
    /// container id has under KeepId (c below uid: c+1; uid: 0; above: c-uid+min(uid,count)); an id KeepId does not map
    /// is kept. Walked by descriptor, no link followed, each inode once; set-id bits given again after the chown.
    /// </summary>
    public static int IdShift(string[] args)
    {
        if (args.Length != 4) { Console.Error.WriteLine("idshift: usage: idshift <dir> <uid>:<count> <gid>:<count>"); return 2; }
        try
        {
            var u = args[2].Split(':').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            var g = args[3].Split(':').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            if (u.Length != 2 || g.Length != 2) throw new FormatException("malformed ids: " + args[2] + " " + args[3]);
            var shifter = new Shifter(u[0], u[1], g[0], g[1]);
            using var root = RootedFs.Open(args[1], RootedFs.Resolution.NoSymlinks);
            var st = RootedFs.Fstat(root.Root, ".");
            shifter.Walk(root.Root, "");
            shifter.Shift(root.Root, "", st, ".");
            return 0;
        }
        catch (Exception ex) when (ex is NativeException or IOException or FormatException or OverflowException)
        {
            Console.Error.WriteLine("idshift: " + ex.Message);
            return 1;
        }
    }

    private sealed class Shifter(long uid, long uidCount, long gid, long gidCount)
    {
        private readonly HashSet<(ulong, ulong)> _done = [];

        internal static long Map(long c, long own, long count)
        {
            long n1 = Math.Min(own, count);
            if (c < n1) return c + 1;
            if (c == own) return 0;
            if (c > own && c - own + n1 <= count) return c - own + n1;
            return c;
        }

        public void Walk(SafeFileHandle dir, string rel)
        {
            foreach (var (name, _) in RootedFs.ReadDir(dir, rel))
            {
                string r = rel.Length == 0 ? name : rel + "/" + name;
                if (!RootedFs.TryStatAt(dir, name, out var st, r)) continue;
                if ((st.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR)
                {
                    using var d = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, r);
                    Walk(d, r);
                }
                Shift(dir, name, st, r);
            }
        }

        public void Shift(SafeFileHandle dir, string name, LayerFs.Stat st, string what)
        {
            // a hard link's inode is shifted once
            if (st.Nlink > 1 && (st.Mode & LayerFs.S_IFMT) != LayerFs.S_IFDIR && !_done.Add((st.Dev, st.Ino))) return;
            int nu = (int)Map(st.Uid, uid, uidCount), ng = (int)Map(st.Gid, gid, gidCount);
            if (nu == st.Uid && ng == st.Gid) return;
            RootedFs.ChownAt(dir, name, nu, ng, what);
            // a chown clears setuid and setgid of a file: given again
            if ((st.Mode & LayerFs.S_IFMT) == LayerFs.S_IFREG && (st.Mode & 0xc00) != 0) RootedFs.ChmodAt(dir, name, st.Mode & 0xfff, what);
        }
    }
}
