using System.Collections;
using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Model;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>Invoke-ContainerCommand (exec): runs a command in a running container; returns its output and exit code.</summary>
[Cmdlet(VerbsLifecycle.Invoke, "ContainerCommand", SupportsShouldProcess = true, DefaultParameterSetName = "Name")]
[OutputType(typeof(ContainerProcessResult))]
public sealed class InvokeContainerCommandCommand : ContainerCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = "Name")]
    [Alias("Id", "ContainerName", "ContainerId")]
    [ArgumentCompleter(typeof(ContainerNameCompleter))]
    public string Name { get; set; } = "";

    /// <summary>The compose project whose service's container runs the command (docker compose exec).</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Project")]
    [ValidateNotNullOrEmpty]
    public string Project { get; set; } = "";

    /// <summary>With -Project: the service.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "Project")]
    [ValidateNotNullOrEmpty]
    public string Service { get; set; } = "";

    /// <summary>With -Project: which of the service's containers (its number; default 1).</summary>
    [Parameter(ParameterSetName = "Project")]
    [ValidateRange(1, int.MaxValue)]
    public int Index { get; set; } = 1;

    [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Name")]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Project")]
    [Alias("ArgumentList")]
    public string[] Command { get; set; } = [];

    [Parameter] public string? User { get; set; }
    [Parameter] public string? WorkingDirectory { get; set; }
    [Parameter] public Hashtable? Environment { get; set; }
    [Parameter] public SwitchParameter Detach { get; set; }
    /// <summary>A non-zero exit code also writes a ContainerExitedNonZero error.</summary>
    [Parameter] public SwitchParameter ErrorOnNonZeroExit { get; set; }
    /// <summary>No live output lines on the information stream (the result still has them).</summary>
    [Parameter] public SwitchParameter Quiet { get; set; }

    /// <summary>
    /// Standard input of the command (docker exec -i): all the pipeline's objects go to one process, strings
    /// and other objects as lines, byte[] as bytes. Bound by value only, so container objects piped by
    /// property name still run one command each.
    /// </summary>
    [Parameter(ValueFromPipeline = true)] public object? InputObject { get; set; }

    /// <summary>A file whose content is the command's standard input.</summary>
    [Parameter] public string? InputFile { get; set; }

    /// <summary>
    /// A file that gets the command's standard output byte for byte, as docker exec ... &gt; file does: nothing
    /// added or decoded. Standard output is then neither shown nor in the result's Output; standard error stays
    /// text in Error.
    /// </summary>
    [Parameter] public string? OutFile { get; set; }

    // set when the pipeline (or -InputObject) is the input of one process run in EndProcessing
    private StandardInput? _input;

    protected override void BeginProcessing()
    {
        base.BeginProcessing();
        if (Detach && OutFile is not null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-OutFile is for attached commands, not with -Detach."),
                "ConflictingOutput", ErrorCategory.InvalidArgument, OutFile));
        if (!StandardInput.Expected(this, "Name", "Project")) return;
        if (InputFile is not null)
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("-InputObject (or pipeline input) and -InputFile cannot be used together."),
                "ConflictingInput", ErrorCategory.InvalidArgument, InputFile));
        _input = new StandardInput();
    }

    protected override void ProcessRecord()
    {
        if (_input is not null) { _input.Add(InputObject); return; }
        Exec(null);
    }

    protected override void EndProcessing()
    {
        if (_input is not null) Exec(_input.ToStream());
        base.EndProcessing();
    }

    private void Exec(Stream? input)
    {
        if (ParameterSetName == "Project" && !TryItem(Project, () =>
            {
                var cs = new Engine.Projects.ProjectRunner(Root).Containers(Project, Service);
                var c = cs.FirstOrDefault(x => x.Labels.GetValueOrDefault(Engine.Projects.ProjectLabels.Number) == Index.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    ?? throw Engine.Errors.ContainersException.NotFound("ContainerNotFound", $"Service '{Service}' of project '{Project}' has no container number {Index}.", Service);
                Name = c.Name;
            })) return;
        if (!ShouldProcess(Name, $"Run '{string.Join(' ', Command)}'")) return;
        TryItem(Name, () =>
        {
            using var file = input is null && InputFile is not null ? File.OpenRead(GetUnresolvedProviderPathFromPSPath(InputFile)) : null;
            using var output = OutFile is null ? null : OutputFile.Open(this, OutFile);
            var o = new ExecOptions
            {
                Output = output,
                Command = Command, User = User, WorkingDirectory = WorkingDirectory, Environment = ToDictionary(Environment), Detach = Detach,
                Input = input ?? file,
            };
            // each output line is written as it arrives (information stream), on this thread
            var r = Runtime.Exec(Name, o, CancellationToken, Quiet || Detach ? null : WriteLiveLine);
            if (Detach) return;
            WriteObject(r);
            if (ErrorOnNonZeroExit) WriteNonZeroExit(r);
        });
    }
}
