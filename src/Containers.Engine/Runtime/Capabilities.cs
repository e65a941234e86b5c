using Containers.Engine.Errors;

namespace Containers.Engine.Runtime;

/// <summary>Linux capability names and Docker's default set.</summary>
public static class Capabilities
{
    private static readonly string[] Names =
    [
        "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE",
    ];

    /// <summary>The capability names this engine knows, without CAP_ (for completion and messages).</summary>
    public static IReadOnlyList<string> KnownNames => Names;

    /// <summary>Docker's 14 default capabilities (CapEff 00000000a80425fb).</summary>
    public static readonly string[] DockerDefault =
        ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE",
         "NET_RAW", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP"];

    /// <summary>Every capability this host lets us hand on: the known ones within our bounding set. Root here
    /// lacks CAP_SYS_RESOURCE, and capset() with a bit outside the helper's permitted set fails with EPERM, so
    /// -Privileged and ALL mean "all we have", as with Docker run from a reduced-capability parent.</summary>
    public static ulong All => ((1UL << Names.Length) - 1) & Bounding;

    // read once (a race reads it twice, to the same value); not a Lazy<ulong>, whose code over a value type is
    // compiled at run time by the session's first start
    private static ulong _bounding;
    private static bool _boundingRead;

    private static ulong Bounding
    {
        get
        {
            if (Volatile.Read(ref _boundingRead)) return _bounding;
            _bounding = ReadBoundingSet();
            Volatile.Write(ref _boundingRead, true);
            return _bounding;
        }
    }

    private static ulong ReadBoundingSet()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("CapBnd:", StringComparison.Ordinal))
                    return Convert.ToUInt64(line[7..].Trim(), 16);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return ulong.MaxValue;
    }

    /// <summary>The names of the capabilities in a set, in the kernel's order (for showing a container's set).</summary>
    public static string[] NamesOf(ulong set) =>
        Enumerable.Range(0, Names.Length).Where(i => (set & (1UL << i)) != 0).Select(i => Names[i]).ToArray();

    public static ulong Bit(string name)
    {
        string n = name.Trim().ToUpperInvariant();
        if (n.StartsWith("CAP_", StringComparison.Ordinal)) n = n[4..];
        if (n == "ALL") return All;
        int i = Array.IndexOf(Names, n);
        if (i < 0) throw ContainersException.Invalid("InvalidCapability", RuntimeMessages.BadCapability(name), name);
        return 1UL << i;
    }

    public static ulong Compute(IEnumerable<string> add, IEnumerable<string> drop, bool privileged)
    {
        if (privileged) return All;
        ulong set = 0;
        foreach (var c in DockerDefault) set |= Bit(c);
        foreach (var c in drop) set &= ~Bit(c);
        foreach (var c in add) set |= Bit(c);
        return set;
    }
}

/// <summary>Signal names and numbers (x86-64).</summary>
public static class Signals
{
    private static readonly string[] Names =
    [
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
        "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF",
        "WINCH", "IO", "PWR", "SYS",
    ];

    /// <summary>The signal names this engine knows, with SIG (SIGHUP, SIGINT, ...), in number order.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = Names.Skip(1).Select(n => "SIG" + n).ToArray();

    public static int Parse(string signal)
    {
        string s = signal.Trim().ToUpperInvariant();
        if (int.TryParse(s, out int n) && n is > 0 and < 65) return n;
        if (s.StartsWith("SIG", StringComparison.Ordinal)) s = s[3..];
        int i = Array.IndexOf(Names, s);
        if (i <= 0) throw ContainersException.Invalid("InvalidSignal", RuntimeMessages.BadSignal(signal), signal);
        return i;
    }
}
