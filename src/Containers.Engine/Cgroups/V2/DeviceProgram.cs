using System.Text;

namespace Containers.Engine.Cgroups.V2;

/// <summary>
/// A BPF_PROG_TYPE_CGROUP_DEVICE program built from device rules, the way runc and crun build theirs:
/// the kernel hands it struct bpf_cgroup_dev_ctx { u32 access_type (access &lt;&lt; 16 | type); u32 major;
/// u32 minor; } and it returns 1 (allow) or 0 (deny). Rules are checked last to first, so a later rule
/// wins, as with v1's devices.allow/deny; when none matches, access is denied.
/// </summary>
public sealed class DeviceProgram
{
    // struct bpf_insn: u8 code; u8 dst:4, src:4; s16 off; s32 imm
    private const byte LdxMemW = 0x61, Alu32AndK = 0x54, Alu32RshK = 0x74, Alu32MovX = 0xbc, Alu64MovK = 0xb7,
        JneK = 0x55, JneX = 0x5d, Exit = 0x95;
    public const int DevBlock = 1, DevChar = 2, AccMknod = 1, AccRead = 2, AccWrite = 4;

    public IReadOnlyList<DeviceRule> Rules { get; }
    public ulong[] Instructions { get; }

    private DeviceProgram(IReadOnlyList<DeviceRule> rules, ulong[] instructions)
    {
        Rules = rules;
        Instructions = instructions;
    }

    public static DeviceProgram Build(IEnumerable<DeviceRule> rules)
    {
        var list = rules.ToList();
        var code = new List<ulong>
        {
            I(LdxMemW, 2, 1, 0, 0),      // r2 = ctx->access_type
            I(Alu32AndK, 2, 0, 0, 0xFFFF), // w2 &= 0xffff            -> type
            I(LdxMemW, 3, 1, 0, 0),      // r3 = ctx->access_type
            I(Alu32RshK, 3, 0, 0, 16),   // w3 >>= 16                -> requested access
            I(LdxMemW, 4, 1, 4, 0),      // r4 = ctx->major
            I(LdxMemW, 5, 1, 8, 0),      // r5 = ctx->minor
        };
        bool terminal = false;
        for (int i = list.Count - 1; i >= 0 && !terminal; i--)
        {
            var r = list[i];
            var block = new List<(byte Op, byte Dst, byte Src, int Imm, bool Skip)>();
            if (r.Type != 'a') block.Add((JneK, 2, 0, r.Type == 'b' ? DevBlock : DevChar, true));
            int access = AccessBits(r.Access);
            if (access != (AccMknod | AccRead | AccWrite))
            {
                block.Add((Alu32MovX, 1, 3, 0, false));   // w1 = w3
                block.Add((Alu32AndK, 1, 0, access, false)); // w1 &= rule's access
                block.Add((JneX, 1, 3, 0, true));           // requested not within the rule: next rule
            }
            if (r.Major >= 0) block.Add((JneK, 4, 0, checked((int)r.Major), true));
            if (r.Minor >= 0) block.Add((JneK, 5, 0, checked((int)r.Minor), true));
            terminal = !block.Any(b => b.Skip); // matches everything: rules before it are unreachable
            int len = block.Count + 2;
            for (int k = 0; k < block.Count; k++)
            {
                var b = block[k];
                short off = b.Skip ? (short)(len - k - 1) : (short)0;
                code.Add(I(b.Op, b.Dst, b.Src, off, b.Imm));
            }
            code.Add(I(Alu64MovK, 0, 0, 0, r.Allow ? 1 : 0));
            code.Add(I(Exit, 0, 0, 0, 0));
        }
        if (!terminal)
        {
            code.Add(I(Alu64MovK, 0, 0, 0, 0)); // nothing matched: deny
            code.Add(I(Exit, 0, 0, 0, 0));
        }
        return new DeviceProgram(list, code.ToArray());
    }

    private static ulong I(byte op, byte dst, byte src, short off, int imm) =>
        op | (ulong)(byte)((src << 4) | dst) << 8 | (ulong)(ushort)off << 16 | (ulong)(uint)imm << 32;

    public static int AccessBits(string access)
    {
        int a = 0;
        foreach (char c in access)
            a |= c switch { 'r' => AccRead, 'w' => AccWrite, 'm' => AccMknod, _ => throw new ArgumentException($"Unknown device access '{c}' in '{access}'.", nameof(access)) };
        return a;
    }

    /// <summary>
    /// Runs the program the way the kernel would for one access (a reference interpreter of the few
    /// instructions it uses), so its decisions can be tested without a cgroup v2 kernel.
    /// </summary>
    public bool Evaluate(char type, long major, long minor, string access)
    {
        ulong[] reg = new ulong[11];
        uint[] ctx = [(uint)(AccessBits(access) << 16 | (type == 'b' ? DevBlock : DevChar)), (uint)major, (uint)minor];
        int pc = 0;
        for (int steps = 0; steps < 4096; steps++)
        {
            ulong insn = Instructions[pc++];
            byte op = (byte)insn;
            int dst = (int)(insn >> 8) & 0xF, src = (int)(insn >> 12) & 0xF;
            short off = (short)(insn >> 16);
            int imm = (int)(insn >> 32);
            switch (op)
            {
                case LdxMemW: reg[dst] = ctx[off / 4]; break;
                case Alu32AndK: reg[dst] = (uint)reg[dst] & (uint)imm; break;
                case Alu32RshK: reg[dst] = (uint)reg[dst] >> imm; break;
                case Alu32MovX: reg[dst] = (uint)reg[src]; break;
                case Alu64MovK: reg[dst] = (ulong)(long)imm; break;
                case JneK: if (reg[dst] != (ulong)(long)imm) pc += off; break;
                case JneX: if (reg[dst] != reg[src]) pc += off; break;
                case Exit: return reg[0] != 0;
                default: throw new InvalidOperationException($"Unexpected BPF opcode 0x{op:x2} at {pc - 1}.");
            }
        }
        throw new InvalidOperationException("The device program did not exit.");
    }

    /// <summary>A readable listing (one instruction per line), for diagnostics.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Instructions.Length; i++) sb.Append(i).Append(": ").AppendLine(Instructions[i].ToString("x16"));
        return sb.ToString();
    }
}

/// <summary>Puts a device program on a cgroup directory.</summary>
public interface IDeviceProgramAttacher
{
    void Attach(string cgroupDirectory, DeviceProgram program);
}

/// <summary>The kernel one: bpf(BPF_PROG_LOAD) then bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) on the cgroup's directory fd.</summary>
public sealed class BpfDeviceProgramAttacher : IDeviceProgramAttacher
{
    /// <summary>No GPL-only helper is called, so any license string loads; runc and crun pass "Apache".</summary>
    public const string License = "Apache";

    public void Attach(string cgroupDirectory, DeviceProgram program)
    {
        int prog = -1, dir = -1;
        try
        {
            prog = Native.Sys.Bpf.LoadCgroupDeviceProgram(program.Instructions, License);
            dir = Native.Sys.FileSys.Open(cgroupDirectory, Native.Sys.FileSys.O_RDONLY | Native.Sys.FileSys.O_DIRECTORY);
            // flags 0: one program on this cgroup, replaced by the next attach (Create is idempotent)
            Native.Sys.Bpf.AttachCgroupDevice(dir, prog, 0);
        }
        catch (Native.Sys.NativeException ex)
        {
            throw Errors.ContainersException.System("CgroupDeviceFilterFailed",
                $"Cannot install the device filter on '{cgroupDirectory}': {ex.Message}", cgroupDirectory, ex);
        }
        finally
        {
            // the attachment holds its own reference to the program
            if (dir >= 0) Native.Sys.FileSys.Close(dir);
            if (prog >= 0) Native.Sys.FileSys.Close(prog);
        }
    }
}
