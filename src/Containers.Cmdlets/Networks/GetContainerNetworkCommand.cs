using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Errors;
using Containers.Engine.Networking;

namespace Containers.Cmdlets.Networks;

/// <summary>Get-ContainerNetwork: the networks of the storage root with their subnets and attached containers.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerNetwork")]
[OutputType(typeof(ContainerNetworkInfo))]
public sealed class GetContainerNetworkCommand : ContainersCmdlet
{
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("NetworkName")]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(NetworkNameCompleter))]
    public string[]? Name { get; set; }

    protected override void ProcessRecord()
    {
        var all = new NetworkManager(Root).List();
        if (Name is null || Name.Length == 0) { WriteObject(all, true); return; }
        foreach (var n in Name)
        {
            if (WildcardPattern.ContainsWildcardCharacters(n))
            {
                var p = WildcardPattern.Get(n, WildcardOptions.IgnoreCase);
                WriteObject(all.Where(x => p.IsMatch(x.Name)), true);
            }
            else
            {
                var hit = all.FirstOrDefault(x => x.Name == n || x.Id.StartsWith(n, StringComparison.Ordinal));
                if (hit is null) WriteFailure(ContainersException.NotFound("NetworkNotFound", $"No network named '{n}' exists.", n), n);
                else WriteObject(hit);
            }
        }
    }
}
