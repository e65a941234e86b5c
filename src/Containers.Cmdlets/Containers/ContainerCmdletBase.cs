using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Containers.Cmdlets.Base;
using Containers.Engine.Runtime;
using Containers.Engine.State;

namespace Containers.Cmdlets.Containers;

/// <summary>Base of the container cmdlets: the runtime for the resolved storage root.</summary>
public abstract class ContainerCmdletBase : ContainersCmdlet
{
    private ContainerRuntime? _rt;
    protected ContainerRuntime Runtime => _rt ??= new ContainerRuntime(Root);

    protected static Dictionary<string, string> ToDictionary(IDictionary? h)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (h is null) return d;
        foreach (DictionaryEntry e in h) d[e.Key.ToString()!] = e.Value?.ToString() ?? "";
        return d;
    }
}

/// <summary>Tab completion of container names.</summary>
public sealed class ContainerNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        IReadOnlyList<Engine.Model.ContainerInfo> list;
        try
        {
            string? root = fakeBoundParameters["StorageRoot"] as string;
            list = new ContainerRuntime(StorageRoot.Resolve(root)).List();
        }
        catch (Exception) { yield break; }
        foreach (var c in list)
            if (c.Name.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(c.Name, c.Name, CompletionResultType.ParameterValue, $"{c.Name} ({c.Status})");
    }
}
