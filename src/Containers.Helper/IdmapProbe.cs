using System.Globalization;
using Containers.Native.Proc;
using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// `containers-helper idmap-probe PATH`: whether the file system of PATH can give idmapped mounts, which Auto's
/// layers need. The file system's type name says too little (the standalone ext2 driver has ext4's magic and no
/// FS_ALLOW_IDMAP), so this asks the kernel: a child in a new user namespace (mapped onto one id far from any range),
/// then open_tree of PATH made idmapped through it, as a start would. Prints "ok" (exit 0) or "no &lt;errno&gt;"
/// (exit 1); 2 when the probe itself could not run. Run once per file system and boot (UserNamespaceSupport caches it).
/// </summary>
internal static unsafe class IdmapProbe
{
    public static int Run(string[] args)
    {
        if (args.Length != 2) { Console.Error.WriteLine("usage: containers-helper idmap-probe PATH"); return 2; }
        int* fds = stackalloc int[2];
        if (pipe2(fds, 0x80000) != 0) { Console.WriteLine($"error pipe {Errno}"); return 2; }
        int pid = Clone(CLONE_NEWUSER | (ulong)SIGCHLD);
        if (pid < 0) { Console.WriteLine($"error clone {Errno}"); return 2; }
        if (pid == 0)
        {
            // the child only holds its user namespace until the parent closes the pipe
            close(fds[1]);
            byte b;
            read(fds[0], &b, 1);
            _exit(0);
        }
        close(fds[0]);
        int result = 2;
        string line = "error";
        try
        {
            try
            {
                File.WriteAllText($"/proc/{pid}/uid_map", "0 4294967294 1\n");
                File.WriteAllText($"/proc/{pid}/setgroups", "deny");
                File.WriteAllText($"/proc/{pid}/gid_map", "0 4294967294 1\n");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { line = "error maps " + ex.Message; return 2; }
            int ns = open(NStr.Of($"/proc/{pid}/ns/user"), 0x80000, 0);
            if (ns < 0) { line = $"error userns {Errno}"; return 2; }
            int m = MountApi.OpenTree(NStr.Of(args[1]), false);
            if (m < 0) { line = $"error open_tree {Errno}"; close(ns); return 2; }
            int rc = MountApi.Idmap(m, ns);
            int err = Errno;
            close(m);
            close(ns);
            (result, line) = rc == 0 ? (0, "ok") : (1, "no " + err.ToString(CultureInfo.InvariantCulture));
            return result;
        }
        finally
        {
            close(fds[1]);
            int st;
            wait4(pid, &st, 0, null);
            Console.WriteLine(line);
        }
    }
}
