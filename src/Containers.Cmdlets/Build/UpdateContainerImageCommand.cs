using System.Management.Automation;
using Containers.Cmdlets.Images;
using Containers.Cmdlets.Runtime;
using Containers.Engine.Build;

namespace Containers.Cmdlets.Build;

/// <summary>
/// Update-ContainerImage: brings images whose base was updated onto the new base, by rebuilding them from their
/// recipe (default) or by swapping the base layers under their own (-Rebase), with -Recurse then the images built
/// on them, bases first, each new image taking the old one's tags. -WhatIf shows the plan, one message per step.
/// </summary>
[Cmdlet(VerbsData.Update, "ContainerImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ImageUpdateStep))]
public sealed class UpdateContainerImageCommand : ContainerCmdletBase
{
    /// <summary>The images to update (names or ids); pipeline input binds Get-ContainerImage's rows.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Reference", "Image")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[] Name { get; set; } = [];

    /// <summary>Then the images built on each updated image, transitively, in dependency order.</summary>
    [Parameter] public SwitchParameter Recurse { get; set; }

    /// <summary>Swap the base layers instead of running the build (only safe when the image's own steps just add files).</summary>
    [Parameter] public SwitchParameter Rebase { get; set; }

    /// <summary>Update even an image whose base has not changed (a fresh rebuild).</summary>
    [Parameter] public SwitchParameter Force { get; set; }

    /// <summary>First pull each named image's base from its registry (as Request-ContainerImage), so a base that moved there is updated to.</summary>
    [Parameter] public SwitchParameter Remote { get; set; }

    /// <summary>No build output on the information stream and no progress.</summary>
    [Parameter] [Alias("q")] public SwitchParameter Quiet { get; set; }

    private readonly List<string> _names = [];

    protected override void ProcessRecord() => _names.AddRange(Name);

    protected override void EndProcessing()
    {
        const int activity = 13;
        var updater = new ImageUpdater(Runtime)
        {
            OnStep = s =>
            {
                if (Quiet || Stopping) return;
                WriteProgress(new ProgressRecord(activity, "Update-ContainerImage", $"Step {s.Number}/{s.Total}: {s.Text}")
                { PercentComplete = Math.Min(100, (s.Number - 1) * 100 / Math.Max(1, s.Total)) });
            },
            OnOutput = Quiet ? null : WriteLiveLine,
        };
        if (Remote)
        {
            // the bases of the named images, pulled once each; an image built on one of them is updated after it (-Recurse)
            var pulled = new HashSet<string>(StringComparer.Ordinal);
            foreach (var n in _names.Distinct(StringComparer.Ordinal))
            {
                string? baseName = null;
                if (!TryItem(n, () => baseName = updater.BaseNameOf(n)) || baseName is null || !pulled.Add(baseName)) continue;
                if (!ShouldProcess(baseName, "Pull the base from its registry")) continue;
                TryItem(baseName, () => RunWithProgress((sink, ct) => updater.PullBase(n, global::Containers.Engine.Registry.RegistryOptions.Default, sink, ct)));
            }
        }
        IReadOnlyList<ImageUpdateStep> plan = [];
        if (!TryItem(string.Join(", ", _names), () => plan = updater.Plan(_names.Distinct(StringComparer.Ordinal).ToList(), Recurse, Rebase, Force, WriteVerbose)))
            return;
        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in plan)
        {
            string onto = step.After is not null ? $"'{step.BaseName}' (after '{step.After}' is updated)"
                : $"'{step.BaseName}' ({Short(step.NewBaseDigest)}, was {Short(step.OldBaseDigest)})";
            string action = step.Action == "Rebase"
                ? $"Step {step.Order}/{plan.Count}: rebase onto {onto}, keeping its own layers, and move its tags"
                : $"Step {step.Order}/{plan.Count}: rebuild from its recipe on {onto} and move its tags";
            if (!ShouldProcess(step.Image, action)) continue;
            if (step.After is not null && failed.Contains(step.After))
            {
                WriteWarning($"'{step.Image}' is not updated: its base '{step.After}' failed to update.");
                failed.Add(step.Image);
                continue;
            }
            if (step.ContextChanged)
                WriteWarning($"The build context of '{step.Image}' changed since it was built; the rebuild reads the context as it is now (and the Dockerfile as recorded).");
            if (step.Action == "Rebase" && step.HasRunLayers)
                WriteWarning($"'{step.Image}' has RUN steps of its own; they ran against the old base and are kept as they are (a package installed by RUN is not updated and may not match the new base's package database). Rebuild it when that matters.");
            bool ok = TryItem(step.Image, () =>
            {
                try { updater.Execute(step, CancellationToken); }
                finally
                {
                    if (!Quiet && !Stopping) WriteProgress(new ProgressRecord(activity, "Update-ContainerImage", "Done") { RecordType = ProgressRecordType.Completed });
                }
                WriteObject(step);
            });
            if (!ok) failed.Add(step.Image);
        }
        base.EndProcessing();
    }

    private static string Short(string? digest) => digest is { Length: > 19 } d ? d[7..19] : digest ?? "?";
}
