using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Get-ContainerImageHistory: the steps that made an image, newest first (docker history).</summary>
[Cmdlet(VerbsCommon.Get, "ContainerImageHistory")]
[OutputType(typeof(ImageHistoryEntry))]
public sealed class GetContainerImageHistoryCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "ImageId", "Image", "Id")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        foreach (var n in Name)
            TryItem(n, () => { foreach (var h in store.History(store.Resolve(n))) WriteObject(h); });
    }
}
