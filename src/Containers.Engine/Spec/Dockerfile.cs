namespace Containers.Engine.Spec;

/// <summary>Where in a Dockerfile something is: the file (null for inline text) and its 1-based lines.</summary>
public sealed record DockerfilePosition(string? File, int StartLine, int EndLine)
{
    public override string ToString() => (File is null ? "" : File + ":") + (StartLine == EndLine ? $"{StartLine}" : $"{StartLine}-{EndLine}");
}

/// <summary>A parser directive at the top of the file: <c># syntax=</c>, <c># escape=</c>, <c># check=</c>.</summary>
public sealed record DockerfileDirective(string Name, string Value, int Line);

/// <summary>Something legal but suspect in the file (an empty continuation line, an unknown syntax).</summary>
public sealed record DockerfileWarning(string Rule, string Message, int Line);

/// <summary>A --name=value (or bare --name) flag of an instruction, in the order written.</summary>
public sealed record DockerfileFlag(string Name, string? Value)
{
    public override string ToString() => Value is null ? "--" + Name : $"--{Name}={Value}";
}

/// <summary>A heredoc of RUN/COPY/ADD: the delimiter word, its body, and how the body is treated.</summary>
public sealed class DockerfileHeredoc
{
    public string Name { get; init; } = "";
    /// <summary>The body, with &lt;&lt;- tab stripping applied.</summary>
    public string Content { get; init; } = "";
    /// <summary>False when the delimiter was quoted: no variable expansion in the body.</summary>
    public bool Expand { get; init; }
    /// <summary>Written as &lt;&lt;- (leading tabs stripped).</summary>
    public bool Chomp { get; init; }
    /// <summary>The file descriptor before &lt;&lt; (0 when none was written).</summary>
    public int FileDescriptor { get; init; }
}

/// <summary>One <c>RUN --mount=...</c> specification, parsed (BuildKit's keys and defaults).</summary>
public sealed class DockerfileRunMount
{
    /// <summary>bind (default), cache, tmpfs, secret or ssh.</summary>
    public string Type { get; init; } = "bind";
    public string? Target { get; init; }
    public string? Source { get; init; }
    /// <summary>A stage name or image for bind/cache sources.</summary>
    public string? From { get; init; }
    public bool ReadOnly { get; init; }
    /// <summary>cache and secret/ssh id.</summary>
    public string? Id { get; init; }
    /// <summary>cache sharing: shared (default), private, locked.</summary>
    public string? Sharing { get; init; }
    public string? Mode { get; init; }
    public long? Uid { get; init; }
    public long? Gid { get; init; }
    /// <summary>secret/ssh: fail when missing.</summary>
    public bool Required { get; init; }
    /// <summary>tmpfs size in bytes.</summary>
    public long? Size { get; init; }
    /// <summary>secret: expose as this environment variable.</summary>
    public string? Env { get; init; }
    /// <summary>The specification as written.</summary>
    public string Text { get; init; } = "";
}

/// <summary>A HEALTHCHECK, as the image config records it.</summary>
public sealed class DockerfileHealthcheck
{
    /// <summary>["NONE"], ["CMD", args...] or ["CMD-SHELL", command].</summary>
    public IReadOnlyList<string> Test { get; init; } = [];
    public TimeSpan Interval { get; init; }
    public TimeSpan Timeout { get; init; }
    public TimeSpan StartPeriod { get; init; }
    public TimeSpan StartInterval { get; init; }
    public int Retries { get; init; }
}

/// <summary>
/// One instruction of a Dockerfile: its keyword, flags, arguments (quotes kept as written; variables are
/// expanded later, per instruction, by the build), whether they were a JSON array, heredocs, where it is and
/// which stage it belongs to (-1 for the global ARGs before the first FROM).
/// </summary>
public sealed class DockerfileInstruction
{
    /// <summary>The keyword in upper case (RUN, COPY, ...).</summary>
    public string Instruction { get; init; } = "";
    public IReadOnlyList<DockerfileFlag> Flags { get; init; } = [];
    /// <summary>
    /// The arguments: RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK in shell form are one string, in JSON form the array;
    /// COPY/ADD/VOLUME/EXPOSE/FROM are the words (the last of COPY/ADD is the destination); ENV/LABEL are
    /// name, value pairs flattened; ARG the name[=default] words; ONBUILD the inner instruction's text.
    /// </summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];
    public bool IsJson { get; init; }
    public IReadOnlyList<DockerfileHeredoc> Heredocs { get; init; } = [];
    public int StartLine { get; init; }
    public int EndLine { get; init; }
    /// <summary>Index of the stage (0-based; -1 before the first FROM).</summary>
    public int StageIndex { get; init; }
    /// <summary>The stage's name (FROM ... AS name), or null.</summary>
    public string? Stage { get; init; }
    /// <summary>The instruction's text (continuations joined).</summary>
    public string Original { get; init; } = "";
    /// <summary>ENV/LABEL pairs and ARG declarations (value null for an ARG without default).</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> Pairs { get; init; } = [];
    /// <summary>RUN --mount specifications.</summary>
    public IReadOnlyList<DockerfileRunMount> Mounts { get; init; } = [];
    /// <summary>HEALTHCHECK's parsed form.</summary>
    public DockerfileHealthcheck? Healthcheck { get; init; }
    /// <summary>ONBUILD's trigger, parsed.</summary>
    public DockerfileInstruction? Trigger { get; init; }
    public IReadOnlyList<string> Comments { get; init; } = [];

    /// <summary>The last value of a flag (null when absent; "true" for a bare boolean flag).</summary>
    public string? GetFlag(string name)
    {
        string? v = null;
        foreach (var f in Flags) if (f.Name == name) v = f.Value ?? "true";
        return v;
    }

    /// <summary>Every value of a flag that may repeat (--mount, --exclude).</summary>
    public IReadOnlyList<string> GetFlags(string name) => Flags.Where(f => f.Name == name).Select(f => f.Value ?? "true").ToArray();

    public override string ToString() => Original;
}

/// <summary>A build stage: FROM's base, name and platform, and its instructions.</summary>
public sealed class DockerfileStage
{
    public int Index { get; init; }
    public string? Name { get; init; }
    /// <summary>The base as written (variables not yet expanded).</summary>
    public string BaseName { get; init; } = "";
    public string? Platform { get; init; }
    public int StartLine { get; init; }
    /// <summary>The instructions after FROM, in order.</summary>
    public IReadOnlyList<DockerfileInstruction> Instructions { get; init; } = [];
}

/// <summary>A parsed Dockerfile: directives, warnings, global ARGs, stages, and every instruction in order.</summary>
public sealed class DockerfileDocument
{
    public string? File { get; init; }
    public char EscapeToken { get; init; } = '\\';
    /// <summary>The # syntax= value, or null. Never fetched: the built-in parser reads the file.</summary>
    public string? Syntax { get; init; }
    public IReadOnlyList<DockerfileDirective> Directives { get; init; } = [];
    public IReadOnlyList<DockerfileWarning> Warnings { get; init; } = [];
    /// <summary>ARG instructions before the first FROM.</summary>
    public IReadOnlyList<DockerfileInstruction> GlobalArgs { get; init; } = [];
    public IReadOnlyList<DockerfileStage> Stages { get; init; } = [];
    /// <summary>Every instruction (FROM included) in file order.</summary>
    public IReadOnlyList<DockerfileInstruction> Instructions { get; init; } = [];
}
