using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Containers.Engine.Images;
using Containers.Engine.State;

namespace Containers.Cmdlets.Images;

/// <summary>Completes image names (short form) and short ids from the storage root of the command line.</summary>
public sealed class ImageNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var results = new List<CompletionResult>();
        try
        {
            string? rootPath = fakeBoundParameters.Contains("StorageRoot") ? fakeBoundParameters["StorageRoot"] as string : null;
            var store = new ImageStore(StorageRoot.Resolve(rootPath));
            var pattern = new WildcardPattern((wordToComplete ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
            foreach (var img in store.List())
            {
                foreach (var t in img.RepoTags)
                    if (pattern.IsMatch(t)) results.Add(new CompletionResult(t, t, CompletionResultType.ParameterValue, img.ShortId));
                if (pattern.IsMatch(img.ShortId)) results.Add(new CompletionResult(img.ShortId, img.ShortId, CompletionResultType.ParameterValue, string.Join(", ", img.RepoTags)));
            }
        }
        catch (Exception) { }
        return results;
    }
}
