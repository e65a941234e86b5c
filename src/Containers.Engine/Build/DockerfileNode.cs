using System.Text;

namespace Containers.Engine.Build;

/// <summary>
/// One node of a Dockerfile's syntax tree in BuildKit's shape (frontend/dockerfile/parser's Node): the root's
/// <see cref="Children"/> are the instructions; an instruction's <see cref="Value"/> is the keyword as written and
/// <see cref="Next"/> chains its arguments (ONBUILD's one argument has the inner instruction as its only child).
/// Kept in this shape so <see cref="Dump"/> is BuildKit's parser dump byte for byte.
/// </summary>
public sealed class DockerfileNode
{
    public string Value { get; internal set; } = "";
    public DockerfileNode? Next { get; internal set; }
    public List<DockerfileNode> Children { get; } = new();
    public List<DockerfileHeredocText> Heredocs { get; } = new();
    /// <summary>True when the arguments were written as a JSON array.</summary>
    public bool IsJson { get; internal set; }
    /// <summary>The logical line (continuations joined) the instruction was parsed from.</summary>
    public string Original { get; internal set; } = "";
    /// <summary>The --flags between keyword and arguments, as written (quotes and escapes resolved).</summary>
    public List<string> Flags { get; } = new();
    /// <summary>First and last physical line (1-based), heredoc bodies included.</summary>
    public int StartLine { get; internal set; }
    public int EndLine { get; internal set; }
    /// <summary>The comment lines right above the instruction (without '#').</summary>
    public List<string> PrevComment { get; internal set; } = new();

    /// <summary>The arguments as BuildKit's instruction parser reads them (nodeArgs): ONBUILD's inner keyword first.</summary>
    public List<string> Arguments()
    {
        var result = new List<string>();
        for (var n = this; n.Next is not null; n = n.Next)
        {
            var arg = n.Next;
            if (arg.Children.Count == 0) result.Add(arg.Value);
            else if (arg.Children.Count == 1)
            {
                result.Add(arg.Children[0].Value);
                result.AddRange(arg.Children[0].Arguments());
            }
        }
        return result;
    }

    /// <summary>BuildKit's Node.Dump(): the tree as s-expressions, one instruction a line.</summary>
    public string Dump()
    {
        var sb = new StringBuilder();
        sb.Append(Value.ToLowerInvariant());
        if (Flags.Count > 0)
        {
            sb.Append(" [");
            for (int i = 0; i < Flags.Count; i++)
            {
                if (i > 0) sb.Append(' ');
                GoQuote.Append(sb, Flags[i]);
            }
            sb.Append(']');
        }
        foreach (var c in Children)
        {
            sb.Append('(').Append(c.Dump()).Append(")\n");
        }
        for (var n = Next; n is not null; n = n.Next)
        {
            sb.Append(' ');
            if (n.Children.Count > 0) sb.Append(n.Dump());
            else GoQuote.Append(sb, n.Value);
        }
        return sb.ToString().Trim();
    }
}

/// <summary>A heredoc as the syntax parser found it: its word, whether its body is expanded, and the body.</summary>
public sealed class DockerfileHeredocText
{
    public string Name { get; init; } = "";
    public int FileDescriptor { get; init; }
    /// <summary>False when any part of the delimiter word was quoted: the body is then taken literally.</summary>
    public bool Expand { get; init; }
    /// <summary>&lt;&lt;- : leading tabs are stripped from the body's lines.</summary>
    public bool Chomp { get; init; }
    public string Content { get; internal set; } = "";
}

/// <summary>Go's strconv.Quote, which BuildKit's dump uses: printable runes as they are, the rest escaped.</summary>
internal static class GoQuote
{
    private const string Hex = "0123456789abcdef";

    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        Append(sb, s);
        return sb.ToString();
    }

    public static void Append(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var r in s.EnumerateRunes())
        {
            int v = r.Value;
            if (v == '"' || v == '\\') { sb.Append('\\').Append((char)v); continue; }
            if (IsPrint(r)) { sb.Append(r.ToString()); continue; }
            switch (v)
            {
                case 7: sb.Append("\\a"); continue;
                case 8: sb.Append("\\b"); continue;
                case 12: sb.Append("\\f"); continue;
                case 10: sb.Append("\\n"); continue;
                case 13: sb.Append("\\r"); continue;
                case 9: sb.Append("\\t"); continue;
                case 11: sb.Append("\\v"); continue;
            }
            if (v < ' ' || v == 0x7f)
            {
                sb.Append("\\x").Append(Hex[v >> 4]).Append(Hex[v & 0xf]);
            }
            else if (v < 0x10000)
            {
                sb.Append("\\u");
                for (int shift = 12; shift >= 0; shift -= 4) sb.Append(Hex[(v >> shift) & 0xf]);
            }
            else
            {
                sb.Append("\\U");
                for (int shift = 28; shift >= 0; shift -= 4) sb.Append(Hex[(v >> shift) & 0xf]);
            }
        }
        sb.Append('"');
    }

    // Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space
    private static bool IsPrint(Rune r)
    {
        if (r.Value == ' ') return true;
        switch (Rune.GetUnicodeCategory(r))
        {
            case System.Globalization.UnicodeCategory.SpaceSeparator:
            case System.Globalization.UnicodeCategory.LineSeparator:
            case System.Globalization.UnicodeCategory.ParagraphSeparator:
            case System.Globalization.UnicodeCategory.Control:
            case System.Globalization.UnicodeCategory.Format:
            case System.Globalization.UnicodeCategory.Surrogate:
            case System.Globalization.UnicodeCategory.PrivateUse:
            case System.Globalization.UnicodeCategory.OtherNotAssigned:
                return false;
            default:
                return true;
        }
    }
}
