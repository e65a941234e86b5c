using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Host;
using Containers.Engine.Model;
using Containers.Engine.State;

namespace Containers.Cmdlets.Host;

/// <summary>Get-ContainerHost: the kernel's container abilities and the storage root's use.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerHost")]
[OutputType(typeof(ContainerHostInfo))]
public sealed class GetContainerHostCommand : ContainersCmdlet
{
    protected override void EndProcessing()
    {
        WriteObject(HostProbe.Probe(Root, EngineFiles.HelperPath));
    }
}
