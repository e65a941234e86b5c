using System.Security.Cryptography;
using System.Text;
using Containers.Engine.Errors;
using Containers.Engine.Spec;
using Containers.Engine.Runtime;
using Containers.Native.Sys;

namespace Containers.Engine.Build;

/// <summary>
/// RUN --mount (BuildKit's types): cache (a directory of the storage root kept between builds, by id),
/// tmpfs, secret (a -Secret file, read-only at /run/secrets/&lt;id&gt; or in an environment variable; never in a
/// layer or the history), bind (a copy of a context path or of a stage's or image's path, so a link in the
/// context cannot bind the host, and writes are thrown away). Mount points the RUN container needed that the
/// image does not have are removed from the step's layer when they are still empty (BuildKit's mount stubs).
/// </summary>
public sealed partial class BuildExecutor
{
    /// <summary>The directory under the storage root holding the RUN --mount=type=cache directories.</summary>
    public const string CacheMountsDir = "buildcache-mounts";

    /// <summary>Adds the step's mounts to <paramref name="o"/>; returns the targets (for stub removal) and the staging trees to delete.</summary>
    private List<string> PrepareMounts(DockerfileDocument doc, Stage st, DockerfileInstruction ins, ContainerCreateOptions o, List<string> staging, CancellationToken ct)
    {
        var targets = new List<string>();
        string Abs(string t) => "/" + RootedFs.Clean(t.StartsWith('/') ? t : (st.C.WorkingDir is { Length: > 0 } w ? w.TrimEnd('/') + "/" + t : "/" + t));
        foreach (var m in ins.Mounts)
        {
            switch (m.Type)
            {
                case "cache":
                {
                    if (m.From is not null)
                        throw new ContainersException(ErrorKind.NotImplemented, "BuildInstructionNotSupported", "RUN --mount=type=cache,from=... is not supported.", m.Text);
                    string target = Abs(m.Target ?? throw ContainersException.Invalid("InvalidMount", "A cache mount needs a target.", m.Text));
                    string id = m.Id ?? target;
                    string dir = Path.Combine(_rt.Root.Sub(CacheMountsDir), Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id))).ToLowerInvariant());
                    string data = Path.Combine(dir, "data");
                    if (!Directory.Exists(data))
                    {
                        Directory.CreateDirectory(dir);
                        File.WriteAllText(Path.Combine(dir, "id"), id);
                        string tmp = data + ".new-" + Guid.NewGuid().ToString("N")[..8];
                        Directory.CreateDirectory(tmp);
                        File.SetUnixFileMode(tmp, (UnixFileMode)(m.Mode is { } md ? Convert.ToUInt32(md, 8) & 0xFFF : 0x1ED));
                        ChownPath(tmp, (int)(m.Uid ?? 0), (int)(m.Gid ?? 0));
                        try { Directory.Move(tmp, data); }
                        catch (IOException) { Directory.Delete(tmp); } // a concurrent build made it first
                    }
                    o.Mounts.Add($"type=bind,source={data},target={target}" + (m.ReadOnly ? ",readonly" : ""));
                    targets.Add(target);
                    break;
                }
                case "tmpfs":
                {
                    string target = Abs(m.Target ?? throw ContainersException.Invalid("InvalidMount", "A tmpfs mount needs a target.", m.Text));
                    o.Mounts.Add($"type=tmpfs,target={target}" + (m.Size is { } sz and > 0 ? $",tmpfs-size={sz}" : ""));
                    targets.Add(target);
                    break;
                }
                case "secret":
                {
                    string id = m.Id ?? (m.Target is { } t0 ? Path.GetFileName(t0.TrimEnd('/')) : null)
                        ?? throw ContainersException.Invalid("InvalidMount", "A secret mount needs an id or a target.", m.Text);
                    if (!_o.Secrets.TryGetValue(id, out var src))
                    {
                        if (m.Required)
                            throw ContainersException.NotFound("SecretNotFound", $"RUN --mount=type=secret,id={id} is required, but no -Secret id={id} was given.", id);
                        break;
                    }
                    byte[] content;
                    try { content = File.ReadAllBytes(src); }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw ContainersException.NotFound("SecretNotFound", $"The secret '{id}' cannot be read from '{src}': {e.Message}", src, e);
                    }
                    if (m.Env is { Length: > 0 } env)
                    {
                        o.Environment[env] = Encoding.UTF8.GetString(content);
                        if (m.Target is null) break;
                    }
                    string target = Abs(m.Target ?? "/run/secrets/" + id);
                    // a private copy with the mount's mode and owner (0400 root's by default), mounted read-only
                    string dir = NewStaging();
                    staging.Add(dir);
                    string file = Path.Combine(dir, "secret");
                    File.WriteAllBytes(file, content);
                    File.SetUnixFileMode(file, (UnixFileMode)(m.Mode is { } md ? Convert.ToUInt32(md, 8) & 0xFFF : 0x100));
                    ChownPath(file, (int)(m.Uid ?? 0), (int)(m.Gid ?? 0));
                    o.Mounts.Add($"type=bind,source={file},target={target},readonly");
                    targets.Add(target);
                    break;
                }
                case "bind":
                {
                    string target = Abs(m.Target ?? throw ContainersException.Invalid("InvalidMount", "A bind mount needs a target.", m.Text));
                    string dir = NewStaging();
                    staging.Add(dir);
                    string source = RootedFs.Clean(m.Source ?? "");
                    bool isDir;
                    using (var dst = RootedFs.Open(dir, RootedFs.Resolution.NoSymlinks))
                    {
                        var copier = new TreeCopier { Ct = ct };
                        var copyIns = new DockerfileInstruction { Instruction = "COPY", Original = ins.Original, StartLine = ins.StartLine, EndLine = ins.EndLine };
                        if (m.From is null)
                        {
                            var e = source.Length == 0 ? null : Entries().FirstOrDefault(x => x.Path == source)
                                ?? throw ContainersException.NotFound("CopySourceNotFound", $"RUN --mount=type=bind: '{m.Source}' is not in the build context.", m.Source);
                            isDir = e is null || e.Type == "Directory";
                            if (isDir) MakeDirs(dst, "m", null);
                            CopyFromContext(dst, [source.Length == 0 ? "." : source], "m", isDir, copier, null, copyIns, ct);
                        }
                        else
                        {
                            CopyFromImage(doc, st, dst, m.From, [source.Length == 0 ? "/" : source], "m", false, copier, null, ct);
                            isDir = Directory.Exists(Path.Combine(dir, "m"));
                        }
                    }
                    string what = isDir ? Path.Combine(dir, "m") : (Directory.Exists(Path.Combine(dir, "m")) ? Path.Combine(dir, "m", Path.GetFileName(source)) : Path.Combine(dir, "m"));
                    // read-only unless rw is asked for (BuildKit's default); writes go to the copy and are thrown away
                    bool rw = !m.ReadOnly && System.Text.RegularExpressions.Regex.IsMatch(m.Text, @"(^|,)(rw|readwrite)(,|$)|(^|,)(ro|readonly)=(false|0|f)(,|$)");
                    o.Mounts.Add($"type=bind,source={what},target={target}" + (rw ? "" : ",readonly"));
                    targets.Add(target);
                    break;
                }
                default:
                    throw new ContainersException(ErrorKind.NotImplemented, "BuildInstructionNotSupported", $"RUN --mount=type={m.Type} is not supported.", m.Text);
            }
        }
        return targets;
    }

    private static void ChownPath(string path, int uid, int gid)
    {
        using var fs = RootedFs.Open(Path.GetDirectoryName(path)!, RootedFs.Resolution.NoSymlinks);
        RootedFs.ChownAt(fs.Root, Path.GetFileName(path), uid, gid, path);
    }

    /// <summary>
    /// Removes from a RUN's writable layer the mount points the runtime made for its mounts when the image did not
    /// have them: the target if it is an empty directory or empty file, then each directory above it that is
    /// empty and not in the image. Done inside the upper directory through <see cref="RootedFs"/> (the RUN shaped it).
    /// </summary>
    private static void RemoveMountStubs(string upper, IReadOnlyList<string> layers, IEnumerable<string> targets)
    {
        using var fs = RootedFs.Open(upper, RootedFs.Resolution.NoSymlinks);
        foreach (var t in targets.OrderByDescending(t => t.Length))
        {
            string rel = RootedFs.Clean(t);
            while (rel.Length > 0 && IsDirInLayers(layers, "/" + rel) is null)
            {
                try
                {
                    if (!fs.TryStat(rel, out var s)) break;
                    uint type = s.Mode & LayerFs.S_IFMT;
                    if (type == LayerFs.S_IFDIR)
                    {
                        using var d = fs.Open(rel, FileSys.O_RDONLY | FileSys.O_DIRECTORY);
                        if (RootedFs.ReadDir(d, rel).Count > 0) break;
                        fs.Rmdir(rel);
                    }
                    else if (type == LayerFs.S_IFREG && s.Size == 0) fs.Unlink(rel);
                    else break;
                }
                catch (NativeException) { break; }
                int slash = rel.LastIndexOf('/');
                rel = slash < 0 ? "" : rel[..slash];
            }
        }
    }
}
