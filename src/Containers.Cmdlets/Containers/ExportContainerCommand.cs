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
                IReadOnlyList<string> skipped;
                using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write)) skipped = Runtime.Export(Name, fs, CancellationToken);
                File.Move(tmp, path, true);
                // as tar's "file changed as we read it": a running container's files may come and go
                if (skipped.Count > 0)
                    WriteWarning($"{skipped.Count} file(s) changed or vanished while the container was exported and were left out: {string.Join(", ", skipped.Take(5))}{(skipped.Count > 5 ? ", ..." : "")}");
            }
            finally { File.Delete(tmp); }
            WriteObject(new FileInfo(path));
        });
    }
}
