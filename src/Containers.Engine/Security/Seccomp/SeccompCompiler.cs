using System.Text;
using Containers.Engine.Errors;

namespace Containers.Engine.Security.Seccomp;

/// <summary>
/// Compiles a profile, for one capability set and kernel, to a classic BPF program (struct sock_filter[],
/// 8 bytes per instruction, host byte order) that the helper hands to seccomp(SECCOMP_SET_MODE_FILTER).
///
/// The program:
/// <list type="number">
/// <item>checks the architecture: AUDIT_ARCH_X86_64, and AUDIT_ARCH_I386 (int 0x80, 32-bit binaries) when the profile
/// names SCMP_ARCH_X86 (Docker's does), each with its own number table and tree; anything else gets <see cref="ForeignAbiAction"/>;</item>
/// <item>x32 system calls (AUDIT_ARCH_X86_64 with bit 0x40000000 in the number) get the same;</item>
/// <item>numbers above the highest one the profile names (that the table knows) get ENOSYS, as runc does,
/// unless the default action allows: a newer call falls back gracefully instead of failing with EPERM;</item>
/// <item>a binary search over the number ranges (adjacent numbers with the same outcome share one range);</item>
/// <item>at a leaf, the rules with argument conditions in profile order (first match wins), then the
/// unconditional action of the system call, if one applies, else the default action.</item>
/// </list>
/// Argument comparisons are on 64 bits: the high and the low 32-bit word of seccomp_data.args[i] in turn.
/// </summary>
public static class SeccompCompiler
{
    public const uint AuditArchX86_64 = 0xC000003E, AuditArchI386 = 0x40000003, X32SyscallBit = 0x40000000;
    private const int ENOSYS = 38;

    /// <summary>What x32 system calls, unknown architectures, and i386 when the profile does not name it get: ENOSYS (see docs/SECURITY.md, seccomp).</summary>
    public const uint ForeignAbiAction = SeccompProfile.RetErrno | ENOSYS;

    // struct seccomp_data offsets
    private const uint OffNr = 0, OffArch = 4, OffArgs = 16;

    private sealed record Chain(List<(SeccompArg[] Args, uint Action)> Conditional, uint Fallback)
    {
        public string Key()
        {
            if (Conditional.Count == 0) return "R" + Fallback.ToString("x8");
            var sb = new StringBuilder("C");
            foreach (var (args, action) in Conditional)
            {
                sb.Append('[');
                foreach (var a in args) sb.Append(a.Index).Append(',').Append((int)a.Op).Append(',').Append(a.Value).Append(',').Append(a.ValueTwo).Append(';');
                sb.Append(']').Append(action.ToString("x8"));
            }
            return sb.Append('/').Append(Fallback.ToString("x8")).ToString();
        }
    }

    /// <summary>Compiles the rules of <paramref name="profile"/> that apply to a container holding <paramref name="capabilities"/>.</summary>
    public static byte[] Compile(SeccompProfile profile, ulong capabilities, Version kernel)
    {
        var rules = profile.Select(capabilities, kernel).ToList();
        // i386 (int 0x80, 32-bit binaries) only when the profile names it, as Docker's archMap does for x86_64
        bool i386 = profile.Architectures.Contains("SCMP_ARCH_X86");
        var asm = new BpfAssembler();
        int foreign = asm.NewLabel(), enosys = asm.NewLabel(), other = asm.NewLabel();
        // x86_64 first: nearly every call a container makes takes this branch
        asm.Load(OffArch);
        asm.Jump(BpfAssembler.JeqK, AuditArchX86_64, BpfAssembler.Next, other);
        asm.Load(OffNr);
        asm.Jump(BpfAssembler.JgeK, X32SyscallBit, foreign, BpfAssembler.Next);
        ArchBody(asm, rules, AuditArchX86_64, profile.DefaultAction, enosys);
        asm.Mark(other);
        if (i386)
        {
            asm.Jump(BpfAssembler.JeqK, AuditArchI386, BpfAssembler.Next, foreign);
            asm.Load(OffNr);
            ArchBody(asm, rules, AuditArchI386, profile.DefaultAction, enosys);
        }
        asm.Mark(foreign);
        asm.Ret(ForeignAbiAction);
        asm.Mark(enosys);
        asm.Ret(SeccompProfile.RetErrno | ENOSYS);
        byte[] prog = asm.Assemble();
        if (prog.Length / 8 > BpfAssembler.MaxInstructions)
            throw ContainersException.Invalid("SeccompProfileTooLarge",
                $"The seccomp profile compiles to {prog.Length / 8} BPF instructions; the kernel takes at most {BpfAssembler.MaxInstructions}.", null);
        return prog;
    }

    /// <summary>One architecture's part, with the system call number in A: the ENOSYS range, then the binary search.</summary>
    private static void ArchBody(BpfAssembler asm, List<SeccompRule> rules, uint arch, uint def, int enosys)
    {
        // per system call: rules with argument conditions in order, and the first unconditional action
        var conditional = new Dictionary<int, List<(SeccompArg[], uint)>>();
        var unconditional = new Dictionary<int, uint>();
        foreach (var rule in rules)
        {
            foreach (var name in rule.Names)
            {
                if (SyscallTable.Lookup(arch, name) is not int nr) continue; // unknown here: skipped, as libseccomp does
                if (rule.Args.Length == 0) unconditional.TryAdd(nr, rule.Action);
                else
                {
                    if (!conditional.TryGetValue(nr, out var l)) conditional[nr] = l = new();
                    l.Add((rule.Args, rule.Action));
                }
            }
        }
        var nrs = conditional.Keys.Concat(unconditional.Keys).ToHashSet();
        int maxNr = nrs.Count == 0 ? -1 : nrs.Max();
        bool enosysAbove = def is not (SeccompProfile.RetAllow or SeccompProfile.RetLog);

        Chain ChainOf(int nr)
        {
            uint fallback = unconditional.TryGetValue(nr, out uint u) ? u : def;
            var cond = conditional.TryGetValue(nr, out var c) ? c : new();
            return new Chain(cond, fallback);
        }

        // ranges [start, next start) with one outcome; the last one is open-ended unless ENOSYS covers the rest
        var ranges = new List<(int Start, Chain Chain, string Key)>();
        for (int nr = 0; nr <= maxNr; nr++)
        {
            var ch = ChainOf(nr);
            string key = ch.Key();
            if (ranges.Count > 0 && ranges[^1].Key == key) continue;
            ranges.Add((nr, ch, key));
        }
        if (!enosysAbove || ranges.Count == 0)
        {
            var d = new Chain(new(), def);
            if (ranges.Count == 0 || ranges[^1].Key != d.Key()) ranges.Add((maxNr + 1, d, d.Key()));
        }
        if (enosysAbove && maxNr >= 0) asm.Jump(BpfAssembler.JgtK, (uint)maxNr, enosys, BpfAssembler.Next);
        Tree(asm, ranges, 0, ranges.Count - 1);
    }

    /// <summary>Binary search over ranges[lo..hi] with the system call number in A.</summary>
    private static void Tree(BpfAssembler asm, List<(int Start, Chain Chain, string Key)> ranges, int lo, int hi)
    {
        if (lo == hi) { Leaf(asm, ranges[lo].Chain); return; }
        int mid = (lo + hi + 1) / 2;
        int right = asm.NewLabel();
        asm.Jump(BpfAssembler.JgeK, (uint)ranges[mid].Start, right, BpfAssembler.Next);
        Tree(asm, ranges, lo, mid - 1);
        asm.Mark(right);
        Tree(asm, ranges, mid, hi);
    }

    private static void Leaf(BpfAssembler asm, Chain chain)
    {
        foreach (var (args, action) in chain.Conditional)
        {
            int next = asm.NewLabel();
            foreach (var a in args) Compare(asm, a, next);
            asm.Ret(action);
            asm.Mark(next);
        }
        asm.Ret(chain.Fallback);
    }

    /// <summary>Falls through when the 64-bit comparison holds, jumps to <paramref name="fail"/> when not.</summary>
    private static void Compare(BpfAssembler asm, SeccompArg a, int fail)
    {
        uint lo = OffArgs + 8 * (uint)a.Index, hi = lo + 4;
        uint vHi = (uint)(a.Value >> 32), vLo = (uint)a.Value;
        const int next = BpfAssembler.Next;
        int ok = asm.NewLabel();
        switch (a.Op)
        {
            case SeccompOp.Equal:
                asm.Load(hi); asm.Jump(BpfAssembler.JeqK, vHi, next, fail);
                asm.Load(lo); asm.Jump(BpfAssembler.JeqK, vLo, next, fail);
                break;
            case SeccompOp.NotEqual:
                asm.Load(hi); asm.Jump(BpfAssembler.JeqK, vHi, next, ok);
                asm.Load(lo); asm.Jump(BpfAssembler.JeqK, vLo, fail, next);
                break;
            case SeccompOp.MaskedEqual:
                uint dHi = (uint)(a.ValueTwo >> 32), dLo = (uint)a.ValueTwo;
                asm.Load(hi); asm.And(vHi); asm.Jump(BpfAssembler.JeqK, dHi, next, fail);
                asm.Load(lo); asm.And(vLo); asm.Jump(BpfAssembler.JeqK, dLo, next, fail);
                break;
            case SeccompOp.GreaterThan:
            case SeccompOp.GreaterOrEqual:
                // hi > vHi: holds; hi < vHi: fails; equal: decided by the low word
                asm.Load(hi); asm.Jump(BpfAssembler.JgtK, vHi, ok, next);
                asm.Jump(BpfAssembler.JeqK, vHi, next, fail);
                asm.Load(lo); asm.Jump(a.Op == SeccompOp.GreaterThan ? BpfAssembler.JgtK : BpfAssembler.JgeK, vLo, next, fail);
                break;
            case SeccompOp.LessThan:
            case SeccompOp.LessOrEqual:
                // the negation of >= (for <) or > (for <=)
                asm.Load(hi); asm.Jump(BpfAssembler.JgtK, vHi, fail, next);
                asm.Jump(BpfAssembler.JeqK, vHi, next, ok);
                asm.Load(lo); asm.Jump(a.Op == SeccompOp.LessThan ? BpfAssembler.JgeK : BpfAssembler.JgtK, vLo, fail, next);
                break;
        }
        asm.Mark(ok);
    }
}
