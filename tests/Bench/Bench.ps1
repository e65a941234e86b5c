# build.ps1 -Task Bench: our figures beside the peers' from the same run, as ratios.
# Each area adds a file tests/Bench/<Area>.Bench.ps1, dot-sourced here; it may use the helpers below
# and calls Write-BenchLine for each comparison.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $AnchorsScript,
    [string] $Only = '.'
)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module $ModulePath -Force
$script:Anchors = if ($env:ANCHORS) { $env:ANCHORS } else { '/tmp/anchors' }
$script:BenchRoot = "/var/tmp/containers-bench/root-$PID"
New-Item -ItemType Directory -Force -Path $script:BenchRoot | Out-Null
$script:Results = [System.Collections.Generic.List[object]]::new()

function Get-Median([double[]] $Values) {
    $s = @($Values | Sort-Object); $n = $s.Count
    if ($n -eq 0) { return [double]::NaN }
    if ($n % 2) { $s[($n - 1) / 2] } else { ($s[$n / 2 - 1] + $s[$n / 2]) / 2 }
}

function Measure-Median {
    # Runs $Action $Runs times (after $Warmup untimed runs), $Prepare before each, untimed; returns the median in ms.
    param([scriptblock] $Action, [int] $Runs = 10, [int] $Warmup = 1, [scriptblock] $Prepare = $null)
    for ($i = 0; $i -lt $Warmup; $i++) { if ($Prepare) { & $Prepare }; & $Action | Out-Null }
    $times = for ($i = 0; $i -lt $Runs; $i++) {
        if ($Prepare) { & $Prepare }
        $sw = [System.Diagnostics.Stopwatch]::StartNew(); & $Action | Out-Null; $sw.Stop()
        $sw.Elapsed.TotalMilliseconds
    }
    Get-Median $times
}

function Invoke-AnchorBench([string] $Only, [int] $Runs = 10) {
    # Runs the peers' bench.sh for the named measurements; returns @{ name = median_ms }.
    $env:ONLY = $Only; $env:RUNS = "$Runs"; $env:NET_RUNS = "$Runs"; $env:PULL_RUNS = "$Runs"; $env:WARMUP = '1'
    # bench.sh's internal sub-commands (_net_podman, ...) fall through into its harness when a step fails (say the
    # network name is taken by a concurrent run), and the harness measures them again: hyperfine and bash recurse
    # without end (1,600 processes here once). Run a copy that stops after the sub-commands' case instead.
    $guarded = Join-Path $script:BenchRoot 'anchors-bench.sh'
    if (-not (Test-Path $guarded)) {
        $text = [regex]::new('(?m)^esac$').Replace((Get-Content -Raw $AnchorsScript), "esac`ncase `"`${1:-}`" in _*) exit 1 ;; esac", 1)
        Set-Content -LiteralPath $guarded -Value $text -NoNewline
    }
    $lines = & bash $guarded 2>&1
    $r = @{}
    foreach ($l in $lines) { if ("$l" -match '^(\S+)\s+median_ms=([\d.]+)') { $r[$Matches[1]] = [double]$Matches[2] } }
    $r
}

function Write-BenchLine([string] $Name, [double] $OursMs, [string] $Peer, [double] $PeerMs, [string] $Unit = 'ms') {
    $ratio = if ($PeerMs -gt 0) { [math]::Round($OursMs / $PeerMs, 3) } else { [double]::NaN }
    $o = [pscustomobject]@{ Measurement = $Name; Ours = [math]::Round($OursMs, 2); Peer = $Peer; PeerValue = [math]::Round($PeerMs, 2); Unit = $Unit; Ratio = $ratio }
    $script:Results.Add($o)
    "{0,-40} ours={1,10:N1} {5}  {2,-28} {3,10:N1} {5}  ratio={4:N3}" -f $Name, $OursMs, $Peer, $PeerMs, $ratio, $Unit
}

"# Containers bench $([DateTime]::UtcNow.ToString('u'))  kernel=$(uname -r) cpus=$([Environment]::ProcessorCount) load=$((Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3)"
try {
    foreach ($f in (Get-ChildItem -Path $PSScriptRoot -Filter '*.Bench.ps1' | Sort-Object Name)) {
        if ($f.Name -notmatch $Only) { continue }
        "## $($f.BaseName)"
        . $f.FullName
    }
}
finally {
    # every storage root a bench made below BenchRoot: containers, then networks (bridges, rules, DNS), then the files
    Get-ChildItem -LiteralPath $script:BenchRoot -Directory -Recurse -Depth 2 -ErrorAction SilentlyContinue |
        Where-Object { Test-Path (Join-Path $_.FullName 'networks') } | ForEach-Object {
            Get-Container -All -StorageRoot $_.FullName -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $_.FullName -ErrorAction SilentlyContinue
            Get-ContainerNetwork -StorageRoot $_.FullName -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $_.FullName -Confirm:$false -ErrorAction SilentlyContinue
        }
    & rm -rf --one-file-system $script:BenchRoot 2>$null
}
$script:Results | Format-Table -AutoSize | Out-String -Width 200
