using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Add-ContainerImageTag: gives an image another name (docker tag).</summary>
[Cmdlet(VerbsCommon.Add, "ContainerImageTag", SupportsShouldProcess = true)]
[OutputType(typeof(ImageRecord))]
public sealed class AddContainerImageTagCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "ImageId", "Image", "Id")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Tag")]
    public string[] NewName { get; set; } = [];

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        foreach (var n in NewName)
        {
            TryItem(n, () =>
            {
                var img = store.Resolve(Name);
                if (!ShouldProcess(n, $"Tag image {img.ShortId}")) return;
                var r = store.Tag(Name, n);
                if (PassThru) WriteObject(r);
            });
        }
    }
}
