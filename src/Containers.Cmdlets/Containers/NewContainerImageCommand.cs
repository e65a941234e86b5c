using System.Management.Automation;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Runtime;

/// <summary>New-ContainerImage -Container: commits a container's writable layer as a new image.</summary>
[Cmdlet(VerbsCommon.New, "ContainerImage", SupportsShouldProcess = true, DefaultParameterSetName = ContainerSet)]
[OutputType(typeof(ImageRecord))]
public sealed class NewContainerImageCommand : ContainerCmdletBase
{
    private const string ContainerSet = "Container";

    [Parameter(Mandatory = true, ParameterSetName = ContainerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("ContainerName", "ContainerId", "Id")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Container { get; set; } = "";

    /// <summary>The new image's name (repository:tag).</summary>
    [Parameter(Position = 0)] public string? Name { get; set; }
    [Parameter] public string? Message { get; set; }
    [Parameter] public string? Author { get; set; }
    [Parameter] public string[]? Change { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(Container, "Commit container as image" + (Name is null ? "" : $" '{Name}'"))) return;
        var o = new CommitOptions { Name = Name, Message = Message, Author = Author, Changes = Change ?? [] };
        TryItem(Container, () => WriteObject(Runtime.Commit(Container, o, CancellationToken)));
    }
}
