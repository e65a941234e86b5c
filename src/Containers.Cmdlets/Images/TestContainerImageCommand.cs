using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Audit;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>
/// Test-ContainerImage: audits images offline (config, history, layers in the store; no container) and writes
/// what it finds as <see cref="ImageFinding"/> objects (docker scout / trivy style).
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "ContainerImage")]
[OutputType(typeof(ImageFinding))]
public sealed class TestContainerImageCommand : ContainersCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "ImageId", "Image", "Id")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Only these rules (all when not given).</summary>
    [Parameter]
    [ValidateSet("RunsAsRoot", "SetuidFile", "WorldWritable", "Secret", "NoHealthcheck", "OutdatedBase", "OutdatedPackage")]
    public string[]? Rule { get; set; }

    /// <summary>Only findings of this severity or higher.</summary>
    [Parameter]
    public FindingSeverity Severity { get; set; } = FindingSeverity.Info;

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        var auditor = new ImageAuditor(store);
        var rules = Rule is { Length: > 0 } ? new HashSet<string>(Rule, StringComparer.OrdinalIgnoreCase) : null;
        foreach (var n in Name)
            TryItem(n, () =>
            {
                var img = store.Resolve(n);
                foreach (var f in auditor.Audit(img, n, rules, CancellationToken))
                    if (f.Severity >= Severity) WriteObject(f);
            });
    }
}
