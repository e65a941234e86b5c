using System.Globalization;

namespace Containers.Engine.Security.Seccomp;

/// <summary>System call names and numbers of x86_64 and i386 (data generated from the kernel headers; see README.md here).</summary>
public static class SyscallTable
{
    private static readonly Lazy<Dictionary<string, int>> X64 = new(() => Load("Containers.Seccomp.syscalls-x86_64.txt"));
    private static readonly Lazy<Dictionary<string, int>> X86 = new(() => Load("Containers.Seccomp.syscalls-i386.txt"));

    private static Dictionary<string, int> Load(string resource)
    {
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        using var s = typeof(SyscallTable).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The engine lacks its embedded system call table {resource}.");
        using var r = new StreamReader(s);
        while (r.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int sp = line.IndexOf(' ');
            d[line[..sp]] = int.Parse(line.AsSpan(sp + 1), NumberStyles.None, CultureInfo.InvariantCulture);
        }
        return d;
    }

    /// <summary>The x86_64 number of a system call, or null when the table does not know the name.</summary>
    public static int? X86_64(string name) => X64.Value.TryGetValue(name, out int nr) ? nr : null;

    /// <summary>The i386 number of a system call (int 0x80 from any process), or null when the table does not know the name.</summary>
    public static int? I386(string name) => X86.Value.TryGetValue(name, out int nr) ? nr : null;

    /// <summary>The number of a system call in the table of an AUDIT_ARCH_* architecture.</summary>
    public static int? Lookup(uint auditArch, string name) => auditArch switch
    {
        SeccompCompiler.AuditArchX86_64 => X86_64(name),
        SeccompCompiler.AuditArchI386 => I386(name),
        _ => null,
    };
}
