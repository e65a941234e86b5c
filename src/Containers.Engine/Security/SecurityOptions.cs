using Containers.Engine.Errors;
using Containers.Engine.Runtime;
using Containers.Engine.Security.Seccomp;

namespace Containers.Engine.Security;

/// <summary>
/// docker's --security-opt forms (-SecurityOption): seccomp=&lt;file&gt;|unconfined|builtin, no-new-privileges[=true|false];
/// apparmor= and label= are refused on this host (no AppArmor or SELinux support in the engine).
/// </summary>
public static class SecurityOptions
{
    /// <summary>Values of ContainerConfig.Seccomp besides a profile file's path.</summary>
    /// <summary>"default": Docker's profile, off with -Privileged; "builtin": Docker's profile asked for by name, kept with -Privileged.</summary>
    public const string SeccompDefault = "default", SeccompBuiltin = "builtin", SeccompUnconfined = "unconfined";

    /// <summary>Validates the options and records them in the config; a profile file is read now and kept in the config.</summary>
    public static void Apply(IEnumerable<string> options, ContainerConfig cfg)
    {
        cfg.Seccomp = SeccompDefault;
        cfg.SeccompProfile = null;
        foreach (string raw in options)
        {
            string opt = raw.Trim();
            int sep = opt.IndexOfAny(['=', ':']);
            string key = (sep < 0 ? opt : opt[..sep]).ToLowerInvariant(), value = sep < 0 ? "" : opt[(sep + 1)..];
            switch (key)
            {
                case "no-new-privileges":
                    if (sep < 0 || value.Equals("true", StringComparison.OrdinalIgnoreCase)) cfg.NoNewPrivileges = true;
                    else if (value.Equals("false", StringComparison.OrdinalIgnoreCase)) { }
                    else throw ContainersException.Invalid("InvalidSecurityOption", SecurityMessages.BadOption(raw), raw);
                    break;
                case "seccomp":
                    if (value.Length == 0) throw ContainersException.Invalid("InvalidSecurityOption", SecurityMessages.BadOption(raw), raw);
                    if (value is SeccompUnconfined or SeccompBuiltin) { cfg.Seccomp = value; cfg.SeccompProfile = null; break; }
                    string path = Path.GetFullPath(value);
                    string json = SeccompProfile.ReadFile(path);
                    // compile once now: a profile the kernel would refuse (too large) fails here, not at start
                    SeccompPrograms.Get(json, cfg.Capabilities);
                    cfg.Seccomp = path;
                    cfg.SeccompProfile = json;
                    break;
                case "apparmor":
                case "label":
                    throw ContainersException.Invalid("SecurityOptionUnsupported", SecurityMessages.Unsupported(raw, key), raw);
                default:
                    throw ContainersException.Invalid("InvalidSecurityOption", SecurityMessages.BadOption(raw), raw);
            }
        }
        cfg.SecurityOptions = options.Select(o => o.Trim()).ToList();
    }

    /// <summary>
    /// What a container's processes run under: the compiled program, or null. As with Docker, -Privileged drops the
    /// default profile but keeps one given explicitly (a file, or builtin).
    /// </summary>
    public static byte[]? SeccompProgram(ContainerConfig cfg, string? cacheDir)
    {
        if (cfg.Seccomp == SeccompUnconfined || (cfg.Privileged && cfg.Seccomp == SeccompDefault)) return null;
        return SeccompPrograms.Get(cfg.Seccomp is SeccompDefault or SeccompBuiltin ? null : cfg.SeccompProfile, cfg.Capabilities, cacheDir);
    }

    /// <summary>The seccomp setting as the container object shows it: default, builtin, unconfined, or the profile file's path.</summary>
    public static string SeccompShown(ContainerConfig cfg) => cfg.Privileged && cfg.Seccomp == SeccompDefault ? SeccompUnconfined : cfg.Seccomp;
}

/// <summary>User-facing messages of the security options, in one place.</summary>
internal static class SecurityMessages
{
    public static string BadOption(string o) =>
        $"The security option '{o}' is not valid: use seccomp=<profile file>, seccomp=unconfined, seccomp=builtin or no-new-privileges[=true|false].";
    public static string Unsupported(string o, string kind) =>
        $"The security option '{o}' is not supported on this host: the engine has no {(kind == "apparmor" ? "AppArmor" : "SELinux label")} support.";
}
