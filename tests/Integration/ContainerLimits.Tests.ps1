# Container-level cgroup limits on this host's cgroup v1 hierarchy, through the cmdlets with real containers:
# memory (OOM kill inside only), pids (fork bomb), CPU quota (throttling), devices (mknod but no open),
# stats and freezer. The same cases on cgroup v2 live in tests/VM/CgroupV2Containers.Tests.ps1.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'limits'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $script:img = Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name limits-bb:1 -StorageRoot $script:root
    }
    # A block device the host itself can open: the host's disk first (vda, sda, nvme0n1...), else a loop or zram
    # device. On this sandboxed host even root cannot open /dev/vda (EPERM outside any container), so a refusal
    # inside the container would prove nothing there; the devices cgroup denies every block device alike.
    $script:disk = Get-ChildItem /sys/block -ErrorAction SilentlyContinue |
        Sort-Object { if ($_.Name -match '^(loop|zram|ram|dm-)') { 1 } else { 0 } }, Name |
        Where-Object {
            try { [IO.File]::OpenRead("/dev/$($_.Name)").Dispose(); $true } catch { $false }
        } | Select-Object -First 1
    function script:Ctr([string] $name) { Get-Container -All $name }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'container limits on cgroup v1' {
    It 'OOM-kills a process allocating past -Memory inside the container only (exit 137, OomKilled)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $bystander = New-Container -Image limits-bb:1 -Name oom-bystander -Network none -Command sleep, 600 | Start-Container -PassThru
        try {
            # dd holds its whole 96 MiB block in memory: far past a 16 MiB limit with no swap to hide it
            $c = New-Container -Image limits-bb:1 -Name oom -Network none -Memory 16MB -MemorySwap 16MB `
                -Command dd, 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1'
            $done = $c | Start-Container -PassThru | Wait-Container -Timeout 60
            $done.ExitCode | Should -Be 137
            $done.OomKilled | Should -BeTrue
            (Ctr oom).OomKilled | Should -BeTrue
            # the host is unaffected: this pwsh is alive and the other container still runs
            (Get-Process -Id $PID).HasExited | Should -BeFalse
            (Ctr oom-bystander).Status | Should -Be 'Running'
            (Invoke-ContainerCommand oom-bystander -Command echo, alive).Output | Should -Match 'alive'
        }
        finally {
            Remove-Container oom, oom-bystander -Force -ErrorAction SilentlyContinue
        }
    }

    It 'stops a fork bomb with -PidsLimit' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        try {
            $r = Invoke-ContainerImage -Image limits-bb:1 -Name bomb -Network none -PidsLimit 20 `
                -Command sh, -c, 'for i in $(seq 100); do sleep 30 & echo "started $i"; done; echo done'
            $started = @($r.Output -split "`n" | Where-Object { $_ -match '^started (\d+)$' } | ForEach-Object { [int]$Matches[1] })
            $started.Count | Should -BeGreaterThan 0
            # sh itself counts against the limit, so fewer than 20 background sleeps can start; busybox ash
            # gives up a non-interactive script at the first failed fork
            ($started | Measure-Object -Maximum).Maximum | Should -BeLessThan 20
            $r.Error | Should -Match "can't fork|Resource temporarily unavailable"
        }
        finally {
            Remove-Container bomb -Force -ErrorAction SilentlyContinue
        }
    }

    It 'keeps the process count of a running fork bomb at or below -PidsLimit' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        try {
            $null = New-Container -Image limits-bb:1 -Name bomb2 -Network none -PidsLimit 20 `
                -Command sh, -c, '(for i in $(seq 100); do sleep 600 & done); echo spawned; exec sleep 600' | Start-Container -PassThru
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (-not ((Get-ContainerLog bomb2) -match 'spawned') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
            $log = (Get-ContainerLog bomb2) -join "`n"
            $log | Should -Match 'spawned'
            # busybox ash gives up the loop (in its subshell) at the first failed fork
            $log | Should -Match "can't fork|Resource temporarily unavailable"
            $stats = Measure-Container bomb2
            $stats.PidsLimit | Should -Be 20
            $stats.Pids | Should -BeGreaterThan 1
            $stats.Pids | Should -BeLessOrEqual 20
            @(Get-ContainerProcess bomb2).Count | Should -BeLessOrEqual 20
        }
        finally {
            Remove-Container bomb2 -Force -ErrorAction SilentlyContinue
        }
    }

    It 'throttles a busy container to -Cpus 0.5 (CFS throttled periods, CPU time within the quota)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        try {
            # two busy loops would use up to 2 CPUs; the quota allows 0.5 of one
            $null = New-Container -Image limits-bb:1 -Name cpu -Network none -Cpus 0.5 `
                -Command sh, -c, 'while :; do :; done & while :; do :; done' | Start-Container -PassThru
            # the wall clock spans both readings, so it is never shorter than the interval the CPU time covers
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $before = Measure-Container cpu
            Start-Sleep -Seconds 2
            $after = Measure-Container cpu
            $wall = $sw.Elapsed
            $used = $after.CpuTime - $before.CpuTime
            $used | Should -BeGreaterThan ([TimeSpan]::Zero)
            # at most 0.5 CPU over the wall time seen here, with 20 % plus one period of slack
            $used.TotalMilliseconds | Should -BeLessOrEqual (0.5 * $wall.TotalMilliseconds * 1.2 + 100)
            $after.ThrottledPeriods | Should -BeGreaterThan 0
            $after.ThrottledTime | Should -BeGreaterThan ([TimeSpan]::Zero)
        }
        finally {
            Remove-Container cpu -Force -ErrorAction SilentlyContinue
        }
    }

    It 'lets a container mknod a host block device (the disk when openable) but not open it, while /dev/null opens' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition ($null -ne $script:disk) -Because 'needs a block device the host can open')) { return }
        $maj, $min = (Get-Content -LiteralPath (Join-Path $script:disk.FullName 'dev')).Trim() -split ':'
        try {
            # the host's user namespace: this is the devices cgroup's test, and in a user namespace of its own (the
            # default, Auto) the kernel refuses mknod before the cgroup is asked
            $r = Invoke-ContainerImage -Image limits-bb:1 -Name devs -Network none -UserNamespace Host `
                -Command sh, -c, "mknod /tmp/disk b $maj $min && echo mknod=ok; head -c 1 /tmp/disk >/dev/null && echo open=ok; echo x >/dev/null && echo null=ok"
            $r.Output | Should -Match 'mknod=ok'
            $r.Output | Should -Not -Match 'open=ok'
            $r.Output | Should -Match 'null=ok'
            $r.Error | Should -Match 'Operation not permitted'
        }
        finally {
            Remove-Container devs -Force -ErrorAction SilentlyContinue
        }
    }

    It 'lets a -Privileged container open that node (so the refusal above is the devices cgroup)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition ($null -ne $script:disk) -Because 'needs a block device the host can open')) { return }
        $maj, $min = (Get-Content -LiteralPath (Join-Path $script:disk.FullName 'dev')).Trim() -split ':'
        try {
            # reads one byte of the disk into /dev/null: nothing is written
            $r = Invoke-ContainerImage -Image limits-bb:1 -Name devs-priv -Network none -Privileged `
                -Command sh, -c, "mknod /tmp/disk b $maj $min && echo mknod=ok; head -c 1 /tmp/disk >/dev/null && echo open=ok; grep CapEff /proc/self/status"
            $r.ExitCode | Should -Be 0
            $r.Output | Should -Match 'mknod=ok'
            $r.Output | Should -Match 'open=ok'
            # privileged means every capability we have ourselves (root here lacks CAP_SYS_RESOURCE)
            $hostBnd = ((Get-Content /proc/self/status) -match '^CapBnd:')[0] -replace '^CapBnd:\s+'
            $r.Output | Should -Match "CapEff:\s+$hostBnd"
        }
        finally {
            Remove-Container devs-priv -Force -ErrorAction SilentlyContinue
        }
    }

    It 'measures a running container and freezes and thaws it (Suspend/Resume)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        try {
            # a counter that advances every ~0.1 s into a file
            $null = New-Container -Image limits-bb:1 -Name frz -Network none -Memory 64MB -PidsLimit 50 `
                -Command sh, -c, 'i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.1; done' | Start-Container -PassThru
            # the counter has started (a loaded machine may take a while to run the shell's first loop)
            $counter = "/proc/$((Ctr frz).Pid)/root/tmp/n"
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ([DateTime]::UtcNow -lt $deadline -and [int](Get-Content -LiteralPath $counter -ErrorAction SilentlyContinue) -lt 2) { Start-Sleep -Milliseconds 100 }
            $s = Measure-Container frz
            $s.ContainerName | Should -Be 'frz'
            $s.CpuTime | Should -BeGreaterThan ([TimeSpan]::Zero)
            $s.MemoryBytes | Should -BeGreaterThan 0
            $s.MemoryLimitBytes | Should -Be 64MB
            $s.Pids | Should -BeGreaterOrEqual 1
            $s.PidsLimit | Should -Be 50

            Suspend-Container frz -PassThru | ForEach-Object Status | Should -Be 'Paused'
            (Ctr frz).Status | Should -Be 'Paused'
            $read = { (Invoke-ContainerCommand frz -Command cat, /tmp/n).Output.Trim() }
            # exec cannot run in a frozen container; read the counter from the host through /proc/<pid>/root
            $hostPid = (Ctr frz).Pid
            $n1 = (Get-Content -LiteralPath "/proc/$hostPid/root/tmp/n").Trim()
            Start-Sleep -Milliseconds 600
            $n2 = (Get-Content -LiteralPath "/proc/$hostPid/root/tmp/n").Trim()
            $n2 | Should -Be $n1

            Resume-Container frz -PassThru | ForEach-Object Status | Should -Be 'Running'
            (Ctr frz).Status | Should -Be 'Running'
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            do { Start-Sleep -Milliseconds 200; $n3 = [int](& $read) } until ($n3 -gt [int]$n2 -or [DateTime]::UtcNow -gt $deadline)
            $n3 | Should -BeGreaterThan ([int]$n2)
        }
        finally {
            Remove-Container frz -Force -ErrorAction SilentlyContinue
        }
    }

    It 'reports errors for unknown containers' -TestCases @(
        @{ Cmd = 'Measure-Container'; Class = 'MeasureContainerCommand' }
        @{ Cmd = 'Suspend-Container'; Class = 'SuspendContainerCommand' }
        @{ Cmd = 'Resume-Container'; Class = 'ResumeContainerCommand' }
    ) {
        param($Cmd, $Class)
        { & $Cmd -Name 'no-such-container' -ErrorAction Stop } | Should -Throw -ErrorId "ContainerNotFound,Containers.Cmdlets.Runtime.$Class"
    }
}
