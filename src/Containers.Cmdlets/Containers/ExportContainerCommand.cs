using System.Management.Automation;

namespace Containers.Cmdlets.Runtime;

/// <summary>Export-Container: the container's file system as one flat tar (docker export).</summary>
[Cmdlet(VerbsData.Export, "Container", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    [Parameter(Mandatory = true, Position = 1)]
    [Alias("Destination", "OutFile")]
    public string Path { get; set; } = "";

    protected override void ProcessRecord()
    {
        string path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        if (!ShouldProcess(Name, $"Export container file system to '{path}'")) return;
        TryItem(Name, () =>
        {
            string tmp = path + ".tmp-" + System.Environment.ProcessId;
            try
            {
                using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write)) Runtime.Export(Name, fs, CancellationToken);
                File.Move(tmp, path, true);
            }
            finally { File.Delete(tmp); }
            WriteObject(new FileInfo(path));
        });
    }
}
