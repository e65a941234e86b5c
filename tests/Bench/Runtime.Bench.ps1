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
# and on the default bridge network (what docker run does without flags), whose first run makes the network
1..5 | ForEach-Object { $null = Invoke-ContainerImage bench-busybox:1 -Command true -Remove -StorageRoot $root }
# with seccomp (Docker's default profile, the default) and without (seccomp=unconfined), interleaved so both
# see the same machine; the difference is what the filter costs a run (compile is cached: none of it here); the
# default network in the same rotation (issue 15: at most twice network none). Each run's steps are timed by the
# engine (StepTimes) for the breakdown printed below.
$modes = 'default', 'unconfined', 'bridge'
$times = @{}; $steps = @{}
foreach ($m in $modes) { $times[$m] = [System.Collections.Generic.List[double]]::new(); $steps[$m] = [ordered]@{} }
$stepTimes = [Containers.Engine.Diagnostics.StepTimes]
$stepTimes::Enabled = $true
for ($i = 0; $i -lt $runs; $i++) {
    $order = @($modes); if ($i % 2) { [array]::Reverse($order) }
    foreach ($mode in $order) {
        $null = $stepTimes::Take()
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $r = if ($mode -eq 'bridge') { Invoke-ContainerImage bench-busybox:1 -Command true -Remove -StorageRoot $root }
        else { Invoke-ContainerImage bench-busybox:1 -Command true -Network none -Remove -StorageRoot $root -SecurityOption $(if ($mode -eq 'unconfined') { 'seccomp=unconfined' } else { @() }) }
        $sw.Stop()
        if ($r.ExitCode -ne 0) { throw "bench: true exited with $($r.ExitCode)" }
        $times[$mode].Add($sw.Elapsed.TotalMilliseconds)
        foreach ($st in $stepTimes::Take()) {
            if (-not $steps[$mode].Contains($st.Step)) { $steps[$mode][$st.Step] = [System.Collections.Generic.List[double]]::new() }
            $steps[$mode][$st.Step].Add($st.Milliseconds)
        }
    }
}
$stepTimes::Enabled = $false
# where a run's time goes: the median of each step the engine marks (cmdlet, create, start, network, wait, removal),
# network none beside the default network; what no step covers is PowerShell's binding and pipeline
"runtime: step medians (ms)      network none   default network"
$allSteps = [System.Collections.Generic.List[string]]::new()
foreach ($m in 'default', 'bridge') { foreach ($k in $steps[$m].Keys) { if (-not $allSteps.Contains($k)) { $allSteps.Add($k) } } }
foreach ($k in $allSteps) {
    $a = if ($steps['default'].Contains($k)) { '{0,10:N3}' -f (Get-Median $steps['default'][$k].ToArray()) } else { '{0,10}' -f '-' }
    $b = if ($steps['bridge'].Contains($k)) { '{0,10:N3}' -f (Get-Median $steps['bridge'][$k].ToArray()) } else { '{0,10}' -f '-' }
    "runtime:   {0,-26} {1}     {2}" -f $k, $a, $b
}
$ours = Get-Median $times['default'].ToArray()
$oursUnconfined = Get-Median $times['unconfined'].ToArray()
"runtime: run-to-exit with seccomp (Docker's default profile) {0:N2} ms, without (seccomp=unconfined) {1:N2} ms, filter costs {2:N2} ms" -f $ours, $oursUnconfined, ($ours - $oursUnconfined)
Write-BenchLine 'run true: seccomp default vs unconfined' $ours 'ours, seccomp=unconfined' $oursUnconfined
# issue 15: run-to-exit on the default bridge network beside network none (goal: ratio at most 2)
$oursBridge = Get-Median $times['bridge'].ToArray()
Write-BenchLine 'run true on the default network' $oursBridge 'ours, network none' $ours
# user namespace (the default of a new root, as this bench's) vs the host's, interleaved: what the clone with
# CLONE_NEWUSER, the maps, the idmapped layers and the overlay made by the monitor cost a run (goal: within 2 ms)
$ns = @{ Auto = [System.Collections.Generic.List[double]]::new(); Host = [System.Collections.Generic.List[double]]::new() }
for ($i = 0; $i -lt $runs; $i++) {
    foreach ($mode in $(if ($i % 2) { 'Auto', 'Host' } else { 'Host', 'Auto' })) {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $r = Invoke-ContainerImage bench-busybox:1 -Command true -Network none -Remove -StorageRoot $root -UserNamespace $mode
        $sw.Stop()
        if ($r.ExitCode -ne 0) { throw "bench: true exited with $($r.ExitCode) ($mode)" }
        $ns[$mode].Add($sw.Elapsed.TotalMilliseconds)
    }
}
$nsAuto = Get-Median $ns['Auto'].ToArray()
$nsHost = Get-Median $ns['Host'].ToArray()
"runtime: start-to-exit in a user namespace of its own (Auto) {0:N2} ms, in the host's (Host) {1:N2} ms, difference {2:N2} ms" -f $nsAuto, $nsHost, ($nsAuto - $nsHost)
Write-BenchLine 'start-to-exit Auto vs Host' $nsAuto 'ours, -UserNamespace Host' $nsHost
$peers = Invoke-AnchorBench 'crun_run_bundle|podman_run_crun_netnone|docker_run_netnone' -Runs ([math]::Min($runs, 20))
foreach ($p in 'crun_run_bundle', 'podman_run_crun_netnone', 'docker_run_netnone') {
    if ($peers.ContainsKey($p)) { Write-BenchLine 'run true (Invoke-ContainerImage -Remove)' $ours $p $peers[$p] }
    else { "runtime: peer $p not measured" }
}

# crun on a bundle made like our containers: Docker's 14 capabilities, no no_new_privs, the same namespaces
# (cgroup included), a cgroup, and Docker's default profile in OCI form (linux.seccomp) -- and the same bundle
# without it. The anchors' shared bundle is left as it is (umoci's config: 3 capabilities, no seccomp).
function ConvertTo-OciSeccomp([string] $ProfilePath, [string[]] $Caps) {
    # what docker hands its runtime: the rules selected for amd64, these capabilities and this kernel
    $p = Get-Content -Raw $ProfilePath | ConvertFrom-Json
    $kernel = [version](((uname -r) -split '[.-]')[0..1] -join '.')
    $syscalls = foreach ($s in $p.syscalls) {
        $ex = $s.excludes; $in = $s.includes
        if ($ex) {
            if ($ex.arches -contains 'amd64') { continue }
            if ($ex.caps -and @($ex.caps | Where-Object { $_ -in $Caps }).Count -gt 0) { continue }
            if ($ex.minKernel -and $kernel -ge [version]$ex.minKernel) { continue }
        }
        if ($in) {
            if ($in.arches -and $in.arches -notcontains 'amd64') { continue }
            if ($in.caps -and @($in.caps | Where-Object { $_ -notin $Caps }).Count -gt 0) { continue }
            if ($in.minKernel -and $kernel -lt [version]$in.minKernel) { continue }
        }
        $o = [ordered]@{ names = @($s.names); action = $s.action }
        if ($null -ne $s.errnoRet) { $o.errnoRet = $s.errnoRet }
        if ($s.args) { $o.args = @($s.args | ForEach-Object { [ordered]@{ index = $_.index; value = $_.value; valueTwo = [uint64]$_.valueTwo; op = $_.op } }) }
        $o
    }
    $x64 = $p.archMap | Where-Object architecture -eq 'SCMP_ARCH_X86_64'
    [ordered]@{ defaultAction = $p.defaultAction; defaultErrnoRet = $p.defaultErrnoRet
        architectures = @($x64.architecture) + @($x64.subArchitectures); syscalls = @($syscalls) }
}
$anchorBundle = Join-Path $script:Anchors 'bundles/busybox'
# the root's default user namespace (what the runs above got, without -UserNamespace): under Auto (or Private) our
# container has a user namespace of its own mapping 0..65535 onto a range of the host, so crun's bundle gets one too
# (the same size; where the range starts costs nothing), and a copy of the rootfs owned by that range (the anchors'
# bundle directory is 0700 and root-owned: the mapped root could not reach it; ours shows the layers through
# idmapped mounts instead, a few mounts more than crun does here)
$rootUserNs = (Get-ContainerHost -StorageRoot $root).DefaultUserNamespace
$crunHostId = 1879048192
if ((Get-Command crun, hyperfine -ErrorAction SilentlyContinue).Count -eq 2 -and (Test-Path "$anchorBundle/config.json")) {
    $dockerCaps = [Containers.Engine.Runtime.Capabilities]::DockerDefault | ForEach-Object { "CAP_$_" }
    $crunTimes = @{}
    foreach ($mode in 'seccomp', 'unconfined') {
        $bundle = Join-Path $script:BenchRoot "crun-$mode"
        New-Item -ItemType Directory -Force -Path $bundle | Out-Null
        $cfg = Get-Content -Raw "$anchorBundle/config.json" | ConvertFrom-Json -AsHashtable
        $cfg.root = @{ path = (Resolve-Path "$anchorBundle/rootfs").Path; readonly = $true }
        if ($rootUserNs -ne 'Host') {
            $mapped = Join-Path $script:BenchRoot 'crun-rootfs-mapped'
            if (-not (Test-Path $mapped)) {
                & cp -a (Resolve-Path "$anchorBundle/rootfs").Path $mapped
                & chown -R "$($crunHostId):$($crunHostId)" $mapped
            }
            $cfg.root.path = $mapped
        }
        $cfg.process.noNewPrivileges = $false
        foreach ($set in 'bounding', 'effective', 'permitted') { $cfg.process.capabilities[$set] = @($dockerCaps) }
        $cfg.process.capabilities.Remove('inheritable'); $cfg.process.capabilities.Remove('ambient')
        $cfg.linux.namespaces = @('pid', 'network', 'ipc', 'uts', 'mount', 'cgroup' | ForEach-Object { @{ type = $_ } })
        if ($rootUserNs -ne 'Host') {
            $cfg.linux.namespaces += @{ type = 'user' }
            $cfg.linux.uidMappings = @(@{ containerID = 0; hostID = $crunHostId; size = 65536 })
            $cfg.linux.gidMappings = @(@{ containerID = 0; hostID = $crunHostId; size = 65536 })
        }
        $cfg.linux.cgroupsPath = "containers-bench-crun-$mode-$PID"
        if ($mode -eq 'seccomp') {
            $profilePath = Join-Path (Split-Path (Split-Path $PSScriptRoot -Parent) -Parent) 'src/Containers.Engine/Security/Seccomp/default.json'
            $cfg.linux.seccomp = ConvertTo-OciSeccomp $profilePath $dockerCaps
        }
        else { $cfg.linux.Remove('seccomp') }
        $cfg | ConvertTo-Json -Depth 30 | Set-Content -LiteralPath "$bundle/config.json"
        $json = Join-Path $script:BenchRoot "crun-$mode.json"
        $crunRuns = [math]::Min($runs, 20)
        & hyperfine -N --style none --runs $crunRuns --warmup 3 --export-json $json "crun run -b $bundle containers-bench-crun-$mode-$PID" *>$null
        if ($LASTEXITCODE -eq 0) { $crunTimes[$mode] = Get-Median ((Get-Content -Raw $json | ConvertFrom-Json).results[0].times | ForEach-Object { $_ * 1000 }) }
        else { "runtime: crun run with $mode failed" }
    }
    if ($crunTimes.Count -eq 2) {
        "runtime: crun run (Docker's caps, 6 namespaces{3}, a cgroup): with Docker's profile {0:N2} ms, without {1:N2} ms, filter costs {2:N2} ms" -f $crunTimes['seccomp'], $crunTimes['unconfined'], ($crunTimes['seccomp'] - $crunTimes['unconfined']), $(if ($rootUserNs -ne 'Host') { ' + a user namespace (the root default is ' + $rootUserNs + ')' } else { '' })
        # issue 15: warm run-to-exit with network none beside crun run of the matching bundle (goal: ratio at most 1.0)
        Write-BenchLine 'run true, seccomp (crun same profile)' $ours 'crun run, Docker profile' $crunTimes['seccomp']
        Write-BenchLine 'run true, unconfined (crun none)' $oursUnconfined 'crun run, no seccomp' $crunTimes['unconfined']
    }
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
