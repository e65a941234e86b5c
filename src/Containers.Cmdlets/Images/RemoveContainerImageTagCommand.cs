using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Remove-ContainerImageTag: removes names; the image itself stays (possibly dangling).</summary>
[Cmdlet(VerbsCommon.Remove, "ContainerImageTag", SupportsShouldProcess = true)]
[OutputType(typeof(ImageRecord))]
public sealed class RemoveContainerImageTagCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [Alias("Tag")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        foreach (var n in Name)
        {
            TryItem(n, () =>
            {
                if (!ShouldProcess(n, "Remove tag")) return;
                var r = store.Untag(n);
                if (PassThru) WriteObject(r);
            });
        }
    }
}
