namespace Containers.Engine.Runtime;

/// <summary>User-facing messages of the runtime and volumes, in one place.</summary>
internal static class RuntimeMessages
{
    public static string InvalidUlimit(string spec, string why) => $"The ulimit '{spec}' is not valid: {why}.";
    public static string UlimitAboveHardLimit(string spec, string hard) =>
        $"The ulimit '{spec}' asks for a hard limit above this session's ({hard}), and raising it needs CAP_SYS_RESOURCE, which this process does not hold.";
    public static string ContainerNotFound(string name) => $"No container named or with the id '{name}' exists.";
    public static string AmbiguousId(string name) => $"The id prefix '{name}' matches more than one container; give more characters or the name.";
    public static string NameInUse(string name, string id) => $"The name '{name}' is already used by container {id[..12]}. Remove it, choose another name or use -Replace.";
    public static string InvalidName(string name) => $"The container name '{name}' is not valid: use letters, digits, '_', '.' and '-', starting with a letter or digit.";
    public static string ImageNotFound(string image) => $"The image '{image}' was not found in the local store. Import or pull it first (Import-ContainerImage).";
    public static string NoImageStore(string image) => $"Cannot resolve the image '{image}': the image store is not available in this build; use -RootFs <directory>.";
    public static string RootFsNotFound(string path) => $"The root file system directory '{path}' does not exist.";
    public static string IllegalTransition(string name, string status, string action) => $"Cannot {action} the container '{name}': it is {status}.";
    public static string StartFailed(string name, string reason) => $"The container '{name}' failed to start: {reason}";
    public static string BadRestartPolicy(string p) => $"The restart policy '{p}' is not valid: use no, always, unless-stopped or on-failure[:N].";
    public static string BadVolume(string v) => $"The volume '{v}' is not valid: use <name>:<path>[:ro] or <host-path>:<path>[:ro] with an absolute container path.";
    public static string BindSourceMissing(string p) => $"The bind-mount source '{p}' does not exist on the host.";
    public static string BadTmpfs(string v) => $"The tmpfs '{v}' is not valid: use <absolute-path>[:options].";
    public static string BadCapability(string c) => $"'{c}' is not a Linux capability.";
    public static string BadSignal(string s) => $"'{s}' is not a signal name or number.";
    public static string BadNetwork(string n) => $"The network '{n}' is not available: use none or host (bridge networks need the networking provider).";
    public static string UserNotFound(string u) => $"The user '{u}' is not in the image's /etc/passwd.";
    public static string GroupNotFound(string g) => $"The group '{g}' is not in the image's /etc/group.";
    public static string NoCommand(string name) => $"The container '{name}' has no command: the image defines none; give -Command.";
    public static string Timeout(string name, string what) => $"Timed out waiting for the container '{name}' to be {what}.";
    public static string VolumeNotFound(string name) => $"No volume named '{name}' exists.";
    public static string VolumeExists(string name) => $"A volume named '{name}' already exists.";
    public static string VolumeInUse(string name, string users) => $"The volume '{name}' is used by: {users}. Remove those containers first.";
    public static string InvalidVolumeName(string name) => $"The volume name '{name}' is not valid: use letters, digits, '_', '.' and '-'.";
    public static string ExecFailed(string name, string reason) => $"Cannot run the command in the container '{name}': {reason}";
    public static string PathNotFound(string p) => $"The path '{p}' does not exist.";
    public static string NotADirectory(string p) => $"The path '{p}' ends with '/' but is not a directory.";
    public static string CopyDirectoryOntoFile(string p) => $"Cannot copy a directory onto '{p}': it is a file.";
    public static string CopyOntoDirectory(string p) => $"Cannot copy the non-directory '{p}' onto a directory of the same name.";
    public static string LinkLoop(string p) => $"The path '{p}' has too many levels of symbolic links.";
    public static string CopyFailed(string p, string why) => $"Copying '{p}' failed: {why}";
    public static string MonitorLost(int monitorPid, bool wasRunning) =>
        $"The container's monitor (pid {monitorPid}) ended without recording the container's end" +
        (wasRunning ? "; the engine stopped the unsupervised process." : "; the process had already ended, its exit code is unknown.");
    public static string RestartAfterLossFailed(string reason) => $"The restart policy's restart after the monitor was lost failed: {reason}";
    public static string NotRunning(string name) => $"The container '{name}' is not running.";
    public static string RemoveWithRestart(string policy) =>
        $"-Remove removes the container when it exits, so it cannot also restart it (-RestartPolicy {policy}); give one or the other.";
}
