using System.Management.Automation;

namespace Containers.Cmdlets.Base;

/// <summary>-OutFile of Invoke-ContainerImage and Invoke-ContainerCommand: the file a process's standard output
/// is written to, byte for byte, created or truncated as a shell's &gt; does (a provider path, relative to the
/// session's location).</summary>
internal static class OutputFile
{
    public static FileStream Open(PSCmdlet cmdlet, string path) =>
        new(cmdlet.GetUnresolvedProviderPathFromPSPath(path), FileMode.Create, FileAccess.Write, FileShare.Read);
}
