using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Containers.Engine.Volumes;

namespace Containers.Engine.Runtime;

/// <summary>
/// docker run --mount: comma-separated key=value fields (a field may be double-quoted, as docker's CSV reader
/// allows), mapped onto the same mounts -Volume and -Tmpfs make. Keys as docker's: type (bind, volume, tmpfs;
/// volume when not given), source/src, target/destination/dst, readonly/ro[=true|false|1|0], bind-propagation,
/// volume-nocopy[=bool], tmpfs-size (bytes, or docker's units), tmpfs-mode (octal), consistency (ignored, as docker
/// on Linux). An unknown key, a key of another type, or a missing part is an argument error naming it.
/// </summary>
internal static class MountSpec
{
    private static readonly Regex SizeRx = new(@"^(\d+(?:\.\d+)?)([kmgtp]?)(?:i?b)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static ContainersException Bad(string spec, string why, object? key = null)
        => ContainersException.Invalid("InvalidMountSpec", $"The mount '{spec}' is not valid: {why}.", key ?? spec);

    /// <summary>The fields of a --mount value, split on commas outside double quotes, quotes removed.</summary>
    internal static List<string> Fields(string spec)
    {
        var fields = new List<string>();
        var cur = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < spec.Length; i++)
        {
            char ch = spec[i];
            if (ch == '"')
            {
                if (quoted && i + 1 < spec.Length && spec[i + 1] == '"') { cur.Append('"'); i++; }
                else quoted = !quoted;
            }
            else if (ch == ',' && !quoted) { fields.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(ch);
        }
        if (quoted) throw Bad(spec, "a double quote is not closed");
        fields.Add(cur.ToString());
        return fields;
    }

    private static bool Bool(string spec, string key, string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "true" or "1" => true,
        "false" or "0" => false,
        _ => throw Bad(spec, $"'{key}' takes true or false, not '{value}'", key),
    };

    public static MountConfig Parse(string spec)
    {
        string? type = null, source = null, target = null, propagation = null;
        bool ro = false, noCopy = false;
        long? tmpfsSize = null;
        uint? tmpfsMode = null;
        var seen = new List<string>(); // keys of one type only, checked once the type is known
        foreach (var raw in Fields(spec))
        {
            string field = raw.Trim();
            if (field.Length == 0) continue;
            int eq = field.IndexOf('=');
            string key = (eq < 0 ? field : field[..eq]).Trim().ToLowerInvariant();
            string? value = eq < 0 ? null : field[(eq + 1)..];
            string Req() => string.IsNullOrEmpty(value) ? throw Bad(spec, $"'{key}' needs a value ({key}=...)", key) : value;
            switch (key)
            {
                case "type": type = Req().ToLowerInvariant(); break;
                case "source" or "src": source = Req(); break;
                case "target" or "destination" or "dst": target = Req(); break;
                case "readonly" or "ro": ro = Bool(spec, key, value); break;
                case "consistency": Req(); break;
                case "bind-propagation":
                    propagation = Req().ToLowerInvariant();
                    if (propagation is not ("private" or "rprivate" or "shared" or "rshared" or "slave" or "rslave"))
                        throw Bad(spec, $"bind-propagation '{value}' is not one of private, rprivate, shared, rshared, slave, rslave", key);
                    seen.Add(key);
                    break;
                case "volume-nocopy": noCopy = Bool(spec, key, value); seen.Add(key); break;
                case "tmpfs-size":
                {
                    var m = SizeRx.Match(Req().Trim());
                    if (!m.Success) throw Bad(spec, $"tmpfs-size '{value}' is not a size (bytes, or a number with k, m, g)", key);
                    decimal bytes = decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                    for (int i = 0, pow = "bkmgtp".IndexOf(m.Groups[2].Value.Length == 0 ? 'b' : char.ToLowerInvariant(m.Groups[2].Value[0])); i < pow; i++) bytes *= 1024;
                    if (bytes <= 0 || bytes > long.MaxValue) throw Bad(spec, $"tmpfs-size '{value}' is out of range", key);
                    tmpfsSize = (long)bytes;
                    seen.Add(key);
                    break;
                }
                case "tmpfs-mode":
                {
                    string v = Req().Trim();
                    if (v.Length is 0 or > 4 || !v.All(ch => ch is >= '0' and <= '7')) throw Bad(spec, $"tmpfs-mode '{value}' is not an octal mode", key);
                    tmpfsMode = Convert.ToUInt32(v, 8);
                    seen.Add(key);
                    break;
                }
                case "bind-nonrecursive" or "bind-recursive" or "volume-driver" or "volume-label" or "volume-opt" or "volume-subpath" or "image-subpath":
                    throw new ContainersException(ErrorKind.NotImplemented, "MountOptionNotSupported", $"The mount '{spec}' uses '{key}', which this engine does not support.", key);
                default:
                    throw Bad(spec, $"'{key}' is not a mount option (type, source, target, readonly, bind-propagation, volume-nocopy, tmpfs-size, tmpfs-mode)", key);
            }
        }
        type ??= "volume";
        if (type is not ("bind" or "volume" or "tmpfs")) throw Bad(spec, $"type '{type}' is not bind, volume or tmpfs", "type");
        if (target is null) throw Bad(spec, "target is required (target=/path)", "target");
        if (!target.StartsWith('/')) throw Bad(spec, $"target '{target}' is not an absolute path", "target");
        foreach (var k in seen)
        {
            string owner = k.StartsWith("bind-", StringComparison.Ordinal) ? "bind" : k.StartsWith("volume-", StringComparison.Ordinal) ? "volume" : "tmpfs";
            if (owner != type) throw Bad(spec, $"'{k}' is an option of type={owner}, not type={type}", k);
        }
        string dest = Path.GetFullPath(target);
        switch (type)
        {
            case "bind":
            {
                if (source is null) throw Bad(spec, "source is required for a bind mount (source=/host/path)", "source");
                if (!source.StartsWith('/')) throw Bad(spec, $"the bind source '{source}' is not an absolute path", "source");
                // the container's mount namespace is private from the host's: propagation to or from the host is not set up
                if (propagation is not (null or "private" or "rprivate"))
                    throw new ContainersException(ErrorKind.NotImplemented, "MountOptionNotSupported",
                        $"The mount '{spec}' asks for bind-propagation={propagation}; only private and rprivate (the default) are supported.", "bind-propagation");
                string src = Path.GetFullPath(source);
                if (!Path.Exists(src)) throw ContainersException.NotFound("BindSourceNotFound", RuntimeMessages.BindSourceMissing(src), src);
                return new MountConfig { Type = "bind", Source = src, Destination = dest, ReadOnly = ro, Propagation = propagation };
            }
            case "volume":
                if (source is null)
                    return new MountConfig { Type = "volume", Source = VolumeStore.NewAnonymousName(), Destination = dest, ReadOnly = ro, Anonymous = true, NoCopy = noCopy };
                VolumeStore.ValidateName(source);
                return new MountConfig { Type = "volume", Source = source, Destination = dest, ReadOnly = ro, NoCopy = noCopy };
            default:
                if (source is not null) throw Bad(spec, "a tmpfs mount takes no source", "source");
                var opts = new List<string>();
                opts.Add("mode=" + Convert.ToString(tmpfsMode ?? 0x3ff /* 1777 */, 8));
                if (tmpfsSize is long size) opts.Add("size=" + size.ToString(CultureInfo.InvariantCulture));
                return new MountConfig { Type = "tmpfs", Source = "tmpfs", Destination = dest, ReadOnly = ro, Options = string.Join(',', opts) };
        }
    }
}
