# The cgroup manager on this host's real cgroup v1 hierarchies, as root: limits land in the files, real
# processes are OOM-killed, stopped from forking, frozen, denied block devices, throttled; Destroy leaves
# nothing. Every cgroup sits under pscontainers-<scope id of a test storage root>, so the leak check sees leftovers.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    $script:Managers = [Containers.Engine.Cgroups.CgroupManagers]
    $script:RootPath = New-TestStorageRoot 'cgroups'
    $script:Root = [Containers.Engine.State.StorageRoot]::Resolve($script:RootPath)
    $script:Started = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
    $script:Made = [System.Collections.Generic.List[object]]::new()

    function New-Cgroup([hashtable] $Set = @{}) {
        $r = [Containers.Engine.Cgroups.CgroupResources]::new()
        foreach ($k in $Set.Keys) { $r.$k = $Set[$k] }
        $m = $Managers::Create($script:Root, 'c' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:Made.Add($m)
        $m.Create($r)
        $m
    }
    # Starts /bin/sh running $Script only after a line arrives on stdin, so it can join the cgroup first.
    function Start-Gated([string] $Script) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
        $psi.ArgumentList.Add('-c'); $psi.ArgumentList.Add("read x; $Script")
        $psi.RedirectStandardInput = $true; $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $p = [System.Diagnostics.Process]::Start($psi)
        $script:Started.Add($p)
        $p
    }
    function Open-Gate($p) { $p.StandardInput.WriteLine('go'); $p.StandardInput.Flush() }
    function Wait-Output($p, [int] $Seconds = 30) {
        $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($Seconds * 1000)) { throw "process $($p.Id) did not end in $Seconds s" }
        [pscustomobject]@{ Out = $out.Result; Err = $err.Result; ExitCode = $p.ExitCode }
    }
    function Get-EngineErrorId([scriptblock] $Action) {
        try { & $Action; return 'NoError' }
        catch {
            $e = $_.Exception
            while ($e -and $e -isnot [Containers.Engine.Errors.ContainersException]) { $e = $e.InnerException }
            if ($e) { return $e.ErrorId } else { return $_.Exception.GetType().Name }
        }
    }
    $script:Parent = "pscontainers-$($script:Root.ScopeId)"
}

AfterAll {
    foreach ($m in $script:Made) { try { $m.Destroy() } catch { Write-Warning "cgroup cleanup: $_" } }
    foreach ($p in $script:Started) { if (-not $p.HasExited) { $p.Kill($true); $p.WaitForExit(5000) | Out-Null } }
    Remove-TestStorageRoot $script:RootPath
}

Describe 'cgroup v1 manager on this host' -Tag 'Integration', 'Cgroups' {
    BeforeAll {
        $script:V1 = $Managers::Detect('/sys/fs/cgroup') -eq 'V1'
    }
    BeforeEach {
        if (-not (Test-Prerequisite -Condition ($script:IsRoot -and $script:V1) -Because 'needs root on a cgroup v1 (hybrid) host')) { return }
    }

    It 'creates the cgroup in every hierarchy with the limits in the files' {
        $m = New-Cgroup @{ MemoryBytes = 64MB; PidsLimit = 12; Cpus = 0.5; CpuShares = 512 }
        $m.RelativePath | Should -Be "$Parent/$($m.ContainerId)"
        Get-Content "/sys/fs/cgroup/memory/$($m.RelativePath)/memory.limit_in_bytes" | Should -Be '67108864'
        Get-Content "/sys/fs/cgroup/pids/$($m.RelativePath)/pids.max" | Should -Be '12'
        Get-Content "/sys/fs/cgroup/cpu/$($m.RelativePath)/cpu.cfs_quota_us" | Should -Be '50000'
        Get-Content "/sys/fs/cgroup/cpu/$($m.RelativePath)/cpu.shares" | Should -Be '512'
        Get-Content "/sys/fs/cgroup/cpuset/$($m.RelativePath)/cpuset.cpus" | Should -Be (Get-Content /sys/fs/cgroup/cpuset/cpuset.cpus)
        $list = @(Get-Content "/sys/fs/cgroup/devices/$($m.RelativePath)/devices.list")
        $list | Should -Contain 'c 1:3 rwm'
        $list | Should -Contain 'b *:* m'
        $list | Should -Not -Contain 'a *:* rwm'
        $m.ProcsFiles | ForEach-Object { Test-Path $_ | Should -BeTrue }
    }

    It 'puts a real process in every hierarchy with Join' {
        $m = New-Cgroup
        $p = Start-Gated 'sleep 30'
        $m.Join($p.Id)
        $m.Pids() | Should -Contain $p.Id
        $lines = Get-Content "/proc/$($p.Id)/cgroup"
        ($lines | Where-Object { $_ -match ':memory:' }) | Should -Be "$(($lines | Where-Object { $_ -match ':memory:' }).Split(':')[0]):memory:/$($m.RelativePath)"
        ($lines | Where-Object { $_ -match ':freezer:' }) | Should -Match ([regex]::Escape("/$($m.RelativePath)") + '$')
        $m.KillAll([TimeSpan]::FromSeconds(10))
        $m.Pids() | Should -BeNullOrEmpty
        $p.WaitForExit(5000) | Should -BeTrue
    }

    It 'OOM-kills a process allocating past the memory limit and counts it' {
        $m = New-Cgroup @{ MemoryBytes = 32MB; MemorySwapBytes = 32MB }
        $p = Start-Gated 'dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; echo "rc=$?"'
        $m.Join($p.Id)
        Open-Gate $p
        $r = Wait-Output $p
        $r.Out | Should -Match 'rc=137'
        $file, $key = $m.OomKillCounter.Item1, $m.OomKillCounter.Item2
        $counter = (Get-Content $file | Where-Object { $_ -like "$key *" }).Split(' ')[1]
        [int]$counter | Should -BeGreaterOrEqual 1
        $m.Stats().OomKills | Should -BeGreaterOrEqual 1
    }

    It 'stops forks at the pids limit' {
        $m = New-Cgroup @{ PidsLimit = 10 }
        $p = Start-Gated 'n=0; for i in $(seq 50); do if sleep 5 >/dev/null 2>&1 & then n=$((n+1)); fi; done 2>/dev/null; echo "alive=$(cat /sys/fs/cgroup/pids/$(grep :pids: /proc/self/cgroup | cut -d: -f3)/pids.current)"; kill $(jobs -p) 2>/dev/null; exit 0'
        $m.Join($p.Id)
        Open-Gate $p
        $r = Wait-Output $p
        $s = $m.Stats()
        $s.PidsLimit | Should -Be 10
        [int]($r.Out -replace '(?s).*alive=(\d+).*', '$1') | Should -BeLessOrEqual 10
        (Get-Content "/sys/fs/cgroup/pids/$($m.RelativePath)/pids.events") | Should -Not -Be 'max 0'
        $m.KillAll([TimeSpan]::FromSeconds(10))
    }

    It 'freezes and thaws a process' {
        $m = New-Cgroup
        $p = Start-Gated 'sleep 30'
        $m.Join($p.Id)
        $m.Freeze()
        $m.IsFrozen | Should -BeTrue
        Get-Content "/sys/fs/cgroup/freezer/$($m.RelativePath)/freezer.state" | Should -Be 'FROZEN'
        $m.Thaw()
        $m.IsFrozen | Should -BeFalse
        Get-Content "/sys/fs/cgroup/freezer/$($m.RelativePath)/freezer.state" | Should -Be 'THAWED'
        $m.KillAll([TimeSpan]::FromSeconds(10))
    }

    It 'denies opening a block device node for the host''s disk but allows /dev/null' {
        $disk = Get-ChildItem /sys/block -Directory -ErrorAction SilentlyContinue | Where-Object Name -notmatch '^(loop|ram|zram|nbd)' | Select-Object -First 1
        if (-not (Test-Prerequisite -Condition ([bool]$disk) -Because 'needs a disk in /sys/block')) { return }
        $majmin = (Get-Content "$($disk.FullName)/dev").Trim()
        $node = Join-Path $script:RootPath 'tmp/disk-node'
        & mknod $node b $majmin.Split(':')[0] $majmin.Split(':')[1]
        $LASTEXITCODE | Should -Be 0
        $m = New-Cgroup
        $p = Start-Gated "head -c 1 $node >/dev/null 2>/tmp/.cg-dev-$PID; echo `"disk=`$?`"; cat /tmp/.cg-dev-$PID; rm -f /tmp/.cg-dev-$PID; echo ok > /dev/null && echo null=ok"
        $m.Join($p.Id)
        Open-Gate $p
        $r = Wait-Output $p
        $r.Out | Should -Match 'disk=1'
        $r.Out | Should -Match 'Operation not permitted'
        $r.Out | Should -Match 'null=ok'
        Remove-Item $node
    }

    It 'throttles a busy loop to half a CPU with -Cpus 0.5' {
        $m = New-Cgroup @{ Cpus = 0.5 }
        $p = Start-Gated 'while :; do :; done'
        $m.Join($p.Id)
        $sw = [Diagnostics.Stopwatch]::StartNew()
        Open-Gate $p
        Start-Sleep -Milliseconds 1500
        $s = $m.Stats()
        $wall = $sw.Elapsed
        $m.KillAll([TimeSpan]::FromSeconds(10))
        $s.ThrottledPeriods | Should -BeGreaterThan 0
        $s.ThrottledTime | Should -BeGreaterThan ([TimeSpan]::Zero)
        $s.CpuTime.TotalSeconds | Should -BeLessThan ($wall.TotalSeconds * 0.75)
    }

    It 'raises a limit live with Update' {
        $m = New-Cgroup @{ PidsLimit = 5; MemoryBytes = 32MB }
        $m.Update(([Containers.Engine.Cgroups.CgroupResources]@{ PidsLimit = 50; MemoryBytes = 128MB }))
        Get-Content "/sys/fs/cgroup/pids/$($m.RelativePath)/pids.max" | Should -Be '50'
        Get-Content "/sys/fs/cgroup/memory/$($m.RelativePath)/memory.limit_in_bytes" | Should -Be '134217728'
    }


    It 'Destroy of a populated cgroup kills its processes and leaves no directory' {
        $m = New-Cgroup @{ PidsLimit = 20 }
        $p = Start-Gated 'sleep 60 & sleep 60 & sh -c "sleep 60" & wait'
        $m.Join($p.Id)
        Open-Gate $p
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ($m.Pids().Count -lt 5 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        $m.Pids().Count | Should -BeGreaterOrEqual 5
        $m.Destroy()
        $p.WaitForExit(5000) | Should -BeTrue
        $m.Exists | Should -BeFalse
        @(Get-ChildItem /sys/fs/cgroup/*/ -Directory | Where-Object { Test-Path (Join-Path $_.FullName $m.RelativePath) }) | Should -BeNullOrEmpty
    }

    It 'removes the shared parent with its last container cgroup' {
        # a storage root of its own, so the other tests' cgroups do not keep the parent
        $path = New-TestStorageRoot 'cgparent'
        $root = [Containers.Engine.State.StorageRoot]::Resolve($path)
        $parent = "pscontainers-$($root.ScopeId)"
        $a = $Managers::Create($root, 'a'); $script:Made.Add($a); $a.Create([Containers.Engine.Cgroups.CgroupResources]::new())
        $b = $Managers::Create($root, 'b'); $script:Made.Add($b); $b.Create([Containers.Engine.Cgroups.CgroupResources]::new())
        $a.Destroy()
        Test-Path "/sys/fs/cgroup/memory/$parent" | Should -BeTrue
        $b.Destroy()
        @(Get-ChildItem /sys/fs/cgroup -Directory | Where-Object { Test-Path (Join-Path $_.FullName $parent) }) | Should -BeNullOrEmpty
        Remove-TestStorageRoot $path
    }

    It 'reports a bad cpuset as CgroupValueInvalid and leaves no cgroup' {
        $m = $Managers::Create($script:Root, 'badcpuset')
        Get-EngineErrorId { $m.Create(([Containers.Engine.Cgroups.CgroupResources]@{ CpusetCpus = '999' })) } | Should -Be 'CgroupValueInvalid'
        $m.Exists | Should -BeFalse
    }
}
