using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Containers.Cmdlets.Base;

/// <summary>
/// At Import-Module: starts the engine's warm-up (<see cref="Engine.Diagnostics.WarmUp"/>) on a background thread,
/// with PowerShell's own part of a first run that has no side effect: Invoke-ContainerImage bound and run with
/// -WhatIf in a private runspace that has only that cmdlet (PowerShell's parameter binder, its metadata of the
/// cmdlet's 70-odd parameters and ShouldProcess are compiled and cached then, not at the script's first run; a
/// -WhatIf run returns at ShouldProcess, before anything reads a storage root, and its message goes to that
/// runspace's host-less output). The import does not wait for it, nor does the process's exit.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport() => Engine.Diagnostics.WarmUp.Start(static () =>
    {
        var iss = InitialSessionState.Create();
        iss.Commands.Add(new SessionStateCmdletEntry("Invoke-ContainerImage", typeof(Runtime.InvokeContainerImageCommand), null));
        using var ps = PowerShell.Create(iss);
        ps.AddCommand("Invoke-ContainerImage").AddParameter("Image", "busybox").AddParameter("Remove").AddParameter("Network", "none")
            .AddParameter("Command", new[] { "true" }).AddParameter("WhatIf");
        ps.Invoke();
    });
}
