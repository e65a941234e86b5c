using System.Management.Automation;

namespace Containers.Cmdlets.Base;

/// <summary>
/// At Import-Module: starts the engine's warm-up (<see cref="Engine.Diagnostics.WarmUp"/>) on a background thread,
/// with PowerShell's parameter metadata of Invoke-ContainerImage (reflection over its 70-odd parameters, cached by
/// PowerShell). The import does not wait for it, nor does the process's exit.
/// </summary>
/// <remarks>
/// Binding the cmdlet with -WhatIf in a private runspace was tried too: it took another 30-40 ms of PowerShell's
/// binder off the first run's thread, but opening that runspace cost the process about 55 ms of CPU more in all,
/// a loss on a busy machine (docs/ARCHITECTURE.md, Cold start).
/// </remarks>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport() => Engine.Diagnostics.WarmUp.Start(static () => _ = new CommandMetadata(typeof(Runtime.InvokeContainerImageCommand)));
}
