using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using static Containers.Native.Proc.Sys;

namespace Containers.Native.Sys;

/// <summary>
/// Writes one record of a storage root's event log (&lt;root&gt;/events.log): a JSON object on one line,
/// appended with O_APPEND in a single write(2) of at most <see cref="MaxLine"/> bytes, so records of several
/// writers (pwsh sessions, every container's monitor) never interleave or tear. Shared by the engine and the
/// NativeAOT monitor, so both write the same format; no System.Text.Json (the monitor stays small), no
/// allocation beyond the line itself.
/// </summary>
internal static unsafe class EventAppend
{
    /// <summary>The longest record: one page. Longer attribute values are cut to fit.</summary>
    public const int MaxLine = 4096;

    private const int SEEK_CUR = 1;

    [DllImport("libc"), SuppressGCTransition] private static extern long lseek(int fd, long offset, int whence);

    /// <summary>
    /// The record's line (with its newline): {"time","type","action","id","name","attributes":{...},"uid","pid","process"}.
    /// Attribute values that would make it longer than <see cref="MaxLine"/> are shortened.
    /// </summary>
    public static byte[] Format(DateTime timeUtc, string type, string action, string id, string? name,
        IReadOnlyList<KeyValuePair<string, string>>? attributes, uint uid, int pid, string process)
    {
        int cut = 1024;
        while (true)
        {
            var sb = new StringBuilder(256);
            sb.Append("{\"time\":\"").Append(timeUtc.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture)).Append('"');
            Field(sb, "type", type, cut);
            Field(sb, "action", action, cut);
            Field(sb, "id", id, cut);
            if (name is not null) Field(sb, "name", name, cut);
            sb.Append(",\"attributes\":{");
            if (attributes is not null)
                for (int i = 0; i < attributes.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    Str(sb, attributes[i].Key, 64);
                    sb.Append(':');
                    Str(sb, attributes[i].Value, cut);
                }
            sb.Append('}');
            sb.Append(",\"uid\":").Append(uid.ToString(CultureInfo.InvariantCulture));
            sb.Append(",\"pid\":").Append(pid.ToString(CultureInfo.InvariantCulture));
            Field(sb, "process", process, 64);
            sb.Append("}\n");
            byte[] b = Encoding.UTF8.GetBytes(sb.ToString());
            if (b.Length <= MaxLine || cut <= 16) return b.Length <= MaxLine ? b : [];
            cut /= 4;
        }
    }

    private static void Field(StringBuilder sb, string key, string value, int cut)
    {
        sb.Append(",\"").Append(key).Append("\":");
        Str(sb, value, cut);
    }

    /// <summary>A JSON string: quotes, backslashes and control characters escaped; at most <paramref name="cut"/> characters of the value.</summary>
    private static void Str(StringBuilder sb, string value, int cut)
    {
        sb.Append('"');
        int n = Math.Min(value.Length, cut);
        if (n < value.Length && n > 0 && char.IsHighSurrogate(value[n - 1])) n--;
        for (int i = 0; i < n; i++)
        {
            char c = value[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    // (a lone surrogate becomes U+FFFD in the UTF-8 encoding)
                    if (c < 0x20 || c == 0x7f)
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>
    /// Appends <paramref name="line"/> to the log at <paramref name="path"/> (created 0600) in one write.
    /// Returns the file's size after the write, or -1 when it could not be written (the caller goes on: an
    /// event log must never fail the operation it records).
    /// </summary>
    public static long Append(string path, byte[] line)
    {
        if (line.Length == 0) return -1;
        byte[] p = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* pp = p)
        {
            do fd = open(pp, FileSys.O_WRONLY | FileSys.O_APPEND | FileSys.O_CREAT | FileSys.O_CLOEXEC | FileSys.O_NOFOLLOW, 0x180 /* 0600 */);
            while (fd < 0 && Containers.Native.Proc.Sys.Errno == Errno_EINTR);
        }
        if (fd < 0) return -1;
        try
        {
            nint w;
            fixed (byte* b = line)
            {
                do w = write(fd, b, line.Length);
                while (w < 0 && Containers.Native.Proc.Sys.Errno == Errno_EINTR);
            }
            if (w != line.Length) return -1;
            return lseek(fd, 0, SEEK_CUR);
        }
        finally { close(fd); }
    }

    private const int Errno_EINTR = 4;
}
