using System.Diagnostics;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.State;

namespace Containers.Engine.Networking.Bridge;

/// <summary>
/// Forwarding, isolation and masquerade with iptables (nf_tables backend). One filter chain
/// PSC-&lt;scope&gt; jumped to first from FORWARD (so Docker's FORWARD policy DROP and br_netfilter do not
/// swallow our bridges' traffic) and one nat chain PSC-&lt;scope&gt;-NAT jumped to from POSTROUTING. Both
/// chains are rewritten as a whole from the root's networks in one iptables-restore --noflush transaction,
/// and removed with their jumps when the root has no network left.
/// </summary>
internal static class Firewall
{
    public static string FilterChain(StorageRoot root) => "PSC-" + root.ScopeId;
    public static string NatChain(StorageRoot root) => "PSC-" + root.ScopeId + "-NAT";
    public static string BridgePrefix(StorageRoot root) => "pc" + root.ScopeId;

    /// <summary>What the marker says about our chains and jumps in this boot.</summary>
    private enum State { Unknown, Absent, Present }

    public static void Sync(StorageRoot root, IReadOnlyList<NetworkRecord> networks)
    {
        // A marker spares the process spawns that check for our jumps and chains on every change: "<boot id>\n1|0"
        // when the chains and jumps exist (IPv6 ones too or not), "<boot id>\nabsent" after we removed them all.
        // Knowing they are absent lets the first network's rules and jumps go in one iptables-restore. It is
        // stale after a reboot, and then everything is checked.
        string markerPath = root.Sub("networks", ".firewall");
        string boot = BootId();
        string[] marker = ReadOrEmpty(markerPath).Split('\n');
        bool known = marker.Length >= 2 && marker[0] == boot;
        State v4 = !known ? State.Unknown : marker[1] == "absent" ? State.Absent : State.Present;
        State v6 = !known ? (HasChain("ip6tables", FilterChain(root)) ? State.Unknown : State.Absent)
            : marker[1] == "1" ? State.Present : State.Absent;
        bool any6 = networks.Any(n => n.IPv6Subnet is not null);
        SyncFamily(root, networks, v6: false, v4);
        if (any6 || v6 != State.Absent) SyncFamily(root, networks.Where(n => n.IPv6Subnet is not null).ToList(), v6: true, v6);
        if (networks.Any(n => !n.Internal)) EnableForwarding(any6);
        AtomicFile.WriteAllText(markerPath, boot + "\n" + (networks.Count == 0 ? "absent" : any6 ? "1" : "0"), durable: false);
    }

    private static string BootId() => ReadOrEmpty("/proc/sys/kernel/random/boot_id").Trim();
    private static string ReadOrEmpty(string p) { try { return File.ReadAllText(p); } catch (IOException) { return ""; } }

    private static void SyncFamily(StorageRoot root, IReadOnlyList<NetworkRecord> networks, bool v6, State state)
    {
        string save = v6 ? "ip6tables" : "iptables";
        string fc = FilterChain(root), nc = NatChain(root);
        string err;
        if (networks.Count == 0)
        {
            if (state == State.Absent) return;
            // Jumps, then the chains, in one transaction when we know they are there.
            if (state == State.Present && Run(save + "-restore", ["-w", "--noflush"], out _,
                    $"*filter\n-D FORWARD -j {fc}\n-F {fc}\n-X {fc}\nCOMMIT\n*nat\n-D POSTROUTING -j {nc}\n-F {nc}\n-X {nc}\nCOMMIT\n") == 0)
                return;
            while (Run(save, ["-w", "-D", "FORWARD", "-j", fc], out _) == 0) { }
            while (Run(save, ["-w", "-t", "nat", "-D", "POSTROUTING", "-j", nc], out _) == 0) { }
            Run(save, ["-w", "-F", fc], out _); Run(save, ["-w", "-X", fc], out _);
            Run(save, ["-w", "-t", "nat", "-F", nc], out _); Run(save, ["-w", "-t", "nat", "-X", nc], out _);
            return;
        }
        string all = BridgePrefix(root) + "+";
        string reject = v6 ? "icmp6-adm-prohibited" : "icmp-admin-prohibited";
        var sb = new StringBuilder();
        sb.Append("*filter\n:").Append(fc).Append(" - [0:0]\n");
        // Order matters (the first ACCEPT/REJECT ends the walk): replies and same-bridge traffic first, then the
        // refusal between this root's bridges, then egress, then nothing else in.
        foreach (var n in networks)
        {
            sb.Append($"-A {fc} -o {n.Bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
            sb.Append($"-A {fc} -i {n.Bridge} -o {n.Bridge} -j ACCEPT\n");
        }
        foreach (var n in networks)
            sb.Append($"-A {fc} -i {n.Bridge} -o {all} -j REJECT --reject-with {reject}\n");
        foreach (var n in networks)
            sb.Append(n.Internal ? $"-A {fc} -i {n.Bridge} -j REJECT --reject-with {reject}\n" : $"-A {fc} -i {n.Bridge} -j ACCEPT\n");
        foreach (var n in networks)
            sb.Append($"-A {fc} -o {n.Bridge} -j DROP\n");
        if (state == State.Absent) sb.Append($"-I FORWARD 1 -j {fc}\n");
        sb.Append("COMMIT\n*nat\n:").Append(nc).Append(" - [0:0]\n");
        foreach (var n in networks.Where(n => !n.Internal))
        {
            string subnet = v6 ? n.IPv6Subnet! : n.Subnet;
            sb.Append($"-A {nc} -s {subnet} ! -o {n.Bridge} -j MASQUERADE\n");
        }
        if (state == State.Absent) sb.Append($"-I POSTROUTING 1 -j {nc}\n");
        sb.Append("COMMIT\n");
        if (Run(save + "-restore", ["-w", "--noflush"], out err, sb.ToString()) != 0)
            throw ContainersException.System("FirewallFailed", Messages.FirewallFailed(save + "-restore", err.Trim()), root.ScopeId);
        if (state != State.Unknown) return;
        if (Run(save, ["-w", "-C", "FORWARD", "-j", fc], out _) != 0)
            Check(save, Run(save, ["-w", "-I", "FORWARD", "1", "-j", fc], out err), err);
        if (Run(save, ["-w", "-t", "nat", "-C", "POSTROUTING", "-j", nc], out _) != 0)
            Check(save, Run(save, ["-w", "-t", "nat", "-I", "POSTROUTING", "1", "-j", nc], out err), err);
    }

    private static bool HasChain(string tool, string chain) => Run(tool, ["-w", "-S", chain], out _) == 0;

    private static void Check(string tool, int code, string err)
    {
        if (code != 0) throw ContainersException.System("FirewallFailed", Messages.FirewallFailed(tool, err.Trim()));
    }

    /// <summary>Turns on IPv4 (and IPv6) forwarding if it is off; never turns it off (other engines rely on it).</summary>
    private static void EnableForwarding(bool v6)
    {
        TrySet("/proc/sys/net/ipv4/ip_forward");
        if (v6) TrySet("/proc/sys/net/ipv6/conf/all/forwarding");
        static void TrySet(string p)
        {
            try { if (File.ReadAllText(p).Trim() != "1") File.WriteAllText(p, "1"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    internal static int Run(string file, string[] args, out string stderr, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = stdin is not null, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            if (stdin is not null) { p.StandardInput.Write(stdin); p.StandardInput.Close(); }
            var errTask = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            stderr = errTask.Result;
            return p.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw ContainersException.System("FirewallToolMissing", Messages.FirewallFailed(file, ex.Message), file, ex);
        }
    }
}
