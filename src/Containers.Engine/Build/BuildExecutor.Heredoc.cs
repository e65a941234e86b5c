using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Spec;
using Containers.Native.Sys;

namespace Containers.Engine.Build;

/// <summary>Heredocs in RUN and COPY/ADD, as BuildKit's dockerfile frontend runs them.</summary>
public sealed partial class BuildExecutor
{
    /// <summary>
    /// RUN's command with heredocs (BuildKit's dispatchRun): a command that is only one heredoc runs its body with
    /// the shell (a body starting with <c>#!</c> is a script file run by its interpreter instead); any other
    /// command line gets its heredocs appended as written and the shell handles them. Null when a script file is
    /// needed: <paramref name="script"/> then has its name and body.
    /// </summary>
    private static List<string> HeredocCommand(Stage st, DockerfileInstruction ins, out (string Name, string Body)? script)
    {
        script = null;
        if (ins.IsJson)
            throw ContainersException.Invalid("InvalidInstruction", "RUN in JSON form cannot take a heredoc.", ins.Original);
        var shell = st.C.Shell ?? ["/bin/sh", "-c"];
        string line = string.Join(" ", ins.Arguments);
        if (ins.Heredocs.Count == 1 && DockerfileSyntax.ParseHeredoc(line.Trim()) is { } only && only.Name == ins.Heredocs[0].Name)
        {
            string body = ins.Heredocs[0].Content;
            if (body.StartsWith("#!", StringComparison.Ordinal))
            {
                script = (ins.Heredocs[0].Name, body);
                return ["/dev/pipes/" + ins.Heredocs[0].Name];
            }
            return [.. shell, body];
        }
        var full = new StringBuilder(line);
        foreach (var h in ins.Heredocs) full.Append('\n').Append(h.Content).Append(h.Name);
        return [.. shell, full.ToString()];
    }

    /// <summary>COPY/ADD &lt;&lt;NAME: the (expanded) body as a file, 0644 unless --chmod, root's unless --chown.</summary>
    private static void CopyHeredoc(RootedFs dst, DockerfileHeredoc h, string target, (int, int)? owner, uint? chmod)
    {
        using var parent = dst.OpenParent(target, out var n);
        using (var fh = RootedFs.OpenAt(parent, n, FileSys.O_WRONLY | FileSys.O_CREAT | FileSys.O_TRUNC | FileSys.O_NOFOLLOW | FileSys.O_CLOEXEC, 0x1A4, target))
        using (var fs = new FileStream(fh, FileAccess.Write))
            fs.Write(Encoding.UTF8.GetBytes(h.Content));
        RootedFs.ChmodAt(parent, n, chmod ?? 0x1A4, target);
        if (owner is { } o) RootedFs.ChownAt(parent, n, o.Item1, o.Item2, target);
        else RootedFs.ChownAt(parent, n, 0, 0, target);
    }

    /// <summary>Whether a COPY/ADD source word is one of the instruction's heredocs.</summary>
    private static DockerfileHeredoc? HeredocSource(DockerfileInstruction ins, string word)
        => DockerfileSyntax.ParseHeredoc(word) is { } h ? ins.Heredocs.FirstOrDefault(x => x.Name == h.Name) : null;
}

public sealed partial class BuildExecutor
{
    /// <summary>
    /// The base image's ONBUILD triggers as instructions of this stage (docker runs them right after FROM, in
    /// order). Each was checked when the base was built; one that does not parse now is an error naming it.
    /// </summary>
    private List<DockerfileInstruction> Triggers(Stage st)
    {
        var list = new List<DockerfileInstruction>();
        foreach (var t in st.BaseTriggers)
        {
            DockerfileDocument d;
            try { d = DockerfileParser.Parse("FROM scratch\n" + t + "\n"); }
            catch (ContainersException e)
            {
                throw ContainersException.Invalid("InvalidOnBuildTrigger", $"FROM {st.BaseName} (line {st.Def.StartLine}): the base's ONBUILD trigger '{t}' does not parse: {e.Message}", t, e);
            }
            foreach (var i in d.Stages[0].Instructions)
            {
                if (i.Instruction is "ONBUILD" or "FROM" or "MAINTAINER")
                    throw ContainersException.Invalid("InvalidOnBuildTrigger", $"{i.Instruction} isn't allowed as an ONBUILD trigger ('{t}').", t);
                list.Add(new DockerfileInstruction
                {
                    Instruction = i.Instruction, Flags = i.Flags, Arguments = i.Arguments, IsJson = i.IsJson, Heredocs = i.Heredocs,
                    StartLine = st.Def.StartLine, EndLine = st.Def.StartLine, StageIndex = st.Def.Index, Stage = st.Def.Name,
                    Original = i.Original, Pairs = i.Pairs, Mounts = i.Mounts, Healthcheck = i.Healthcheck, Comments = i.Comments,
                });
            }
        }
        return list;
    }
}

public sealed partial class BuildExecutor
{
    /// <summary>COPY --exclude: the path or one of the directories above it matches a pattern (.dockerignore's rules).</summary>
    private static bool Excluded(DockerIgnore? rules, string rel)
    {
        if (rules is null) return false;
        for (int i = rel.IndexOf('/'); i >= 0; i = rel.IndexOf('/', i + 1))
            if (rules.IsExcluded(rel[..i])) return true;
        return rules.IsExcluded(rel);
    }
}

public sealed partial class BuildExecutor
{
    /// <summary>-SourceDateEpoch: every name of a new layer's tree newer than the epoch gets the epoch as its times (never through a link; children before their directory).</summary>
    private static void ClampTimes(string dir, long epoch)
    {
        using var fs = RootedFs.Open(dir, RootedFs.Resolution.NoSymlinks);
        using var root = RootedFs.Reopen(fs.Root, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
        Clamp(root, "", epoch);
        if (RootedFs.Fstat(root, dir).Mtime.Sec > epoch) RootedFs.UtimesAt(root, "", epoch, 0, dir);
    }

    private static void Clamp(Microsoft.Win32.SafeHandles.SafeFileHandle dir, string rel, long epoch)
    {
        foreach (var (name, _) in RootedFs.ReadDir(dir, rel))
        {
            string r = rel.Length == 0 ? name : rel + "/" + name;
            if (!RootedFs.TryStatAt(dir, name, out var st, r)) continue;
            if ((st.Mode & LayerFs.S_IFMT) == LayerFs.S_IFDIR)
            {
                using var sub = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, r);
                Clamp(sub, r, epoch);
            }
            if (st.Mtime.Sec > epoch || (st.Mtime.Sec == epoch && st.Mtime.Nsec != 0)) RootedFs.UtimesAt(dir, name, epoch, 0, r);
        }
    }
}
