using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using Containers.Engine.Runtime;
using Containers.Engine.State;
using Containers.Engine.Volumes;

namespace Containers.Cmdlets.Base;

/// <summary>Shared matching for the completers: what was typed (quotes stripped) as a case-insensitive prefix.</summary>
internal static class Completion
{
    public static WildcardPattern Prefix(string? word) =>
        WildcardPattern.Get(WildcardPattern.Escape((word ?? "").Trim('\'', '"')) + "*", WildcardOptions.IgnoreCase);

    public static IEnumerable<CompletionResult> Of(IEnumerable<string> values, string? word, Func<string, string>? tip = null)
    {
        var p = Prefix(word);
        foreach (var v in values)
            if (p.IsMatch(v)) yield return new CompletionResult(v, v, CompletionResultType.ParameterValue, tip?.Invoke(v) ?? v);
    }

    public static StorageRoot? Root(IDictionary fakeBoundParameters)
    {
        try { return StorageRoot.Resolve(fakeBoundParameters["StorageRoot"] as string); }
        catch (Exception) { return null; }
    }
}

/// <summary>Completes volume names of the storage root; for a -Volume spec (name:/path) only its name part.</summary>
public sealed class VolumeNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? "").Trim('\'', '"');
        // past the name part of a -Volume spec (name:/dest, /host:/dest) there is nothing to offer
        if (word.Contains(':') || word.StartsWith('/') || word.StartsWith('.')) return [];
        if (Completion.Root(fakeBoundParameters) is not { } root) return [];
        IReadOnlyList<Engine.Model.ContainerVolumeInfo> vols;
        try { vols = new VolumeStore(root).List(); }
        catch (Exception) { return []; }
        return Completion.Of(vols.Select(v => v.Name), word, n => $"volume {n}").ToList();
    }
}

/// <summary>Completes restart policies (no, always, unless-stopped, on-failure[:max]).</summary>
public sealed class RestartPolicyCompleter : IArgumentCompleter
{
    private static readonly string[] Policies = ["no", "always", "unless-stopped", "on-failure"];

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters) => Completion.Of(Policies, wordToComplete);
}

/// <summary>Completes signal names (SIGTERM, SIGKILL, ...); a word typed without SIG completes too (TE -> SIGTERM).</summary>
public sealed class SignalNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? "").Trim('\'', '"');
        if (!word.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) && !"SIG".StartsWith(word, StringComparison.OrdinalIgnoreCase))
            word = "SIG" + word;
        return Completion.Of(Signals.KnownNames, word);
    }
}

/// <summary>Completes capability names (NET_ADMIN, SYS_PTRACE, ... and ALL), with or without CAP_.</summary>
public sealed class CapabilityNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string word = (wordToComplete ?? "").Trim('\'', '"');
        var names = word.StartsWith("CAP_", StringComparison.OrdinalIgnoreCase)
            ? Capabilities.KnownNames.Select(n => "CAP_" + n)
            : Capabilities.KnownNames.Prepend("ALL");
        return Completion.Of(names, word);
    }
}
