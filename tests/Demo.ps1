# build.ps1 -Task Demo: the module doing its main job, printing the objects it returns.
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module $ModulePath -Force
$root = "/var/tmp/containers-demo"
$env:PSCONTAINERS_ROOT = $root

'== Get-ContainerHost'
Get-ContainerHost | Format-List | Out-String -Width 120
