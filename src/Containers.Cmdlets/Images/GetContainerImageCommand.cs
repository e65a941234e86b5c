using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>Get-ContainerImage: images of the store, filtered by name/tag wildcards, id or dangling.</summary>
[Cmdlet(VerbsCommon.Get, "ContainerImage", DefaultParameterSetName = NameSet)]
[OutputType(typeof(ImageRecord))]
public sealed class GetContainerImageCommand : ContainersCmdlet
{
    private const string NameSet = "Name", IdSet = "Id";

    [Parameter(Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [Alias("RepoTags", "ImageName", "Image")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    [Alias("ImageId")]
    public string[] Id { get; set; } = [];

    [Parameter]
    public SwitchParameter Dangling { get; set; }

    private IReadOnlyList<ImageRecord>? _all;

    protected override void ProcessRecord()
    {
        var store = new ImageStore(Root);
        _all ??= store.List();
        IEnumerable<ImageRecord> sel = _all;
        if (Dangling) sel = sel.Where(i => i.Dangling);
        if (ParameterSetName == IdSet)
        {
            foreach (var id in Id)
            {
                string hex = id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id;
                var m = sel.Where(i => i.Id[7..].StartsWith(hex, StringComparison.OrdinalIgnoreCase)).ToList();
                if (m.Count == 0)
                    WriteError(new ErrorRecord(new ItemNotFoundException($"No image has the id '{id}'."), "ImageNotFound", ErrorCategory.ObjectNotFound, id));
                foreach (var i in m) WriteObject(i);
            }
            return;
        }
        if (Name is null || Name.Length == 0)
        {
            foreach (var i in sel) WriteObject(i);
            return;
        }
        foreach (var n in Name)
        {
            var found = Match(sel, n).ToList();
            if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
                WriteError(new ErrorRecord(new ItemNotFoundException($"The image '{n}' is not in the store."), "ImageNotFound", ErrorCategory.ObjectNotFound, n));
            foreach (var i in found) WriteObject(i);
        }
    }

    private static IEnumerable<ImageRecord> Match(IEnumerable<ImageRecord> images, string n)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(n))
        {
            // exact: by reference (normalised) or id prefix
            foreach (var i in images)
            {
                bool hit = i.Id == n || (n.Length >= 4 && i.Id[7..].StartsWith(n.StartsWith("sha256:") ? n[7..] : n, StringComparison.Ordinal));
                if (!hit && global::Containers.Engine.Spec.ImageReference.TryParse(n, out var r))
                {
                    string full = r.ToString();
                    hit = i.Names.Contains(full) || (!n.Contains(':') && i.Names.Any(x => x.StartsWith(r.Name + ":", StringComparison.Ordinal)));
                }
                if (hit) yield return i;
            }
            yield break;
        }
        var p = new WildcardPattern(n, WildcardOptions.IgnoreCase);
        bool hasTag = n.Contains(':');
        foreach (var i in images)
        {
            bool hit = false;
            for (int k = 0; k < i.Names.Count && !hit; k++)
            {
                string shortTag = i.RepoTags[k], full = i.Names[k];
                string shortRepo = shortTag[..shortTag.LastIndexOf(':')], fullRepo = full[..full.LastIndexOf(':')];
                hit = hasTag ? p.IsMatch(shortTag) || p.IsMatch(full) : p.IsMatch(shortRepo) || p.IsMatch(fullRepo) || p.IsMatch(shortTag);
            }
            if (hit) yield return i;
        }
    }
}
