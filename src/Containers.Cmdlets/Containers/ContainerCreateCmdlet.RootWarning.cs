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
        if (!Privileged && mode != Engine.UserNamespaces.UserNamespaceMode.Host) return;
        if (!RootWarned.TryAdd(Root.Path + "\0" + Image + "\0" + (User ?? ""), true)) return;
        string? user = User;
        if (string.IsNullOrEmpty(user))
        {
            try { user = new ImageStore(Root).TryResolve(Image)?.Config.Config?.User; }
            catch (Exception) { return; }   // the creation itself reports a store problem
        }
        if (!ImageAuditor.RunsAsRoot(user)) return;
        WriteWarning($"The container of '{Image}' runs as root{(Privileged ? " with -Privileged" : "")} in the host's user namespace: root in the container is root on the host. "
            + "Run it as an unprivileged user with -User <uid>[:<gid>] (or give the image a USER), or in a user namespace (-UserNamespace Auto, or Set-ContainerHostConfiguration -DefaultUserNamespace Auto for every container of the root); "
            + "Test-ContainerImage lists what else the image needs. -WarningAction SilentlyContinue hides this warning.");
    }
}
