using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Remove-ContainerImage: untags by name, deletes by id; layers and blobs nothing uses go too.</summary>
[Cmdlet(VerbsCommon.Remove, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = NameSet)]
[OutputType(typeof(void))]
public sealed class RemoveContainerImageCommand : ContainersCmdlet
{
    private const string NameSet = "Name", ObjectSet = "InputObject";

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "ImageId", "Image", "Id")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = ObjectSet, ValueFromPipeline = true)]
    public ImageRecord[] InputObject { get; set; } = [];

    /// <summary>Remove even when containers use the image or it has several tags.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        // an image object stands for its row of Get-ContainerImage: its tag is removed (the image goes with its
        // last tag), an untagged one by id; so Get-ContainerImage | Remove-ContainerImage is docker rmi of every row
        var targets = ParameterSetName == ObjectSet ? InputObject.Select(i => i.Reference).ToArray() : Name;
        foreach (var t in targets)
        {
            TryItem(t, () =>
            {
                var img = store.Resolve(t);
                string what = t.StartsWith("sha256:", StringComparison.Ordinal) || t.Length >= 4 && img.Id[7..].StartsWith(t, StringComparison.Ordinal)
                    ? $"Delete image {img.ShortId} ({string.Join(", ", img.RepoTags)})" : $"Untag {t}";
                if (!ShouldProcess(t, what)) return;
                var (untagged, deleted) = store.Remove(t, Force);
                foreach (var u in untagged) WriteVerbose("Untagged: " + u);
                if (deleted is not null) WriteVerbose("Deleted: " + deleted);
            });
        }
    }
}
