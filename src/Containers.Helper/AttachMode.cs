using static Containers.Native.Proc.Sys;

namespace Containers.Helper;

/// <summary>
/// "attach &lt;statedir&gt; [-i]": connects this process's console to a container's terminal through its
/// monitor's attach socket (Tty.cs) until the terminal ends or the user detaches. With -i the console is put
/// in raw mode and its input is relayed (Ctrl+C reaches the container's foreground process as on any
/// terminal); Ctrl+P then Ctrl+Q detaches, as docker's default detach keys. Without -i only the output is
/// relayed and SIGINT is ignored here (the engine handles Ctrl+C). The window size follows the console.
/// Exit codes: 0 the terminal ended (the process exited), 3 detached, 125 could not attach.
/// </summary>
internal static unsafe class AttachMode
{
    public const int Detached = 3, CannotAttach = 125;

    public static int Run(string[] args)
    {
        if (args.Length < 2) { Console.Error.WriteLine("attach: state directory missing"); return 2; }
        bool interactive = args.Length > 2 && args[2] == "-i";
        if (chdir(NStr.Of(args[1])) != 0) { Console.Error.WriteLine("attach: no such container state directory"); return CannotAttach; }
        int s = Tty.Connect();
        if (s < 0) { Console.Error.WriteLine($"attach: cannot connect to the container's terminal: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(Errno)}"); return CannotAttach; }
        int master = Tty.RecvFd(s);
        if (master < 0) { Console.Error.WriteLine("attach: the container's terminal is taken (another session is attached) or has ended"); return CannotAttach; }
        if (!interactive) signal(SIGINT, 1 /* SIG_IGN */);

        byte* saved = stackalloc byte[64];
        byte* raw = stackalloc byte[64];
        bool isTty = interactive && isatty(0) == 1 && tcgetattr(0, saved) == 0;
        if (isTty)
        {
            for (int i = 0; i < 64; i++) raw[i] = saved[i];
            cfmakeraw(raw);
            tcsetattr(0, 0, raw);
        }
        // output only (-Tty without -Interactive): the console stays as it is (Ctrl+C still signals the engine,
        // and a killed relay leaves no raw console behind), so the container terminal's \r\n line ends become \n
        // again for the console's own output processing to turn back into \r\n, instead of \r\r\n
        bool unCr = !interactive && isatty(1) == 1;
        bool heldCr = false;
        int code = 0;
        var fds = stackalloc PollFd[2];
        byte* buf = stackalloc byte[8192];
        byte* outb = stackalloc byte[8194];
        ushort* ws = stackalloc ushort[4];
        ushort* last = stackalloc ushort[4];
        bool stdinOpen = interactive, held = false; // held: a Ctrl+P waits for the next key
        while (true)
        {
            if (ioctl(isatty(0) == 1 ? 0 : 1, 0x5413 /* TIOCGWINSZ */, ws) == 0 && (ws[0] != last[0] || ws[1] != last[1]))
            {
                ioctl(master, 0x5414 /* TIOCSWINSZ */, ws);
                last[0] = ws[0]; last[1] = ws[1];
            }
            fds[0] = new PollFd { Fd = s, Events = POLLIN };
            fds[1] = new PollFd { Fd = stdinOpen ? 0 : -1, Events = POLLIN };
            int r = poll(fds, 2, 250);
            if (r < 0) { if (Errno == 4) continue; break; }
            if (fds[0].Revents != 0)
            {
                nint n = read(s, buf, 8192);
                if (n > 0 && unCr)
                {
                    int o = 0;
                    for (int i = 0; i < n; i++)
                    {
                        if (heldCr) { heldCr = false; if (buf[i] != (byte)'\n') outb[o++] = (byte)'\r'; }
                        if (buf[i] == (byte)'\r') { heldCr = true; continue; }
                        outb[o++] = buf[i];
                    }
                    WriteAll(1, outb, o);
                }
                else if (n > 0) WriteAll(1, buf, n);
                else if (!(n < 0 && Errno == 4)) break; // the monitor closed it: the process has ended
            }
            if (stdinOpen && fds[1].Revents != 0)
            {
                nint n = read(0, buf, 8192);
                if (n <= 0) { if (!(n < 0 && Errno == 4)) stdinOpen = false; continue; }
                int o = 0;
                bool detach = false;
                for (int i = 0; i < n; i++)
                {
                    byte b = buf[i];
                    if (held)
                    {
                        held = false;
                        if (b == 0x11) { detach = true; break; }
                        outb[o++] = 0x10;
                    }
                    if (b == 0x10) { held = true; continue; }
                    outb[o++] = b;
                }
                if (o > 0 && !SendAll(s, outb, o)) break;
                if (detach) { code = Detached; break; }
            }
        }
        if (isTty) tcsetattr(0, 0, saved);
        if (heldCr) { byte cr = (byte)'\r'; WriteAll(1, &cr, 1); }
        if (code == Detached) { byte* nl = stackalloc byte[2] { (byte)'\r', (byte)'\n' }; WriteAll(1, nl, 2); }
        close(master);
        close(s);
        return code;
    }

    private static void WriteAll(int fd, byte* b, nint n)
    {
        while (n > 0)
        {
            nint w = write(fd, b, n);
            if (w < 0 && Errno == 4) continue;
            if (w <= 0) return;
            b += w; n -= w;
        }
    }

    private static bool SendAll(int fd, byte* b, nint n)
    {
        while (n > 0)
        {
            nint w = Tty.send(fd, b, n, 0x4000 /* MSG_NOSIGNAL */);
            if (w < 0 && Errno == 4) continue;
            if (w <= 0) return false;
            b += w; n -= w;
        }
        return true;
    }
}
