@{
    RootModule           = 'Containers.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0c7f3e-2b8e-4f7e-9a55-0c4c1d3e8a21'
    Author               = 'The Containers developers'
    CompanyName          = 'Containers'
    Copyright            = '(c) The Containers developers. MIT licence.'
    Description          = 'A daemonless container engine for Linux as a PowerShell module: images, containers, networks and registries as typed objects in the pipeline.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('Containers.Format.ps1xml')
    TypesToProcess       = @('Containers.Types.ps1xml')
    CmdletsToExport      = @(
        # host and store
        'Get-ContainerHost', 'Set-ContainerHostConfiguration', 'Test-ContainerStore',
        # images
        'Import-ContainerImage', 'Export-ContainerImage', 'Get-ContainerImage', 'Remove-ContainerImage',
        'Add-ContainerImageTag', 'Remove-ContainerImageTag', 'Get-ContainerImageHistory', 'New-ContainerImage',
        'Test-ContainerImage',
        # containers
        'New-Container', 'Start-Container', 'Stop-Container', 'Restart-Container', 'Suspend-Container',
        'Resume-Container', 'Remove-Container', 'Get-Container', 'Wait-Container', 'Invoke-ContainerCommand',
        'Enter-Container', 'Connect-Container', 'Get-ContainerLog', 'Invoke-ContainerImage', 'Get-ContainerProcess', 'Measure-Container',
        'Export-Container', 'Copy-ContainerItem', 'Rename-Container', 'Invoke-ContainerHealthCheck',
        # store-wide: events, changes, disk usage, prune
        'Get-ContainerEvent', 'Get-ContainerChange', 'Get-ContainerDiskUsage', 'Clear-ContainerStore',
        'Set-Container',
        # volumes
        'New-ContainerVolume', 'Get-ContainerVolume', 'Remove-ContainerVolume',
        # networks
        'New-ContainerNetwork', 'Get-ContainerNetwork', 'Remove-ContainerNetwork', 'Connect-ContainerNetwork',
        'Disconnect-ContainerNetwork',
        # registries
        'Request-ContainerImage', 'Publish-ContainerImage', 'Connect-ContainerRegistry', 'Disconnect-ContainerRegistry',
        'Get-ContainerImageTag',
        # build
        'Build-ContainerImage', 'ConvertFrom-Dockerfile', 'Remove-ContainerBuildCache', 'Update-ContainerImage',
        # compose
        'ConvertFrom-ContainerCompose', 'Start-ContainerProject', 'Stop-ContainerProject', 'Restart-ContainerProject',
        'Remove-ContainerProject', 'Get-ContainerProject'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('containers', 'docker', 'podman', 'oci', 'linux')
            ProjectUri = ''
        }
    }
}
