# Runtime: run-to-exit latency of `true` (create, start, wait, remove, exit code back) vs crun/podman/docker,
# and host memory per idle running container vs conmon. Dot-sourced by Bench.ps1 (helpers from there).
$runs = if ($env:RUNTIME_BENCH_RUNS) { [int]$env:RUNTIME_BENCH_RUNS } else { 50 }
$root = Join-Path $script:BenchRoot 'runtime'
$bb = Get-ChildItem (Join-Path $script:Anchors 'images') -Filter 'busybox*.docker.tar' | Select-Object -First 1
$img = Import-ContainerImage -LiteralPath $bb.FullName -Name bench-busybox:1 -StorageRoot $root
"runtime: image $($img.ShortId) from $($bb.Name); $runs runs each"

# warm the session before timing: .NET re-JITs a method at tier 1 after 30 calls, in the background, so the
# first few dozen runs share the CPU with the JIT
1..30 | ForEach-Object { $null = Invoke-ContainerImage bench-busybox:1 -Command true -Network none -Remove -StorageRoot $root }
$times = [System.Collections.Generic.List[double]]::new()
for ($i = 0; $i -lt $runs; $i++) {
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $r = Invoke-ContainerImage bench-busybox:1 -Command true -Network none -Remove -StorageRoot $root
    $sw.Stop()
    if ($r.ExitCode -ne 0) { throw "bench: true exited with $($r.ExitCode)" }
    $times.Add($sw.Elapsed.TotalMilliseconds)
}
$ours = Get-Median $times.ToArray()
$peers = Invoke-AnchorBench 'crun_run_bundle|podman_run_crun_netnone|docker_run_netnone' -Runs ([math]::Min($runs, 20))
foreach ($p in 'crun_run_bundle', 'podman_run_crun_netnone', 'docker_run_netnone') {
    if ($peers.ContainsKey($p)) { Write-BenchLine 'run true (Invoke-ContainerImage -Remove)' $ours $p $peers[$p] }
    else { "runtime: peer $p not measured" }
}

# memory: everything we run per idle container (the monitor; no -Init so nothing else of ours runs), plus the
# session's spare monitor divided among them
function Get-ProcMemory([int] $ProcessId) {
    $st = Get-Content "/proc/$ProcessId/status" -ErrorAction SilentlyContinue
    $rss = [long](($st | Where-Object { $_ -like 'VmRSS:*' }) -replace '\D', '') * 1024
    $pss = 0L
    try { $pss = [long](((Get-Content "/proc/$ProcessId/smaps_rollup") | Where-Object { $_ -like 'Pss:*' }) -replace '\D', '') * 1024 } catch { }
    [pscustomobject]@{ Rss = $rss; Pss = $pss }
}
$n = 20
$ctrs = 1..$n | ForEach-Object { Invoke-ContainerImage bench-busybox:1 -Name "idle$_" -Command sleep, 3600 -Detach -StorageRoot $root }
Start-Sleep -Seconds 2 # settled: each monitor hands back its start-up code pages after half a second of quiet
$monitors = foreach ($c in $ctrs) {
    $status = Get-Content (Join-Path $root "containers/$($c.Id)/status")
    [int](($status | Where-Object { $_ -like 'monitorpid=*' }) -replace 'monitorpid=', '')
}
# and this session's spare monitor (one per session, started ahead of the next start), shared by the 20
$spares = @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | Where-Object {
        try {
            $stat = [IO.File]::ReadAllText("/proc/$($_.Name)/stat")
            [int]$stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[1] -eq $PID -and [IO.File]::ReadAllText("/proc/$($_.Name)/cmdline").Contains("monitor`0--spare")
        } catch { $false }
    } | ForEach-Object { [int]$_.Name })
$mem = @($monitors) + $spares | ForEach-Object { Get-ProcMemory $_ }
$oursRss = ($mem | Measure-Object Rss -Sum).Sum / $n
$oursPss = ($mem | Measure-Object Pss -Sum).Sum / $n
"runtime: $($spares.Count) spare monitor(s) counted in, RSS $([math]::Round((($spares | ForEach-Object { (Get-ProcMemory $_).Rss } | Measure-Object -Sum).Sum) / 1MB, 2)) MB"
$ctrs | Remove-Container -Force -StorageRoot $root

# conmon of one idle podman container
$cid = (& podman run -d --network none localhost/busybox:test sleep 3600 2>$null)
if ($cid) {
    try {
        Start-Sleep -Seconds 1
        $conmon = [int](& podman inspect --format '{{.State.ConmonPid}}' $cid)
        $cm = Get-ProcMemory $conmon
        Write-BenchLine 'idle container RSS per container' ($oursRss / 1MB) 'conmon RSS' ($cm.Rss / 1MB) 'MB'
        Write-BenchLine 'idle container PSS per container' ($oursPss / 1MB) 'conmon PSS' ($cm.Pss / 1MB) 'MB'
    }
    finally { & podman rm -f -t 0 $cid 2>$null | Out-Null }
}
else {
    "runtime: podman could not start a busybox container; ours RSS/container = $([math]::Round($oursRss / 1MB, 2)) MB, PSS = $([math]::Round($oursPss / 1MB, 2)) MB"
}
Remove-ContainerImage bench-busybox:1 -StorageRoot $root -Force -ErrorAction SilentlyContinue | Out-Null
