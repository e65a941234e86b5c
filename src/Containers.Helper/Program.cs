namespace Containers.Helper;

/// <summary>Entry point: the first argument names the mode. Keep this a small dispatcher.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h")
        {
            Console.Error.WriteLine("usage: containers-helper <mode> ...  (started by the Containers module, not by hand)");
            return 2;
        }
        switch (args[0])
        {
            case "version":
                Console.WriteLine("containers-helper 0.1");
                return 0;
            case "monitor":
                return Monitor.Run(args);
            case "exec":
                return ExecMode.Run(args);
            case "attach":
                return AttachMode.Run(args);
            case "dns": return Net.DnsServer.Run(args);
            case "proxy": return Net.PortProxy.Run(args);
            case "userns-exec": return Rootless.Exec(args);
            case "idfix": return Rootless.IdFix(args);
            case "idshift": return RootlessKeepId.IdShift(args);
            case "rootless-netns": return RootlessNetns.Holder(args);
            case "netns-bridge": return RootlessNetns.Bridge(args);
            case "netns-attach": return RootlessNetns.AttachMode(args);
            case "volume-seed": return VolumeSeed.Run(args);
            case "idmap-probe": return IdmapProbe.Run(args);
            case "userns-netns": return UserNamespace.Pin(args);
            default:
                Console.Error.WriteLine($"containers-helper: unknown mode '{args[0]}'");
                return 2;
        }
    }
}
