namespace Containers.Engine.Security.Seccomp;

/// <summary>
/// Runs a compiled seccomp program on one (arch, nr, args) input, as the kernel would, and says what it
/// returns. For tests and for diagnosis (which action would a call get?); knows the instructions the
/// compiler emits and refuses others.
/// </summary>
public static class BpfInterpreter
{
    public static uint Run(byte[] program, uint arch, int nr, params ulong[] args)
    {
        Span<byte> data = stackalloc byte[64];
        BitConverter.TryWriteBytes(data, nr);
        BitConverter.TryWriteBytes(data[4..], arch);
        for (int i = 0; i < 6 && i < args.Length; i++) BitConverter.TryWriteBytes(data[(16 + 8 * i)..], args[i]);
        uint a = 0;
        int pc = 0, n = program.Length / 8;
        for (int steps = 0; steps < 100000 && pc < n; steps++)
        {
            ushort code = BitConverter.ToUInt16(program, pc * 8);
            byte jt = program[pc * 8 + 2], jf = program[pc * 8 + 3];
            uint k = BitConverter.ToUInt32(program, pc * 8 + 4);
            pc++;
            switch (code)
            {
                case BpfAssembler.LdAbsW:
                    if (k > 60 || k % 4 != 0) throw new InvalidOperationException($"load outside seccomp_data at {pc - 1}");
                    a = BitConverter.ToUInt32(data[(int)k..]);
                    break;
                case BpfAssembler.AndK: a &= k; break;
                case BpfAssembler.Ja: pc += (int)k; break;
                case BpfAssembler.JeqK: pc += a == k ? jt : jf; break;
                case BpfAssembler.JgtK: pc += a > k ? jt : jf; break;
                case BpfAssembler.JgeK: pc += a >= k ? jt : jf; break;
                case BpfAssembler.JsetK: pc += (a & k) != 0 ? jt : jf; break;
                case BpfAssembler.RetK: return k;
                default: throw new InvalidOperationException($"instruction 0x{code:x} at {pc - 1} is not one this interpreter knows");
            }
        }
        throw new InvalidOperationException("the program ran off its end");
    }

    /// <summary>A SECCOMP_RET_* value as text: ALLOW, ERRNO(1), KILL_PROCESS, ...</summary>
    public static string Describe(uint ret) => (ret & 0xffff0000) switch
    {
        SeccompProfile.RetAllow => "ALLOW",
        SeccompProfile.RetErrno => $"ERRNO({ret & 0xffff})",
        SeccompProfile.RetKillProcess => "KILL_PROCESS",
        SeccompProfile.RetKillThread => "KILL_THREAD",
        SeccompProfile.RetTrap => "TRAP",
        SeccompProfile.RetTrace => $"TRACE({ret & 0xffff})",
        SeccompProfile.RetLog => "LOG",
        _ => $"0x{ret:x8}",
    };

    /// <summary>Convenience for tests: what an i386 call (int 0x80) of <paramref name="syscall"/> gets.</summary>
    public static string CheckI386(byte[] program, string syscall, params ulong[] args)
    {
        int nr = SyscallTable.I386(syscall) ?? throw new ArgumentException($"unknown i386 system call '{syscall}'", nameof(syscall));
        return Describe(Run(program, SeccompCompiler.AuditArchI386, nr, args));
    }

    /// <summary>Convenience for tests: what an x86_64 call of <paramref name="syscall"/> gets.</summary>
    public static string Check(byte[] program, string syscall, params ulong[] args)
    {
        int nr = SyscallTable.X86_64(syscall) ?? throw new ArgumentException($"unknown system call '{syscall}'", nameof(syscall));
        return Describe(Run(program, SeccompCompiler.AuditArchX86_64, nr, args));
    }
}
