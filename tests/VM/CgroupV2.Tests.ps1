# Runs INSIDE the throw-away pure cgroup v2 VM (see tests/Integration/CgroupV2VM.Tests.ps1, which boots it
# and reports each of these tests). Real v2 kernel behaviour: OOM kill via memory.max, pids.max, freeze,
# cgroup.kill, removal of populated cgroups, the delegation rules, and the eBPF device filter.
# Test names must stay unique (no -TestCases): the host side has one It per name.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    $script:Managers = [Containers.Engine.Cgroups.CgroupManagers]
    $script:RootPath = New-TestStorageRoot 'cgv2'
    $script:Root = [Containers.Engine.State.StorageRoot]::Resolve($script:RootPath)
    $script:Parent = "/sys/fs/cgroup/pscontainers-$($script:Root.ScopeId)"
    $script:Started = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    $script:Made = [System.Collections.Generic.List[object]]::new()

    function New-Cgroup([hashtable] $Set = @{}, $Root = $script:Root) {
        $r = [Containers.Engine.Cgroups.CgroupResources]::new()
        foreach ($k in $Set.Keys) { $r.$k = $Set[$k] }
        $m = $Managers::Create($Root, 'c' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:Made.Add($m)
        $m.Create($r)
        $m
    }
    function Start-Gated([string] $Script) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
        $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("read x; $Script")
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $p = [System.Diagnostics.Process]::Start($psi)
        $script:Started.Add($p)
        $p
    }
    function Open-Gate($p) { $p.StandardInput.WriteLine('go'); $p.StandardInput.Flush() }
    function Wait-Output($p, [int] $Seconds = 60) {
        $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($Seconds * 1000)) { throw "process $($p.Id) did not end in $Seconds s" }
        [pscustomobject]@{ Out = $out.Result; Err = $err.Result; ExitCode = $p.ExitCode }
    }
    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 20) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { return $false }
            Start-Sleep -Milliseconds 50
        }
        $true
    }
    function Get-EngineErrorId([scriptblock] $Action) {
        try { & $Action; return 'NoError' }
        catch {
            $e = $_.Exception
            while ($e -and $e -isnot [Containers.Engine.Errors.ContainersException]) { $e = $e.InnerException }
            if ($e) { return "$($e.ErrorId): $($e.Message)" } else { return "$($_.Exception.GetType().Name): $($_.Exception.Message)" }
        }
    }
    function Read-Keyed([string] $File, [string] $Key) {
        [long]((Get-Content $File | Where-Object { $_ -like "$Key *" }).Split(' ')[1])
    }
}

AfterAll {
    foreach ($m in $script:Made) { try { $m.Destroy() } catch { Write-Warning "cgroup cleanup: $_" } }
    foreach ($p in $script:Started) { if (-not $p.HasExited) { $p.Kill($true); $p.WaitForExit(5000) | Out-Null } }
    Remove-TestStorageRoot $script:RootPath
}

Describe 'cgroup v2 in the VM' -Tag 'CgroupV2' {
    It 'runs on a pure cgroup v2 host' {
        $Managers::Detect('/sys/fs/cgroup') | Should -Be 'V2'
        Test-Path /sys/fs/cgroup/memory | Should -BeFalse
    }

    It 'delegates controllers through subtree_control and writes the limits' {
        $m = New-Cgroup @{ MemoryBytes = 64MB; PidsLimit = 12; Cpus = 0.5; CpuShares = 1024 }
        $m.GetType().Name | Should -Be 'CgroupV2Manager'
        $dir = $m.CgroupPath
        $dir | Should -Be "$Parent/$($m.ContainerId)"
        foreach ($c in 'cpu', 'memory', 'pids') {
            (Get-Content "$Parent/cgroup.subtree_control") -split ' ' | Should -Contain $c
            (Get-Content "$dir/cgroup.controllers") -split ' ' | Should -Contain $c
        }
        Get-Content "$dir/memory.max" | Should -Be '67108864'
        Get-Content "$dir/pids.max" | Should -Be '12'
        Get-Content "$dir/cpu.max" | Should -Be '50000 100000'
        Get-Content "$dir/cpu.weight" | Should -Be '39'
    }

    It 'OOM-kills a process past memory.max and counts it in memory.events' {
        $m = New-Cgroup @{ MemoryBytes = 32MB; MemorySwapBytes = 32MB }
        $p = Start-Gated 'dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; echo "rc=$?"'
        $m.Join($p.Id)
        Open-Gate $p
        (Wait-Output $p).Out | Should -Match 'rc=137'
        Read-Keyed $m.OomKillCounter.Item1 $m.OomKillCounter.Item2 | Should -BeGreaterOrEqual 1
        $m.Stats().OomKills | Should -BeGreaterOrEqual 1
    }

    It 'stops forks at pids.max' {
        $m = New-Cgroup @{ PidsLimit = 10 }
        $p = Start-Gated 'for i in $(seq 40); do sleep 30 >/dev/null 2>&1 & done 2>/dev/null; echo "alive=$(cat /sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup)/pids.current)"; exit 0'
        $m.Join($p.Id)
        Open-Gate $p
        $r = Wait-Output $p
        [int]($r.Out -replace '(?s).*alive=(\d+).*', '$1') | Should -BeLessOrEqual 10
        Read-Keyed "$($m.CgroupPath)/pids.events" 'max' | Should -BeGreaterThan 0
        $m.KillAll([TimeSpan]::FromSeconds(20))
    }

    It 'freezes and thaws through cgroup.freeze' {
        $m = New-Cgroup
        $p = Start-Gated 'while :; do sleep 0.1; done'
        $m.Join($p.Id)
        Open-Gate $p
        $m.Freeze()
        $m.IsFrozen | Should -BeTrue
        Read-Keyed "$($m.CgroupPath)/cgroup.events" 'frozen' | Should -Be 1
        $before = $m.Stats().CpuTime
        Start-Sleep -Milliseconds 500
        $m.Stats().CpuTime | Should -Be $before -Because 'a frozen cgroup uses no CPU'
        $m.Thaw()
        $m.IsFrozen | Should -BeFalse
        Read-Keyed "$($m.CgroupPath)/cgroup.events" 'frozen' | Should -Be 0
        $m.KillAll([TimeSpan]::FromSeconds(20))
    }

    It 'kills a whole subtree with cgroup.kill' {
        $m = New-Cgroup
        Test-Path "$($m.CgroupPath)/cgroup.kill" | Should -BeTrue
        $p = Start-Gated 'sleep 60 & sleep 60 & sh -c "sleep 60 & wait" & wait'
        $m.Join($p.Id)
        Open-Gate $p
        Wait-Until { $m.Pids().Count -ge 5 } | Should -BeTrue
        $m.KillAll([TimeSpan]::FromSeconds(20))
        Read-Keyed "$($m.CgroupPath)/cgroup.events" 'populated' | Should -Be 0
        $p.WaitForExit(10000) | Should -BeTrue
        $p.ExitCode | Should -Be 137
    }

    It 'removes a populated cgroup and its empty parent with Destroy' {
        $path = New-TestStorageRoot 'cgv2parent'
        $root = [Containers.Engine.State.StorageRoot]::Resolve($path)
        $m = New-Cgroup -Root $root
        $p = Start-Gated 'sleep 60 & sleep 60 & wait'
        $m.Join($p.Id)
        Open-Gate $p
        Wait-Until { $m.Pids().Count -ge 3 } | Should -BeTrue
        # the kernel refuses to remove a populated cgroup: that is what Destroy has to handle
        & rmdir $m.CgroupPath 2>$null
        $LASTEXITCODE | Should -Not -Be 0
        $m.Destroy()
        $m.Exists | Should -BeFalse
        Test-Path "/sys/fs/cgroup/pscontainers-$($root.ScopeId)" | Should -BeFalse
        $p.WaitForExit(10000) | Should -BeTrue
        Remove-TestStorageRoot $path
    }

    It 'refuses a process in the parent once controllers are delegated (no internal processes)' {
        $m = New-Cgroup
        $p = Start-Gated 'sleep 60'
        $script:Started.Add($p)
        # the kernel answers EBUSY (dash reports any failed write as "I/O error")
        $null = & sh -c "echo $($p.Id) > $Parent/cgroup.procs" 2>&1
        $LASTEXITCODE | Should -Not -Be 0
        Get-Content "$Parent/cgroup.procs" | Should -BeNullOrEmpty
        $p.Kill(); $p.WaitForExit(5000) | Out-Null
    }

    It 'reports a parent holding processes as CgroupParentHasProcesses and leaves no child' {
        $path = New-TestStorageRoot 'cgv2busy'
        $root = [Containers.Engine.State.StorageRoot]::Resolve($path)
        $parent = "/sys/fs/cgroup/pscontainers-$($root.ScopeId)"
        New-Item -ItemType Directory -Path $parent | Out-Null
        $p = Start-Gated 'sleep 60'
        try {
            & sh -c "echo $($p.Id) > $parent/cgroup.procs"   # allowed: nothing delegated yet
            $LASTEXITCODE | Should -Be 0
            $m = $Managers::Create($root, 'blocked')
            Get-EngineErrorId { $m.Create([Containers.Engine.Cgroups.CgroupResources]::new()) } | Should -BeLike 'CgroupParentHasProcesses:*'
            Test-Path "$parent/blocked" | Should -BeFalse
        }
        finally {
            & sh -c "echo $($p.Id) > /sys/fs/cgroup/cgroup.procs"
            $p.Kill(); $p.WaitForExit(5000) | Out-Null
            & rmdir $parent 2>$null
            Remove-TestStorageRoot $path
        }
        Test-Path $parent | Should -BeFalse
    }

    It 'denies a block device through the BPF device filter but allows /dev/null and mknod' {
        $m = New-Cgroup
        $m.DeviceProgram | Should -Not -BeNullOrEmpty
        $dir = Join-Path $script:RootPath 'tmp'
        & mknod "$dir/blk" b 7 0
        $outside = & sh -c "head -c 1 $dir/blk 2>&1 >/dev/null; true"
        "$outside" | Should -Not -Match 'Operation not permitted' -Because 'outside the cgroup the open reaches the driver'
        $p = Start-Gated "head -c 1 $dir/blk 2>&1 >/dev/null; echo `"blk=`$?`"; echo x > /dev/null && echo null=ok; mknod $dir/blk2 b 7 1 && echo mknod=ok; head -c 1 /dev/urandom >/dev/null && echo urandom=ok"
        $m.Join($p.Id)
        Open-Gate $p
        $r = Wait-Output $p
        $r.Out | Should -Match 'Operation not permitted'
        $r.Out | Should -Match 'blk=1'
        $r.Out | Should -Match 'null=ok'
        $r.Out | Should -Match 'mknod=ok'
        $r.Out | Should -Match 'urandom=ok'
    }

    It 'throttles a busy loop with -Cpus 0.5 (cpu.stat)' {
        $m = New-Cgroup @{ Cpus = 0.5 }
        $p = Start-Gated 'while :; do :; done'
        $m.Join($p.Id)
        Open-Gate $p
        Start-Sleep -Seconds 2
        $s = $m.Stats()
        $m.KillAll([TimeSpan]::FromSeconds(20))
        $s.ThrottledPeriods | Should -BeGreaterThan 0
        $s.ThrottledTime | Should -BeGreaterThan ([TimeSpan]::Zero)
    }

    It 'leaves no cgroup of the test root behind' {
        foreach ($m in @($script:Made)) { $m.Destroy() }
        Test-Path $Parent | Should -BeFalse
    }
}
