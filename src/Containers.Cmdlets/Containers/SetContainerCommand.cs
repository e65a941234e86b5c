using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>
/// Set-Container (docker update): changes the memory, swap, CPU and pids limits and the restart policy of a
/// container, running or stopped. A running container's cgroup changes at once; the stored config for the next start.
/// </summary>
[Cmdlet(VerbsCommon.Set, "Container", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ContainerInfo))]
public sealed class SetContainerCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string[] Name { get; set; } = [];

    [Parameter] [ByteSizeTransformation] [ValidateRange(6 * 1024 * 1024, long.MaxValue)] public long Memory { get; set; }
    [Parameter] [ByteSizeTransformation] [ValidateRange(-1, long.MaxValue)] public long MemorySwap { get; set; }
    [Parameter] [ValidateRange(0.01, 1024.0)] public double Cpus { get; set; }
    [Parameter] [ValidateRange(1, long.MaxValue)] public long PidsLimit { get; set; }
    [Parameter] [ArgumentCompleter(typeof(RestartPolicyCompleter))] public string? RestartPolicy { get; set; }
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        string[] settings = [nameof(Memory), nameof(MemorySwap), nameof(Cpus), nameof(PidsLimit), nameof(RestartPolicy)];
        if (!settings.Any(MyInvocation.BoundParameters.ContainsKey))
            ThrowTerminatingError(new ErrorRecord(new PSArgumentException("Give at least one of -Memory, -MemorySwap, -Cpus, -PidsLimit, -RestartPolicy."),
                "NothingToUpdate", ErrorCategory.InvalidArgument, null));
    }

    protected override void ProcessRecord()
    {
        bool Has(string p) => MyInvocation.BoundParameters.ContainsKey(p);
        var o = new ContainerUpdateOptions
        {
            Memory = Has(nameof(Memory)) ? Memory : null,
            MemorySwap = Has(nameof(MemorySwap)) ? MemorySwap : null,
            Cpus = Has(nameof(Cpus)) ? Cpus : null,
            PidsLimit = Has(nameof(PidsLimit)) ? PidsLimit : null,
            RestartPolicy = RestartPolicy,
        };
        string what = string.Join(", ", MyInvocation.BoundParameters.Where(kv => kv.Key is nameof(Memory) or nameof(MemorySwap) or nameof(Cpus) or nameof(PidsLimit) or nameof(RestartPolicy))
            .Select(kv => $"{kv.Key} {kv.Value}"));
        foreach (var n in Name)
        {
            if (!ShouldProcess(n, "Update container (" + what + ")")) continue;
            TryItem(n, () =>
            {
                var info = Runtime.Update(n, o, CancellationToken);
                if (PassThru) WriteObject(info);
            });
        }
    }
}
