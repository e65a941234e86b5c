using System.Diagnostics;
using System.Globalization;
using Containers.Native.Proc;
using NativeException = Containers.Native.Sys.NativeException;
using RootedFs = Containers.Native.Sys.RootedFs;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// Rootless operation (the engine runs as an ordinary user; "rootless=uid:subStart:subCount:gid:subStart:subCount" in
/// the spec). The container is cloned with CLONE_NEWUSER along with its other namespaces, so the user namespace owns
/// them all; the monitor, which has no privilege, has the setuid newuidmap/newgidmap write the maps (0 = the user,
/// 1..count = its subordinate ids) and then tells the child to go on; the child is then root of its namespace and
/// does every mount itself (the overlay with userxattr, binds of host paths, /proc, /sys of its own network
/// namespace), as it does as host root. Also two small modes the engine uses for files of the container's ids:
/// userns-exec (runs a command as root of such a namespace) and idfix (gives an unpacked layer's entries their owners).
/// </summary>
internal static unsafe class Rootless
{
    /// <summary>
    /// Writes the child's uid_map and gid_map with newuidmap/newgidmap. Null on success, else why not. With counts of 0
    /// (the single mapping: no subordinate ids or no newuidmap) this process writes them itself, as the kernel lets the
    /// namespace's creator map its own ids only: "0 uid 1", setgroups "deny" (required for an unprivileged gid_map;
    /// the container's processes then keep the user's supplementary groups), "0 gid 1".
    /// </summary>
    public static string? WriteMaps(int pid, string mapping)
    {
        var f = mapping.Split(':');
        if (f.Length != 6) return "the id mapping is malformed: " + mapping;
        string p = pid.ToString(CultureInfo.InvariantCulture);
        if (f[2] == "0" && f[5] == "0")
        {
            try
            {
                File.WriteAllText($"/proc/{p}/uid_map", $"0 {f[0]} 1\n");
                File.WriteAllText($"/proc/{p}/setgroups", "deny");
                File.WriteAllText($"/proc/{p}/gid_map", $"0 {f[3]} 1\n");
                return null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return "cannot write the single id mapping: " + ex.Message;
            }
        }
        return Run("/usr/bin/newuidmap", p, "0", f[0], "1", "1", f[1], f[2])
            ?? Run("/usr/bin/newgidmap", p, "0", f[3], "1", "1", f[4], f[5]);
    }

    /// <summary>Runs a uidmap tool; null, or what failed.</summary>
    internal static string? Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var proc = Process.Start(psi)!;
            string err = proc.StandardError.ReadToEnd();
            proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            return proc.ExitCode == 0 ? null : $"{file} failed (exit code {proc.ExitCode}): {err.Trim()}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException)
        {
            return $"cannot run {file} (package uidmap): {ex.Message}";
        }
    }

    /// <summary>
    /// "userns-exec &lt;mapping&gt; -- argv...": clones a child into a new user namespace, maps it, and the child
    /// execs argv as the namespace's root (uid and gid 0, no supplementary groups). Exit code: the command's, or 125.
    /// </summary>
    public static int Exec(string[] args)
    {
        if (args.Length < 4 || args[2] != "--" || !args[3].StartsWith('/'))
        {
            Console.Error.WriteLine("userns-exec: usage: userns-exec <mapping> -- /absolute/command [args]");
            return 125;
        }
        byte** argv = NStr.Array(args[3..]);
        byte** envp = NStr.Array(["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]);
        byte* file = NStr.Of(args[3]);
        int* sync = stackalloc int[2];
        if (pipe2(sync, 0x80000) != 0) { Console.Error.WriteLine("userns-exec: pipe: errno " + Errno); return 125; }
        int pid = Clone(CLONE_NEWUSER | (ulong)SIGCHLD);
        if (pid == 0)
        {
            close(sync[1]);
            byte go = 0;
            if (read(sync[0], &go, 1) != 1) _exit(125);
            // (the single mapping denies setgroups: EPERM there leaves the user's groups, as it must)
            if ((setgroups(0, null) != 0 && Errno != 1) || setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) _exit(125);
            execve(file, argv, envp);
            _exit(127);
        }
        close(sync[0]);
        if (pid < 0) { Console.Error.WriteLine("userns-exec: clone(CLONE_NEWUSER): errno " + Errno); return 125; }
        string? err = WriteMaps(pid, args[1]);
        int st;
        if (err is not null)
        {
            close(sync[1]);
            wait4Blocking(pid, &st, 0, null);
            Console.Error.WriteLine("userns-exec: " + err);
            return 125;
        }
        byte one = 1;
        write(sync[1], &one, 1);
        close(sync[1]);
        while (wait4Blocking(pid, &st, 0, null) < 0 && Errno == 4) { }
        return ExitCodeOf(st);
    }

    /// <summary>
    /// "idfix &lt;dir&gt; &lt;list&gt;" (as the namespace's root): each NUL-terminated record "uid gid mode rel" of the
    /// list gets its owner, then its mode again (a chown clears setuid and setgid); mode "-" is a link (owner only).
    /// Paths are resolved beneath the directory with no link followed anywhere.
    /// </summary>
    public static int IdFix(string[] args)
    {
        if (args.Length != 3) { Console.Error.WriteLine("idfix: usage: idfix <dir> <list>"); return 2; }
        try
        {
            using var root = RootedFs.Open(args[1], RootedFs.Resolution.NoSymlinks);
            foreach (var rec in File.ReadAllText(args[2]).Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = rec.Split(' ', 4);
                if (f.Length != 4) throw new InvalidDataException("malformed record: " + rec);
                int uid = unchecked((int)uint.Parse(f[0], CultureInfo.InvariantCulture)), gid = unchecked((int)uint.Parse(f[1], CultureInfo.InvariantCulture));
                string rel = f[3];
                if (rel.Length == 0)
                {
                    RootedFs.ChownAt(root.Root, "", uid, gid, ".");
                    if (f[2] != "-") RootedFs.ChmodAt(root.Root, "", uint.Parse(f[2], CultureInfo.InvariantCulture), ".");
                    continue;
                }
                using var parent = root.OpenParent(rel, out string name);
                RootedFs.ChownAt(parent, name, uid, gid, rel);
                if (f[2] != "-") RootedFs.ChmodAt(parent, name, uint.Parse(f[2], CultureInfo.InvariantCulture), rel);
            }
            return 0;
        }
        catch (Exception ex) when (ex is NativeException or IOException or InvalidDataException or FormatException or OverflowException)
        {
            Console.Error.WriteLine("idfix: " + ex.Message);
            return 1;
        }
    }
}
