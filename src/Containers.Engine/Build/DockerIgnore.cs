using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Build;

/// <summary>One entry of a build context as it would be sent: its path relative to the context ('/'-separated).</summary>
public sealed class BuildContextEntry
{
    public string Path { get; init; } = "";
    /// <summary>File, Directory, SymbolicLink or Other (fifo, socket, device).</summary>
    public string Type { get; init; } = "File";
    public long Size { get; init; }
    /// <summary>A symbolic link's target as stored (never followed).</summary>
    public string? LinkTarget { get; init; }
    public override string ToString() => Path;
}

/// <summary>
/// .dockerignore rules as Docker applies them (moby/patternmatcher and its ignorefile reader): one pattern a
/// line, '#' comments, '!' exceptions (the last matching line wins), patterns cleaned like paths (a leading '/'
/// and '..' segments go), '*' and '?' within one path segment, '**' across segments, character classes, and a
/// pattern matching a directory excluding all under it. The Dockerfile and the ignore file itself are always sent.
/// </summary>
public sealed class DockerIgnore
{
    private sealed class Pattern
    {
        public required string Text;
        public required bool Exclusion;
        public required string[] Dirs;
        public int Kind; // 1 exact, 2 prefix, 3 suffix, 4 regex
        public Regex? Regex;

        public bool Match(string path) => Kind switch
        {
            1 => path == Text,
            2 => path.StartsWith(Text.Substring(0, Text.Length - 2), StringComparison.Ordinal),
            3 => path.EndsWith(Text.Substring(2), StringComparison.Ordinal) || (Text[2] == '/' && path == Text.Substring(3)),
            _ => Regex!.IsMatch(path),
        };
    }

    private readonly List<Pattern> _patterns = new();

    /// <summary>The patterns as cleaned, exceptions with their '!'.</summary>
    public IReadOnlyList<string> Patterns => _patterns.Select(p => (p.Exclusion ? "!" : "") + p.Text).ToArray();

    /// <summary>True when any pattern is an exception ('!').</summary>
    public bool HasExclusions => _patterns.Any(p => p.Exclusion);

    /// <summary>Builds a matcher from patterns (as <see cref="ReadPatterns"/> returns them).</summary>
    public DockerIgnore(IEnumerable<string> patterns)
    {
        foreach (var raw in patterns)
        {
            var p = raw.Trim();
            if (p.Length == 0) continue;
            p = CleanPath(p);
            bool exclusion = false;
            if (p[0] == '!')
            {
                if (p.Length == 1) throw ContainersException.Invalid("DockerIgnorePatternInvalid", "illegal exclusion pattern: \"!\"", raw);
                exclusion = true;
                p = p.Substring(1);
            }
            var pat = new Pattern { Text = p, Exclusion = exclusion, Dirs = p.Split('/') };
            Compile(pat, raw);
            _patterns.Add(pat);
        }
    }

    /// <summary>Reads an ignore file's text into patterns (comments and blank lines dropped, each cleaned).</summary>
    public static List<string> ReadPatterns(string text)
    {
        var result = new List<string>();
        if (text.Length > 0 && text[0] == '\uFEFF') text = text.Substring(1);
        foreach (var line0 in text.Split('\n'))
        {
            var line = line0.TrimEnd('\r');
            if (line.StartsWith('#')) continue;
            var p = line.Trim();
            if (p.Length == 0) continue;
            bool invert = p[0] == '!';
            if (invert) p = p.Substring(1).Trim();
            if (p.Length > 0)
            {
                p = CleanPath(p);
                if (p.Length > 1 && p[0] == '/') p = p.Substring(1);
            }
            result.Add(invert ? "!" + p : p);
        }
        return result;
    }

    /// <summary>
    /// The ignore file that applies: <c>&lt;Dockerfile&gt;.dockerignore</c> beside the Dockerfile wins over the
    /// context's <c>.dockerignore</c>. Returns null when there is none.
    /// </summary>
    public static string? FindIgnoreFile(string contextDir, string? dockerfilePath)
    {
        if (dockerfilePath is not null)
        {
            var specific = dockerfilePath + ".dockerignore";
            if (File.Exists(specific)) return specific;
        }
        var general = System.IO.Path.Combine(contextDir, ".dockerignore");
        return File.Exists(general) ? general : null;
    }

    /// <summary>Whether a context path is excluded (Docker's Matches: the path or one of its parents matched last).</summary>
    public bool IsExcluded(string path)
    {
        path = CleanPath(path);
        if (path == ".") return false;
        bool[] parents = ParentResults(path);
        return Evaluate(path, parents, out _);
    }

    private bool[] ParentResults(string path)
    {
        // results of each pattern for the parent directories, as a walk would have carried them down
        var parts = path.Split('/');
        bool[] info = [];
        for (int i = 1; i < parts.Length; i++)
        {
            Evaluate(string.Join('/', parts, 0, i), info, out info);
        }
        return info;
    }

    // patternmatcher's MatchesUsingParentResults: a pattern that matched a parent matches its children
    private bool Evaluate(string path, bool[] parentMatched, out bool[] info)
    {
        bool matched = false;
        info = new bool[_patterns.Count];
        for (int i = 0; i < _patterns.Count; i++)
        {
            var p = _patterns[i];
            bool match = parentMatched.Length != 0 && parentMatched[i];
            if (!match)
            {
                if (p.Exclusion != matched) continue;
                match = p.Match(path);
                if (!match && parentMatched.Length == 0)
                {
                    int slash = path.LastIndexOf('/');
                    if (slash > 0)
                    {
                        var dirs = path.Substring(0, slash).Split('/');
                        for (int k = 0; k < dirs.Length && !match; k++) match = p.Match(string.Join('/', dirs, 0, k + 1));
                    }
                }
            }
            info[i] = match;
            if (match) matched = !p.Exclusion;
        }
        return matched;
    }

    /// <summary>
    /// Lists what a build would send from <paramref name="contextDir"/>: every entry the rules keep, in path
    /// order; a directory that is excluded but holds an exception is walked and listed only when something under
    /// it is kept. The walk goes by directory descriptor (openat with O_NOFOLLOW, fstatat without following), so
    /// a symbolic link is listed, never followed, and a directory swapped for a link while the walk runs is not
    /// entered. <paramref name="alwaysInclude"/> are context-relative paths sent whatever the rules say (the
    /// Dockerfile, the ignore file).
    /// </summary>
    public static List<BuildContextEntry> ListContext(string contextDir, DockerIgnore? rules, IEnumerable<string>? alwaysInclude = null)
    {
        if (!Directory.Exists(contextDir))
            throw ContainersException.NotFound("BuildContextNotFound", $"The build context '{contextDir}' is not a directory.", contextDir);
        var keep = new HashSet<string>((alwaysInclude ?? []).Select(CleanPath).Where(p => p != "." && !p.StartsWith("../", StringComparison.Ordinal) && p != ".."), StringComparer.Ordinal);
        var result = new List<BuildContextEntry>();
        SafeFileHandle root;
        try { root = FileSys.OpenHandle(contextDir, FileSys.O_RDONLY | FileSys.O_DIRECTORY); }
        catch (NativeException e) { throw ContainersException.Invalid("BuildContextUnreadable", $"The build context '{contextDir}' cannot be opened: {e.Message}", contextDir, e); }
        using (root) Walk(root, "", rules, [], keep, result);
        return result;
    }

    private static void Walk(SafeFileHandle dir, string prefix, DockerIgnore? rules, bool[] parentInfo, HashSet<string> keep, List<BuildContextEntry> result)
    {
        List<string> names;
        try { names = RootedFs.ReadDir(dir, prefix).Select(e => e.Name).ToList(); }
        catch (NativeException e) { throw ContainersException.Invalid("BuildContextUnreadable", $"The build context directory '{prefix}' cannot be read: {e.Message}", prefix, e); }
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var rel = prefix.Length == 0 ? name : prefix + "/" + name;
            if (!RootedFs.TryStatAt(dir, name, out var st, rel)) continue; // gone since the listing
            uint type = st.Mode & LayerFs.S_IFMT;
            bool isLink = type == LayerFs.S_IFLNK, isDir = type == LayerFs.S_IFDIR;
            bool excluded = false;
            bool[] info = [];
            if (rules is not null)
            {
                excluded = rules.Evaluate(rel, parentInfo, out info);
                if (excluded && keep.Contains(rel)) excluded = false;
            }
            if (excluded && !isDir) continue;
            if (excluded)
            {
                // an excluded directory is entered only when an exception may reach inside it (or a kept file is in it)
                var dirSlash = rel + "/";
                bool enter = keep.Any(k => k.StartsWith(dirSlash, StringComparison.Ordinal))
                    || rules!._patterns.Any(p => p.Exclusion && (p.Text + "/").StartsWith(dirSlash, StringComparison.Ordinal));
                if (!enter) continue;
            }
            string? target = null;
            if (isLink)
            {
                try { target = RootedFs.ReadlinkAt(dir, name, rel); }
                catch (NativeException e) when (e.Errno is Errno.ENOENT or Errno.EINVAL) { continue; }
            }
            var entry = new BuildContextEntry
            {
                Path = rel,
                Type = isLink ? "SymbolicLink" : isDir ? "Directory" : type == LayerFs.S_IFREG ? "File" : "Other",
                Size = type == LayerFs.S_IFREG ? st.Size : 0,
                LinkTarget = target,
            };
            int mark = result.Count;
            result.Add(entry);
            if (!isDir) continue;
            SafeFileHandle sub;
            try { sub = RootedFs.OpenAt(dir, name, FileSys.O_RDONLY | FileSys.O_DIRECTORY, 0, rel); }
            catch (NativeException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP)
            {
                result.RemoveAt(mark); // replaced by something else (a link) since the stat: not entered, not listed
                continue;
            }
            using (sub) Walk(sub, rel, rules, info, keep, result);
            if (excluded && result.Count == mark + 1) result.RemoveAt(mark);
        }
    }

    // ---- pattern compilation (patternmatcher's Pattern.compile, '/' separator) ----

    private static void Compile(Pattern p, string raw)
    {
        var sb = new StringBuilder("^");
        int kind = 1;
        var s = p.Text;
        for (int i = 0, n = 0; i < s.Length; i++, n++)
        {
            char ch = s[i];
            if (ch == '*')
            {
                if (i + 1 < s.Length && s[i + 1] == '*')
                {
                    i++;
                    if (i + 1 < s.Length && s[i + 1] == '/') i++;
                    if (i + 1 >= s.Length)
                    {
                        if (kind == 1) kind = 2;
                        else { sb.Append(".*"); kind = 4; }
                    }
                    else { sb.Append("(.*/)?"); kind = 4; }
                    if (n == 0) kind = 3;
                }
                else { sb.Append("[^/]*"); kind = 4; }
            }
            else if (ch == '?') { sb.Append("[^/]"); kind = 4; }
            else if (".+()|{}$".Contains(ch)) sb.Append('\\').Append(ch);
            else if (ch == '\\')
            {
                if (i + 1 < s.Length) { sb.Append('\\').Append(s[++i]); kind = 4; }
                else sb.Append('\\');
            }
            else if (ch == '[' || ch == ']') { sb.Append(ch); kind = 4; }
            else sb.Append(ch);
        }
        p.Kind = kind;
        // a pattern filepath.Match rejects (an unclosed class, a trailing backslash) is an error, as in Docker
        if (!ValidGlob(s)) throw ContainersException.Invalid("DockerIgnorePatternInvalid", $"The .dockerignore pattern '{raw}' is not valid (syntax error in pattern).", raw);
        if (kind == 4)
        {
            sb.Append('$');
            try { p.Regex = new Regex(sb.ToString(), RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw ContainersException.Invalid("DockerIgnorePatternInvalid", $"The .dockerignore pattern '{raw}' is not valid: {e.Message}", raw, e); }
        }
    }

    // the syntax checks of Go's filepath.Match: classes closed, escapes followed by a character
    private static bool ValidGlob(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\\') { if (++i >= s.Length) return false; continue; }
            if (c != '[') continue;
            i++;
            if (i < s.Length && s[i] == '^') i++;
            bool first = true;
            while (true)
            {
                if (i >= s.Length) return false;
                if (s[i] == ']' && !first) break;
                if (s[i] == '\\') { i++; if (i >= s.Length) return false; }
                if (i + 1 < s.Length && s[i + 1] == '-')
                {
                    i += 2;
                    if (i >= s.Length || s[i] == ']') return false;
                    if (s[i] == '\\') { i++; if (i >= s.Length) return false; }
                }
                first = false;
                i++;
            }
        }
        return true;
    }

    /// <summary>Go's path.Clean: one slash between elements, no '.' elements, '..' resolved lexically.</summary>
    public static string CleanPath(string path)
    {
        if (path.Length == 0) return ".";
        bool rooted = path[0] == '/';
        var outParts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                if (outParts.Count > 0 && outParts[^1] != "..") outParts.RemoveAt(outParts.Count - 1);
                else if (!rooted) outParts.Add("..");
                continue;
            }
            outParts.Add(part);
        }
        var joined = string.Join('/', outParts);
        if (rooted) return "/" + joined;
        return joined.Length == 0 ? "." : joined;
    }
}
