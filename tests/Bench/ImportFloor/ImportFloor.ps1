# The floor of Import-Module and of the Cold bench's script: what PowerShell alone costs for a module of our shape,
# beside ours (docs/ARCHITECTURE.md, Cold start, third pass). Not part of build.ps1 -Task Bench (it publishes two
# generated modules first). Run from the repository, as root, after a build:
#   dotnet pwsh tests/Bench/ImportFloor/ImportFloor.ps1 -ModulePath out/Containers/Containers.psd1 [-Runs 10]
# Prints, per variant, medians over fresh processes of the command thread's CPU (/proc/thread-self/schedstat) and the
# process's CPU at the end of the command, each over `exit 0`; wall times are printed too but mean little on a loaded
# machine. Each variant has its own XDG_CACHE_HOME (pwsh's startup JIT profile).
param([Parameter(Mandatory)] [string] $ModulePath, [int] $Runs = 10, [string] $Image = '/tmp/anchors/images/busybox-test.docker.tar')
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$repo = Split-Path (Split-Path (Split-Path $PSScriptRoot -Parent) -Parent) -Parent
$work = Join-Path '/var/tmp/containers-bench' "import-floor-$PID"
$root = Join-Path $work 'root'
$launcher = (Get-Process -Id $PID).Path
$la = @(if ((Split-Path $launcher -Leaf) -like 'dotnet*') { 'pwsh' })
try {
    # the two generated modules: one empty cmdlet, and our shape (with our manifest and format file)
    foreach ($m in 'one', 'shape') {
        $src = Join-Path $work "src-$m"; New-Item -ItemType Directory -Force $src | Out-Null
        Copy-Item (Join-Path $PSScriptRoot 'Floor.csproj.template') (Join-Path $src "$m.csproj")
        if ($m -eq 'one') {
            Set-Content (Join-Path $src 'One.cs') 'using System.Management.Automation; namespace One; [Cmdlet("Get", "OneThing")] public sealed class GetOneThing : PSCmdlet { protected override void ProcessRecord() { } }'
        } else {
            & $launcher @la -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'New-ShapeSource.ps1') -ModulePath $ModulePath -Out (Join-Path $src 'Shape.cs')
            if ($LASTEXITCODE) { throw 'New-ShapeSource failed' }
        }
        & dotnet publish (Join-Path $src "$m.csproj") -c Release -o (Join-Path $work $m) --nologo -v q -clp:ErrorsOnly
        if ($LASTEXITCODE) { throw "publishing the $m module failed" }
        $manifest = Get-Content -LiteralPath $ModulePath -Raw
        $manifest = $manifest -replace "RootModule\s*=\s*'[^']*'", "RootModule = '$m.dll'"
        if ($m -eq 'one') {
            $manifest = $manifest -replace '(?s)CmdletsToExport\s*=\s*@\(.*?\n\s*\)', "CmdletsToExport = @('Get-OneThing')" -replace '(?m)^\s*(Formats|Types)ToProcess.*$', ''
        } else {
            Copy-Item (Join-Path (Split-Path $ModulePath) '*.ps1xml') (Join-Path $work $m)
        }
        Set-Content (Join-Path $work "$m/$m.psd1") $manifest
    }
    $env:PSCONTAINERS_ROOT = $root
    Import-Module $ModulePath
    $null = Import-ContainerImage -LiteralPath $Image -Name busybox:latest -StorageRoot $root

    $run = 'Invoke-ContainerImage busybox -Remove -Network none -Command true | Out-Default'
    $v = [ordered]@{
        'exit 0'                              = ''
        'import: one empty cmdlet'            = "Import-Module '$work/one/one.psd1'"
        'import: our shape + format'          = "Import-Module '$work/shape/shape.psd1'"
        'import: ours'                        = "Import-Module '$ModulePath'"
        'script floor: our shape, run'        = "Import-Module '$work/shape/shape.psd1'; $run"
        'script: ours'                        = "Import-Module '$ModulePath'; $run"
        'script: ours, PSCONTAINERS_WARMUP=0' = "Import-Module '$ModulePath'; $run"
    }
    $pre = 'function cpu { [double](([IO.File]::ReadAllText(''/proc/thread-self/schedstat'') -split '' '')[0]) / 1e6 }; $c0 = cpu; $s = [Diagnostics.Stopwatch]::StartNew(); '
    $post = '; $w = $s.Elapsed.TotalMilliseconds; $c1 = cpu; $pc = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds; "@@ $w $($c1 - $c0) $pc"'
    $res = @{}; foreach ($k in $v.Keys) { $res[$k] = [System.Collections.Generic.List[object]]::new() }
    function Invoke-Variant([string] $Key) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new($launcher)
        foreach ($a in @($la) + @('-NoProfile', '-NonInteractive', '-Command', ($pre + $v[$Key] + $post))) { $psi.ArgumentList.Add($a) }
        $psi.WorkingDirectory = $repo; $psi.RedirectStandardOutput = $true; $psi.UseShellExecute = $false
        $psi.Environment['XDG_CACHE_HOME'] = Join-Path $work ('cache-' + ($Key -replace '[^a-z0-9]', '_'))
        $psi.Environment['PSCONTAINERS_ROOT'] = $root
        if ($Key -like '*WARMUP=0') { $psi.Environment['PSCONTAINERS_WARMUP'] = '0' }
        $sw = [Diagnostics.Stopwatch]::StartNew(); $p = [Diagnostics.Process]::Start($psi); $o = $p.StandardOutput.ReadToEnd(); $p.WaitForExit(); $ms = $sw.Elapsed.TotalMilliseconds
        $line = @($o -split "`n" | Where-Object { $_ -like '@@ *' })[-1]
        if (-not $line) { throw "import floor: '$Key' printed no measurement (exit code $($p.ExitCode))" }
        $null, $w, $c, $pc = $line -split ' '
        [pscustomobject]@{ Proc = $ms; Cpu = [double]$c; ProcCpu = [double]$pc }
    }
    foreach ($k in $v.Keys) { $null = Invoke-Variant $k; $null = Invoke-Variant $k } # page cache, each variant's profile
    for ($i = 0; $i -lt $Runs; $i++) { foreach ($k in $v.Keys) { $res[$k].Add((Invoke-Variant $k)) } }
    function Get-Med($xs) { $a = @($xs | Sort-Object); if ($a.Count % 2) { $a[[int][math]::Floor($a.Count / 2)] } else { ($a[$a.Count / 2 - 1] + $a[$a.Count / 2]) / 2 } }
    "import floor: $Runs fresh processes per variant, medians; load at the end $((Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3)"
    $b = $res['exit 0']
    foreach ($k in $v.Keys) {
        $r = $res[$k]
        '{0,-38} thread CPU +{1,6:N1} ms  process CPU +{2,6:N0} ms  wall +{3,6:N0} ms' -f $k, ((Get-Med $r.Cpu) - (Get-Med $b.Cpu)), ((Get-Med $r.ProcCpu) - (Get-Med $b.ProcCpu)), ((Get-Med $r.Proc) - (Get-Med $b.Proc))
    }
}
finally {
    if (Get-Module Containers) { Get-Container -All -StorageRoot $root -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $root -ErrorAction SilentlyContinue }
    & rm -rf --one-file-system $work 2>$null
}
