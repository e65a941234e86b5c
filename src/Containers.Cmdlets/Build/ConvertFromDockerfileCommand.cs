using System.Management.Automation;
using System.Text;
using Containers.Cmdlets.Base;
using Containers.Engine.Build;
using Containers.Engine.Errors;
using Containers.Engine.Spec;

namespace Containers.Cmdlets.Build;

/// <summary>ConvertFrom-Dockerfile: parses a Dockerfile into instruction objects (or BuildKit's parser dump).</summary>
[Cmdlet(VerbsData.ConvertFrom, "Dockerfile", DefaultParameterSetName = PathSet)]
[OutputType(typeof(DockerfileInstruction), typeof(string))]
public sealed class ConvertFromDockerfileCommand : PSCmdlet
{
    private const string PathSet = "Path", LiteralSet = "LiteralPath", TextSet = "InputObject";
    private readonly StringBuilder _text = new();
    private bool _sawText;

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
    [SupportsWildcards]
    public string[] Path { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = LiteralSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName")]
    public string[] LiteralPath { get; set; } = [];

    [Parameter(Mandatory = true, ParameterSetName = TextSet, ValueFromPipeline = true)]
    [AllowEmptyString]
    public string[] InputObject { get; set; } = [];

    [Parameter]
    public SwitchParameter AsParserDump { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == TextSet)
        {
            // lines piped one by one (Get-Content) or whole texts: joined with newlines, parsed at the end
            foreach (var s in InputObject)
            {
                if (_sawText) _text.Append('\n');
                _text.Append(s);
                _sawText = true;
            }
            return;
        }
        var files = new List<string>();
        if (ParameterSetName == LiteralSet)
        {
            foreach (var p in LiteralPath) files.Add(GetUnresolvedProviderPathFromPSPath(p));
        }
        else
        {
            foreach (var p in Path)
            {
                try { files.AddRange(GetResolvedProviderPathFromPSPath(p, out _)); }
                catch (ItemNotFoundException e) { WriteError(new ErrorRecord(e, "DockerfileNotFound", ErrorCategory.ObjectNotFound, p)); }
            }
        }
        foreach (var f in files)
        {
            string text;
            try { text = File.ReadAllText(f); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                WriteError(new ErrorRecord(e, e is FileNotFoundException or DirectoryNotFoundException ? "DockerfileNotFound" : "DockerfileUnreadable",
                    e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.ObjectNotFound, f));
                continue;
            }
            Emit(text, f);
        }
    }

    protected override void EndProcessing()
    {
        if (ParameterSetName == TextSet && _sawText)
        {
            var t = _text.ToString();
            // a single text piped without its final newline parses the same; the dump wants lines as written
            Emit(t, null);
        }
    }

    private void Emit(string text, string? file)
    {
        try
        {
            if (AsParserDump)
            {
                WriteObject(DockerfileParser.Dump(text));
                return;
            }
            var doc = DockerfileParser.Parse(text, file);
            foreach (var w in doc.Warnings) WriteWarning((file is null ? "" : file + ":") + $"{w.Line}: {w.Message}");
            foreach (var i in doc.Instructions) WriteObject(i);
        }
        catch (ContainersException ce)
        {
            WriteError(new ErrorRecord(ce, ce.ErrorId, ContainersCmdlet.CategoryOf(ce.Kind), ce.Target ?? file));
        }
    }
}
