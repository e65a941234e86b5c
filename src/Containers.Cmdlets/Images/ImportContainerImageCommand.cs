using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Import-ContainerImage: docker-archive, OCI archive, OCI layout, or a root file system with -RootFs.</summary>
[Cmdlet(VerbsData.Import, "ContainerImage", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(ImageRecord))]
public sealed class ImportContainerImageCommand : ContainersCmdlet
{
    private const string PathSet = "Path", LiteralSet = "LiteralPath";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName")]
    public string[] LiteralPath { get; set; } = [];

    [Parameter]
    [Alias("Tag")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter]
    public SwitchParameter RootFs { get; set; }

    /// <summary>The one image of an OCI layout or archive to import, by its ref.name (skopeo's oci:dir:ref).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Reference { get; set; }

    [Parameter]
    public string[] Change { get; set; } = [];

    [Parameter]
    public string? Message { get; set; }

    protected override void ProcessRecord()
    {
        var paths = new List<string>();
        if (ParameterSetName == LiteralSet)
            foreach (var p in LiteralPath) paths.Add(GetUnresolvedProviderPathFromPSPath(p));
        else
            foreach (var p in Path)
            {
                try { paths.AddRange(GetResolvedProviderPathFromPSPath(p, out _)); }
                catch (ItemNotFoundException ex) { WriteError(new ErrorRecord(ex, "ImportPathNotFound", ErrorCategory.ObjectNotFound, p)); }
            }
        var store = new ImageStore(Root);
        var options = new ImportOptions { Names = Name, RootFs = RootFs, Changes = Change, Message = Message, Reference = Reference };
        foreach (var p in paths)
        {
            if (!ShouldProcess(p, "Import image")) continue;
            TryItem(p, () =>
            {
                var imgs = RunWithProgress((sink, ct) => store.Import(p, options, sink, ct));
                foreach (var i in imgs) WriteObject(i);
            });
        }
    }
}
