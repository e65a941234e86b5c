using System.Management.Automation;
using Containers.Engine.Audit;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Runtime;

public abstract partial class ContainerCreateCmdlet
{
    // keyed by root, image and user joined with NULs (none of them holds one): a string key, not a value tuple, so the
    // dictionary's code is precompiled (a tuple key's is compiled at the session's first run)
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> RootWarned = new(StringComparer.Ordinal);

    /// <summary>
    /// Warns when the container's process will be root without a user namespace (root in the container is root
    /// on the host): the effective user (-User, else the image's USER) is root and the container shares the
    /// host's user namespace (-Privileged, -UserNamespace Host, or no -UserNamespace where the engine has no other).
    /// -WarningAction SilentlyContinue hides it. Never fails the creation. Given once per root, image and -User in a
    /// session: a script that runs the same image a hundred times is told once, and the runs after the first skip the
    /// image lookup this needs.
    /// </summary>
    protected void WarnIfRootOnHost()
    {
        if (ParameterSetName != ImageSet) return;
        // rootless: root in the container is this user, never the host's root
        if (Engine.Rootless.RootlessHost.Active) return;
        // the mode the container will get: -UserNamespace, else the root's default (Set-ContainerHostConfiguration)
        var mode = UserNamespace ?? Engine.UserNamespaces.HostSettings.Load(Root).DefaultMode;
        // what makes the engine give the host's user namespace whatever the mode (ContainerRuntime.Create, docker's
        // rule for userns-remap); a fallback of Auto has its own warning (UserNamespaceFallback)
        string? implied = Privileged ? "-Privileged"
            : Device is { Length: > 0 } ? "-Device"
            : Pid?.Trim() is { Length: > 0 } p && p != "private" ? "-Pid"
            : Ipc?.Trim() is { Length: > 0 } i && i is not ("private" or "shareable") ? "-Ipc"
            : Network is { } nets && nets.Any(n => n == "host") ? "-Network host" : null;
        if (implied is null && mode != Engine.UserNamespaces.UserNamespaceMode.Host) return;
        if (!RootWarned.TryAdd(Root.Path + "\0" + Image + "\0" + (User ?? ""), true)) return;
        string? user = User;
        if (string.IsNullOrEmpty(user))
        {
            try { user = new ImageStore(Root).TryResolve(Image)?.Config.Config?.User; }
            catch (Exception) { return; }   // the creation itself reports a store problem
        }
        if (!ImageAuditor.RunsAsRoot(user)) return;
        string where = implied is null ? "" : mode == Engine.UserNamespaces.UserNamespaceMode.Host || Privileged ? $" with {implied}" : $" ({implied} needs it)";
        string avoid = implied is not null && !Privileged
            ? $"Run it as an unprivileged user with -User <uid>[:<gid>] (or give the image a USER); {implied} cannot be given to a container in a user namespace of its own. "
            : "Run it as an unprivileged user with -User <uid>[:<gid>] (or give the image a USER), or in a user namespace (-UserNamespace Auto; the default of new storage roots, and of one made by an earlier version after Set-ContainerHostConfiguration -DefaultUserNamespace Auto). ";
        WriteWarning($"The container of '{Image}' runs as root{where} in the host's user namespace: root in the container is root on the host. "
            + avoid + "Test-ContainerImage lists what else the image needs. -WarningAction SilentlyContinue hides this warning.");
    }
}
