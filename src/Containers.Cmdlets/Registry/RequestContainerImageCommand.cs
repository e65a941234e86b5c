using System.Management.Automation;
using Containers.Engine.Model;
using Containers.Engine.Registry;

namespace Containers.Cmdlets.Registry;

/// <summary>Request-ContainerImage: pulls images from a registry into the store.</summary>
[Cmdlet(VerbsLifecycle.Request, "ContainerImage", SupportsShouldProcess = true)]
[OutputType(typeof(ImagePullResult))]
public sealed class RequestContainerImageCommand : RegistryCmdlet
{
    /// <summary>The image reference: [registry/]repository[:tag][@digest]; short names mean docker.io/library.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name", "Image", "Reference")]
    [ValidateNotNullOrEmpty]
    public string[] ImageName { get; set; } = [];

    /// <summary>The platform to pick from a multi-platform index: os/arch[/variant]; default linux/amd64.</summary>
    [Parameter]
    [ValidatePattern(@"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")]
    public string? Platform { get; set; }

    protected override void ProcessRecord()
    {
        foreach (string name in ImageName)
        {
            if (!ShouldProcess(name, "Pull image")) continue;
            TryItem(name, () =>
            {
                var options = Options(Platform);
                var result = RunWithProgress((sink, ct) => ImagePuller.Pull(Root, name, options, sink, ct));
                WriteObject(result);
            });
        }
    }
}
