using System.Management.Automation;
using Containers.Engine.Runtime;

namespace Containers.Cmdlets.Runtime;

/// <summary>Log rotation of New-Container and Invoke-ContainerImage (docker's --log-opt max-size, max-file).</summary>
public abstract partial class ContainerCreateCmdlet
{
    /// <summary>Rotate the container's log when it reaches this many bytes (docker --log-opt max-size).</summary>
    [Parameter] [ByteSizeTransformation] [ValidateRange(4096, long.MaxValue)] public long LogMaxSize { get; set; }

    /// <summary>How many log files to keep, the current one included (docker --log-opt max-file; default 1).</summary>
    [Parameter] [ValidateRange(1, 100)] public int LogMaxFiles { get; set; }

    private void ApplyLogOptions(ContainerCreateOptions o)
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(LogMaxSize))) o.LogMaxSize = LogMaxSize;
        if (MyInvocation.BoundParameters.ContainsKey(nameof(LogMaxFiles))) o.LogMaxFiles = LogMaxFiles;
    }
}
