using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

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

    /// <summary>
    /// Standard input of the container's process (docker run -i, attached runs): all the pipeline's objects go
    /// to one container. Bound by value only, so images piped by property name still run one container each.
    /// </summary>
    [Parameter(ValueFromPipeline = true)] public object? InputObject { get; set; }

    /// <summary>A file whose content is the container process's standard input (attached runs).</summary>
    [Parameter] public string? InputFile { get; set; }

    /// <summary>
    /// A file that gets the process's standard output byte for byte, as docker run ... &gt; file does (attached
    /// runs): nothing added or decoded. Standard output is then neither shown nor in the result's Output;
    /// standard error stays text in Error.
    /// </summary>
    [Parameter] public string? OutFile { get; set; }

    /// <summary>
    /// docker run -i: with -Tty, the console's input goes to the container's terminal; without it, the host's
    /// redirected standard input is the process's stdin (pipeline input and -InputFile are that already).
    /// </summary>
    [Parameter] public SwitchParameter Interactive { get; set; }

    /// <summary>docker run -t: the first process runs on a pseudo-terminal; attached, it is relayed to the console.</summary>
    [Parameter] public SwitchParameter Tty { get; set; }

    // set when the pipeline (or -InputObject) is the input of one container run in EndProcessing
    private StandardInput? _input;

    protected override void BeginProcessing()
    {
        Engine.Diagnostics.StepTimes.Mark("begin cmdlet");
        base.BeginProcessing();
        bool expected = StandardInput.Expected(this, "Image", "RootFs");
        string? conflict = Detach && (expected || InputFile is not null) ? "-InputObject, pipeline input and -InputFile are for attached runs, not with -Detach."
            : expected && InputFile is not null ? "-InputObject (or pipeline input) and -InputFile cannot be used together." : null;
        if (conflict is not null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(conflict), "ConflictingInput", ErrorCategory.InvalidArgument, InputFile));
        if (Detach && OutFile is not null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-OutFile is for attached runs, not with -Detach (Get-ContainerLog reads a detached container's output)."),
                "ConflictingOutput", ErrorCategory.InvalidArgument, OutFile));
        if (Tty && !Detach && (expected || InputFile is not null))
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Tty relays the console to the container's terminal: -InputObject, pipeline input and -InputFile cannot be used with it."),
                "ConflictingInput", ErrorCategory.InvalidArgument, InputFile));
        if (Tty && OutFile is not null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-OutFile cannot be used with -Tty: a terminal's output goes to the console (and to Get-ContainerLog)."),
                "ConflictingOutput", ErrorCategory.InvalidArgument, OutFile));
        if (Interactive && Detach && !Tty)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Interactive with -Detach needs -Tty (docker run -dit): a detached container's input comes from Connect-Container, which relays a terminal."),
                "ConflictingOptions", ErrorCategory.InvalidArgument, null));
        if (Interactive && !Tty && !Detach && !expected && InputFile is null)
        {
            // docker run -i without -t: the host's standard input, when it is redirected (a console needs -Tty)
            if (!Console.IsInputRedirected)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Interactive without -Tty reads the input piped to it (or the host's redirected standard input); for a console use -Interactive -Tty."),
                    "InteractiveNeedsInput", ErrorCategory.InvalidArgument, null));
            _hostInput = true;
        }
        if (expected) _input = new StandardInput();
    }

    // -Interactive without -Tty and without pipeline input: the host process's redirected stdin
    private bool _hostInput;

    protected override void ProcessRecord()
    {
        if (_input is not null) { _input.Add(InputObject); return; }
        RunOne(null);
    }

    protected override void EndProcessing()
    {
        if (_input is not null) RunOne(_input.ToStream());
        base.EndProcessing();
    }

    private void RunOne(Stream? input)
    {
        string target = ParameterSetName == ImageSet ? Image : RootFs;
        if (!ShouldProcess(target, Detach ? "Run container (detached)" : "Run container")) return;
        if (!TryItem(target, EnsureImage)) return;
        if (!TryItem(target, EnsureSubordinateIds)) return;
        Engine.Diagnostics.StepTimes.Mark("cmdlet.ensure-image");
        WarnIfRootOnHost();
        ContainerCreateOptions o = null!;
        if (!TryItem(target, () => o = BuildOptions())) return;
        Engine.Diagnostics.StepTimes.Mark("cmdlet.options");
        o.Tty = Tty;
        o.Interactive = Interactive && Tty;
        if (Tty && !Detach)
        {
            TryItem(target, () =>
            {
                // the console is the container's terminal until its process ends (or Ctrl+P Ctrl+Q detaches: no result)
                var r = Runtime.RunTty(o, Remove, CancellationToken);
                if (r is null) { WriteVerbose($"Detached from the container '{o.Name ?? target}'; it goes on running (Connect-Container attaches again)."); return; }
                WriteObject(r);
                if (ErrorOnNonZeroExit) WriteNonZeroExit(r);
            });
            return;
        }
        if (Detach)
        {
            if (Remove) o.AutoRemove = true;
            TryItem(target, () =>
            {
                var info = Runtime.Create(o, CancellationToken);
                try { using (Runtime.Start(info.Id, CancellationToken)) { } }
                catch when (Remove) { Runtime.Remove(info.Id, true, true); throw; }
                WriteObject(Runtime.Get(info.Id));
            });
            return;
        }
        TryItem(target, () =>
        {
            using var file = input is null && InputFile is not null ? File.OpenRead(GetUnresolvedProviderPathFromPSPath(InputFile))
                : input is null && _hostInput ? Console.OpenStandardInput() : null;
            // attached: each output line is written as it arrives (information stream), on this thread
            using var output = OutFile is null ? null : OutputFile.Open(this, OutFile);
            var r = Runtime.Run(o, Remove, CancellationToken, Quiet ? null : WriteLiveLine, input ?? file, output);
            WriteObject(r);
            Engine.Diagnostics.StepTimes.Mark("cmdlet.write");
            if (ErrorOnNonZeroExit) WriteNonZeroExit(r);
        });
    }
}
