using System.Management.Automation;

namespace Containers.Cmdlets.Base;

/// <summary>
/// At Import-Module: starts the engine's warm-up (<see cref="Engine.Diagnostics.WarmUp"/>) on a background thread,
/// with PowerShell's own part of a first run that has no side effect: the parameter metadata of
/// Invoke-ContainerImage and New-Container (reflection over their 70-odd parameters, cached by PowerShell for the
/// binder). The import does not wait for it, nor does the process's exit.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    public void OnImport() => Engine.Diagnostics.WarmUp.Start(static () =>
    {
        _ = new CommandMetadata(typeof(Runtime.InvokeContainerImageCommand));
        _ = new CommandMetadata(typeof(Runtime.NewContainerCommand));
    });
}
