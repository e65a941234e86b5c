using System.Security.Cryptography;
using System.Text;
using Containers.Engine.Images;
using Containers.Engine.Spec;
using Containers.Native.Sys;

namespace Containers.Engine.Build;

/// <summary>
/// The build cache: every step's result (the stage's layers and config after it) is stored under a key made of
/// the parent step's key, the instruction as written and as expanded, the variables a RUN sees (build args and
/// environment), and for COPY/ADD the content digest of what the sources match in the context after
/// .dockerignore (type, mode, owner, size, link target and content of each entry; never times). A step whose key
/// has an entry is not executed: its layers and config are taken as they are (no container, no packing).
/// </summary>
public sealed partial class BuildExecutor
{
    /// <summary>The key of a stage's FROM: the base image's id (its config digest names its layers), or scratch.</summary>
    private string FromKey(string? imageId) => ImageStore.BuildCacheKey(["v1", "FROM", imageId ?? "scratch", "epoch " + (_o.SourceDateEpoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "")]);

    private string StepKey(DockerfileDocument doc, Stage st, DockerfileInstruction raw, DockerfileInstruction ins, CancellationToken ct)
    {
        var parts = new List<string> { "v1", st.Key, raw.Instruction, raw.Original, ins.IsJson ? "json" : "shell" };
        foreach (var f in ins.Flags) parts.Add("flag " + f);
        foreach (var a in ins.Arguments) parts.Add("arg " + a);
        foreach (var (k, v) in ins.Pairs) parts.Add("pair " + k + "=" + v);
        // heredocs as expanded (a COPY <<EOF body with $VAR changes with the variable)
        foreach (var h in ins.Heredocs) parts.Add($"heredoc {h.Name} {h.Expand} {h.Chomp} {h.FileDescriptor}\n{h.Content}");
        switch (ins.Instruction)
        {
            case "RUN":
                // a RUN sees every build arg and variable of the stage in its environment: a changed value re-runs it
                foreach (var (k, v) in st.Scope.RunEnvironment().OrderBy(p => p.Key, StringComparer.Ordinal)) parts.Add("env " + k + "=" + v);
                parts.Add("network " + (ins.GetFlag("network") ?? ""));
                break;
            case "COPY":
            case "ADD":
                if (ins.GetFlag("from") is { } from)
                {
                    if (FindStage(doc, from, st.Def.Index) is { } i) parts.Add("from-stage " + _done[i].Key);
                    else parts.Add("from-image " + ResolveImage(from, $"COPY --from={from} (no stage of that name before this one)", ct).Id);
                }
                else
                {
                    var sources = ins.Arguments.Take(Math.Max(0, ins.Arguments.Count - 1)).ToList();
                    // ADD of a URL: its content (downloaded now, once per build) is the source
                    if (ins.Instruction == "ADD")
                        foreach (var u in sources.Where(IsUrl))
                            parts.Add("url " + u + " " + FileContentDigest(Download(u, ins.GetFlag("checksum"), ct)));
                    parts.Add("sources " + SourcesDigest(sources.Where(x => !(ins.Instruction == "ADD" && IsUrl(x)) && HeredocSource(ins, x) is null)));
                }
                break;
        }
        return ImageStore.BuildCacheKey(parts);
    }

    /// <summary>
    /// The content digest of the context entries the sources match (and everything under a matched directory),
    /// after .dockerignore. A source that is a link is followed when copied, so its digest is that of the whole
    /// context (never a wrong hit, at the cost of a miss when something else changed).
    /// </summary>
    private string SourcesDigest(IEnumerable<string> sources)
    {
        var entries = Entries();
        var picked = new SortedSet<string>(StringComparer.Ordinal);
        bool whole = false;
        foreach (var s0 in sources)
        {
            string s = RootedFs.Clean(s0);
            IEnumerable<BuildContextEntry> tops;
            if (HasGlob(s)) { var rx = Glob(s); tops = entries.Where(e => rx.IsMatch(e.Path)); }
            else if (s.Length == 0) { whole = true; break; }
            else tops = entries.Where(e => e.Path == s);
            foreach (var t in tops)
            {
                if (t.Type == "SymbolicLink") { whole = true; break; }
                picked.Add(t.Path);
                if (t.Type == "Directory")
                    foreach (var e in entries)
                        if (e.Path.Length > t.Path.Length && e.Path.StartsWith(t.Path + "/", StringComparison.Ordinal)) picked.Add(e.Path);
            }
            // a source that matches nothing fails in the step itself; it adds nothing here
            if (whole) break;
        }
        var byPath = entries.ToDictionary(e => e.Path, StringComparer.Ordinal);
        using var ctx = RootedFs.Open(_ctx, RootedFs.Resolution.NoSymlinks);
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var p in whole ? entries.Select(e => e.Path).Order(StringComparer.Ordinal) : (IEnumerable<string>)picked)
        {
            var e = byPath[p];
            var line = new StringBuilder().Append(p).Append('\0').Append(e.Type).Append('\0');
            if (ctx.TryStat(p, out var stt)) line.Append(Convert.ToString(stt.Mode & 0xFFF, 8)).Append(' ').Append(stt.Uid).Append(':').Append(stt.Gid).Append(' ').Append(stt.Size);
            line.Append('\0').Append(e.LinkTarget ?? "").Append('\0');
            if (e.Type == "File") line.Append(FileDigest(ctx, p));
            line.Append('\n');
            h.AppendData(Encoding.UTF8.GetBytes(line.ToString()));
        }
        return Digest.FromHash(h.GetHashAndReset());
    }

    private static string FileContentDigest(string file)
    {
        using var fs = File.OpenRead(file);
        return Digest.FromHash(SHA256.HashData(fs));
    }

    private static string FileDigest(RootedFs ctx, string path)
    {
        using var fh = ctx.Open(path, FileSys.O_RDONLY | FileSys.O_NONBLOCK);
        using var fs = new FileStream(fh, FileAccess.Read, 1 << 16);
        return Digest.FromHash(SHA256.HashData(fs));
    }

    /// <summary>Takes a cached step's result as the stage's state.</summary>
    private static void Adopt(Stage st, BuildCacheEntry hit)
    {
        var cfg = ImageConfig.Parse(Encoding.UTF8.GetBytes(hit.Config));
        bool sameLayers = hit.Layers.Count == st.Layers.Count && hit.Layers.Zip(st.Layers).All(p => p.First.Digest == p.Second.Digest);
        st.Config = cfg;
        if (!sameLayers)
        {
            st.Layers = hit.Layers.ToList();
            st.Dirty = true;
        }
    }

    private void Remember(Stage st, string key, string parentKey, DockerfileInstruction raw)
    {
        _store.StoreBuildCache(new BuildCacheEntry
        {
            Key = key, ParentKey = parentKey, Step = raw.Original.Trim(),
            Layers = st.Layers.ToList(),
            Config = Encoding.UTF8.GetString(st.Config.ToJsonBytes()),
        });
    }
}
