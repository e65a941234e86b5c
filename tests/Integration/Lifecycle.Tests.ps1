# The container lifecycle around what can go wrong: a monitor killed with kill -9 (the engine ends the
# unsupervised process at the next read, shows ExitReason MonitorLost and applies the restart policy), cgroups
# removed when a container ends with its final figures kept for Measure-Container, and OomKilled for an OOM
# kill of any process of the container, not only its first.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'lifecycle'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) { $null = Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name life-bb:1 -StorageRoot $script:root }

    function script:Status([string] $id) { Get-Content -LiteralPath (Join-Path $script:root "containers/$id/status") -Raw | ConvertFrom-StringData }
    # a process that runs (not gone, not a zombie waiting for a reaper)
    function script:Running([int] $procId) {
        try { $s = [IO.File]::ReadAllText("/proc/$procId/stat") } catch { return $false }
        $s.Substring($s.LastIndexOf(')') + 2, 1) -notin 'Z', 'X'
    }
    function script:CgroupDirs([string] $id) { @(Get-ChildItem -Directory /sys/fs/cgroup/*/pscontainers-*/$id, /sys/fs/cgroup/pscontainers-*/$id -ErrorAction SilentlyContinue) }
    function script:WaitFor([scriptblock] $Condition, [int] $Seconds = 20) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        [bool](& $Condition)
    }
}
AfterAll { Remove-TestStorageRoot $script:root }

Describe 'A container whose monitor was killed' {
    It 'is ended at the next read: Exited, exit code 137, ExitReason MonitorLost, its process stopped and its cgroup gone' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $c = New-Container -Image life-bb:1 -Name lost -Network none -Command sleep, 600 | Start-Container -PassThru
        $st = Status $c.Id
        $monitor = [int]$st.monitorpid
        $procId = [int]$st.pid
        Running $monitor | Should -BeTrue
        & kill -9 $monitor
        WaitFor { -not (Running $monitor) } | Should -BeTrue
        # the attack's result before any read: the container's process runs on, unsupervised
        Running $procId | Should -BeTrue
        $g = Get-Container lost
        $g.Status | Should -Be 'Exited'
        $g.ExitCode | Should -Be 137
        $g.ExitReason | Should -BeExactly 'MonitorLost'
        $g.Error | Should -BeLike "*monitor (pid $monitor)*stopped the unsupervised process*"
        $g.Pid | Should -BeNullOrEmpty
        Running $procId | Should -BeFalse
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        # the end is recorded, not only computed: another session reads the same
        (Status $c.Id).reason | Should -BeExactly 'MonitorLost'
        (Status $c.Id).state | Should -BeExactly 'exited'
        # its figures were kept when the engine ended it
        $m = Measure-Container lost
        $m.MemoryMaxUsageBytes | Should -BeGreaterThan 0
        # and it starts again like any exited container, under a new monitor, without the old reason
        $again = Start-Container lost -PassThru
        $again.Status | Should -Be 'Running'
        $again.ExitReason | Should -BeNullOrEmpty
        (Status $c.Id).monitorpid | Should -Not -Be $monitor
        Remove-Container lost -Force
    }

    It 'with -RestartPolicy always is back under a new monitor after the next command that reads the root' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $c = New-Container -Image life-bb:1 -Name lost-always -Network none -RestartPolicy always -Command sleep, 600 | Start-Container -PassThru
        $st = Status $c.Id
        & kill -9 ([int]$st.monitorpid)
        WaitFor { -not (Running ([int]$st.monitorpid)) } | Should -BeTrue
        $g = @(Get-Container -All) | Where-Object Name -eq 'lost-always'
        $g.Status | Should -Be 'Running'
        $g.RestartCount | Should -Be 1
        $g.Pid | Should -Not -Be ([int]$st.pid)
        Running ([int]$st.pid) | Should -BeFalse
        $now = Status $c.Id
        $now.monitorpid | Should -Not -Be $st.monitorpid
        Running ([int]$now.monitorpid) | Should -BeTrue
        # supervised again: the new monitor restarts the process when it is killed
        & kill -9 ([int]$now.pid)
        WaitFor { $s = Status $c.Id; $s.state -eq 'running' -and $s.pid -ne $now.pid } | Should -BeTrue
        (Get-Container lost-always).RestartCount | Should -Be 2
        Stop-Container lost-always -Timeout 1
        (Get-Container lost-always).Status | Should -Be 'Exited'
        Remove-Container lost-always
        CgroupDirs $c.Id | Should -BeNullOrEmpty
    }

    It 'is finished by Stop-Container without a restart, and by Start-Container before the new start' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $c = New-Container -Image life-bb:1 -Name lost-ops -Network none -Command sleep, 600 | Start-Container -PassThru
        $st = Status $c.Id
        & kill -9 ([int]$st.monitorpid)
        WaitFor { -not (Running ([int]$st.monitorpid)) } | Should -BeTrue
        # Start by its full id takes the lock and finds the lost run first: the old process does not run beside the new one
        $started = Start-Container $c.Id -PassThru
        $started.Status | Should -Be 'Running'
        Running ([int]$st.pid) | Should -BeFalse
        $st2 = Status $c.Id
        & kill -9 ([int]$st2.monitorpid)
        WaitFor { -not (Running ([int]$st2.monitorpid)) } | Should -BeTrue
        $stopped = Stop-Container $c.Id -PassThru
        $stopped.Status | Should -Be 'Exited'
        Running ([int]$st2.pid) | Should -BeFalse
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        Remove-Container $c.Id
    }
}

Describe 'Cgroups of a container that has ended' {
    It 'are removed when the container exits; Measure-Container answers from the recorded figures' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        # a little CPU work so the recorded CPU time is clearly above zero
        $c = New-Container -Image life-bb:1 -Name ended -Network none -Command sh, -c, 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo done'
        $done = $c | Start-Container -PassThru | Wait-Container -Timeout 60
        $done.ExitCode | Should -Be 0
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        $m = Measure-Container ended
        $m.CpuTime | Should -BeGreaterThan ([TimeSpan]::FromMilliseconds(20))
        $m.MemoryMaxUsageBytes | Should -BeGreaterThan 0
        $m.OomKills | Should -Be 0
        $m.Pids | Should -Be 0
        # a stopped container too
        $s = New-Container -Image life-bb:1 -Name ended-stop -Network none -Command sleep, 600 | Start-Container -PassThru
        CgroupDirs $s.Id | Should -Not -BeNullOrEmpty
        Stop-Container ended-stop -Timeout 0
        CgroupDirs $s.Id | Should -BeNullOrEmpty
        (Measure-Container ended-stop).MemoryMaxUsageBytes | Should -BeGreaterThan 0
        # a container never started has no figures
        $null = New-Container -Image life-bb:1 -Name never -Network none -Command true
        { Measure-Container never -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotRunning,Containers.Cmdlets.Runtime.MeasureContainerCommand'
        Remove-Container ended, ended-stop, never
    }

    It 'stay between the restarts of a restart policy and go when it ends' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $c = New-Container -Image life-bb:1 -Name flaky -Network none -RestartPolicy on-failure:2 -Command sh, -c, 'sleep 0.3; exit 3' | Start-Container -PassThru
        $final = Wait-Container flaky -Timeout 60
        $final.RestartCount | Should -Be 2
        $final.ExitCode | Should -Be 3
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        Remove-Container flaky
    }
}

Describe 'OomKilled' {
    It 'is true when a child of the container (not its first process) is OOM-killed' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        # dd holds its 96 MiB block in memory, past a 16 MiB limit with no swap; the shell (PID 1) goes on and exits 0
        $c = New-Container -Image life-bb:1 -Name oom-child -Network none -Memory 16MB -MemorySwap 16MB `
            -Command sh, -c, 'dd if=/dev/zero of=/dev/null bs=96M count=1; echo "dd=$?"; exit 0'
        $done = $c | Start-Container -PassThru | Wait-Container -Timeout 60
        $done.ExitCode | Should -Be 0
        Get-ContainerLog oom-child | Should -Contain 'dd=137'
        $done.OomKilled | Should -BeTrue
        (Measure-Container oom-child).OomKills | Should -BeGreaterOrEqual 1
        Remove-Container oom-child
    }

    It 'is false for a container that exits 137 without an OOM kill' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $c = New-Container -Image life-bb:1 -Name killed -Network none -Memory 16MB -Command sh, -c, 'sleep 0.2; exit 137'
        $done = $c | Start-Container -PassThru | Wait-Container -Timeout 60
        $done.ExitCode | Should -Be 137
        $done.OomKilled | Should -BeFalse
        Remove-Container killed
    }
}

Describe 'Interrupted starts and removals' {
    BeforeAll {
        $script:pwsh = (Get-Process -Id $PID).Path
        $script:pwshArgs = @(if ((Split-Path $script:pwsh -Leaf) -like 'dotnet*') { 'pwsh' })
        # the hierarchies a container's cgroup is made in on this host (v1: one directory each; v2: the one root)
        function script:CgroupParents {
            $scope = Split-Path -Leaf (Split-Path -Parent (CgroupDirs $script:probe.Id)[0].FullName)
            @(Get-ChildItem -Directory /sys/fs/cgroup/*/$scope, /sys/fs/cgroup/$scope -ErrorAction SilentlyContinue)
        }
        function script:Findings([switch] $Repair) { @(Test-ContainerStore -Repair:$Repair -Confirm:$false | Where-Object Kind -in 'InterruptedStart', 'MonitorLost', 'CgroupOrphan', 'RemovalUnfinished') }
        # a running container so the root's cgroup parent exists (and a bystander nothing may touch)
        $script:probe = New-Container -Image life-bb:1 -Name probe -Network none -Command sleep, 600 | Start-Container -PassThru
    }
    AfterAll { Remove-Container probe -Force -ErrorAction SilentlyContinue }

    It 'reports what a start left (cgroups holding a process, the start marker) and the next start finishes it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $c = New-Container -Image life-bb:1 -Name half -Network none -Command sleep, 600
        # the state a pwsh killed between the cgroup's creation and the monitor's answer leaves: the container's
        # cgroup in every hierarchy, a process in it, the marker; the record still says created
        $stray = Start-Process -PassThru -FilePath /bin/sleep -ArgumentList 600
        foreach ($p in CgroupParents) {
            $d = New-Item -ItemType Directory -Path (Join-Path $p.FullName $c.Id)
            if ($p.Name -like '*cpuset*') { foreach ($f in 'cpuset.cpus', 'cpuset.mems') { Set-Content "$d/$f" (Get-Content "$($p.FullName)/$f") } }
            Set-Content "$d/cgroup.procs" $stray.Id
        }
        Set-Content -LiteralPath (Join-Path $script:root "containers/$($c.Id)/starting") ''
        $f = @(Findings)
        $f.Count | Should -Be 1
        $f[0].Kind | Should -BeExactly 'InterruptedStart'
        $f[0].Severity | Should -BeExactly 'Error'
        $f[0].Target | Should -BeExactly (Join-Path $script:root "containers/$($c.Id)")
        $f[0].Message | Should -BeLike '*cgroup directories*'
        $f[0].Repaired | Should -BeFalse
        # the next operation on that container finishes it: the stray process does not run beside the new start
        $started = Start-Container half -PassThru
        $started.Status | Should -Be 'Running'
        $stray.WaitForExit(5000) | Should -BeTrue
        Test-Path (Join-Path $script:root "containers/$($c.Id)/starting") | Should -BeFalse
        Findings | Should -BeNullOrEmpty
        (Get-Container probe).Status | Should -Be 'Running'
        Remove-Container half -Force
        CgroupDirs $c.Id | Should -BeNullOrEmpty
    }

    It 'reports a cgroup of no container and a killed monitor; -Repair finishes both and leaves nothing to report' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $orphanId = 'f' * 64
        foreach ($p in CgroupParents) { $null = New-Item -ItemType Directory -Path (Join-Path $p.FullName $orphanId) }
        $c = New-Container -Image life-bb:1 -Name lost-repair -Network none -RestartPolicy always -Command sleep, 600 | Start-Container -PassThru
        $st = Status $c.Id
        & kill -9 ([int]$st.monitorpid)
        WaitFor { -not (Running ([int]$st.monitorpid)) } | Should -BeTrue
        $f = @(Findings)
        ($f.Kind | Sort-Object) | Should -Be @('CgroupOrphan', 'MonitorLost')
        ($f | Where-Object Kind -eq 'CgroupOrphan').Target | Should -BeLike "*/$orphanId"
        $r = @(Findings -Repair)
        $r.Count | Should -Be 2
        $r.Repaired | Should -Not -Contain $false
        CgroupDirs $orphanId | Should -BeNullOrEmpty
        # repaired as the next command would: ended, and its policy brought it back under a new monitor
        $now = Status $c.Id
        $now.monitorpid | Should -Not -Be $st.monitorpid
        Running ([int]$now.monitorpid) | Should -BeTrue
        Running ([int]$st.pid) | Should -BeFalse
        Findings | Should -BeNullOrEmpty
        (Get-Container probe).Status | Should -Be 'Running'
        Remove-Container lost-repair -Force
    }

    It 'kill -9 of pwsh at random moments of Start-Container and Remove-Container: every listing works, -Repair leaves nothing' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $seed = if ($env:CONTAINERS_LIFECYCLE_SEED) { [int]$env:CONTAINERS_LIFECYCLE_SEED } else { Get-Random -Maximum 1000000 }
        Write-Host "kill seed: $seed (replay with CONTAINERS_LIFECYCLE_SEED=$seed)"
        $rng = [Random]::new($seed)
        $ready = Join-Path $script:root 'ready'
        # half the rounds on a bridge network: a killed start or removal there also leaves the pinned netns, a veth
        # and the network's records half written
        $null = New-ContainerNetwork -Name killnet -StorageRoot $script:root
        $kills = 0
        for ($round = 0; $round -lt 6; $round++) {
            Remove-Item -LiteralPath $ready -ErrorAction SilentlyContinue
            $net = if ($round % 2) { 'killnet' } else { 'none' }
            $code = "`$ErrorActionPreference='Continue'; Import-Module '$script:ModulePath'; `$PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = '$script:root' }; " +
                "Set-Content '$ready' ''; for (`$i = 0; `$i -lt 50; `$i++) { `$n = 'k$round-' + `$i; " +
                "New-Container -Image life-bb:1 -Name `$n -Network $net -Command sleep, 600 | Start-Container; Remove-Container `$n -Force }"
            $p = Start-Process -PassThru -FilePath $script:pwsh -ArgumentList ($script:pwshArgs + @('-NoProfile', '-NonInteractive', '-Command', $code))
            WaitFor { Test-Path -LiteralPath $ready } 60 | Should -BeTrue
            Start-Sleep -Milliseconds ($rng.Next(0, 1500))
            # the pwsh we started (and, with `dotnet pwsh`, its pwsh child: the only processes whose command line
            # holds this code, which names the test's root), never its monitors
            $ours = @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | ForEach-Object {
                    try { if ([IO.File]::ReadAllText("/proc/$($_.Name)/cmdline").Contains($ready) -and [int]$_.Name -ne $PID) { [int]$_.Name } } catch { }
                })
            foreach ($k in $ours) { & kill -9 $k 2>$null }
            $kills++
            $p.WaitForExit()
        }
        $kills | Should -Be 6
        # every listing works and says the truth
        $all = @(Get-Container -All 'k*')
        foreach ($c in $all) { $c.Status | Should -BeIn @('Created', 'Running', 'Exited') }
        $before = @(Findings)
        Write-Host "findings after $kills kills: $(@($before.Kind) -join ', ')"
        $null = Test-ContainerStore -Repair -Confirm:$false
        $left = @(Findings)
        if ($left) { Write-Host ($left | Format-List Kind, Target, Message | Out-String) }
        $left | Should -BeNullOrEmpty
        foreach ($c in @(Get-Container -All 'k*')) {
            if ($c.Status -ne 'Running') { CgroupDirs $c.Id | Should -BeNullOrEmpty }
        }
        $ids = @(Get-Container -All 'k*').Id
        Get-Container -All 'k*' | Remove-Container -Force
        foreach ($id in $ids) {
            CgroupDirs $id | Should -BeNullOrEmpty
            (Get-Content /proc/self/mountinfo) -match $id | Should -BeNullOrEmpty
        }
        Remove-ContainerNetwork killnet -StorageRoot $script:root -Confirm:$false
        # the network's bridge and every veth of the root are gone with it (Leaks.Tests.ps1 checks the rest)
        $scope = Split-Path -Leaf (Split-Path -Parent (CgroupDirs $script:probe.Id)[0].FullName)
        @(& ip -br link) -match ($scope -replace '^pscontainers-', '') | Should -BeNullOrEmpty
        (Get-Container probe).Status | Should -Be 'Running'
    }
}

Describe 'The DNS server of a start that was killed' {
    It 'is used, not started twice, when a killed session did not record its pid (no DnsServerFailed: Address already in use)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $null = New-ContainerNetwork -Name dnsnet -StorageRoot $script:root
        try {
            $null = New-Container -Image life-bb:1 -Name dns-a -Network dnsnet -Command sleep, 600 | Start-Container -PassThru
            $pidFile = Join-Path $script:root 'networks/dns.pid'
            Test-Path -LiteralPath $pidFile | Should -BeTrue
            $server = [int](Get-Content -LiteralPath $pidFile)
            Running $server | Should -BeTrue
            # what a pwsh killed between starting the server and recording it leaves: a server the root does not name
            Remove-Item -LiteralPath $pidFile
            $b = New-Container -Image life-bb:1 -Name dns-b -Network dnsnet -Command sh, -c, 'nslookup dns-a; sleep 600' | Start-Container -PassThru
            $b.Status | Should -Be 'Running'
            # the one server serves the new container's name too
            WaitFor { (Get-ContainerLog dns-b) -match 'Address' } | Should -BeTrue
            ((Get-ContainerLog dns-b) -join "`n") | Should -Match ([regex]::Escape((Get-Container dns-a).IPAddress))
            Running $server | Should -BeTrue
        }
        finally {
            Get-Container -All 'dns-*' | Remove-Container -Force
            Remove-ContainerNetwork dnsnet -StorageRoot $script:root -Confirm:$false
        }
    }
}
