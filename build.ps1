#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, documents, benchmarks and demonstrates the Containers module.
.DESCRIPTION
    Tasks:
      Build  - compiles the module and the NativeAOT helper into out/Containers, with help.
      Test   - installs what the tests need (apt packages, Pester), builds, runs every Pester test in a
               fresh pwsh and prints "N passed, N failed, N skipped". Run as root.
      Docs   - regenerates the MAML help from en-US/*.md into out/Containers/en-US, and rewrites each page's
               SYNTAX section from the built cmdlets (run it after changing parameters; a test checks it).
      Bench  - sets up the peer engines (../shared/anchors/setup.sh) and prints our figures beside theirs.
      Demo   - builds, makes an image from the host's busybox-static and runs containers, printing the objects.
      Clean  - removes out/ and the bin/obj folders.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Docs', 'Bench', 'Demo', 'Clean')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Pester: only run test files whose path matches this pattern (for development).
    [string] $Filter = '',
    # Pester tags to leave out (e.g. CgroupV2VM while iterating).
    [string[]] $ExcludeTag = @()
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'; $env:NO_COLOR = '1'
$PSStyle.OutputRendering = 'PlainText'

# Versions are pinned here and in the project files; nothing else picks them.
$Versions = @{ Pester = '5.9.1'; PowerShell = '7.6.9' }
$Repo = $PSScriptRoot
$Out = Join-Path $Repo 'out'
$ModuleOut = Join-Path $Out 'Containers'
$IsCI = $env:CI -eq 'true'

# Debian packages (the lists and their detection): src/Build/AptPackages.ps1
. (Join-Path $Repo 'src/Build/AptPackages.ps1')

function Invoke-Native {
    param([Parameter(Mandatory)] [string] $File, [string[]] $Arguments = @())
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Merge-PsXml([string] $Pattern, [string] $RootName, [string] $ContainerXPath, [string] $Destination) {
    # Each area keeps its own format/types file; the module ships one of each.
    $files = @(Get-ChildItem -Path (Join-Path $Repo 'src/Containers.Cmdlets/Format') -Filter $Pattern | Sort-Object Name)
    $doc = [xml]"<?xml version=`"1.0`" encoding=`"utf-8`"?><$RootName/>"
    $target = if ($ContainerXPath) { $c = $doc.CreateElement($ContainerXPath); [void]$doc.DocumentElement.AppendChild($c); $c } else { $doc.DocumentElement }
    foreach ($f in $files) {
        $part = [xml](Get-Content -LiteralPath $f.FullName -Raw)
        $nodes = if ($ContainerXPath) { $part.DocumentElement.SelectNodes($ContainerXPath + '/*') } else { $part.DocumentElement.ChildNodes }
        foreach ($n in $nodes) { if ($n.NodeType -eq 'Element') { [void]$target.AppendChild($doc.ImportNode($n, $true)) } }
    }
    $doc.Save($Destination)
}

function Invoke-Build {
    Write-Host "build: dotnet publish ($Configuration)"
    New-Item -ItemType Directory -Force -Path $ModuleOut | Out-Null
    Invoke-Native dotnet @('publish', (Join-Path $Repo 'src/Containers.Cmdlets/Containers.Cmdlets.csproj'), '-c', $Configuration, '-o', $ModuleOut, '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    # the compose schema check and its JsonSchema.Net, loaded in a context of their own (PowerShell has another JsonSchema.Net)
    Invoke-Native dotnet @('publish', (Join-Path $Repo 'src/Containers.ComposeSchema/Containers.ComposeSchema.csproj'), '-c', $Configuration, '-o', (Join-Path $ModuleOut 'compose-schema'), '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    $helperOut = Join-Path $Out 'helper'
    Invoke-Native dotnet @('publish', (Join-Path $Repo 'src/Containers.Helper/Containers.Helper.csproj'), '-c', $Configuration, '-o', $helperOut, '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    Copy-Item -LiteralPath (Join-Path $helperOut 'containers-helper') -Destination $ModuleOut -Force
    Copy-Item -LiteralPath (Join-Path $Repo 'Containers.psd1') -Destination $ModuleOut -Force
    Merge-PsXml '*.Format.ps1xml' 'Configuration' 'ViewDefinitions' (Join-Path $ModuleOut 'Containers.Format.ps1xml')
    $types = Join-Path $ModuleOut 'Containers.Types.ps1xml'
    Merge-PsXml '*.Types.ps1xml' 'Types' '' $types
    if (-not ([xml](Get-Content -LiteralPath $types -Raw)).DocumentElement.HasChildNodes) {
        # no type data yet: an empty types file still costs every Import-Module a parse and a type-table update
        # (about 6 ms of the importing thread's CPU, docs/ARCHITECTURE.md "Third pass"), so the module ships none
        Remove-Item -LiteralPath $types
        $manifest = Join-Path $ModuleOut 'Containers.psd1'
        Set-Content -LiteralPath $manifest -Value (@(Get-Content -LiteralPath $manifest) -notmatch '^\s*TypesToProcess\s*=')
    }
    Invoke-Docs
}

function Invoke-Docs([switch] $UpdateMarkdown) {
    # In a child pwsh so this session never loads the module (it would lock the DLL for rebuilds).
    $pwsh = (Get-Process -Id $PID).Path
    $help = Join-Path $Repo 'src/Build/Help.ps1'
    $pwshArgs = @()
    if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { $pwshArgs = @('pwsh') }
    & $pwsh @pwshArgs -NoProfile -NonInteractive -Command "& '$help' -ModulePath '$ModuleOut' -SourcePath '$(Join-Path $Repo 'en-US')' -OutputPath '$(Join-Path $ModuleOut 'en-US')'$(if ($UpdateMarkdown) { ' -UpdateMarkdown' })"
    if ($LASTEXITCODE -ne 0) { throw 'help generation failed' }
}

function Get-PesterPath {
    $p = Join-Path $Out "packages/pester/$($Versions.Pester)/tools/Pester.psd1"
    if (-not (Test-Path $p)) {
        Invoke-Native dotnet @('restore', (Join-Path $Repo 'tests/Pester.Restore.csproj'), '--nologo', '-v', 'q')
    }
    $p
}

function Invoke-SharedSetup([string] $Script, [string] $What, [string] $Consequence, [int] $Tail = 5) {
    # Runs a set-up script from ../shared (idempotent). In CI a missing or failing one is an error; on a
    # developer's machine a warning says which tests it will cost.
    $setup = Join-Path (Split-Path $Repo -Parent) "shared/$Script"
    $name = Split-Path $setup -Leaf
    if (-not (Test-Path $setup)) {
        if ($IsCI) { throw "The set-up script for $What is missing: $setup" }
        Write-Warning "build: no $setup; $Consequence"
        return
    }
    Write-Host "build: $What ($name)"
    & bash $setup 2>&1 | Select-Object -Last $Tail | Out-Host
    if ($LASTEXITCODE -ne 0) {
        if ($IsCI) { throw "$name failed with exit code $LASTEXITCODE" }
        Write-Warning "build: $name failed (exit $LASTEXITCODE); $Consequence"
    }
}

function Initialize-CgroupV2Vm {
    # The CgroupV2VM tests boot a throw-away pure cgroup v2 VM; a fresh machine (CI) prepares it once (~3 min).
    if ($ExcludeTag -contains 'CgroupV2VM') { return }
    if ($Filter -and 'tests/Integration/CgroupV2VM.Tests.ps1' -notmatch $Filter) { return }
    $base = if ($env:CGROUP2_VM_BASE) { $env:CGROUP2_VM_BASE } else { '/var/tmp/cgroup2-vm' }
    $ready = @('vmlinuz', 'initrd.gz', 'rootfs/bin', 'tools/pwsh/pwsh.dll', 'tools/modules/Pester', 'tools/guest-init.sh') |
        Where-Object { -not (Test-Path (Join-Path $base $_)) }
    if (@($ready).Count -eq 0) { return }
    $env:BASE = $base
    Invoke-SharedSetup 'tools/cgroup2-vm/setup-vm.sh' "preparing the cgroup v2 VM in $base (a few minutes)" 'the CgroupV2VM tests will be skipped'
}

function Initialize-Peers {
    # The peers the tests compare with (podman's host fixes, docker, the registry, the anchors' image archives):
    # idempotent, about 2 minutes on a fresh machine.
    Invoke-SharedSetup 'anchors/setup.sh' 'setting up the peers' 'tests that compare with podman and docker will fail' -Tail 3
}

function Invoke-Test {
    if ($IsLinux -and (& id -u) -eq '0') { Install-AptPackage $TestAptPackages; Initialize-Peers; Initialize-CgroupV2Vm }
    elseif ($IsCI) { throw 'The tests must run as root in CI.' }
    Invoke-Build
    $pester = Get-PesterPath
    $pwsh = (Get-Process -Id $PID).Path
    $pwshArgs = @()
    if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { $pwshArgs = @('pwsh') }
    $runner = Join-Path $Repo 'tests/run.ps1'
    $runArgs = @('-PesterPath', $pester, '-ModulePath', (Join-Path $ModuleOut 'Containers.psd1'))
    if ($Filter) { $runArgs += @('-Filter', $Filter) }
    if ($ExcludeTag) { $runArgs += @('-ExcludeTag', ($ExcludeTag -join ',')) }
    & $pwsh @pwshArgs -NoProfile -NonInteractive -File $runner @runArgs
    $code = $LASTEXITCODE
    if ($code -ne 0) { exit $code }
}

function Invoke-Bench {
    $shared = Join-Path (Split-Path $Repo -Parent) 'shared/anchors'
    if (-not (Test-Path (Join-Path $shared 'setup.sh'))) { throw "The peers' set-up is not at $shared." }
    Invoke-Native bash @((Join-Path $shared 'setup.sh'))
    Invoke-Build
    $pwsh = (Get-Process -Id $PID).Path
    $pwshArgs = @()
    if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { $pwshArgs = @('pwsh') }
    & $pwsh @pwshArgs -NoProfile -NonInteractive -File (Join-Path $Repo 'tests/Bench/Bench.ps1') -ModulePath (Join-Path $ModuleOut 'Containers.psd1') -AnchorsScript (Join-Path $shared 'bench.sh')
    if ($LASTEXITCODE -ne 0) { throw 'benchmark failed' }
}

function Invoke-Demo {
    if ($IsLinux -and (& id -u) -eq '0') { Install-AptPackage $DemoAptPackages }
    Invoke-Build
    $pwsh = (Get-Process -Id $PID).Path
    $pwshArgs = @()
    if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { $pwshArgs = @('pwsh') }
    & $pwsh @pwshArgs -NoProfile -NonInteractive -File (Join-Path $Repo 'tests/Demo.ps1') -ModulePath (Join-Path $ModuleOut 'Containers.psd1')
    if ($LASTEXITCODE -ne 0) { throw 'demo failed' }
}

function Invoke-Clean {
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $Out
    Get-ChildItem -Path (Join-Path $Repo 'src') -Directory -Recurse -Include bin, obj | Remove-Item -Recurse -Force
}

Push-Location $Repo
try {
    switch ($Task) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Docs' { Invoke-Docs -UpdateMarkdown }
        'Bench' { Invoke-Bench }
        'Demo' { Invoke-Demo }
        'Clean' { Invoke-Clean }
    }
}
finally { Pop-Location }
