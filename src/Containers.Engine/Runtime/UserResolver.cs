using System.Globalization;
using Containers.Engine.Errors;
using Containers.Native.Sys;

namespace Containers.Engine.Runtime;

/// <summary>Turns USER ("name", "uid", "name:group", "uid:gid") into numbers from the image's /etc/passwd and /etc/group.</summary>
internal static class UserResolver
{
    public sealed record Ids(uint Uid, uint Gid, uint[] Groups, string Home);

    /// <summary>
    /// The file as the container sees it: the writable layer first, then the image layers top down. Each layer is
    /// a tree the image or the container controls, so the file is opened inside it (a link there resolves in that
    /// layer, never on the host), and only a regular file is read (a whiteout or a FIFO ends the search).
    /// </summary>
    internal static string[] ReadEtc(ContainerConfig c, string dir, string name)
    {
        foreach (var layer in new[] { Path.Combine(dir, "upper") }.Concat(Enumerable.Reverse(c.LowerDirs)))
        {
            try
            {
                using var fs = RootedFs.Open(layer, RootedFs.Resolution.InRoot);
                using var h = fs.TryOpen("etc/" + name, FileSys.O_RDONLY | FileSys.O_NONBLOCK, 0, followLast: true);
                if (h is null) continue;
                if ((RootedFs.Fstat(h).Mode & LayerFs.S_IFMT) != LayerFs.S_IFREG) return [];
                using var stream = new FileStream(h, FileAccess.Read, 1 << 12);
                using var reader = new StreamReader(stream);
                var lines = new List<string>();
                for (string? l; (l = reader.ReadLine()) is not null && lines.Count < 100_000;) lines.Add(l);
                return lines.ToArray();
            }
            catch (NativeException) { }
            catch (IOException) { }
        }
        return [];
    }

    public static Ids Resolve(ContainerConfig c, string dir) => Resolve(c, dir, c.User);

    public static Ids Resolve(ContainerConfig c, string dir, string? user)
    {
        if (string.IsNullOrEmpty(user)) user = "0";
        string u = user, g = "";
        int colon = user.IndexOf(':');
        if (colon >= 0) { u = user[..colon]; g = user[(colon + 1)..]; }
        var passwd = ReadEtc(c, dir, "passwd").Select(l => l.Split(':')).Where(f => f.Length >= 7).ToList();
        var groups = ReadEtc(c, dir, "group").Select(l => l.Split(':')).Where(f => f.Length >= 4).ToList();
        uint uid, gid;
        string home = "/";
        string? userName = null;
        if (uint.TryParse(u, NumberStyles.None, CultureInfo.InvariantCulture, out uid))
        {
            var e = passwd.FirstOrDefault(f => f[2] == u);
            // a uid the image does not know runs with gid 0, as in docker and podman
            gid = e is not null ? uint.Parse(e[3], CultureInfo.InvariantCulture) : 0;
            if (e is not null) { home = e[5]; userName = e[0]; }
            else if (uid == 0) home = "/root";
        }
        else
        {
            var e = passwd.FirstOrDefault(f => f[0] == u) ?? throw ContainersException.NotFound("UserNotFound", RuntimeMessages.UserNotFound(u), u);
            uid = uint.Parse(e[2], CultureInfo.InvariantCulture);
            gid = uint.Parse(e[3], CultureInfo.InvariantCulture);
            home = e[5];
            userName = e[0];
        }
        if (g.Length > 0)
        {
            if (!uint.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                var ge = groups.FirstOrDefault(f => f[0] == g) ?? throw ContainersException.NotFound("GroupNotFound", RuntimeMessages.GroupNotFound(g), g);
                gid = uint.Parse(ge[2], CultureInfo.InvariantCulture);
            }
        }
        var extra = new IdSet(gid);
        // "user:group" runs with that group only (docker and podman add no supplementary groups then)
        if (userName is not null && g.Length == 0)
            foreach (var ge in groups)
                if (ge[3].Split(',').Contains(userName) && uint.TryParse(ge[2], out uint x)) extra.Add(x);
        // -GroupAdd's groups come on top in every case, user:group too (docker's getUser adds HostConfig.GroupAdd last)
        foreach (var x in AddedGroups(c, groups)) extra.Add(x);
        return new Ids(uid, gid, extra.ToArray(), home.Length == 0 ? "/" : home);
    }

    /// <summary>
    /// A small sorted set of ids (a user's groups): what SortedSet&lt;uint&gt; did, without its generic code over a
    /// value type, which has no precompiled (ReadyToRun) form and cost the session's first start its compilation.
    /// </summary>
    private sealed class IdSet(uint first)
    {
        private uint[] _ids = [first, 0, 0, 0];
        private int _count = 1;

        public void Add(uint id)
        {
            int i = 0;
            while (i < _count && _ids[i] < id) i++;
            if (i < _count && _ids[i] == id) return;
            if (_count == _ids.Length)
            {
                var grown = new uint[_count * 2];
                Array.Copy(_ids, grown, _count);
                _ids = grown;
            }
            Array.Copy(_ids, i, _ids, i + 1, _count - i);
            _ids[i] = id;
            _count++;
        }

        public uint[] ToArray()
        {
            var r = new uint[_count];
            Array.Copy(_ids, r, _count);
            return r;
        }
    }

    private static readonly uint[] NoIds = new uint[0];

    /// <summary>The -GroupAdd groups as numbers: a number as is, a name from the image's /etc/group.</summary>
    public static uint[] AddedGroups(ContainerConfig c, string dir) =>
        c.GroupAdd.Count == 0 ? NoIds : AddedGroups(c, ReadEtc(c, dir, "group").Select(l => l.Split(':')).Where(f => f.Length >= 4).ToList());

    private static uint[] AddedGroups(ContainerConfig c, List<string[]> groups)
    {
        if (c.GroupAdd.Count == 0) return NoIds; // every start: no List<uint> (its code is compiled at run time)
        var r = new List<uint>();
        foreach (var g in c.GroupAdd)
        {
            if (g.Length == 0 || g.Any(ch => ch is ':' or ',' || char.IsWhiteSpace(ch) || char.IsControl(ch)))
                throw ContainersException.Invalid("InvalidGroupAdd", $"The group '{g}' is not valid: give a group name of the image or a number.", g);
            if (uint.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out uint n))
            {
                if (n == uint.MaxValue) throw ContainersException.Invalid("InvalidGroupAdd", $"The group '{g}' is not valid: {n} is not a group id.", g);
                r.Add(n);
                continue;
            }
            var ge = groups.FirstOrDefault(f => f[0] == g) ?? throw ContainersException.NotFound("GroupNotFound", RuntimeMessages.GroupNotFound(g), g);
            if (!uint.TryParse(ge[2], NumberStyles.None, CultureInfo.InvariantCulture, out n))
                throw ContainersException.NotFound("GroupNotFound", RuntimeMessages.GroupNotFound(g), g);
            r.Add(n);
        }
        return r.ToArray();
    }
}
