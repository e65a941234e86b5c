# The test runner build.ps1 -Task Test calls in a fresh pwsh: runs every Pester file against the built
# module, then the leak check, and prints one plain closing line "N passed, N failed, N skipped".
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Filter = '',
    [string[]] $ExcludeTag = @()
)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module $PesterPath -Force
$ExcludeTag = @($ExcludeTag | ForEach-Object { $_ -split ',' } | Where-Object { $_ })

$here = $PSScriptRoot
$env:CONTAINERS_TEST_MODULE = (Resolve-Path $ModulePath).Path
# Every storage root a test makes lives under this folder, so the leak check can recognise them.
$env:CONTAINERS_TEST_BASE = "/var/tmp/containers-tests/run-$([DateTime]::UtcNow.ToString('yyyyMMddHHmmss'))-$PID"
New-Item -ItemType Directory -Force -Path $env:CONTAINERS_TEST_BASE | Out-Null

$files = @(Get-ChildItem -Path (Join-Path $here 'Unit'), (Join-Path $here 'Integration') -Filter '*.Tests.ps1' -Recurse |
        Where-Object { -not $Filter -or $_.FullName -match $Filter } | Sort-Object FullName | ForEach-Object FullName)

$totals = @{ Passed = 0; Failed = 0; Skipped = 0 }
# Failures are repeated at the end, next to the closing line: a CI log is often read from its tail.
$failures = [System.Collections.Generic.List[string]]::new()
function Invoke-Suite([string[]] $Paths) {
    if ($Paths.Count -eq 0) { return }
    $cfg = New-PesterConfiguration
    $cfg.Run.Path = $Paths
    $cfg.Run.PassThru = $true
    $cfg.Output.Verbosity = 'Detailed'
    $cfg.Output.RenderMode = 'Plaintext'
    # No JUnit report: a failure message with a control character (a VM console) makes Pester's
    # XML writer throw, which would lose the counts.
    if ($ExcludeTag) { $cfg.Filter.ExcludeTag = $ExcludeTag }
    try { $r = Invoke-Pester -Configuration $cfg }
    catch {
        # Pester itself broke: count it as a failure, never as a pass.
        Write-Host "run.ps1: Invoke-Pester failed: $_"
        $script:totals.Failed += 1
        return
    }
    if ($null -eq $r) { $script:totals.Failed += 1; return }
    $script:totals.Passed += $r.PassedCount
    # a failed BeforeAll/AfterAll (container) counts as a failure too
    $script:totals.Failed += $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
    $script:totals.Skipped += $r.SkippedCount + $r.NotRunCount
    foreach ($t in @($r.Failed)) {
        $msg = (@($t.ErrorRecord) | ForEach-Object { "$_" }) -join ' | '
        $script:failures.Add("FAILED: $($t.ExpandedPath)`n    $($msg -replace '[^\x20-\x7e\n]', '?')")
    }
    foreach ($b in @($r.FailedBlocks) + @($r.FailedContainers)) {
        if ($null -eq $b) { continue }
        $name = if ($b.PSObject.Properties['ExpandedPath']) { $b.ExpandedPath } else { "$($b.Item)" }
        $msg = (@($b.ErrorRecord) | ForEach-Object { "$_" }) -join ' | '
        $script:failures.Add("FAILED (block): $name`n    $($msg -replace '[^\x20-\x7e\n]', '?')")
    }
}

Invoke-Suite $files
# Last, and always: nothing the suite made may be left on the host.
Invoke-Suite @(Join-Path $here 'Leaks.Tests.ps1')

if ($failures.Count -gt 0) {
    ''
    'Failures:'
    $failures
    ''
}
"$($totals.Passed) passed, $($totals.Failed) failed, $($totals.Skipped) skipped"
if ($totals.Failed -gt 0 -or ($totals.Passed + $totals.Failed) -eq 0) { exit 1 }
exit 0
