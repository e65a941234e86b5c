using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Containers.Engine.Errors;
using Containers.Engine.Networking;
using Containers.Engine.State;

namespace Containers.Engine.Rootless;

/// <summary>
/// The user networks of a rootless engine (podman's "rootless network namespace"): one long-lived holder per user
/// (Helper/RootlessNetns.cs) owns a user namespace with the user's mapping and a network namespace in it, with a
/// bridge per user network, the DNS server of those networks, and slirp4netns on tap0 for outbound traffic and
/// published ports (host forwards to the containers' addresses). A container on a user network is made in that user
/// namespace: its monitor is started inside the holder's namespaces by nsenter, so the container's own network
/// namespace is owned by the holder's user namespace and its veth pair can reach the bridge.
/// The holder is recorded in the user's runtime directory ("netns": "&lt;pause pid&gt; &lt;start time&gt;
/// &lt;holder pid&gt;"), found again by a new session, made again when its pid is gone (a reboot), and removed with the
/// last user network (no process, no namespace, no file left).
/// ErrorIds: RootlessNetnsFailed (the holder cannot be made or entered), RootlessNetnsUnavailable (nsenter or
/// iptables-restore is missing), RootlessPortFailed (slirp4netns refused a host forward), RootlessFirewallFailed (the
/// rules that keep the user's networks apart could not be loaded).
/// </summary>
internal static class RootlessNetns
{
    public const string Mode = "rootless-netns";
    public const string Nsenter = "/usr/bin/nsenter";

    private static string RecordPath => Path.Combine(RootlessHost.RuntimeDirectory(), "netns");
    private static string ApiSocket => Path.Combine(RootlessHost.RuntimeDirectory(), "netns-slirp.sock");

    /// <summary>The pause process's pid of a live holder, or null (a stale record, after a reboot, is removed).</summary>
    public static int? Find()
    {
        string path = RecordPath;
        string text;
        try { text = File.ReadAllText(path).Trim(); }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        var f = text.Split(' ');
        if (f.Length == 3 && int.TryParse(f[0], out int pid) && long.TryParse(f[1], out long start) && int.TryParse(f[2], out int holder)
            && StartTime(pid) == start && HelperProcess.IsAlive(holder, Mode, ApiSocket))
            return pid;
        try { File.Delete(path); } catch (IOException) { }
        return null;
    }

    /// <summary>The live holder's pause pid; makes the holder when there is none.</summary>
    public static int Ensure()
    {
        if (Find() is int pid) return pid;
        if (!File.Exists(Nsenter))
            throw ContainersException.System("RootlessNetnsUnavailable", $"{Nsenter} is missing: rootless user networks need nsenter (Debian package util-linux).", Nsenter);
        if (!File.Exists(RootlessChecks.SlirpBinary))
            throw ContainersException.System("RootlessNetworkUnavailable", $"{RootlessChecks.SlirpBinary} is missing: rootless user networks need slirp4netns (Debian package slirp4netns).", RootlessChecks.SlirpBinary);
        var (holder, lines) = HelperProcess.Start(Mode, [RootlessHost.Mapping(), ApiSocket], TimeSpan.FromSeconds(20));
        string? pidLine = lines.FirstOrDefault(l => l.StartsWith("pid ", StringComparison.Ordinal));
        if (holder < 0 || pidLine is null || !int.TryParse(pidLine[4..], out pid))
            throw ContainersException.System("RootlessNetnsFailed", $"Cannot make the rootless network namespace: {string.Join("; ", lines)}", RecordPath);
        AtomicFile.WriteAllText(RecordPath, FormattableString.Invariant($"{pid} {StartTime(pid)} {holder}"), durable: false);
        return pid;
    }

    /// <summary>Ends the holder (its pause process by pid; the holder then stops slirp4netns and exits) and removes its files.</summary>
    public static void Remove()
    {
        string text;
        try { text = File.ReadAllText(RecordPath).Trim(); }
        catch (IOException) { text = ""; }
        var f = text.Split(' ');
        if (Find() is int pid && f.Length == 3 && int.TryParse(f[2], out int holder))
        {
            Containers.Native.Sys.Proc.Kill(pid, 9);
            for (int i = 0; i < 300 && HelperProcess.IsAlive(holder, Mode, ApiSocket); i++) Thread.Sleep(10);
            HelperProcess.Stop(holder, Mode, ApiSocket);
        }
        try { File.Delete(RecordPath); } catch (IOException) { }
        try { File.Delete(ApiSocket); } catch (IOException) { }
        try { File.Delete(FirewallRecordPath); } catch (IOException) { }
    }

    /// <summary>Whether the process <paramref name="pid"/> is in the live holder's network namespace.</summary>
    public static bool IsInside(int pid)
    {
        if (Find() is not int holder) return false;
        try
        {
            var mine = File.ResolveLinkTarget($"/proc/{pid}/ns/net", false)?.ToString();
            return mine is not null && mine == File.ResolveLinkTarget($"/proc/{holder}/ns/net", false)?.ToString();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>The command line prefix that runs a program inside the holder's user and network namespaces.</summary>
    public static IEnumerable<string> EnterPrefix(int pid) =>
        [Nsenter, "--user", "--net", "--preserve-credentials", "--target", pid.ToString(CultureInfo.InvariantCulture), "--"];

    /// <summary>Runs the helper inside the holder's namespaces; RootlessNetnsFailed with its output on failure.</summary>
    public static void RunHelper(string what, params string[] args)
    {
        int pid = Ensure();
        var psi = new ProcessStartInfo(Nsenter) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in EnterPrefix(pid).Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(EngineFiles.HelperPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw ContainersException.System("RootlessNetnsFailed", $"Cannot {what} in the rootless network namespace (exit code {p.ExitCode}): {err.Result.Trim()}", what);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw ContainersException.System("RootlessNetnsUnavailable", $"Cannot run {Nsenter}: {ex.Message}", what, ex);
        }
    }

    public static void EnsureBridge(NetworkRecord n) =>
        RunHelper("make the bridge " + n.Bridge, "netns-bridge", "add", n.Bridge, n.Gateway, Networking.Ipam.IpNetwork.Parse(n.Subnet, "subnet").PrefixLength.ToString(CultureInfo.InvariantCulture));

    public static void DeleteBridge(string name)
    {
        if (Find() is null) return; // gone with its namespace
        RunHelper("delete the bridge " + name, "netns-bridge", "del", name);
    }

    private static string FirewallRecordPath => Path.Combine(RootlessHost.RuntimeDirectory(), "netns-firewall");

    /// <summary>The iptables-restore the rootless namespace's rules are loaded with (an absolute path: a user's PATH may lack /usr/sbin).</summary>
    internal static string? IptablesRestore() =>
        new[] { "/usr/sbin/iptables-restore", "/sbin/iptables-restore" }.FirstOrDefault(File.Exists);

    /// <summary>
    /// The rootless namespace's FORWARD rules from the user's networks, as the root engine's Firewall gives its own:
    /// replies and traffic within a network pass, traffic between two of the user's networks is refused (ICMP
    /// admin-prohibited), an internal network reaches nothing beyond its bridge, the rest goes out through tap0
    /// (slirp4netns). The namespace is the user's alone, so its filter table is wholly these rules, loaded in one
    /// iptables-restore run inside it; skipped when the namespace (its holder) already has exactly them (a record in
    /// the runtime directory). ErrorId RootlessFirewallFailed (RootlessNetnsUnavailable: no iptables-restore).
    /// </summary>
    public static void SyncFirewall(IReadOnlyList<NetworkRecord> networks)
    {
        if (networks.Count == 0) return;
        var sb = new StringBuilder("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        foreach (var n in networks)
        {
            sb.Append($"-A FORWARD -o {n.Bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
            sb.Append($"-A FORWARD -i {n.Bridge} -o {n.Bridge} -j ACCEPT\n");
        }
        foreach (var n in networks)
            foreach (var other in networks)
                if (!ReferenceEquals(n, other) && n.Bridge != other.Bridge)
                    sb.Append($"-A FORWARD -i {n.Bridge} -o {other.Bridge} -j REJECT --reject-with icmp-admin-prohibited\n");
        foreach (var n in networks.Where(n => n.Internal))
        {
            sb.Append($"-A FORWARD -i {n.Bridge} -j REJECT --reject-with icmp-admin-prohibited\n");
            sb.Append($"-A FORWARD -o {n.Bridge} -j REJECT --reject-with icmp-admin-prohibited\n");
        }
        sb.Append("COMMIT\n");
        string rules = sb.ToString();
        int pid = Ensure();
        string stamp = pid.ToString(CultureInfo.InvariantCulture) + " " + StartTime(pid).ToString(CultureInfo.InvariantCulture) + " "
            + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(rules)));
        try { if (File.ReadAllText(FirewallRecordPath) == stamp) return; }
        catch (IOException) { }
        string restore = IptablesRestore()
            ?? throw ContainersException.System("RootlessNetnsUnavailable", "iptables-restore is missing: rootless user networks are kept apart by iptables in the rootless network namespace (Debian package iptables).", "iptables-restore");
        var psi = new ProcessStartInfo(Nsenter) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in EnterPrefix(pid).Skip(1)) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(restore);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardInput.Write(rules);
            p.StandardInput.Close();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw ContainersException.System("RootlessFirewallFailed", $"Cannot keep the user networks apart in the rootless network namespace (iptables-restore exit code {p.ExitCode}): {err.Result.Trim()}", restore);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw ContainersException.System("RootlessNetnsUnavailable", $"Cannot run {Nsenter}: {ex.Message}", restore, ex);
        }
        AtomicFile.WriteAllText(FirewallRecordPath, stamp, durable: false);
    }

    /// <summary>A published port: a host forward of slirp4netns to the container's address; returns it as bound.</summary>
    public static PortBindingInfo AddPort(PortRequest p, string containerIp)
    {
        string hostIp = string.IsNullOrEmpty(p.HostIp) ? "0.0.0.0" : p.HostIp;
        string reply = Api(FormattableString.Invariant(
            $"{{\"execute\":\"add_hostfwd\",\"arguments\":{{\"proto\":\"{p.Protocol}\",\"host_addr\":\"{hostIp}\",\"host_port\":{p.HostPort},\"guest_addr\":\"{containerIp}\",\"guest_port\":{p.ContainerPort}}}}}"));
        if (reply.Contains("\"error\"", StringComparison.Ordinal))
            throw ContainersException.Conflict("RootlessPortFailed", $"Cannot publish {hostIp}:{p.HostPort}->{p.ContainerPort}/{p.Protocol}: {reply.Trim()}", $"{hostIp}:{p.HostPort}/{p.Protocol}");
        return new PortBindingInfo(hostIp, p.HostPort, p.ContainerPort, p.Protocol);
    }

    /// <summary>Removes every host forward to <paramref name="containerIp"/> (none when the holder is gone).</summary>
    public static void RemovePorts(string? containerIp)
    {
        if (containerIp is null || Find() is null) return;
        try
        {
            using var doc = JsonDocument.Parse(Api("{\"execute\":\"list_hostfwd\"}"));
            // slirp4netns answers list_hostfwd with {"entries": [...]} (1.2.0), not inside "return" as QMP would
            var ret = doc.RootElement.TryGetProperty("return", out var r) ? r : doc.RootElement;
            if (!ret.TryGetProperty("entries", out var entries)) return;
            foreach (var e in entries.EnumerateArray())
                if (e.TryGetProperty("guest_addr", out var g) && g.GetString() == containerIp && e.TryGetProperty("id", out var id))
                    Api("{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":" + id.GetInt32().ToString(CultureInfo.InvariantCulture) + "}}");
        }
        catch (JsonException) { }
        catch (ContainersException) { }
    }

    private static string Api(string json)
    {
        try
        {
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(ApiSocket));
            s.Send(Encoding.ASCII.GetBytes(json));
            s.Shutdown(SocketShutdown.Send);
            var buf = new byte[65536];
            int got = 0, r;
            while (got < buf.Length && (r = s.Receive(buf, got, buf.Length - got, SocketFlags.None)) > 0) got += r;
            return Encoding.UTF8.GetString(buf, 0, got);
        }
        catch (SocketException ex)
        {
            throw ContainersException.System("RootlessPortFailed", $"Cannot reach slirp4netns of the rootless network namespace: {ex.Message}", ApiSocket, ex);
        }
    }

    private static long StartTime(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(rest[19], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or FormatException or ArgumentOutOfRangeException or IndexOutOfRangeException or UnauthorizedAccessException) { return -1; }
    }
}
