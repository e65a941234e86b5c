using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Containers.Engine.Networking;
using Containers.Engine.State;

namespace Containers.Cmdlets.Networks;

/// <summary>Completes network names of the storage root in use (-StorageRoot if given, else the default).</summary>
public sealed class NetworkNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<ContainerNetworkInfo> nets;
        try
        {
            var root = StorageRoot.Resolve(fakeBoundParameters["StorageRoot"] as string);
            nets = new NetworkManager(root).List();
        }
        catch (Exception) { yield break; }
        var pattern = WildcardPattern.Get(WildcardPattern.Escape((wordToComplete ?? "").Trim('\'', '"')) + "*", WildcardOptions.IgnoreCase);
        // a new container's -Network also takes the modes that are no network of the root
        if (commandName is "New-Container" or "Invoke-ContainerImage")
            foreach (var mode in new[] { "none", "host" })
                if (pattern.IsMatch(mode)) yield return new CompletionResult(mode, mode, CompletionResultType.ParameterValue, $"{mode} (network mode)");
        foreach (var n in nets)
            if (pattern.IsMatch(n.Name)) yield return new CompletionResult(n.Name, n.Name, CompletionResultType.ParameterValue, $"{n.Name} ({n.Subnet})");
    }
}
