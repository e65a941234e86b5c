using System.Net.Http.Headers;
using System.Text;

namespace Containers.Engine.Registry;

/// <summary>One parsed WWW-Authenticate challenge: scheme plus parameters (realm, service, scope...).</summary>
public sealed class AuthChallenge
{
    public string Scheme { get; }
    public IReadOnlyDictionary<string, string> Parameters { get; }

    public AuthChallenge(string scheme, IReadOnlyDictionary<string, string> parameters)
    {
        Scheme = scheme;
        Parameters = parameters;
    }

    public string? this[string key] => Parameters.TryGetValue(key, out var v) ? v : null;

    /// <summary>Parses every challenge of a response (Bearer and Basic are the ones we answer).</summary>
    public static List<AuthChallenge> From(HttpResponseMessage response)
    {
        var list = new List<AuthChallenge>();
        foreach (AuthenticationHeaderValue h in response.Headers.WwwAuthenticate)
            list.Add(new AuthChallenge(h.Scheme, ParseParameters(h.Parameter ?? "")));
        return list;
    }

    /// <summary>Parses key="value", key=value lists (quoted values may hold commas and escaped quotes).</summary>
    public static Dictionary<string, string> ParseParameters(string s)
    {
        var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == ',')) i++;
            int eq = s.IndexOf('=', i);
            if (eq < 0) break;
            string key = s[i..eq].Trim();
            i = eq + 1;
            var val = new StringBuilder();
            if (i < s.Length && s[i] == '"')
            {
                i++;
                while (i < s.Length && s[i] != '"')
                {
                    if (s[i] == '\\' && i + 1 < s.Length) i++;
                    val.Append(s[i++]);
                }
                i++;
            }
            else
            {
                while (i < s.Length && s[i] != ',') val.Append(s[i++]);
            }
            d[key] = val.ToString().Trim();
        }
        return d;
    }
}
