using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>
/// Test-ContainerStore: verifies records, blobs, layers and references; one object per problem; -Repair moves
/// corrupt records aside and removes garbage (never while what is in use is unknown).
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "ContainerStore", SupportsShouldProcess = true)]
[OutputType(typeof(StoreProblem), typeof(bool))]
public sealed class TestContainerStoreCommand : ContainersCmdlet
{
    /// <summary>Remove what nothing references (never re-fetches anything).</summary>
    [Parameter]
    public SwitchParameter Repair { get; set; }

    /// <summary>Return only $true (consistent: no Error problem) or $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    // the corrupt records are findings here, not errors besides them
    protected override bool WritesSkippedRecords => false;

    protected override void EndProcessing()
    {
        bool repair = Repair && ShouldProcess(Root.Path, "Move corrupt records aside (<file>.corrupt-<time>); remove unreferenced blobs, layers, names and temp files; finish what killed starts, removals and monitors left; rewrite event logs keeping their good lines (entries of unknown kind are never touched)");
        try
        {
            // every kind of record the root holds (Engine.Runtime.StoreKinds), then what is of no known kind
            var problems = RunWithProgress((sink, ct) => Engine.Runtime.StoreKinds.CheckAll(Root, repair, sink, ct));
            if (Quiet) WriteObject(!problems.Any(p => p.Severity == "Error"));
            else foreach (var p in problems) WriteObject(p);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException) { Fail(ex, Root.Path); }
    }
}
