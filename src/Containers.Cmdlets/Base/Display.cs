using System.Globalization;

namespace Containers.Cmdlets.Base;

/// <summary>How the table views (Format/*.Format.ps1xml) show times and sizes, in one place so every view shows
/// them alike: local time as yyyy-MM-dd HH:mm:ss, sizes in binary units. Only for display: the objects keep
/// [datetime] (UTC) and [long] bytes, so scripts sort and compute on the real values.</summary>
public static class Display
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

    /// <summary>A point in time as local yyyy-MM-dd HH:mm:ss; empty for null or an unset time.</summary>
    public static string Time(object? value) => value switch
    {
        DateTime t when t != default => t.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        DateTimeOffset o => o.LocalDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        _ => "",
    };

    /// <summary>A size in bytes as 512 B, 1.9 MiB, 553 MiB (three significant digits at most); empty for
    /// null, and "unlimited" for a negative limit.</summary>
    public static string Size(object? value)
    {
        if (value is null) return "";
        long bytes = Convert.ToInt64(value, CultureInfo.InvariantCulture);
        if (bytes < 0) return "unlimited";
        double v = bytes;
        int unit = 0;
        while (v >= 1024 && unit < Units.Length - 1) { v /= 1024; unit++; }
        string number = unit == 0 ? bytes.ToString(CultureInfo.InvariantCulture)
            : v.ToString(v < 10 ? "0.##" : v < 100 ? "0.#" : "0", CultureInfo.InvariantCulture);
        return number + " " + Units[unit];
    }
}
