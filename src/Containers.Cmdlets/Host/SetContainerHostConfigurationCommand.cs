using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Host;
using Containers.Engine.Model;
using Containers.Engine.State;
using Containers.Engine.UserNamespaces;

namespace Containers.Cmdlets.Host;

/// <summary>
/// Set-ContainerHostConfiguration: the storage root's settings record (settings.json). -DefaultUserNamespace is the
/// user namespace of containers made without -UserNamespace; Auto makes the system user of the id ranges when it
/// does not exist yet. Returns Get-ContainerHost's object with -PassThru.
/// </summary>
[Cmdlet(VerbsCommon.Set, "ContainerHostConfiguration", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ContainerHostInfo))]
public sealed class SetContainerHostConfigurationCommand : ContainersCmdlet
{
    [Parameter] [ValidateSet("Host", "Auto")] public string? DefaultUserNamespace { get; set; }
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var root = Root;
        if (DefaultUserNamespace is not null)
        {
            var mode = IdRange.ParseMode(DefaultUserNamespace);
            if (ShouldProcess(root.Path, $"Set the default user namespace to {mode}"))
            {
                if (!TryItem(root.Path, () =>
                {
                    if (mode == UserNamespaceMode.Auto)
                    {
                        if (UserNamespaceSupport.RootProblem(root) is string problem)
                            WriteWarning($"Containers of this root will run in the host's user namespace until this is fixed: {problem}.");
                        else if (UserNamespaceSupport.LayerIdmapProblem(root) is string why)
                            LayerCopies.WarnOnce(root, why, WriteWarning);
                        if (UserNamespaceSupport.RootProblem(root) is null && SubordinateIds.Find() is null
                            && ShouldProcess(SubordinateIds.UserName, "Create the system user and its subordinate id ranges (/etc/subuid, /etc/subgid) for user namespaces"))
                            SubordinateIds.Create();
                    }
                    var s = HostSettings.Load(root);
                    s.DefaultUserNamespace = mode.ToString();
                    s.Save(root);
                })) return;
            }
        }
        if (PassThru) WriteObject(HostProbe.Probe(root, EngineFiles.HelperPath));
    }
}
