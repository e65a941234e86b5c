using System.Runtime.InteropServices;
using System.Text;

namespace Containers.Helper;

/// <summary>
/// The run/exec specification the engine writes for the helper: records "key=value" separated by NUL
/// (values may hold anything but NUL, like argv and environ). Keys may repeat (arg, env, op, cgroup).
/// </summary>
internal sealed class Spec
{
    private readonly List<KeyValuePair<string, string>> _items = new();

    public static Spec Load(string path)
    {
        var spec = new Spec();
        byte[] data = File.ReadAllBytes(path);
        int start = 0;
        for (int i = 0; i <= data.Length; i++)
        {
            if (i < data.Length && data[i] != 0) continue;
            if (i > start)
            {
                string rec = Encoding.UTF8.GetString(data, start, i - start);
                int eq = rec.IndexOf('=');
                if (eq > 0) spec._items.Add(new(rec[..eq], rec[(eq + 1)..]));
            }
            start = i + 1;
        }
        return spec;
    }

    public string? Get(string key)
    {
        foreach (var kv in _items) if (kv.Key == key) return kv.Value;
        return null;
    }

    public string Req(string key) => Get(key) ?? throw new InvalidOperationException($"spec lacks '{key}'");

    public long Num(string key, long def = 0) => long.TryParse(Get(key), out long v) ? v : def;

    public bool Flag(string key) => Get(key) == "1";

    public List<string> All(string key)
    {
        var l = new List<string>();
        foreach (var kv in _items) if (kv.Key == key) l.Add(kv.Value);
        return l;
    }
}

/// <summary>NUL-terminated UTF-8 strings in native memory, made before clone() and never freed (the process is short or exec's).</summary>
internal static unsafe class NStr
{
    public static byte* Of(string? s)
    {
        if (s is null) return null;
        int n = Encoding.UTF8.GetByteCount(s);
        byte* p = (byte*)NativeMemory.Alloc((nuint)n + 1);
        fixed (char* c = s) Encoding.UTF8.GetBytes(c, s.Length, p, n);
        p[n] = 0;
        return p;
    }

    /// <summary>A NULL-terminated array of strings (argv/envp).</summary>
    public static byte** Array(IReadOnlyList<string> items)
    {
        byte** a = (byte**)NativeMemory.Alloc((nuint)(items.Count + 1), (nuint)sizeof(nint));
        for (int i = 0; i < items.Count; i++) a[i] = Of(items[i]);
        a[items.Count] = null;
        return a;
    }

    public static int Len(byte* p) { int n = 0; while (p[n] != 0) n++; return n; }

    /// <summary>Writes a constant diagnostic to a fd without allocating.</summary>
    public static void Write(int fd, byte* p) { if (p != null) Containers.Native.Proc.Sys.write(fd, p, Len(p)); }
}
