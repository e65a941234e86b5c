# The crash suite: kill -9 of pwsh at random moments of import, pull (local registry 127.0.0.1:5000), start,
# stop, remove, network create/remove and volume create/remove, several sessions at once on one root. Then every
# listing works, Test-ContainerStore finds nothing -Repair cannot repair, -Repair leaves the store clean and,
# once the root's objects are removed, nothing of the root is left on the host (mounts, cgroups, interfaces,
# firewall rules, processes).
#
# Speed: a pwsh start with the module import takes about a second (several under load), so one pwsh per kill is
# the cost; the workers (CrashWorker.ps1) each loop over operations until killed, and several run at once.
# Environment: CONTAINERS_CRASH_SEED replays a run's plan (which operations each worker does, when it is killed;
# the interleaving with the kernel stays timing-dependent), CONTAINERS_CRASH_KILLS (default 100),
# CONTAINERS_CRASH_WORKERS (default 4), CONTAINERS_CRASH_SECONDS (time for the kills, default 240).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'crash'
    $script:ctl = New-TestStorageRoot 'crash-ctl'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:registryImage = '127.0.0.1:5000/busybox:test'
    $script:registryUp = $false
    try { $null = Invoke-WebRequest -Uri http://127.0.0.1:5000/v2/busybox/tags/list -TimeoutSec 3 -UseBasicParsing; $script:registryUp = $true } catch { }
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:ctl 'rootfs')
        $null = Import-ContainerImage -RootFs -LiteralPath $rootfs -Name crash-bb:1 -Change 'CMD ["sh"]'
        # the archive every import round loads (its own layer blob, so a killed import leaves real partial work)
        $script:archive = Join-Path $script:ctl 'crash-bb.oci.tar'
        Export-ContainerImage crash-bb:1 $script:archive -Format OciArchive
        $null = New-ContainerNetwork -Name crashnet
    }
    # the workers run the pwsh this test runs in; under `dotnet pwsh` that is `dotnet .../pwsh.dll`, started
    # directly (without the tool shim's extra process: a fifth less CPU per start, one process per worker)
    $script:pwsh = (Get-Process -Id $PID).Path
    $self = [IO.File]::ReadAllText("/proc/$PID/cmdline").Split([char]0)
    $script:pwshArgs = @(if ((Split-Path $script:pwsh -Leaf) -like 'dotnet*') { if ($self.Count -gt 1 -and $self[1] -like '*pwsh.dll') { $self[1] } else { 'pwsh' } })
    $script:scope = [Containers.Engine.State.StorageRoot]::DeriveScopeId($script:root)
    # the kinds of work a worker loops over (CrashWorker.ps1 -Op)
    $script:ops = @('container', 'container-bridge', 'import', 'pull', 'network', 'volume')

    function script:ProcStat([int] $procId) {
        try { $s = [IO.File]::ReadAllText("/proc/$procId/stat") } catch { return $null }
        # fields after the command name: state ppid ...
        $f = $s.Substring($s.LastIndexOf(')') + 2).Split(' ')
        [pscustomobject]@{ State = $f[0]; PPid = [int]$f[1] }
    }
    # The processes of a worker: the pwsh the suite started and (with `dotnet pwsh`) its descendants whose
    # command line holds the worker's token. Never a monitor or container (their command lines do not hold it).
    function script:WorkerTree([int] $top, [string] $token) {
        $all = @{}
        foreach ($d in [IO.Directory]::GetDirectories('/proc')) {
            $name = [IO.Path]::GetFileName($d)
            if ($name -notmatch '^\d+$') { continue }
            $st = ProcStat ([int]$name)
            if ($st) { $all[[int]$name] = $st.PPid }
        }
        $tree = [Collections.Generic.List[int]]::new()
        $tree.Add($top)
        for ($changed = $true; $changed) {
            $changed = $false
            foreach ($kv in $all.GetEnumerator()) {
                if ($tree.Contains($kv.Value) -and -not $tree.Contains($kv.Key)) {
                    try { $cmd = [IO.File]::ReadAllText("/proc/$($kv.Key)/cmdline") } catch { continue }
                    if ($cmd.Contains($token)) { $tree.Add($kv.Key); $changed = $true }
                }
            }
        }
        # deepest first: the pwsh that runs the engine dies before its launcher
        $tree.Reverse()
        $tree
    }
    function script:KillWorker($w) {
        # started as `dotnet pwsh.dll` the worker is one process: no scan of /proc (the cmdline check guards a reused pid)
        $ids = if ($script:pwshArgs -eq 'pwsh') { WorkerTree $w.Process.Id $w.Token } else { @($w.Process.Id) }
        foreach ($k in $ids) {
            try { if (-not [IO.File]::ReadAllText("/proc/$k/cmdline").Contains($w.Token)) { continue } } catch { continue }
            try { [Diagnostics.Process]::GetProcessById($k).Kill() } catch { }
        }
        $null = $w.Process.WaitForExit(30000)
    }
    function script:WaitFor([scriptblock] $Condition, [int] $Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
        [bool](& $Condition)
    }
    # what of this root is on the host (the same probes as tests/Leaks.Tests.ps1, for this root only)
    function script:Leftovers {
        $r = $script:root
        $s = $script:scope
        foreach ($m in (Get-Content /proc/self/mountinfo)) { $mp = ($m -split ' ')[4]; if ($mp.StartsWith($r)) { "mount: $mp" } }
        Get-ChildItem -Path /sys/fs/cgroup -Directory -Recurse -Depth 2 -ErrorAction SilentlyContinue | Where-Object Name -match $s | ForEach-Object { "cgroup: $($_.FullName)" }
        foreach ($l in @(& ip -o link show)) { $n = (($l -split ': ')[1] -split '@')[0]; if ($n -like "*$s*") { "interface: $n" } }
        if (Test-Command nft) { foreach ($l in @(& nft list ruleset 2>$null)) { if ($l -match $s) { "nft: $($l.Trim())" } } }
        if (Test-Command iptables-save) { foreach ($l in @(& iptables-save 2>$null)) { if ($l -match $s) { "iptables: $l" } } }
        foreach ($d in [IO.Directory]::GetDirectories('/proc')) {
            $name = [IO.Path]::GetFileName($d)
            if ($name -notmatch '^\d+$' -or [int]$name -eq $PID) { continue }
            try { $cmd = [IO.File]::ReadAllText("$d/cmdline") -replace "`0", ' ' } catch { continue }
            if ($cmd.Contains($r)) { "process $($name): $cmd" }
        }
    }
}
AfterAll {
    Remove-TestStorageRoot $script:root
    Remove-TestStorageRoot $script:ctl
}

Describe 'Crash suite: kill -9 of pwsh at random moments, several sessions at once' -Tag 'Integration', 'CrashSuite' {
    It 'kills sessions 100 times (CONTAINERS_CRASH_KILLS) during import, pull, start, stop, remove, network and volume work' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        if (-not (Test-Prerequisite -Condition $script:registryUp -Because "the local registry 127.0.0.1:5000 with $script:registryImage (../shared/anchors/setup.sh, started by the test task) is not running")) { return }
        $seed = if ($env:CONTAINERS_CRASH_SEED) { [int]$env:CONTAINERS_CRASH_SEED } else { Get-Random -Maximum 1000000 }
        $target = if ($env:CONTAINERS_CRASH_KILLS) { [int]$env:CONTAINERS_CRASH_KILLS } else { 100 }
        $workers = if ($env:CONTAINERS_CRASH_WORKERS) { [int]$env:CONTAINERS_CRASH_WORKERS } else { 4 }
        $budget = if ($env:CONTAINERS_CRASH_SECONDS) { [int]$env:CONTAINERS_CRASH_SECONDS } else { 240 }
        Write-Host "crash seed: $seed (replay with CONTAINERS_CRASH_SEED=$seed); $target kills, $workers workers at once"
        $rng = [Random]::new($seed)
        $script:killsByStep = @{}
        $script:kills = 0
        $workerScript = Join-Path $PSScriptRoot 'CrashWorker.ps1'
        $slots = @($null) * $workers
        $started = 0
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $readyTimes = [Collections.Generic.List[double]]::new()
        # what a worker's status file says: the number of the step it is in and the step's name ($null while written)
        function ReadStep($w) {
            try { $t = [IO.File]::ReadAllText($w.Status) } catch { return $null }
            $f = $t.Split("`t")
            if ($f.Count -ne 2) { return $null }
            [pscustomobject]@{ Number = [int]$f[0]; Name = $f[1] }
        }
        $env:POWERSHELL_TELEMETRY_OPTOUT = '1'
        while ($script:kills -lt $target -and $clock.Elapsed.TotalSeconds -lt $budget) {
            for ($s = 0; $s -lt $workers; $s++) {
                $w = $slots[$s]
                if (-not $w -and $started -lt $target) {
                    # one worker's plan: its kind of work (in turn, so every kind is killed about as often and the
                    # workers at once do different kinds), the step of its loop it dies in (one of the first four:
                    # every step of a container's new/start/stop/remove) and how long into that step
                    $id = $started++
                    $op = $script:ops[$id % $script:ops.Count]
                    $token = "crashworker-$([Guid]::NewGuid().ToString('N'))"
                    $w = [pscustomobject]@{
                        Token = $token; Id = $id; Status = Join-Path $script:ctl "$token.step"
                        Op = $op; KillStep = $rng.Next(0, 4); Delay = $rng.Next(0, 600); Since = $clock.Elapsed.TotalSeconds; KillAt = $null; Process = $null
                    }
                    $argv = @('-NoProfile', '-NonInteractive', '-File', $workerScript, '-Module', $script:ModulePath, '-Root', $script:root,
                        '-StatusFile', $w.Status, '-Op', $op, '-Prefix', "w$id", '-Archive', $script:archive,
                        '-Registry', $script:registryImage, '-Token', $token)
                    $w.Process = Start-Process -PassThru -FilePath $script:pwsh -ArgumentList ($script:pwshArgs + $argv) `
                        -RedirectStandardOutput (Join-Path $script:ctl "$token.out") -RedirectStandardError (Join-Path $script:ctl "$token.err")
                    $slots[$s] = $w
                    continue
                }
                if (-not $w) { continue }
                if ($null -eq $w.KillAt) {
                    $st = ReadStep $w
                    if ($st -and $st.Number -ge $w.KillStep) {
                        if ($st.Number -eq 0) { $readyTimes.Add($clock.Elapsed.TotalSeconds - $w.Since) }
                        $w.KillAt = $clock.Elapsed.TotalSeconds + $w.Delay / 1000
                    }
                    elseif ($w.Process.HasExited) { throw "worker $($w.Id) ended before it was killed: $(Get-Content -Raw (Join-Path $script:ctl "$($w.Token).err"))" }
                    elseif ($clock.Elapsed.TotalSeconds - $w.Since -gt 120) { KillWorker $w; throw "worker $($w.Id) did not reach step $($w.KillStep) in 120 s" }
                    continue
                }
                if ($clock.Elapsed.TotalSeconds -ge $w.KillAt) {
                    if ($w.Process.HasExited) { throw "worker $($w.Id) ended on its own: $(Get-Content -Raw (Join-Path $script:ctl "$($w.Token).err"))" }
                    $st = ReadStep $w
                    $step = if ($st) { $st.Name } else { "$($w.Op)/(between steps)" }
                    KillWorker $w
                    $script:kills++
                    $script:killsByStep[$step] = 1 + [int]$script:killsByStep[$step]
                    $slots[$s] = $null
                }
            }
            Start-Sleep -Milliseconds 20
        }
        # a worker still loading when the budget ran out is ended too (counted only if it was working)
        foreach ($w in $slots) {
            if (-not $w) { continue }
            $st = ReadStep $w
            KillWorker $w
            if ($st) { $script:kills++; $script:killsByStep[$st.Name] = 1 + [int]$script:killsByStep[$st.Name] }
        }
        $secs = $clock.Elapsed.TotalSeconds
        $avgReady = if ($readyTimes.Count) { ($readyTimes | Measure-Object -Average).Average } else { 0 }
        Write-Host ("{0} kills in {1:N0} s ({2:N2} kills/s; a worker's first step began {3:N1} s after its start on average)" -f $script:kills, $secs, ($script:kills / $secs), $avgReady)
        Write-Host ("kills by step: " + (($script:killsByStep.GetEnumerator() | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ', '))
        $script:kills | Should -BeGreaterOrEqual $target -Because ("the kills must fit in $budget s (CONTAINERS_CRASH_SECONDS); at {0:N2} kills/s the machine is too loaded" -f ($script:kills / $secs))
        # the kills hit every kind of work
        foreach ($op in $script:ops) {
            @($script:killsByStep.Keys | Where-Object { $_ -like "$op/*" }) | Should -Not -BeNullOrEmpty -Because "kills should interrupt $op work"
        }
    }

    It 'every listing works afterwards' {
        if (-not (Test-Prerequisite -Condition ($script:kills -gt 0) -Because 'the kills ran')) { return }
        foreach ($list in { Get-Container -All }, { Get-ContainerImage }, { Get-ContainerNetwork }, { Get-ContainerVolume }) {
            $out = $null
            { $script:out = & { $ErrorActionPreference = 'Continue'; & $list } 2>&1 } | Should -Not -Throw
            $errs = @($script:out | Where-Object { $_ -is [Management.Automation.ErrorRecord] })
            if ($errs) { Write-Host "$list wrote: $(@($errs | ForEach-Object { "$($_.FullyQualifiedErrorId): $($_.Exception.Message)" }) -join '; ')" }
            @($errs) | Should -BeNullOrEmpty -Because "$list should write no error after the kills"
        }
        foreach ($c in @(Get-Container -All)) { $c.Status | Should -BeIn @('Created', 'Running', 'Exited') }
    }

    It 'Test-ContainerStore finds nothing -Repair cannot repair, and -Repair leaves it clean' {
        if (-not (Test-Prerequisite -Condition ($script:kills -gt 0) -Because 'the kills ran')) { return }
        $before = @(Test-ContainerStore)
        Write-Host ("findings after {0} kills: {1}" -f $script:kills, $(if ($before) { (($before | Group-Object Kind | ForEach-Object { "$($_.Name)=$($_.Count)" }) -join ', ') } else { 'none' }))
        # every entry the kills left in the root is of a kind the store knows (StoreKinds), so repair can judge it
        $unknown = @($before | Where-Object Kind -eq 'UnknownEntry')
        if ($unknown) { Write-Host "entries of no known kind: $(@($unknown.Target) -join ', ')" }
        $unknown | Should -BeNullOrEmpty
        $repaired = @(Test-ContainerStore -Repair -Confirm:$false)
        $unrepaired = @($repaired | Where-Object { $_.Severity -in 'Error', 'Garbage' -and -not $_.Repaired })
        if ($unrepaired) { Write-Host ($unrepaired | Format-List Kind, Severity, Target, Message | Out-String) }
        $unrepaired | Should -BeNullOrEmpty
        $after = @(Test-ContainerStore | Where-Object Severity -in 'Error', 'Garbage')
        if ($after) { Write-Host ($after | Format-List Kind, Severity, Target, Message | Out-String) }
        $after | Should -BeNullOrEmpty
    }

    It 'the root works again and, emptied through the engine, leaves nothing on the host' {
        if (-not (Test-Prerequisite -Condition ($script:kills -gt 0) -Because 'the kills ran')) { return }
        # still usable: a container on the bridge network starts and stops
        $c = New-Container -Image crash-bb:1 -Name after-crash -Network crashnet -Command sleep, 600 | Start-Container -PassThru
        $c.Status | Should -Be 'Running'
        # emptied the way a user would
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Remove-ContainerNetwork -Force -Confirm:$false
        Get-ContainerVolume | Remove-ContainerVolume -Confirm:$false
        Get-ContainerImage | Remove-ContainerImage -Force -Confirm:$false
        @(Get-Container -All) | Should -BeNullOrEmpty
        @(Get-ContainerVolume) | Should -BeNullOrEmpty
        # teardown the kernel finishes later (a veth deleted slowly) is waited for, not called a leak
        $clean = WaitFor { -not @(Leftovers) } 30
        if (-not $clean) { Write-Host "left on the host: $((@(Leftovers)) -join '; ')" }
        @(Leftovers) | Should -BeNullOrEmpty
        $after = @(Test-ContainerStore | Where-Object Severity -in 'Error', 'Garbage')
        if ($after) { Write-Host ($after | Format-List Kind, Severity, Target, Message | Out-String) }
        $after | Should -BeNullOrEmpty
    }
}
