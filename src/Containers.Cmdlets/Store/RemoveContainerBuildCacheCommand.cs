using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
using Containers.Cmdlets.Base;
using Containers.Engine.Images;
using Containers.Engine.Model;

namespace Containers.Cmdlets.Store;

/// <summary>
/// Remove-ContainerBuildCache (docker builder prune): removes build cache entries, by default the dangling ones
/// (no image is built on them), every one with -All; -Filter until=&lt;duration|time&gt; and unused-for=&lt;duration&gt;
/// keep the recent ones. One ShouldProcess per entry; writes what it removed with the bytes freed, then deletes the
/// layers nothing uses any more.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "ContainerBuildCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ContainerPruneResult))]
public sealed class RemoveContainerBuildCacheCommand : ContainersCmdlet
{
    /// <summary>Every entry, not only the dangling ones (docker builder prune -a).</summary>
    [Parameter] public SwitchParameter All { get; set; }

    /// <summary>docker builder prune's filters: until=&lt;duration or time&gt; (created before), unused-for=&lt;duration&gt; (not used since).</summary>
    [Parameter] public string[]? Filter { get; set; }

    protected override void ProcessRecord()
    {
        DateTime? createdBefore = null, usedBefore = null;
        foreach (var f in Filter ?? [])
        {
            int eq = f.IndexOf('=');
            string k = eq < 0 ? f : f[..eq].Trim().ToLowerInvariant(), v = eq < 0 ? "" : f[(eq + 1)..].Trim();
            DateTime? at = k is "until" or "unused-for" or "unusedfor" ? ParseTime(v, k == "until") : null;
            if (at is null)
            {
                WriteError(new ErrorRecord(new ArgumentException($"'{f}' is not a build cache filter (until=<duration|time>, unused-for=<duration>)."),
                    "InvalidBuildCacheFilter", ErrorCategory.InvalidArgument, f));
                return;
            }
            if (k == "until") createdBefore = at; else usedBefore = at;
        }
        var root = Root;
        var store = new ImageStore(root);
        IReadOnlyList<BuildCacheInfo> all = [];
        if (!TryItem(root.Path, () => all = store.ListBuildCache())) return;
        var remaining = all.ToList();
        bool removedAny = false;
        foreach (var e in all.Where(e => (All || !e.InUse) && (createdBefore is null || e.Entry.Created < createdBefore) && (usedBefore is null || e.Entry.LastUsed < usedBefore))
                     .OrderBy(e => e.Entry.Created))
        {
            if (Stopping) break;
            string shortKey = e.Entry.Key.Length > 19 ? e.Entry.Key[7..19] : e.Entry.Key;
            if (!ShouldProcess($"build cache {shortKey} ({e.Entry.Step})", "Remove")) continue;
            TryItem(e.Entry.Key, () =>
            {
                long bytes = store.BuildCacheExclusiveBytes([e], remaining);
                store.RemoveBuildCache([e], collect: false);
                remaining.Remove(e);
                removedAny = true;
                WriteObject(new ContainerPruneResult { Kind = ContainerStoreKind.BuildCache, Id = e.Entry.Key, Name = e.Entry.Step, ReclaimedBytes = bytes });
            });
        }
        if (removedAny) TryItem(root.Path, () => store.CollectGarbage());
        // -All: the RUN --mount=type=cache directories too (docker builder prune -a drops them with the rest)
        if (All && createdBefore is null && usedBefore is null)
            foreach (var (id, dir, bytes) in store.ListCacheMounts())
            {
                if (Stopping || !ShouldProcess($"build cache mount '{id}'", "Remove")) continue;
                TryItem(id, () =>
                {
                    ImageStore.RemoveCacheMount(dir);
                    WriteObject(new ContainerPruneResult { Kind = ContainerStoreKind.BuildCache, Id = System.IO.Path.GetFileName(dir), Name = "cache mount " + id, ReclaimedBytes = bytes });
                });
            }
    }

    /// <summary>A Go duration (24h, 90m, 1h30m, 10s) back from now, or (for until) a time or Unix seconds.</summary>
    private static DateTime? ParseTime(string v, bool allowTime)
    {
        var m = Regex.Match(v, @"^(?:(\d+(?:\.\d+)?)(h|m|s|ms))+$");
        if (m.Success)
        {
            double ms = 0;
            foreach (Match p in Regex.Matches(v, @"(\d+(?:\.\d+)?)(ms|h|m|s)"))
            {
                double n = double.Parse(p.Groups[1].Value, CultureInfo.InvariantCulture);
                ms += p.Groups[2].Value switch { "h" => n * 3_600_000, "m" => n * 60_000, "s" => n * 1000, _ => n };
            }
            return DateTime.UtcNow.AddMilliseconds(-ms);
        }
        if (!allowTime) return null;
        if (long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long unix)) return DateTimeOffset.FromUnixTimeSeconds(unix).UtcDateTime;
        if (DateTime.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)) return t;
        return null;
    }
}
