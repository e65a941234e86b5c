using System.Management.Automation;
using Containers.Engine.Model;
using Containers.Engine.Registry;

namespace Containers.Cmdlets.Registry;

/// <summary>Publish-ContainerImage: pushes a stored image to a registry.</summary>
[Cmdlet(VerbsData.Publish, "ContainerImage", SupportsShouldProcess = true)]
[OutputType(typeof(ImagePushResult))]
public sealed class PublishContainerImageCommand : RegistryCmdlet
{
    /// <summary>The local image: its name, name@digest or id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "Name", "Image", "Id")]
    [ValidateNotNullOrEmpty]
    public string ImageName { get; set; } = "";

    /// <summary>Where to push: [registry/]repository[:tag]; default the image's own name.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    protected override void ProcessRecord()
    {
        string dest = Destination ?? ImageName;
        if (!ShouldProcess(dest, $"Push image '{ImageName}'")) return;
        TryItem(ImageName, () =>
        {
            var options = Options();
            var result = RunWithProgress((sink, ct) => ImagePusher.Push(Root, ImageName, Destination, options, sink, ct));
            WriteObject(result);
        });
    }
}
