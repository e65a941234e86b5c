using System.Text;
using System.Text.RegularExpressions;
using Containers.Engine.Errors;

namespace Containers.Engine.Build;

/// <summary>The result of expanding one word: the text, its words, and which variables it used.</summary>
public sealed class ShellWordResult
{
    public string Result { get; init; } = "";
    public IReadOnlyList<string> Words { get; init; } = [];
    /// <summary>Variables the word referred to that were set.</summary>
    public IReadOnlyCollection<string> Matched { get; init; } = [];
    /// <summary>Variables the word referred to that were not set.</summary>
    public IReadOnlyCollection<string> Unmatched { get; init; } = [];
}

/// <summary>
/// Variable expansion and word splitting as BuildKit's shell lexer (frontend/dockerfile/shell) does them for
/// Dockerfile instructions: <c>$v</c>, <c>${v}</c>, <c>${v:-x}</c> <c>${v-x}</c> <c>${v:+x}</c> <c>${v+x}</c>
/// <c>${v:?msg}</c> <c>${v?msg}</c>, <c>${v#p}</c> <c>${v##p}</c> <c>${v%p}</c> <c>${v%%p}</c> (shell patterns
/// with * and ?), <c>${v/p/r}</c> <c>${v//p/r}</c>; single quotes take everything literally, double quotes keep
/// spaces and expand variables, the escape character escapes (inside double quotes only " $ and itself).
/// Not thread-safe: one instance per thread.
/// </summary>
public sealed class ShellLex
{
    private const int EOF = -1;
    private readonly int _escape;

    /// <summary>Keep quote characters in the output (used to detect quoted heredoc words).</summary>
    public bool RawQuotes { get; set; }
    /// <summary>Keep escape characters in the output.</summary>
    public bool RawEscapes { get; set; }
    /// <summary>Treat quotes as ordinary characters.</summary>
    public bool SkipProcessQuotes { get; set; }
    /// <summary>Leave a reference to an unset variable as written instead of expanding it to nothing.</summary>
    public bool SkipUnsetEnv { get; set; }

    public ShellLex(char escapeToken = '\\') => _escape = escapeToken;

    /// <summary>Expands variables in the word; spaces are kept (one word in, one string out).</summary>
    public string ProcessWord(string word, IReadOnlyDictionary<string, string> env) => Process(word, env).Result;

    /// <summary>Expands variables, then splits into words on unquoted whitespace.</summary>
    public List<string> ProcessWords(string word, IReadOnlyDictionary<string, string> env) => [.. Process(word, env).Words];

    /// <summary>Expands and reports which variables were used (set and unset).</summary>
    public ShellWordResult Process(string word, IReadOnlyDictionary<string, string> env)
    {
        var w = new Word(this, word, env);
        try
        {
            var (res, words) = w.StopOn(EOF, RawEscapes);
            return new ShellWordResult { Result = res, Words = words, Matched = w.Matches, Unmatched = w.NonMatches };
        }
        catch (LexError e)
        {
            throw ContainersException.Invalid("DockerfileVariableError", $"failed to process {GoQuote.Quote(word)}: {e.Message}", word);
        }
    }

    private sealed class LexError(string message) : Exception(message);

    private sealed class Words
    {
        private readonly StringBuilder _buf = new();
        private readonly List<string> _words = new();
        private bool _inWord;

        public void AddChar(int ch)
        {
            bool space = IsSpace(ch);
            if (space && _inWord)
            {
                if (_buf.Length != 0) { _words.Add(_buf.ToString()); _buf.Clear(); _inWord = false; }
            }
            else if (!space) AddRawChar(ch);
        }

        public void AddRawChar(int ch) { AppendRune(_buf, ch); _inWord = true; }

        public void AddString(string s) { foreach (var r in s.EnumerateRunes()) AddChar(r.Value); }

        public void AddRawString(string s) { _buf.Append(s); _inWord = true; }

        public List<string> Get()
        {
            if (_buf.Length > 0) { _words.Add(_buf.ToString()); _buf.Clear(); _inWord = false; }
            return _words;
        }
    }

    private static bool IsSpace(int ch) => ch >= 0 && Rune.IsValid(ch) && Rune.IsWhiteSpace(new Rune(ch));
    private static bool IsDigit(int ch) => ch >= 0 && Rune.IsValid(ch) && Rune.IsDigit(new Rune(ch));
    private static bool IsLetter(int ch) => ch >= 0 && Rune.IsValid(ch) && Rune.IsLetter(new Rune(ch));

    private static void AppendRune(StringBuilder sb, int ch)
    {
        if (ch < 0 || !Rune.IsValid(ch)) sb.Append('\uFFFD');
        else sb.Append(new Rune(ch).ToString());
    }

    private static string RuneString(int ch)
    {
        var sb = new StringBuilder();
        AppendRune(sb, ch);
        return sb.ToString();
    }

    private static int[] ToRunes(string s)
    {
        if (s.Length > 0 && s[0] == '\uFEFF') s = s.Substring(1); // Go's text/scanner skips a leading BOM
        var list = new List<int>(s.Length);
        foreach (var r in s.EnumerateRunes()) list.Add(r.Value);
        return list.ToArray();
    }

    private sealed class Word
    {
        private readonly ShellLex _lex;
        private readonly int[] _src;
        private int _pos;
        private readonly IReadOnlyDictionary<string, string> _env;
        private bool _rawEscapes;
        public readonly HashSet<string> Matches = new(StringComparer.Ordinal);
        public readonly HashSet<string> NonMatches = new(StringComparer.Ordinal);

        public Word(ShellLex lex, string word, IReadOnlyDictionary<string, string> env)
        {
            _lex = lex;
            _src = ToRunes(word);
            _env = env;
            _rawEscapes = lex.RawEscapes;
        }

        private int Peek() => _pos < _src.Length ? _src[_pos] : EOF;
        private int Next() => _pos < _src.Length ? _src[_pos++] : EOF;

        public (string, List<string>) StopOn(int stopChar, bool rawEscapes)
        {
            var result = new StringBuilder();
            var words = new Words();
            bool saved = _rawEscapes;
            _rawEscapes = rawEscapes;
            try
            {
                while (Peek() != EOF)
                {
                    int ch = Peek();
                    if (stopChar != EOF && ch == stopChar)
                    {
                        Next();
                        return (result.ToString(), words.Get());
                    }
                    string? special = ch switch
                    {
                        '$' => Dollar(),
                        '<' => PossibleHeredoc(),
                        '\'' when !_lex.SkipProcessQuotes => SingleQuote(),
                        '"' when !_lex.SkipProcessQuotes => DoubleQuote(),
                        _ => null,
                    };
                    if (special is not null)
                    {
                        result.Append(special);
                        if (ch == '$') words.AddString(special); else words.AddRawString(special);
                        continue;
                    }
                    ch = Next();
                    if (ch == _lex._escape)
                    {
                        if (_rawEscapes) { words.AddRawChar(ch); AppendRune(result, ch); }
                        ch = Next();
                        if (ch == EOF) break;
                        words.AddRawChar(ch);
                    }
                    else words.AddChar(ch);
                    AppendRune(result, ch);
                }
                if (stopChar != EOF)
                    throw new LexError($"unexpected end of statement while looking for matching {RuneString(stopChar)}");
                return (result.ToString(), words.Get());
            }
            finally { _rawEscapes = saved; }
        }

        private string SingleQuote()
        {
            var result = new StringBuilder();
            int ch = Next();
            if (_lex.RawQuotes) AppendRune(result, ch);
            while (true)
            {
                ch = Next();
                if (ch == EOF) throw new LexError("unexpected end of statement while looking for matching single-quote");
                if (ch == '\'')
                {
                    if (_lex.RawQuotes) AppendRune(result, ch);
                    return result.ToString();
                }
                AppendRune(result, ch);
            }
        }

        private string DoubleQuote()
        {
            var result = new StringBuilder();
            int ch = Next();
            if (_lex.RawQuotes) AppendRune(result, ch);
            while (true)
            {
                int p = Peek();
                if (p == EOF) throw new LexError("unexpected end of statement while looking for matching double-quote");
                if (p == '"')
                {
                    ch = Next();
                    if (_lex.RawQuotes) AppendRune(result, ch);
                    return result.ToString();
                }
                if (p == '$') { result.Append(Dollar()); continue; }
                ch = Next();
                if (ch == _lex._escape)
                {
                    if (_rawEscapes) AppendRune(result, ch);
                    int q = Peek();
                    if (q == EOF) continue;
                    if (q == '"' || q == '$' || q == _lex._escape) ch = Next();
                }
                AppendRune(result, ch);
            }
        }

        private string PossibleHeredoc()
        {
            Next();
            if (Peek() != '<') return "<";
            Next();
            var sb = new StringBuilder("<<");
            while (Peek() is '\t' or '\r' or ' ') AppendRune(sb, Next());
            return sb.ToString();
        }

        private bool GetEnv(string name, out string value)
        {
            if (_env.TryGetValue(name, out var v)) { Matches.Add(name); value = v; return true; }
            NonMatches.Add(name);
            value = "";
            return false;
        }

        private string Dollar()
        {
            Next();
            if (Peek() != '{')
            {
                var n = Name();
                if (n.Length == 0) return "$";
                bool found = GetEnv(n, out var v);
                if (!found && _lex.SkipUnsetEnv) return "$" + n;
                return v;
            }
            Next();
            switch (Peek())
            {
                case EOF: throw new LexError("syntax error: missing '}'");
                case '{' or '}' or ':': throw new LexError("syntax error: bad substitution");
            }
            var name = Name();
            int ch = Next();
            string chs = RuneString(ch);
            bool nullIsUnset = false;
            switch (ch)
            {
                case '}':
                    {
                        bool set = GetEnv(name, out var v);
                        if (!set && _lex.SkipUnsetEnv) return "${" + name + "}";
                        return v;
                    }
                case ':':
                case '+' or '-' or '?' or '#' or '%':
                    {
                        if (ch == ':')
                        {
                            nullIsUnset = true;
                            ch = Next();
                            chs += RuneString(ch);
                        }
                        bool raw = ch == '#' || ch == '%';
                        if (nullIsUnset && raw) throw new LexError($"unsupported modifier ({chs}) in substitution");
                        string word;
                        try { (word, _) = StopOn('}', raw); }
                        catch (LexError) when (Peek() == EOF) { throw new LexError("syntax error: missing '}'"); }
                        bool set = GetEnv(name, out var value);
                        if (_lex.SkipUnsetEnv && !set) return "${" + name + chs + word + "}";
                        switch (ch)
                        {
                            case '-':
                                return !set || (nullIsUnset && value.Length == 0) ? word : value;
                            case '+':
                                return !set || (nullIsUnset && value.Length == 0) ? "" : word;
                            case '?':
                                if (!set) throw new LexError($"{name}: {(word.Length > 0 ? word : "is not allowed to be unset")}");
                                if (nullIsUnset && value.Length == 0) throw new LexError($"{name}: {(word.Length > 0 ? word : "is not allowed to be empty")}");
                                return value;
                            case '%' or '#':
                                bool greedy = false;
                                if (word.Length > 0 && word[0] == ch) { greedy = true; word = word.Substring(1); }
                                return ch == '%' ? TrimSuffix(word, value, greedy) : TrimPrefix(word, value, greedy);
                            default:
                                throw new LexError($"unsupported modifier ({chs}) in substitution");
                        }
                    }
                case '/':
                    {
                        bool all = Peek() == '/';
                        if (all) Next();
                        string pattern, replacement;
                        try { (pattern, _) = StopOn('/', true); }
                        catch (LexError) when (Peek() == EOF) { throw new LexError("syntax error: missing '/' in ${}"); }
                        try { (replacement, _) = StopOn('}', true); }
                        catch (LexError) when (Peek() == EOF) { throw new LexError("syntax error: missing '}'"); }
                        bool set = GetEnv(name, out var value);
                        if (_lex.SkipUnsetEnv && !set) return "${" + name + "/" + pattern + "/" + replacement + "}";
                        var re = PatternToRegex(pattern, true, false);
                        if (all) return re.Replace(value, m => GoExpand(replacement, m));
                        var first = re.Match(value);
                        return first.Success ? value.Substring(0, first.Index) + replacement + value.Substring(first.Index + first.Length) : value;
                    }
                default:
                    throw new LexError($"unsupported modifier ({chs}) in substitution");
            }
        }

        private string Name()
        {
            var sb = new StringBuilder();
            while (Peek() != EOF)
            {
                int ch = Peek();
                if (sb.Length == 0 && IsDigit(ch))
                {
                    while (Peek() != EOF && IsDigit(Peek())) AppendRune(sb, Next());
                    return sb.ToString();
                }
                if (sb.Length == 0 && ch is '@' or '*' or '#' or '?' or '-' or '$' or '!' or '0')
                {
                    return RuneString(Next());
                }
                if (!IsLetter(ch) && !IsDigit(ch) && ch != '_') break;
                AppendRune(sb, Next());
            }
            return sb.ToString();
        }
    }

    // Go's Regexp.ReplaceAllString template: $0 / ${0} is the match, other names (there are no groups) are empty
    private static string GoExpand(string template, Match m)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < template.Length; i++)
        {
            char c = template[i];
            if (c != '$' || i + 1 >= template.Length) { sb.Append(c); continue; }
            if (template[i + 1] == '$') { sb.Append('$'); i++; continue; }
            string name;
            int end;
            if (template[i + 1] == '{')
            {
                int close = template.IndexOf('}', i + 2);
                if (close < 0) { sb.Append(c); continue; }
                name = template.Substring(i + 2, close - i - 2);
                end = close;
                if (name.Length == 0 || !name.All(ch => char.IsLetterOrDigit(ch) || ch == '_')) { sb.Append(c); continue; }
            }
            else
            {
                int j = i + 1;
                while (j < template.Length && (char.IsLetterOrDigit(template[j]) || template[j] == '_')) j++;
                if (j == i + 1) { sb.Append(c); continue; }
                name = template.Substring(i + 1, j - i - 1);
                end = j - 1;
            }
            if (name.All(char.IsAsciiDigit) && int.TryParse(name, out int n) && n == 0) sb.Append(m.Value);
            i = end;
        }
        return sb.ToString();
    }

    // a shell pattern (* shortest or longest, ? one character, backslash escapes) as a regular expression
    internal static Regex PatternToRegex(string pattern, bool greedy, bool anchored)
    {
        var src = ToRunes(pattern);
        var sb = new StringBuilder();
        if (anchored) sb.Append('^');
        string star = greedy ? ".*" : ".*?";
        for (int i = 0; i < src.Length; i++)
        {
            int tok = src[i];
            switch (tok)
            {
                case '*': sb.Append(star); continue;
                case '?': sb.Append('.'); continue;
                case '\\':
                    {
                        int peek = i + 1 < src.Length ? src[i + 1] : EOF;
                        if (peek == '}' || peek == '/') continue;
                        sb.Append('\\');
                        i++;
                        tok = peek;
                        if (tok != '*' && tok != '?' && tok != '\\')
                            throw new LexError($"invalid pattern ({pattern}) in substitution: invalid escape '\\{RuneString(tok)}'");
                        break;
                    }
                case '[' or ']' or '{' or '}' or '.' or '+' or '(' or ')' or '|' or '^' or '$':
                    sb.Append('\\');
                    break;
                default:
                    // characters .NET would read as syntax that Go's regexp takes literally
                    if (tok is '#' or ' ' or '\t' or '\n' or '\r' or '\f' or '\v') { sb.Append(Regex.Escape(RuneString(tok))); continue; }
                    break;
            }
            AppendRune(sb, tok);
        }
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    private static string TrimPrefix(string pattern, string value, bool greedy)
    {
        var m = PatternToRegex(pattern, greedy, true).Match(value);
        return m.Success ? value.Substring(m.Index + m.Length) : value;
    }

    private static string TrimSuffix(string pattern, string value, bool greedy)
    {
        var trimmed = TrimPrefix(ReversePattern(pattern), Reverse(value), greedy);
        return Reverse(trimmed);
    }

    // reverses a pattern keeping each escape before the character it escapes: a\*c -> c\*a
    private static string ReversePattern(string pattern)
    {
        var src = ToRunes(pattern);
        var output = new int[src.Length];
        int last = src.Length - 1;
        for (int i = 0; i <= last;)
        {
            int tok = src[i];
            int o = last - i;
            if (tok == '\\' && i != last)
            {
                output[o - 1] = tok;
                output[o] = src[i + 1];
                i += 2;
            }
            else { output[o] = tok; i++; }
        }
        var sb = new StringBuilder();
        foreach (var r in output) AppendRune(sb, r);
        return sb.ToString();
    }

    private static string Reverse(string s)
    {
        var runes = ToRunesNoBom(s);
        Array.Reverse(runes);
        var sb = new StringBuilder();
        foreach (var r in runes) AppendRune(sb, r);
        return sb.ToString();
    }

    private static int[] ToRunesNoBom(string s)
    {
        var list = new List<int>(s.Length);
        foreach (var r in s.EnumerateRunes()) list.Add(r.Value);
        return list.ToArray();
    }
}
