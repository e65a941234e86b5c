using Containers.Engine.Errors;

namespace Containers.Engine.Build;

/// <summary>The build context as a build sees it: which Dockerfile, which ignore rules, which files are sent.</summary>
public static class BuildContext
{
    /// <summary>
    /// The Dockerfile of a context when none is named: <c>Containerfile</c>, then <c>Dockerfile</c> (podman's
    /// order; docker knows only the second). Throws DockerfileNotFound when there is neither.
    /// </summary>
    public static string FindDockerfile(string contextDir)
    {
        foreach (var name in new[] { "Containerfile", "Dockerfile" })
        {
            var p = Path.Combine(contextDir, name);
            if (File.Exists(p)) return p;
        }
        throw ContainersException.NotFound("DockerfileNotFound", $"The build context '{contextDir}' has no Containerfile or Dockerfile; name one with -File.", contextDir);
    }

    /// <summary>
    /// The entries a build of <paramref name="contextDir"/> sends: the ignore file that applies
    /// (<c>&lt;Dockerfile&gt;.dockerignore</c>, else <c>.dockerignore</c>) filters the walk, and the Dockerfile and
    /// the ignore file are sent whatever it says. Links are listed, never followed.
    /// </summary>
    public static List<BuildContextEntry> List(string contextDir, string? dockerfilePath)
    {
        var ctx = Path.GetFullPath(contextDir);
        var ignoreFile = DockerIgnore.FindIgnoreFile(ctx, dockerfilePath is null ? null : Path.GetFullPath(dockerfilePath));
        DockerIgnore? rules = null;
        if (ignoreFile is not null)
        {
            string text;
            try { text = File.ReadAllText(ignoreFile); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw ContainersException.Invalid("DockerIgnoreUnreadable", $"The ignore file '{ignoreFile}' cannot be read: {e.Message}", ignoreFile, e);
            }
            rules = new DockerIgnore(DockerIgnore.ReadPatterns(text));
        }
        var always = new List<string>();
        foreach (var f in new[] { dockerfilePath, ignoreFile })
        {
            if (f is null) continue;
            var rel = Path.GetRelativePath(ctx, Path.GetFullPath(f)).Replace('\\', '/');
            if (!rel.StartsWith("../", StringComparison.Ordinal) && rel != "..") always.Add(rel);
        }
        return DockerIgnore.ListContext(ctx, rules, always);
    }
}
