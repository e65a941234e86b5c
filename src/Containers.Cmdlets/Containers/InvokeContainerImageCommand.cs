using System.Management.Automation;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Runtime;

/// <summary>Invoke-ContainerImage (run): create + start; attached it returns the output and exit code, -Detach returns the container.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerImage", SupportsShouldProcess = true, DefaultParameterSetName = ImageSet)]
[OutputType(typeof(ContainerProcessResult), typeof(ContainerInfo))]
public sealed class InvokeContainerImageCommand : ContainerCreateCmdlet
{
    [Parameter] public SwitchParameter Detach { get; set; }

    [Parameter] [Alias("Rm", "RemoveAutomatically")] public SwitchParameter Remove { get; set; }

    /// <summary>A non-zero exit code also writes a ContainerExitedNonZero error (attached runs).</summary>
    [Parameter] public SwitchParameter ErrorOnNonZeroExit { get; set; }

    /// <summary>Attached runs: no live output lines on the information stream (the result still has them).</summary>
    [Parameter] public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        string target = ParameterSetName == ImageSet ? Image : RootFs;
        if (!ShouldProcess(target, Detach ? "Run container (detached)" : "Run container")) return;
        if (!TryItem(target, EnsureImage)) return;
        var o = BuildOptions();
        if (Detach)
        {
            if (Remove) o.AutoRemove = true;
            TryItem(target, () =>
            {
                var info = Runtime.Create(o, CancellationToken);
                try { using (Runtime.Start(info.Id, CancellationToken)) { } }
                catch when (Remove) { Runtime.Remove(info.Id, true); throw; }
                WriteObject(Runtime.Get(info.Id));
            });
            return;
        }
        TryItem(target, () =>
        {
            // attached: each output line is written as it arrives (information stream), on this thread
            var r = Runtime.Run(o, Remove, CancellationToken, Quiet ? null : WriteLiveLine);
            WriteObject(r);
            if (ErrorOnNonZeroExit) WriteNonZeroExit(r);
        });
    }
}
