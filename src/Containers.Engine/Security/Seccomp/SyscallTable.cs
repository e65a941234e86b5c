using System.Globalization;

namespace Containers.Engine.Security.Seccomp;

/// <summary>System call names and numbers of x86_64 (data generated from the kernel headers; see README.md here).</summary>
public static class SyscallTable
{
    private static readonly Lazy<Dictionary<string, int>> X64 = new(() =>
    {
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        using var s = typeof(SyscallTable).Assembly.GetManifestResourceStream("Containers.Seccomp.syscalls-x86_64.txt")
            ?? throw new InvalidOperationException("The engine lacks its embedded system call table.");
        using var r = new StreamReader(s);
        while (r.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int sp = line.IndexOf(' ');
            d[line[..sp]] = int.Parse(line.AsSpan(sp + 1), NumberStyles.None, CultureInfo.InvariantCulture);
        }
        return d;
    });

    /// <summary>The x86_64 number of a system call, or null when the table does not know the name.</summary>
    public static int? X86_64(string name) => X64.Value.TryGetValue(name, out int nr) ? nr : null;

    /// <summary>The highest number the x86_64 table knows.</summary>
    public static int X86_64Max => X64.Value.Values.Max();
}
