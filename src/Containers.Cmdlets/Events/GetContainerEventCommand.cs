using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Events;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Events;

/// <summary>
/// Get-ContainerEvent (docker events): the storage root's event log, what happened to which container, image,
/// network or volume, when and by which process. -Follow streams new events until Ctrl+C.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ContainerEvent")]
[OutputType(typeof(ContainerEvent))]
public sealed class GetContainerEventCommand : ContainersCmdlet
{
    /// <summary>Only events at or after this time (docker events --since).</summary>
    [Parameter] public DateTime Since { get; set; }

    /// <summary>Only events at or before this time (docker events --until); with -Follow, it stops there.</summary>
    [Parameter] public DateTime Until { get; set; }

    /// <summary>Only events about these kinds of object.</summary>
    [Parameter] public ContainerEventType[]? Type { get; set; }

    /// <summary>Only these actions (wildcards): create, start, die, stop, remove, pull, tag...</summary>
    [Parameter]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(EventActionCompleter))]
    public string[]? Action { get; set; }

    /// <summary>Only events about objects with these names or ids (wildcards).</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Name { get; set; }

    /// <summary>Keep reading: write each new event as it is recorded, until Ctrl+C (or -Until passes).</summary>
    [Parameter] public SwitchParameter Follow { get; set; }

    protected override void ProcessRecord()
    {
        DateTime? since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? Since.ToUniversalTime() : null;
        DateTime? until = MyInvocation.BoundParameters.ContainsKey(nameof(Until)) ? Until.ToUniversalTime() : null;
        // like docker events: following without -Since shows what happens from now on
        if (since is null && Follow) since = DateTime.UtcNow;
        var actions = (Action ?? []).Select(a => new WildcardPattern(a, WildcardOptions.IgnoreCase)).ToList();
        var names = (Name ?? []).Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
        var types = Type is { Length: > 0 } ? Type.ToHashSet() : null;
        bool Accept(ContainerEvent e) =>
            (since is null || e.Time >= since)
            && (types is null || types.Contains(e.Type))
            && (actions.Count == 0 || actions.Any(p => p.IsMatch(e.Action)))
            && (names.Count == 0 || names.Any(p => p.IsMatch(e.Id) || (e.Name is not null && p.IsMatch(e.Name))));
        var root = Root;
        TryItem(EventLog.PathOf(root), () =>
        {
            foreach (var e in EventLog.Read(root, Accept, until, Follow, CancellationToken))
                WriteObject(e);
        });
    }
}

/// <summary>Tab completion of event actions.</summary>
public sealed class EventActionCompleter : IArgumentCompleter
{
    private static readonly string[] Actions =
        ["create", "start", "die", "oom", "kill", "stop", "restart", "pause", "unpause", "rename", "remove",
         "pull", "import", "tag", "untag", "push", "commit", "connect", "disconnect"];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        System.Management.Automation.Language.CommandAst commandAst, System.Collections.IDictionary fakeBoundParameters)
        => Actions.Where(a => a.StartsWith(wordToComplete, StringComparison.OrdinalIgnoreCase))
            .Select(a => new CompletionResult(a, a, CompletionResultType.ParameterValue, a));
}
