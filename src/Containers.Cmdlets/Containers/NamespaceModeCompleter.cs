using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Containers.Engine.Runtime;
using Containers.Engine.State;

namespace Containers.Cmdlets.Runtime;

/// <summary>Completes -Pid and -Ipc: host, and container:&lt;name&gt; for each running container of the root.</summary>
public sealed class NamespaceModeCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var values = new List<string> { "host" };
        try
        {
            string? root = fakeBoundParameters["StorageRoot"] as string;
            values.AddRange(new ContainerRuntime(StorageRoot.Resolve(root)).List()
                .Where(c => c.Status == Engine.Model.ContainerStatus.Running).Select(c => "container:" + c.Name));
        }
        catch (Exception) { }
        foreach (var v in values)
            if (v.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase))
                yield return new CompletionResult(v, v, CompletionResultType.ParameterValue, v);
    }
}
