using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;
using Containers.Engine.Spec;

namespace Containers.Engine.Build;

/// <summary>What the syntax parser returns: the tree, the escape character in force, directives and warnings.</summary>
public sealed class DockerfileSyntaxResult
{
    public DockerfileNode Root { get; init; } = new();
    public char EscapeToken { get; init; } = '\\';
    /// <summary>Parser directives found at the top of the file (syntax, escape, check), in order.</summary>
    public IReadOnlyList<DockerfileDirective> Directives { get; init; } = [];
    public IReadOnlyList<DockerfileWarning> Warnings { get; init; } = [];
}

/// <summary>
/// The Dockerfile's line-level syntax, as BuildKit's frontend/dockerfile/parser reads it: parser directives,
/// comments, the escape character and line continuations (empty continuation lines are dropped with a
/// warning), heredocs, and each instruction's arguments shaped by its keyword's rule (whitespace-separated
/// words, name=value pairs, JSON-or-string, JSON-or-list, HEALTHCHECK's type word, ONBUILD's inner instruction).
/// Unknown keywords are kept (their arguments dropped); the instruction layer rejects them.
/// </summary>
public static class DockerfileSyntax
{
    private enum Rule { Ignore, SubCommand, NameVal, NameOrNameVal, Whitespace, String, MaybeJson, MaybeJsonToList, Health }

    private static readonly Dictionary<string, Rule> Dispatch = new(StringComparer.Ordinal)
    {
        ["add"] = Rule.MaybeJsonToList,
        ["arg"] = Rule.NameOrNameVal,
        ["cmd"] = Rule.MaybeJson,
        ["copy"] = Rule.MaybeJsonToList,
        ["entrypoint"] = Rule.MaybeJson,
        ["env"] = Rule.NameVal,
        ["expose"] = Rule.Whitespace,
        ["from"] = Rule.Whitespace,
        ["healthcheck"] = Rule.Health,
        ["label"] = Rule.NameVal,
        ["maintainer"] = Rule.String,
        ["onbuild"] = Rule.SubCommand,
        ["run"] = Rule.MaybeJson,
        ["shell"] = Rule.MaybeJson,
        ["stopsignal"] = Rule.String,
        ["user"] = Rule.String,
        ["volume"] = Rule.MaybeJsonToList,
        ["workdir"] = Rule.String,
    };

    private static readonly HashSet<string> HeredocInstructions = new(StringComparer.Ordinal) { "add", "copy", "run" };

    private static readonly Regex DirectiveRegex = new(@"^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\z", RegexOptions.CultureInvariant);
    private static readonly Regex HeredocRegex = new(@"^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\z", RegexOptions.CultureInvariant);

    private sealed class Directives
    {
        public char Escape = '\\';
        public Regex Continuation = MakeContinuation('\\');
        public bool Done;
        public readonly HashSet<string> Seen = new(StringComparer.Ordinal);
        public readonly List<DockerfileDirective> Found = new();

        public static Regex MakeContinuation(char e)
        {
            var x = Regex.Escape(e.ToString());
            return new Regex($@"([^{x}]){x}[ \t]*\z|^{x}[ \t]*\z", RegexOptions.CultureInvariant);
        }

        // a line is a directive while nothing but directives came before it; returns true for one
        public bool TryDirective(string line, int lineNo, Func<string, Exception> fail)
        {
            if (Done) return false;
            if (!line.StartsWith('#')) { Done = true; return false; }
            var m = DirectiveRegex.Match(line.Substring(1).TrimStart());
            if (!m.Success) { Done = true; return false; }
            var key = m.Groups[1].Value.ToLowerInvariant();
            if (key is not ("syntax" or "escape" or "check")) { Done = true; return false; }
            if (!Seen.Add(key)) throw fail($"only one {key} parser directive can be used");
            var value = m.Groups[2].Value;
            Found.Add(new DockerfileDirective(key, value, lineNo));
            if (key == "escape")
            {
                if (value != "`" && value != "\\") throw fail($"invalid escape token '{value}' does not match ` or \\");
                Escape = value[0];
                Continuation = MakeContinuation(Escape);
            }
            return true;
        }
    }

    /// <summary>Parses Dockerfile text; throws DockerfileParseError naming the line on a syntax error.</summary>
    public static DockerfileSyntaxResult Parse(string text, string? file = null)
    {
        var lines = SplitLines(text);
        var d = new Directives();
        var root = new DockerfileNode { StartLine = -1 };
        var warnings = new List<DockerfileWarning>();
        var comments = new List<string>();
        int current = 0; // lines consumed so far
        int i = 0;

        Exception Fail(string msg, int start, int end) => ParseError(file, msg, start, end);

        while (i < lines.Count)
        {
            string raw = lines[i++];
            if (current == 0 && raw.Length > 0 && raw[0] == '\uFEFF') raw = raw.Substring(1);
            if (IsComment(raw))
            {
                var c = GoTrimSpace(raw.Substring(1));
                if (c.Length == 0) comments = new List<string>();
                else comments.Add(c);
            }
            int lineNo = current + 1;
            var (processed, directive) = ProcessLine(d, raw, true, m => Fail(m, lineNo, lineNo), lineNo);
            if (directive) comments.RemoveAt(comments.Count - 1);
            current++;
            int startLine = current;
            var (text0, endOfLine) = TrimContinuation(processed, d);
            if (endOfLine && text0.Length == 0) continue;
            var buf = new StringBuilder(text0);
            bool emptyContinuation = false;
            while (!endOfLine && i < lines.Count)
            {
                string next = lines[i++];
                int ln = current + 1;
                var (p, _) = ProcessLine(d, next, false, m => Fail(m, ln, ln), ln);
                current++;
                if (IsComment(next)) continue;
                if (GoTrimLeft(TrimNewline(p)).Length == 0) { emptyContinuation = true; continue; }
                string t;
                (t, endOfLine) = TrimContinuation(p, d);
                buf.Append(t);
            }
            string line = buf.ToString();
            if (emptyContinuation)
            {
                warnings.Add(new DockerfileWarning("NoEmptyContinuation", "Empty continuation line found in: " + line, current));
            }

            DockerfileNode child;
            try { child = NodeFromLine(line, d.Escape, comments); }
            catch (SyntaxError e) { throw Fail(e.Message, startLine, current); }

            if (CanContainHeredoc(child) && line.Contains("<<", StringComparison.Ordinal))
            {
                List<DockerfileHeredocText> docs;
                try { docs = HeredocsFromLine(line); }
                catch (SyntaxError e) { throw Fail(e.Message, startLine, current); }
                foreach (var doc in docs)
                {
                    bool terminated = false;
                    var content = new StringBuilder();
                    while (i < lines.Count)
                    {
                        string body = lines[i++];
                        current++;
                        var candidate = TrimNewline(body);
                        if (doc.Chomp) candidate = candidate.TrimStart('\t');
                        if (candidate == doc.Name) { terminated = true; break; }
                        content.Append(body);
                    }
                    if (!terminated) throw Fail($"unterminated heredoc {doc.Name}", startLine, current);
                    doc.Content = content.ToString();
                    child.Heredocs.Add(doc);
                }
            }

            child.StartLine = startLine;
            child.EndLine = current;
            if (root.StartLine < 0) root.StartLine = startLine;
            root.EndLine = current;
            root.Children.Add(child);
            comments = new List<string>();
        }

        if (root.StartLine < 0) throw Fail("file with no instructions", Math.Max(current, 1), Math.Max(current, 1));
        return new DockerfileSyntaxResult { Root = root, EscapeToken = d.Escape, Directives = d.Found, Warnings = warnings };
    }

    internal static Exception ParseError(string? file, string msg, int start, int end)
    {
        var pos = new DockerfilePosition(file, start, Math.Max(start, end));
        var where = file is null ? $"line {start}" : $"{file}, line {start}";
        return ContainersException.Invalid("DockerfileParseError", $"Dockerfile parse error ({where}): {msg}", pos);
    }

    internal sealed class SyntaxError(string message) : Exception(message);

    // lines with their line endings, as BuildKit's scanner returns them
    private static List<string> SplitLines(string text)
    {
        var list = new List<string>();
        int start = 0;
        while (start < text.Length)
        {
            int nl = text.IndexOf('\n', start);
            if (nl < 0) { list.Add(text.Substring(start)); break; }
            list.Add(text.Substring(start, nl + 1 - start));
            start = nl + 1;
        }
        return list;
    }

    private static (string, bool) ProcessLine(Directives d, string token, bool stripLeft, Func<string, Exception> fail, int lineNo)
    {
        token = TrimNewline(token);
        if (stripLeft) token = GoTrimLeft(token);
        bool directive = d.TryDirective(token, lineNo, fail);
        return (IsComment(token) ? "" : token, directive);
    }

    private static (string, bool) TrimContinuation(string line, Directives d)
    {
        var m = d.Continuation.Match(line);
        if (!m.Success) return (line, true);
        return (line.Substring(0, m.Index) + m.Groups[1].Value + line.Substring(m.Index + m.Length), false);
    }

    internal static string TrimNewline(string s) => s.TrimEnd('\r', '\n');
    internal static string GoTrimLeft(string s) => s.TrimStart();
    internal static string GoTrimSpace(string s) => s.Trim();

    private static bool IsComment(string line)
    {
        var t = GoTrimLeft(line);
        return t.Length > 0 && t[0] == '#';
    }

    private static bool CanContainHeredoc(DockerfileNode node)
    {
        if (node.Value.ToLowerInvariant() == "onbuild" && node.Next is { Children.Count: > 0 } n)
            node = n.Children[0];
        return HeredocInstructions.Contains(node.Value.ToLowerInvariant()) && !node.IsJson;
    }

    // ---- one logical line -> node ----

    internal static DockerfileNode NodeFromLine(string line, char escape, List<string>? comments)
    {
        var (cmd, flags, args) = SplitCommand(line, escape);
        var rule = Dispatch.TryGetValue(cmd.ToLowerInvariant(), out var r) ? r : Rule.Ignore;
        var (next, json) = Apply(rule, args, escape, cmd.ToLowerInvariant() == "env" ? "ENV" : "LABEL");
        var node = new DockerfileNode { Value = cmd, Original = line, Next = next, IsJson = json, PrevComment = comments ?? new List<string>() };
        node.Flags.AddRange(flags);
        return node;
    }

    private static (DockerfileNode?, bool) Apply(Rule rule, string rest, char escape, string keyword)
    {
        switch (rule)
        {
            case Rule.Ignore: return (new DockerfileNode(), false);
            case Rule.SubCommand:
                if (rest.Length == 0) return (null, false);
                var inner = new DockerfileNode();
                inner.Children.Add(NodeFromLine(rest, escape, null));
                return (inner, false);
            case Rule.NameVal: return (ParseNameVal(rest, escape, keyword), false);
            case Rule.NameOrNameVal:
                return (Chain(ParseWords(rest, escape)), false);
            case Rule.Whitespace: return (ParseWhitespace(rest), false);
            case Rule.String: return (rest.Length == 0 ? null : new DockerfileNode { Value = rest }, false);
            case Rule.MaybeJson: return ParseMaybeJson(rest);
            case Rule.MaybeJsonToList:
                {
                    var (node, ok) = ParseJson(rest);
                    if (ok) return (node, true);
                    return (ParseWhitespace(rest), false);
                }
            case Rule.Health: return ParseHealth(rest);
        }
        return (null, false);
    }

    private static DockerfileNode? Chain(IEnumerable<string> values)
    {
        DockerfileNode? first = null, prev = null;
        foreach (var v in values)
        {
            var n = new DockerfileNode { Value = v };
            if (prev is null) first = n; else prev.Next = n;
            prev = n;
        }
        return first;
    }

    internal static (string Cmd, List<string> Flags, string Args) SplitCommand(string line, char escape)
    {
        var parts = SplitWhitespace(GoTrimSpace(line), 2);
        var flags = new List<string>();
        string args = "";
        if (parts.Count == 2) (args, flags) = ExtractBuilderFlags(parts[1], escape);
        return (parts[0], flags, GoTrimSpace(args));
    }

    private static bool IsReWhitespace(char c) => c is '\t' or '\v' or '\f' or '\r' or ' ';

    // Go's regexp `[\t\v\f\r ]+`.Split(s, n): empty strings at a leading/trailing run
    internal static List<string> SplitWhitespace(string s, int n)
    {
        var result = new List<string>();
        if (s.Length == 0) { result.Add(""); return result; }
        int beg = 0, pos = 0;
        while (pos < s.Length)
        {
            if (!IsReWhitespace(s[pos])) { pos++; continue; }
            if (n > 0 && result.Count == n - 1) break;
            int end = pos;
            while (pos < s.Length && IsReWhitespace(s[pos])) pos++;
            result.Add(s.Substring(beg, end - beg));
            beg = pos;
        }
        result.Add(s.Substring(beg));
        return result;
    }

    // BuildKit reads the flags byte by byte: bytes above 0x7F become the Latin-1 character of that byte
    private static (string Remainder, List<string> Words) ExtractBuilderFlags(string line, char escape)
    {
        var b = Encoding.UTF8.GetBytes(line);
        var words = new List<string>();
        int phase = 0; // 0 spaces, 1 word, 2 quote
        var sb = new StringBuilder();
        char quote = '\0';
        bool blankOk = false;
        char ch = '\0';
        for (int pos = 0; pos <= b.Length; pos++)
        {
            if (pos != b.Length) ch = (char)b[pos];
            if (phase == 0)
            {
                if (pos == b.Length) break;
                if (char.IsWhiteSpace(ch)) continue;
                if (ch != '-' || pos + 1 == b.Length || b[pos + 1] != '-')
                    return (Encoding.UTF8.GetString(b, pos, b.Length - pos), words);
                phase = 1;
            }
            if (pos == b.Length)
            {
                var w = sb.ToString();
                if (w != "--" && (blankOk || w.Length > 0)) words.Add(w);
                break;
            }
            if (phase == 1)
            {
                if (char.IsWhiteSpace(ch))
                {
                    var w = sb.ToString();
                    phase = 0;
                    if (w == "--") return (Encoding.UTF8.GetString(b, pos, b.Length - pos), words);
                    if (blankOk || w.Length > 0) words.Add(w);
                    sb.Clear();
                    blankOk = false;
                    continue;
                }
                if (ch == '\'' || ch == '"') { quote = ch; blankOk = true; phase = 2; continue; }
                if (ch == escape)
                {
                    if (pos + 1 == b.Length) continue;
                    pos++;
                    ch = (char)b[pos];
                }
                sb.Append(ch);
                continue;
            }
            // in quotes
            if (ch == quote) { phase = 1; continue; }
            if (ch == escape)
            {
                if (pos + 1 == b.Length) { phase = 1; continue; }
                pos++;
                ch = (char)b[pos];
            }
            sb.Append(ch);
        }
        return ("", words);
    }

    /// <summary>BuildKit's parseWords: words split on whitespace, quotes and escapes kept as written.</summary>
    internal static List<string> ParseWords(string rest, char escape)
    {
        var words = new List<string>();
        int phase = 0;
        char quote = '\0';
        bool blankOk = false;
        var sb = new StringBuilder();
        for (int pos = 0; pos <= rest.Length; pos++)
        {
            char ch = pos < rest.Length ? rest[pos] : '\0';
            if (phase == 0)
            {
                if (pos == rest.Length) break;
                if (char.IsWhiteSpace(ch)) continue;
                phase = 1;
            }
            if (pos == rest.Length)
            {
                if (blankOk || sb.Length > 0) words.Add(sb.ToString());
                break;
            }
            if (phase == 1)
            {
                if (char.IsWhiteSpace(ch))
                {
                    phase = 0;
                    if (blankOk || sb.Length > 0) words.Add(sb.ToString());
                    sb.Clear();
                    blankOk = false;
                    continue;
                }
                if (ch == '\'' || ch == '"') { quote = ch; blankOk = true; phase = 2; }
                if (ch == escape)
                {
                    if (pos + 1 == rest.Length) continue;
                    sb.Append(ch);
                    pos++;
                    ch = rest[pos];
                }
                sb.Append(ch);
                continue;
            }
            if (ch == quote) phase = 1;
            if (ch == escape && quote != '\'')
            {
                if (pos + 1 == rest.Length) { phase = 1; continue; }
                pos++;
                sb.Append(ch);
                ch = rest[pos];
            }
            sb.Append(ch);
        }
        return words;
    }

    private static DockerfileNode? ParseNameVal(string rest, char escape, string key)
    {
        var words = ParseWords(rest, escape);
        if (words.Count == 0) return null;
        if (!words[0].Contains('='))
        {
            var parts = SplitWhitespace(rest, 2);
            if (parts.Count < 2) throw new SyntaxError($"{key} must have two arguments");
            return KeyValue(parts[0], parts[1], "");
        }
        DockerfileNode? root = null, last = null;
        foreach (var w in words)
        {
            int eq = w.IndexOf('=');
            if (eq < 0) throw new SyntaxError($"Syntax error - can't find = in {GoQuote.Quote(w)}. Must be of the form: name=value");
            var kv = KeyValue(w.Substring(0, eq), w.Substring(eq + 1), "=");
            if (root is null) root = kv; else last!.Next = kv;
            last = kv.Next!.Next;
        }
        return root;
    }

    private static DockerfileNode KeyValue(string k, string v, string sep)
        => new() { Value = k, Next = new DockerfileNode { Value = v, Next = new DockerfileNode { Value = sep } } };

    private static DockerfileNode? ParseWhitespace(string rest)
    {
        if (rest.Length == 0) return null;
        return Chain(SplitWhitespace(rest, -1));
    }

    private static (DockerfileNode?, bool) ParseMaybeJson(string rest)
    {
        if (rest.Length == 0) return (null, false);
        var (node, ok) = ParseJson(rest);
        if (ok) return (node, true);
        return (new DockerfileNode { Value = rest }, false);
    }

    // a JSON array of strings; (null,false) when the text is not JSON; an error when it is JSON of other values
    private static (DockerfileNode?, bool) ParseJson(string rest)
    {
        rest = GoTrimLeft(rest);
        if (!rest.StartsWith('[')) return (null, false);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(rest, new JsonDocumentOptions { MaxDepth = 10000 }); }
        catch (JsonException) { return (null, false); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) return (null, false);
            var values = new List<string>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String)
                    throw new SyntaxError("when using JSON array syntax, arrays must be comprised of strings only");
                values.Add(UnquoteJson(e.GetRawText()));
            }
            return (Chain(values), true);
        }
    }

    // Go's JSON string decoding: a lone surrogate escape becomes U+FFFD
    private static string UnquoteJson(string raw)
    {
        var sb = new StringBuilder(raw.Length);
        for (int i = 1; i < raw.Length - 1; i++)
        {
            char c = raw[i];
            if (c != '\\') { sb.Append(c); continue; }
            char e = raw[++i];
            switch (e)
            {
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    int u = Convert.ToInt32(raw.Substring(i + 1, 4), 16);
                    i += 4;
                    if (char.IsHighSurrogate((char)u) && i + 6 < raw.Length && raw[i + 1] == '\\' && raw[i + 2] == 'u')
                    {
                        int lo = Convert.ToInt32(raw.Substring(i + 3, 4), 16);
                        if (char.IsLowSurrogate((char)lo)) { sb.Append((char)u).Append((char)lo); i += 6; break; }
                    }
                    sb.Append(char.IsSurrogate((char)u) ? '\uFFFD' : (char)u);
                    break;
                default: sb.Append(e); break;
            }
        }
        return sb.ToString();
    }

    private static (DockerfileNode?, bool) ParseHealth(string rest)
    {
        var b = Encoding.UTF8.GetBytes(rest);
        int sep = 0;
        while (sep < b.Length && !char.IsWhiteSpace((char)b[sep])) sep++;
        int next = sep;
        while (next < b.Length && char.IsWhiteSpace((char)b[next])) next++;
        if (sep == 0) return (null, false);
        var typ = Encoding.UTF8.GetString(b, 0, sep);
        var (cmd, json) = ParseMaybeJson(Encoding.UTF8.GetString(b, next, b.Length - next));
        return (new DockerfileNode { Value = typ, Next = cmd }, json);
    }

    // ---- heredocs ----

    private static List<DockerfileHeredocText> HeredocsFromLine(string line)
    {
        var lex = new ShellLex('\\') { RawQuotes = true, RawEscapes = true, SkipUnsetEnv = true };
        List<string> words;
        try { words = lex.ProcessWords(line, EmptyEnv); }
        catch (ContainersException) { words = new List<string>(); }
        var docs = new List<DockerfileHeredocText>();
        foreach (var w in words)
        {
            var h = ParseHeredoc(w);
            if (h is not null) docs.Add(h);
        }
        return docs;
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyEnv = new Dictionary<string, string>();

    /// <summary>The heredoc a word opens (&lt;&lt;EOF, &lt;&lt;-"EOF", 3&lt;&lt;EOF), or null.</summary>
    internal static DockerfileHeredocText? ParseHeredoc(string word)
    {
        var m = HeredocRegex.Match(word);
        if (!m.Success) return null;
        var rest = m.Groups[3].Value;
        if (rest.Length == 0) return null;
        int.TryParse(m.Groups[1].Value, out int fd);
        var lex = new ShellLex('\\') { SkipUnsetEnv = true };
        List<string> plain, raw;
        try
        {
            plain = lex.ProcessWords(rest, EmptyEnv);
            if (plain.Count != 1) return null;
            lex.RawQuotes = true;
            raw = lex.ProcessWords(rest, EmptyEnv);
        }
        catch (ContainersException e) { throw new SyntaxError(e.Message); }
        if (raw.Count != plain.Count) throw new SyntaxError($"internal lexing of heredoc produced inconsistent results: {rest}");
        static int Quotes(string s) => s.Count(c => c == '\'' || c == '"');
        return new DockerfileHeredocText
        {
            Name = plain[0],
            Expand = Quotes(plain[0]) == Quotes(raw[0]),
            Chomp = m.Groups[2].Value == "-",
            FileDescriptor = fd,
        };
    }

    /// <summary>Strips leading tabs from every line of a &lt;&lt;- heredoc's body.</summary>
    public static string ChompHeredoc(string content) => Regex.Replace(content, "^\t+", "", RegexOptions.Multiline);
}
