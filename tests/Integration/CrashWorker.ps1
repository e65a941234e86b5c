# A worker of CrashSuite.Tests.ps1: loops over one kind of the engine's operations (-Op) on the shared crash
# root until the suite kills it with kill -9 at a random moment. Each worker is its own pwsh (the suite starts several at
# once on the same root, so their operations also race each other). Before every step it writes the step's
# number and name to its status file: the suite kills it a random time into a chosen step and knows which
# operation each kill interrupted.
# -Token only marks this process's command line (the suite kills by the PID it started and checks the token).
param(
    [Parameter(Mandatory)] [string] $Module,
    [Parameter(Mandatory)] [string] $Root,
    [Parameter(Mandatory)] [string] $StatusFile,
    [Parameter(Mandatory)] [string] $Prefix,
    [Parameter(Mandatory)] [ValidateSet('container', 'container-bridge', 'import', 'pull', 'network', 'volume')] [string] $Op,
    [Parameter(Mandatory)] [string] $Archive,
    [string] $Registry,
    [string] $Token
)
$ErrorActionPreference = 'Continue'
Import-Module $Module
$PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $Root; '*-Container*:Confirm' = $false }
$script:step = 0
function Step([string] $Name) { [IO.File]::WriteAllText($StatusFile, "$(($script:step++))`t$Op/$Name") }
for ($i = 0; ; $i++) {
    $n = "$Prefix-$i"
    switch ($Op) {
        { $_ -like 'container*' } {
            $net = if ($_ -eq 'container-bridge') { 'crashnet' } else { 'none' }
            Step 'New-Container'
            $null = New-Container -Image crash-bb:1 -Name $n -Network $net -Command sleep, 600
            Step 'Start-Container'
            Start-Container $n
            Step 'Stop-Container'
            Stop-Container $n -Timeout 0
            Step 'Remove-Container'
            Remove-Container $n -Force
        }
        'import' {
            Step 'Import-ContainerImage'
            $null = Import-ContainerImage -LiteralPath $Archive -Name "localhost/$($n):1"
            Step 'Remove-ContainerImage'
            Remove-ContainerImage "localhost/$($n):1"
        }
        'pull' {
            # every pull worker pulls the same image and removes it: pulls race each other and removals
            Step 'Request-ContainerImage'
            $null = Request-ContainerImage $Registry
            Step 'Remove-ContainerImage'
            Remove-ContainerImage $Registry
        }
        'network' {
            Step 'New-ContainerNetwork'
            $null = New-ContainerNetwork -Name $n
            Step 'Remove-ContainerNetwork'
            Remove-ContainerNetwork $n
        }
        'volume' {
            Step 'New-ContainerVolume'
            $null = New-ContainerVolume -Name $n
            Step 'Remove-ContainerVolume'
            Remove-ContainerVolume $n
        }
    }
}
