using System.Runtime.InteropServices;

namespace Containers.Native.Proc;

/// <summary>
/// The new mount API (open_tree, mount_setattr, fsopen/fsconfig/fsmount, move_mount) for user-namespaced
/// containers: the monitor, still host root, makes detached mounts (bind clones of host paths, idmapped clones of
/// image layers, the overlay over them, sysfs) and the container's child, already in its user namespace, only
/// attaches them. Like <see cref="Sys"/>: raw syscalls, no allocation, errno via <see cref="Sys.Errno"/>.
/// </summary>
internal static unsafe class MountApi
{
    public const long SYS_open_tree = 428, SYS_move_mount = 429, SYS_fsopen = 430, SYS_fsconfig = 431, SYS_fsmount = 432,
        SYS_mount_setattr = 442;
    public const int OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000, AT_RECURSIVE = 0x8000, AT_EMPTY_PATH = 0x1000;
    public const int MOVE_MOUNT_F_EMPTY_PATH = 0x4, MOVE_MOUNT_T_EMPTY_PATH = 0x40;
    public const int FSCONFIG_SET_STRING = 1, FSCONFIG_CMD_CREATE = 6;
    public const ulong MOUNT_ATTR_RDONLY = 1, MOUNT_ATTR_NOSUID = 2, MOUNT_ATTR_NODEV = 4, MOUNT_ATTR_NOEXEC = 8, MOUNT_ATTR_IDMAP = 0x100000;

    [StructLayout(LayoutKind.Sequential)]
    private struct MountAttr { public ulong AttrSet, AttrClr, Propagation, UsernsFd; }

    /// <summary>A detached clone of the mount at <paramref name="path"/> (recursive: with its submounts); fd or -1.</summary>
    public static int OpenTree(byte* path, bool recursive) =>
        (int)Sys.syscall(SYS_open_tree, AtSys.AT_FDCWD, (long)path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0), 0, 0, 0);

    /// <summary>Makes a detached mount idmapped through the user namespace <paramref name="usernsFd"/> (recursively).</summary>
    public static int Idmap(int mountFd, int usernsFd)
    {
        MountAttr a = default;
        a.AttrSet = MOUNT_ATTR_IDMAP;
        a.UsernsFd = (ulong)usernsFd;
        byte empty = 0;
        return (int)Sys.syscall(SYS_mount_setattr, mountFd, (long)&empty, AT_EMPTY_PATH | AT_RECURSIVE, (long)&a, sizeof(MountAttr), 0);
    }

    /// <summary>fsopen(fstype); the fs context fd or -1.</summary>
    public static int FsOpen(byte* fstype) => (int)Sys.syscall(SYS_fsopen, (long)fstype, 1 /* FSOPEN_CLOEXEC */, 0, 0, 0, 0);

    public static int FsConfigString(int fs, byte* key, byte* value) => (int)Sys.syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, (long)key, (long)value, 0, 0);

    /// <summary>Creates the superblock and returns a detached mount of it with <paramref name="attrs"/> (MOUNT_ATTR_*), or -1.</summary>
    public static int FsCreateMount(int fs, ulong attrs)
    {
        if (Sys.syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0, 0) != 0) return -1;
        return (int)Sys.syscall(SYS_fsmount, fs, 1 /* FSMOUNT_CLOEXEC */, (long)attrs, 0, 0, 0);
    }

    /// <summary>Attaches the detached mount <paramref name="mountFd"/> onto the path (or, with a null path, onto the descriptor <paramref name="toFd"/>).</summary>
    public static int Attach(int mountFd, int toFd, byte* toPath)
    {
        byte empty = 0;
        return toPath is null
            ? (int)Sys.syscall(SYS_move_mount, mountFd, (long)&empty, toFd, (long)&empty, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, 0)
            : (int)Sys.syscall(SYS_move_mount, mountFd, (long)&empty, AtSys.AT_FDCWD, (long)toPath, MOVE_MOUNT_F_EMPTY_PATH, 0);
    }

    [DllImport("libc"), SuppressGCTransition] private static extern nint sendmsg(int fd, MsgHdr* msg, int flags);
    [DllImport("libc", EntryPoint = "recvmsg")] private static extern nint recvmsg(int fd, MsgHdr* msg, int flags);

    [StructLayout(LayoutKind.Sequential)]
    private struct MsgHdr
    {
        public void* Name; public uint NameLen; public void* Iov; public nuint IovLen;
        public void* Control; public nuint ControlLen; public int Flags;
    }

    /// <summary>At most this many descriptors go in one message (the overlay and the idmapped binds).</summary>
    public const int MaxFds = 64;

    /// <summary>Sends <paramref name="n"/> descriptors (0 allowed: then only the byte, which is the signal to go on).</summary>
    public static bool SendFds(int sock, int* fds, int n)
    {
        byte data = 1;
        nuint* iov = stackalloc nuint[2];
        iov[0] = (nuint)(&data); iov[1] = 1;
        long* ctl = stackalloc long[2 + MaxFds / 2 + 1];
        MsgHdr m = default;
        m.Iov = iov; m.IovLen = 1;
        if (n > 0)
        {
            int len = 16 + 4 * n;
            ctl[0] = len;
            ((int*)ctl)[2] = 1 /* SOL_SOCKET */; ((int*)ctl)[3] = 1 /* SCM_RIGHTS */;
            for (int i = 0; i < n; i++) ((int*)ctl)[4 + i] = fds[i];
            m.Control = ctl; m.ControlLen = (nuint)((len + 7) & ~7);
        }
        return sendmsg(sock, &m, 0x4000 /* MSG_NOSIGNAL */) == 1;
    }

    /// <summary>Receives what <see cref="SendFds"/> sent; the count received, or -1 when the peer ended without sending.</summary>
    public static int RecvFds(int sock, int* fds, int max)
    {
        byte data = 0;
        nuint* iov = stackalloc nuint[2];
        iov[0] = (nuint)(&data); iov[1] = 1;
        long* ctl = stackalloc long[2 + MaxFds / 2 + 1];
        for (int i = 0; i < 2 + MaxFds / 2 + 1; i++) ctl[i] = 0;
        MsgHdr m = default;
        m.Iov = iov; m.IovLen = 1; m.Control = ctl; m.ControlLen = (nuint)(8 * (2 + MaxFds / 2 + 1));
        nint r;
        while ((r = recvmsg(sock, &m, 0x40000000 /* MSG_CMSG_CLOEXEC */)) < 0 && Sys.Errno == 4) { }
        if (r <= 0) return -1;
        if (m.ControlLen < 16) return 0;
        int n = (int)((ctl[0] - 16) / 4);
        if (n > max) n = max;
        for (int i = 0; i < n; i++) fds[i] = ((int*)ctl)[4 + i];
        return n;
    }
}
