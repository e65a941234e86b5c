using System.Text;
using Containers.Engine.Errors;

namespace Containers.Engine.Compose;

/// <summary>
/// Compose variable interpolation (compose-go's template package): <c>$VAR</c>, <c>${VAR}</c>,
/// <c>${VAR:-default}</c>, <c>${VAR-default}</c>, <c>${VAR:?error}</c>, <c>${VAR?error}</c>,
/// <c>${VAR:+alternative}</c>, <c>${VAR+alternative}</c>, with defaults, errors and alternatives interpolated in
/// turn (nested), and <c>$$</c> for a literal <c>$</c>. A <c>$</c> followed by anything else stays as it is;
/// <c>${</c> with no valid name in it is an error.
/// </summary>
public static class Interpolation
{
    /// <summary>Looks a variable up: its value, or false when it is not set.</summary>
    public delegate bool Lookup(string name, out string? value);

    /// <summary>A failure: the message (no location), whether a required variable was missing.</summary>
    public sealed class InterpolationException(string message, bool missingRequired) : Exception(message)
    {
        public bool MissingRequired { get; } = missingRequired;
    }

    /// <summary>Substitutes the variables of <paramref name="template"/>; <paramref name="unset"/> hears of each unset variable used without a default.</summary>
    public static string Substitute(string template, Lookup lookup, Action<string>? unset = null)
    {
        if (template.IndexOf('$') < 0) return template;
        var sb = new StringBuilder(template.Length);
        int i = 0;
        while (i < template.Length)
        {
            char c = template[i];
            if (c != '$' || i + 1 >= template.Length) { sb.Append(c); i++; continue; }
            char n = template[i + 1];
            if (n == '$') { sb.Append('$'); i += 2; continue; }
            if (IsNameStart(n))
            {
                int j = i + 1;
                while (j < template.Length && IsNameChar(template[j])) j++;
                string name = template[(i + 1)..j];
                sb.Append(Value(name, lookup, unset));
                i = j;
                continue;
            }
            if (n == '{')
            {
                int close = ClosingBrace(template, i + 1);
                if (close < 0) throw new InterpolationException($"Invalid template: \"{template}\"", false);
                string inner = template[(i + 2)..close];
                sb.Append(Braced(inner, template, lookup, unset));
                i = close + 1;
                continue;
            }
            sb.Append(c);
            i++;
        }
        return sb.ToString();
    }

    // the '}' that closes the '{' at open, counting the braces of nested ${...}
    private static int ClosingBrace(string s, int open)
    {
        int depth = 0;
        for (int i = open; i < s.Length; i++)
        {
            if (s[i] == '{') depth++;
            else if (s[i] == '}' && --depth == 0) return i;
        }
        return -1;
    }

    private static string Braced(string inner, string template, Lookup lookup, Action<string>? unset)
    {
        int j = 0;
        if (inner.Length == 0 || !IsNameStart(inner[0])) throw new InterpolationException($"Invalid template: \"{template}\"", false);
        while (j < inner.Length && IsNameChar(inner[j])) j++;
        string name = inner[..j];
        if (j == inner.Length) return Value(name, lookup, unset);
        string rest = inner[j..];
        string op = rest.StartsWith(":-", StringComparison.Ordinal) || rest.StartsWith(":?", StringComparison.Ordinal) || rest.StartsWith(":+", StringComparison.Ordinal)
            ? rest[..2]
            : rest[0] is '-' or '?' or '+' ? rest[..1] : "";
        if (op.Length == 0) throw new InterpolationException($"Invalid template: \"{template}\"", false);
        string arg = rest[op.Length..];
        bool set = lookup(name, out string? value);
        bool nonEmpty = set && !string.IsNullOrEmpty(value);
        switch (op)
        {
            case ":-": return nonEmpty ? value! : Substitute(arg, lookup, unset);
            case "-": return set ? value ?? "" : Substitute(arg, lookup, unset);
            case ":+": return nonEmpty ? Substitute(arg, lookup, unset) : value ?? "";
            case "+": return set ? Substitute(arg, lookup, unset) : "";
            case ":?":
            case "?":
                if (op == ":?" ? nonEmpty : set) return value ?? "";
                string reason = Substitute(arg, lookup, unset);
                throw new InterpolationException(reason.Length > 0
                    ? $"required variable {name} is missing a value: {reason}"
                    : $"required variable {name} is missing a value", true);
        }
        throw new InterpolationException($"Invalid template: \"{template}\"", false);
    }

    private static string Value(string name, Lookup lookup, Action<string>? unset)
    {
        if (lookup(name, out string? v)) return v ?? "";
        unset?.Invoke(name);
        return "";
    }

    private static bool IsNameStart(char c) => c == '_' || c is >= 'a' and <= 'z' or >= 'A' and <= 'Z';
    private static bool IsNameChar(char c) => IsNameStart(c) || c is >= '0' and <= '9';
}

/// <summary>
/// .env files as compose-go's dotenv package reads them: <c>KEY=value</c> or <c>KEY: value</c>, an optional
/// <c>export </c> prefix, <c>#</c> comment lines and <c> #</c> comments after unquoted values, single quotes
/// (literal, may span lines), double quotes (escapes \n \t \\ \" \$ ..., may span lines, then interpolated),
/// unquoted values interpolated (the lookup first, then the keys read so far), and a bare <c>KEY</c> taking the
/// lookup's value when it has one.
/// </summary>
public static class DotEnv
{
    public static OrderedDictionary<string, string> Parse(string text, string file, Interpolation.Lookup? lookup = null)
    {
        lookup ??= static (string _, out string? v) => { v = null; return false; };
        var result = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        text = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        int pos = 0, line = 1;
        while (true)
        {
            // skip blank space and comment lines
            while (pos < text.Length)
            {
                char c = text[pos];
                if (c == '\n') { line++; pos++; }
                else if (char.IsWhiteSpace(c)) pos++;
                else if (c == '#')
                {
                    int nl = text.IndexOf('\n', pos);
                    pos = nl < 0 ? text.Length : nl;
                }
                else break;
            }
            if (pos >= text.Length) break;
            if (text.AsSpan(pos).StartsWith("export") && pos + 6 < text.Length && text[pos + 6] is ' ' or '\t')
            {
                pos += 6;
                while (pos < text.Length && text[pos] is ' ' or '\t') pos++;
            }
            int keyStart = pos;
            char sep = '\0';
            while (pos < text.Length)
            {
                char c = text[pos];
                if (c is '=' or ':' or '\n') { sep = c; break; }
                if (c is ' ' or '\t' || c is '_' or '.' or '-' or '[' or ']' || char.IsLetterOrDigit(c)) { pos++; continue; }
                int eol = text.IndexOf('\n', keyStart);
                throw Fail(file, line, $"unexpected character \"{c}\" in variable name \"{text[keyStart..(eol < 0 ? text.Length : eol)]}\"");
            }
            string key = text[keyStart..pos].TrimEnd();
            if (key.Contains(' ') || key.Contains('\t')) throw Fail(file, line, "key cannot contain a space");
            if (sep is '\0' or '\n')
            {
                // a bare KEY: inherited from the lookup
                if (lookup(key, out string? inherited) && inherited is not null) result[key] = inherited;
                if (sep == '\n') { pos++; line++; }
                continue;
            }
            pos++; // past = or :
            while (pos < text.Length && text[pos] is ' ' or '\t') pos++;
            string value;
            if (pos < text.Length && text[pos] is '\'' or '"')
            {
                char q = text[pos];
                var sb = new StringBuilder();
                int i = pos + 1;
                bool esc = false, closed = false;
                int startLine = line;
                for (; i < text.Length; i++)
                {
                    char c = text[i];
                    if (c == '\n') line++;
                    if (c != q)
                    {
                        if (!esc && c == '\\') { esc = true; continue; }
                        if (esc) { esc = false; sb.Append('\\'); }
                        sb.Append(c);
                        continue;
                    }
                    if (esc) { esc = false; sb.Append(c); continue; }
                    closed = true;
                    break;
                }
                if (!closed)
                {
                    int eol = text.IndexOf('\n', pos);
                    throw Fail(file, startLine, $"unterminated quoted value {text[pos..(eol < 0 ? text.Length : eol)]}");
                }
                value = sb.ToString();
                if (q == '"') value = Expand(Unescape(value), result, lookup, file, startLine);
                pos = i + 1;
                // the rest of the line after the closing quote (a comment) is skipped
                int nl = text.IndexOf('\n', pos);
                string tail = nl < 0 ? text[pos..] : text[pos..nl];
                if (tail.Trim().Length == 0 || tail.TrimStart().StartsWith('#')) pos = nl < 0 ? text.Length : nl;
            }
            else
            {
                int nl = text.IndexOf('\n', pos);
                string raw = nl < 0 ? text[pos..] : text[pos..nl];
                int hash = raw.IndexOf(" #", StringComparison.Ordinal);
                if (hash >= 0) raw = raw[..hash];
                if (raw.StartsWith('#')) raw = "";
                value = Expand(raw.TrimEnd(), result, lookup, file, line);
                pos = nl < 0 ? text.Length : nl;
            }
            result[key] = value;
        }
        return result;
    }

    private static string Expand(string value, OrderedDictionary<string, string> soFar, Interpolation.Lookup lookup, string file, int line)
    {
        try
        {
            return Interpolation.Substitute(value, (string name, out string? v) =>
            {
                if (lookup(name, out v)) return true;
                if (soFar.TryGetValue(name, out string? s)) { v = s; return true; }
                v = null;
                return false;
            });
        }
        catch (Interpolation.InterpolationException ex) { throw Fail(file, line, ex.Message); }
    }

    // the shell escapes compose-go expands in double-quoted values; \$ stays a literal $ (written $$ for the
    // interpolation that follows)
    private static string Unescape(string s)
    {
        if (s.IndexOf('\\') < 0) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c != '\\' || i + 1 >= s.Length) { sb.Append(c); continue; }
            char n = s[i + 1];
            string? r = n switch
            {
                'a' => "\a", 'b' => "\b", 'c' => null, 'f' => "\f", 'n' => "\n", 'r' => "\r", 't' => "\t", 'v' => "\v",
                '$' => "$$", '"' => "\"", '\\' => "\\",
                _ => null,
            };
            if (r is not null) { sb.Append(r); i++; continue; }
            if (n == '0')
            {
                int j = i + 2, val = 0, digits = 0;
                while (j < s.Length && digits < 3 && s[j] is >= '0' and <= '7') { val = val * 8 + (s[j] - '0'); j++; digits++; }
                if (digits == 3) { sb.Append((char)val); i = j - 1; continue; }
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static ContainersException Fail(string file, int line, string message)
        => new(ErrorKind.InvalidData, "ComposeEnvFileInvalid", $"{file}: line {line}: {message}", file);
}
