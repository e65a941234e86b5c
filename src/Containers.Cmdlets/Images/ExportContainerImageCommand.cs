using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Export-ContainerImage: writes images to a docker-archive or OCI archive with their original blobs.</summary>
[Cmdlet(VerbsData.Export, "ContainerImage", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportContainerImageCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "ImageId", "Image", "Id")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("OutFile")]
    public string Path { get; set; } = "";

    [Parameter]
    public ImageArchiveFormat Format { get; set; } = ImageArchiveFormat.DockerArchive;

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    [Parameter]
    public SwitchParameter PassThru { get; set; }

    private readonly List<ImageRecord> _images = [];

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        // several rows (tags) of one image from Get-ContainerImage are that image once in the archive
        foreach (var n in Name)
            TryItem(n, () =>
            {
                var img = store.Resolve(n);
                if (!_images.Any(i => i.ManifestDigest == img.ManifestDigest)) _images.Add(img);
            });
    }

    protected override void EndProcessing()
    {
        if (_images.Count == 0) return;
        string path = GetUnresolvedProviderPathFromPSPath(Path);
        if (File.Exists(path) && !Force)
        {
            ThrowTerminatingError(new ErrorRecord(new IOException($"The file '{path}' exists; use -Force to overwrite it."), "ExportFileExists", ErrorCategory.ResourceExists, path));
            return;
        }
        if (!ShouldProcess(path, $"Export {string.Join(", ", _images.Select(i => i.ToString()))} as {Format}")) return;
        var store = new ImageStore(Root);
        try { RunWithProgress((sink, ct) => store.Export(_images, path, Format, sink, ct)); }
        catch (Exception ex) when (ex is not PipelineStoppedException) { Fail(ex, path); }
        if (PassThru) WriteObject(new FileInfo(path));
    }
}
