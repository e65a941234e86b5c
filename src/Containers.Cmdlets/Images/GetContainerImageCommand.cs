using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Errors;
using Containers.Engine.Images;

namespace Containers.Cmdlets.Images;

/// <summary>
/// Get-ContainerImage: the images of the store, one object per tag as docker images shows them (an untagged
/// image once, with &lt;none&gt;), filtered by name or tag wildcards, id or dangling.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerImage", DefaultParameterSetName = NameSet)]
[OutputType(typeof(ImageRecord))]
public sealed class GetContainerImageCommand : ContainersCmdlet
{
    private const string NameSet = "Name", IdSet = "Id";

    [Parameter(Position = 0, ParameterSetName = NameSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [Alias("Reference", "ImageName", "Image", "RepoTags")]
    [ArgumentCompleter(typeof(ImageNameCompleter))]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    [Alias("ImageId")]
    public string[] Id { get; set; } = [];

    [Parameter]
    public SwitchParameter Dangling { get; set; }

    /// <summary>Only images whose recorded base name now resolves to another image (base tracking).</summary>
    [Parameter(ParameterSetName = NameSet)]
    public SwitchParameter Outdated { get; set; }

    /// <summary>With -Outdated: ask each base's registry what its name points at, instead of the local store.</summary>
    [Parameter(ParameterSetName = NameSet)]
    public SwitchParameter Remote { get; set; }

    private ImageStore? _store;
    private List<ImageRecord>? _rows;
    private Engine.Build.ImageUpdater? _updater;
    // -Outdated: manifest digest -> what was found (null: not outdated), asked only for the images a name selects
    private readonly Dictionary<string, Engine.Build.OutdatedImage?> _outdated = new(StringComparer.Ordinal);

    protected override void ProcessRecord()
    {
        _store ??= new ImageStore(Root);
        _rows ??= _store.List().SelectMany(i => i.Names.Count == 0 ? [i] : i.Names.Select(i.AsRow)).ToList();
        IEnumerable<ImageRecord> sel = _rows;
        if (Dangling) sel = sel.Where(i => i.Dangling);
        if (ParameterSetName == IdSet)
        {
            foreach (var id in Id)
            {
                string hex = id.StartsWith("sha256:", StringComparison.Ordinal) ? id[7..] : id;
                var m = sel.Where(i => i.Id[7..].StartsWith(hex, StringComparison.OrdinalIgnoreCase)).ToList();
                if (m.Count == 0)
                    WriteFailure(ContainersException.NotFound("ImageNotFound", $"No image has the id '{id}'.", id), id);
                WriteRows(m);
            }
            return;
        }
        if (Name is null || Name.Length == 0)
        {
            WriteRows(sel);
            return;
        }
        foreach (var n in Name)
        {
            var found = Match(sel, n).ToList();
            // a wildcard that matches nothing is no error (PowerShell's convention); a literal name is (with
            // -Outdated only when no such image exists at all: an up-to-date one is simply not listed)
            if (found.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(n))
                WriteFailure(ContainersException.NotFound("ImageNotFound", _store.NotFoundMessage(n), n), n);
            WriteRows(found);
        }
    }

    /// <summary>Rows as they are; with -Outdated each carries BaseName, BaseDigest (built on) and CurrentBaseDigest.</summary>
    private void WriteRows(IEnumerable<ImageRecord> rows)
    {
        var list = rows.ToList();
        if (Outdated || Remote)
        {
            var ask = list.Where(r => !_outdated.ContainsKey(r.ManifestDigest)).DistinctBy(r => r.ManifestDigest).ToList();
            if (ask.Count > 0)
            {
                _updater ??= new Engine.Build.ImageUpdater(new Engine.Runtime.ContainerRuntime(Root));
                var hits = _updater.Outdated(Remote, null, e => WriteFailure(e, e.Target ?? ""), CancellationToken, ask);
                foreach (var r in ask) _outdated[r.ManifestDigest] = null;
                foreach (var h in hits) _outdated[h.Image.ManifestDigest] = h;
            }
        }
        foreach (var r in list)
        {
            if (!(Outdated || Remote)) { WriteObject(r); continue; }
            if (_outdated.GetValueOrDefault(r.ManifestDigest) is not { } o) continue;
            var p = PSObject.AsPSObject(r);
            p.Properties.Add(new PSNoteProperty("BaseName", o.BaseName));
            p.Properties.Add(new PSNoteProperty("BaseDigest", o.BaseDigest));
            p.Properties.Add(new PSNoteProperty("CurrentBaseDigest", o.CurrentBaseDigest));
            p.Properties.Add(new PSNoteProperty("BaseSource", o.Source));
            WriteObject(p);
        }
    }

    private static IEnumerable<ImageRecord> Match(IEnumerable<ImageRecord> rows, string n)
    {
        if (!WildcardPattern.ContainsWildcardCharacters(n))
        {
            // exact: the id (or a prefix of 4+ hex digits) gives every row of the image; a reference its row;
            // a repository without tag every tag of it (docker images busybox)
            string hex = n.StartsWith("sha256:", StringComparison.Ordinal) ? n[7..] : n;
            bool hasRef = Engine.Spec.ImageReference.TryParse(n, out var r);
            bool tagGiven = n.LastIndexOf(':') > n.LastIndexOf('/') || n.Contains('@');
            foreach (var i in rows)
            {
                bool hit = i.Id == n || (hex.Length >= 4 && i.Id[7..].StartsWith(hex, StringComparison.Ordinal));
                if (!hit && hasRef && i.RowName is { } full)
                    hit = tagGiven ? full == r.ToString() : full.StartsWith(r.Name + ":", StringComparison.Ordinal);
                if (hit) yield return i;
            }
            yield break;
        }
        // wildcards: against the repository, in short and full form and its last part (deb* finds
        // localhost/debian); with a tag part (after the last ':' past the last '/') against repository:tag
        var p = new WildcardPattern(n, WildcardOptions.IgnoreCase);
        bool hasTag = n.LastIndexOf(':') > n.LastIndexOf('/');
        foreach (var i in rows)
        {
            if (i.RowName is not { } full) continue;
            string fullRepo = full[..full.LastIndexOf(':')], shortRepo = i.Repository, last = shortRepo[(shortRepo.LastIndexOf('/') + 1)..];
            bool hit = hasTag
                ? p.IsMatch(i.Reference) || p.IsMatch(full) || p.IsMatch(last + ":" + i.Tag)
                : p.IsMatch(shortRepo) || p.IsMatch(fullRepo) || p.IsMatch(last);
            if (hit) yield return i;
        }
    }
}
