using System.Globalization;

namespace Containers.Helper;

/// <summary>What the helper reads about its own process from /proc/self: its argument area and its mappings.</summary>
internal static class ProcSelf
{
    /// <summary>
    /// The address range of this process's argument strings (fields 48 and 49 of /proc/self/stat), which
    /// /proc/&lt;pid&gt;/cmdline reads; null when it cannot be read or is implausibly large.
    /// </summary>
    public static (ulong Start, int Length)? ArgumentArea()
    {
        try
        {
            string stat = File.ReadAllText("/proc/self/stat");
            // the split starts at field 3 (after the parenthesised command name)
            var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            ulong start = ulong.Parse(f[45], CultureInfo.InvariantCulture), end = ulong.Parse(f[46], CultureInfo.InvariantCulture);
            if (end <= start || end - start > 1 << 20) return null;
            return (start, (int)(end - start));
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException) { return null; }
    }

    /// <summary>
    /// Parses a mapping line of /proc/self/maps or the header line of one in /proc/self/smaps
    /// ("start-end perms offset dev inode path"); false for any other line.
    /// </summary>
    public static bool TryParseMapping(string line, out ulong start, out ulong end, out string perms, out string path)
    {
        start = end = 0; perms = path = "";
        int dash = line.IndexOf('-'), space = line.IndexOf(' ');
        if (line.Length == 0 || !char.IsAsciiHexDigit(line[0]) || dash <= 0 || space < dash) return false;
        var f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 5) return false;
        if (!ulong.TryParse(f[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out start)) return false;
        if (!ulong.TryParse(f[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out end)) return false;
        perms = f[1];
        path = f.Length == 6 ? f[5].Trim() : "";
        return true;
    }
}
