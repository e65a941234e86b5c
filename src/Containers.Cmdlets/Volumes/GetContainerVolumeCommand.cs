using Containers.Cmdlets.Base;
using System.Management.Automation;
using Containers.Cmdlets.Runtime;
using Containers.Engine.Model;
using Containers.Engine.Volumes;

namespace Containers.Cmdlets.Volumes;

/// <summary>Get-ContainerVolume: named volumes (wildcards).</summary>
[Cmdlet(VerbsCommon.Get, "ContainerVolume")]
[OutputType(typeof(ContainerVolumeInfo))]
public sealed class GetContainerVolumeCommand : ContainerCmdletBase
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(VolumeNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var all = new VolumeStore(Root).List();
        if (Name is null or { Length: 0 }) { WriteObject(all, true); return; }
        foreach (var n in Name)
        {
            var wp = new WildcardPattern(n, WildcardOptions.IgnoreCase);
            var hits = all.Where(v => wp.IsMatch(v.Name)).ToList();
            if (hits.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
                WriteFailure(Engine.Errors.ContainersException.NotFound("VolumeNotFound", $"No volume named '{n}' exists.", n), n);
            WriteObject(hits, true);
        }
    }
}
