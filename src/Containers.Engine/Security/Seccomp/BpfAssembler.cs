namespace Containers.Engine.Security.Seccomp;

/// <summary>
/// A small classic-BPF assembler with forward labels. Conditional jumps in classic BPF reach at most 255
/// instructions ahead; a jump whose target is farther goes through an unconditional "ja" (32-bit offset)
/// placed right after it. Layout repeats until no further jump needs one (offsets only grow, so it ends).
/// </summary>
internal sealed class BpfAssembler
{
    // struct sock_filter opcodes (linux/bpf_common.h)
    public const ushort LdAbsW = 0x20, AndK = 0x54, Ja = 0x05, JeqK = 0x15, JgtK = 0x25, JgeK = 0x35, JsetK = 0x45, RetK = 0x06;
    public const int Next = -1;
    public const int MaxInstructions = 4096; // BPF_MAXINSNS

    private struct Insn
    {
        public ushort Code;
        public uint K;
        public int True, False; // labels (Next = the following instruction), or for Ja: True is the target
        public bool FarTrue, FarFalse;
    }

    private readonly List<Insn> _insns = new();
    private readonly List<int> _labels = new(); // label -> index in _insns of the instruction it marks

    public int NewLabel() { _labels.Add(-1); return _labels.Count - 1; }
    public void Mark(int label) => _labels[label] = _insns.Count;

    public void Load(uint offset) => _insns.Add(new Insn { Code = LdAbsW, K = offset, True = Next, False = Next });
    public void And(uint k) => _insns.Add(new Insn { Code = AndK, K = k, True = Next, False = Next });
    public void Ret(uint k) => _insns.Add(new Insn { Code = RetK, K = k, True = Next, False = Next });
    public void Jump(int label) => _insns.Add(new Insn { Code = Ja, True = label, False = Next });
    public void Jump(ushort code, uint k, int whenTrue, int whenFalse) =>
        _insns.Add(new Insn { Code = code, K = k, True = whenTrue, False = whenFalse });

    private static bool IsConditional(ushort code) => (code & 0x07) == 0x05 && code != Ja;

    public byte[] Assemble()
    {
        var insns = _insns.ToArray();
        var addr = new int[insns.Length + 1];
        while (true)
        {
            // layout: a conditional jump takes one slot more per far target (its trampoline)
            for (int i = 0; i < insns.Length; i++)
                addr[i + 1] = addr[i] + 1 + (insns[i].FarTrue ? 1 : 0) + (insns[i].FarFalse ? 1 : 0);
            bool changed = false;
            for (int i = 0; i < insns.Length; i++)
            {
                if (!IsConditional(insns[i].Code)) continue;
                if (!insns[i].FarTrue && Target(insns[i].True, i, addr) - (addr[i] + 1) > 255) { insns[i].FarTrue = true; changed = true; }
                if (!insns[i].FarFalse && Target(insns[i].False, i, addr) - (addr[i] + 1) > 255) { insns[i].FarFalse = true; changed = true; }
            }
            if (!changed) break;
        }
        int total = addr[insns.Length];
        var bytes = new byte[total * 8];
        int pos = 0;
        void Emit(ushort code, byte jt, byte jf, uint k)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(pos), code);
            bytes[pos + 2] = jt; bytes[pos + 3] = jf;
            BitConverter.TryWriteBytes(bytes.AsSpan(pos + 4), k);
            pos += 8;
        }
        for (int i = 0; i < insns.Length; i++)
        {
            var n = insns[i];
            int here = addr[i];
            if (n.Code == Ja) { Emit(Ja, 0, 0, (uint)(Target(n.True, i, addr) - (here + 1))); continue; }
            if (!IsConditional(n.Code)) { Emit(n.Code, 0, 0, n.K); continue; }
            int after = addr[i + 1]; // the instruction following the group (jcond + trampolines)
            int t = n.True == Next ? after : Target(n.True, i, addr);
            int f = n.False == Next ? after : Target(n.False, i, addr);
            int slot = here + 1;
            int trampTrue = n.FarTrue ? slot++ : -1, trampFalse = n.FarFalse ? slot : -1;
            int jt = (n.FarTrue ? trampTrue : t) - (here + 1), jf = (n.FarFalse ? trampFalse : f) - (here + 1);
            Emit(n.Code, checked((byte)jt), checked((byte)jf), n.K);
            if (n.FarTrue) Emit(Ja, 0, 0, (uint)(t - (trampTrue + 1)));
            if (n.FarFalse) Emit(Ja, 0, 0, (uint)(f - (trampFalse + 1)));
        }
        return bytes;
    }

    /// <summary>The address a label (or Next) stands for, seen from instruction i.</summary>
    private int Target(int label, int i, int[] addr)
    {
        if (label == Next) return addr[i + 1];
        int idx = _labels[label];
        if (idx < 0) throw new InvalidOperationException("BPF label never placed");
        if (idx <= i) throw new InvalidOperationException("BPF jumps must go forward");
        return addr[idx];
    }
}
