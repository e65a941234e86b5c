namespace Containers.Engine.Audit;

/// <summary>
/// Debian package versions ([epoch:]upstream[-revision]) ordered as dpkg orders them (dpkg's
/// lib/dpkg/version.c: verrevcmp). Within upstream and revision, non-digit runs compare character by
/// character with '~' before everything (even the end), the end before letters, letters before the other
/// characters; digit runs compare as numbers. A missing epoch is 0 and a missing revision is "" (= "0").
/// </summary>
public static class DebianVersion
{
    /// <summary>&lt;0, 0 or &gt;0 as <paramref name="a"/> is older than, the same as or newer than <paramref name="b"/>.</summary>
    public static int Compare(string a, string b)
    {
        var (ea, ua, ra) = Split(a);
        var (eb, ub, rb) = Split(b);
        if (ea != eb) return ea < eb ? -1 : 1;
        int c = VerRevCmp(ua, ub);
        return c != 0 ? Math.Sign(c) : Math.Sign(VerRevCmp(ra, rb));
    }

    /// <summary>The epoch, upstream version and revision of a version string (blanks around it ignored).</summary>
    public static (long Epoch, string Upstream, string Revision) Split(string version)
    {
        string v = version.Trim();
        long epoch = 0;
        int colon = v.IndexOf(':');
        if (colon > 0 && long.TryParse(v.AsSpan(0, colon), System.Globalization.NumberStyles.None, null, out var e)) { epoch = e; v = v[(colon + 1)..]; }
        int dash = v.LastIndexOf('-');
        return dash >= 0 ? (epoch, v[..dash], v[(dash + 1)..]) : (epoch, v, "");
    }

    private static int Order(char c) => c switch
    {
        >= '0' and <= '9' => 0,
        >= 'a' and <= 'z' or >= 'A' and <= 'Z' => c,
        '~' => -1,
        '\0' => 0,
        _ => c + 256,
    };

    private static int VerRevCmp(string a, string b)
    {
        int i = 0, j = 0;
        char At(string s, int k) => k < s.Length ? s[k] : '\0';
        while (i < a.Length || j < b.Length)
        {
            int firstDiff = 0;
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                int ac = Order(At(a, i)), bc = Order(At(b, j));
                if (ac != bc) return ac - bc;
                i++; j++;
            }
            while (At(a, i) == '0') i++;
            while (At(b, j) == '0') j++;
            while (char.IsAsciiDigit(At(a, i)) && char.IsAsciiDigit(At(b, j)))
            {
                if (firstDiff == 0) firstDiff = At(a, i) - At(b, j);
                i++; j++;
            }
            if (char.IsAsciiDigit(At(a, i))) return 1;
            if (char.IsAsciiDigit(At(b, j))) return -1;
            if (firstDiff != 0) return firstDiff;
        }
        return 0;
    }
}
