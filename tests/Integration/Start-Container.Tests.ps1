# Lifecycle across sessions: detached containers, the monitor, restart policies, stop/remove, true state after kill -9.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'life'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:pwsh = (Get-Process -Id $PID).Path
    $script:pwshArgs = @(if ((Split-Path $script:pwsh -Leaf) -like 'dotnet*') { 'pwsh' })
    function script:InNewSession([string] $code) {
        $full = "`$ErrorActionPreference='Stop'; Import-Module '$script:ModulePath'; `$PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = '$script:root' }; $code"
        & $script:pwsh @script:pwshArgs -NoProfile -NonInteractive -Command $full
    }
    function script:CgroupDirs([string] $id) { @(Get-ChildItem -Directory /sys/fs/cgroup/*/pscontainers-*/$id -ErrorAction SilentlyContinue) }
    function script:ProcsWith([string] $text) {
        @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | ForEach-Object {
            try { $c = [IO.File]::ReadAllText("/proc/$($_.Name)/cmdline") -replace "`0", ' '; if ($c -like "*$text*") { [int]$_.Name } } catch { }
        })
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Detached containers' {
    It 'keeps running after the starting pwsh exits; a new session lists, reads logs and stops it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        InNewSession "Invoke-ContainerImage -RootFs '$script:rootfs' -Name survivor -Detach -Init -Command sh,-c,'echo started; sleep 600' | Out-Null"
        $LASTEXITCODE | Should -Be 0
        $c = Get-Container survivor
        $c.Status | Should -Be 'Running'
        $c.Pid | Should -BeGreaterThan 0
        $out = InNewSession "(Get-Container survivor).Status; Get-ContainerLog survivor; Stop-Container survivor -Timeout 5 -PassThru | ForEach-Object Status"
        $out | Should -Be @('Running', 'started', 'Exited')
        (Get-Container survivor).Status | Should -Be 'Exited'
        Remove-Container survivor
    }
    It 'supports pipelines: Get-Container -Status Exited | Remove-Container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        1..2 | ForEach-Object { New-Container -RootFs $script:rootfs -Name "pipe$_" -Command true } | Start-Container -PassThru | Wait-Container | Out-Null
        @(Get-Container -Status Exited | Where-Object Name -like 'pipe*').Count | Should -Be 2
        Get-Container -Status Exited | Where-Object Name -like 'pipe*' | Remove-Container
        @(Get-Container -All 'pipe*').Count | Should -Be 0
    }
    It 'refuses to remove a running container without -Force, and -WhatIf changes nothing' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage -RootFs $script:rootfs -Name busy -Detach -Init -Command sleep, 600
        { Remove-Container busy -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerRunning,Containers.Cmdlets.Runtime.RemoveContainerCommand'
        Stop-Container busy -WhatIf
        Remove-Container busy -Force -WhatIf
        (Get-Container busy).Status | Should -Be 'Running'
        Suspend-Container busy -PassThru | ForEach-Object Status | Should -Be 'Paused'
        Resume-Container busy -PassThru | ForEach-Object Status | Should -Be 'Running'
        Rename-Container busy busy2 -PassThru | ForEach-Object Name | Should -Be 'busy2'
        @(Get-ContainerProcess busy2).Pid | Should -Contain 1
        Remove-Container busy2 -Force
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        ProcsWith $c.Id | Should -BeNullOrEmpty
    }
    It 'stops with the stop signal and -Force kills' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name trapper -Detach -Command sh, -c, 'trap "exit 42" TERM; echo trapped; while true; do sleep 1; done'
        # sh as PID 1 ignores TERM until its trap is set: stop only once it says so
        $sw = [Diagnostics.Stopwatch]::StartNew()
        while (-not ((Get-ContainerLog trapper) -contains 'trapped') -and $sw.ElapsedMilliseconds -lt 10000) { Start-Sleep -Milliseconds 20 }
        Stop-Container trapper -PassThru | ForEach-Object ExitCode | Should -Be 42
        Start-Container trapper
        Stop-Container trapper -Force -PassThru | ForEach-Object ExitCode | Should -Be 137
        Remove-Container trapper
    }
    It 'reports errors for unknown containers' -TestCases @(
        @{ Cmd = 'Start-Container'; Class = 'StartContainerCommand' }
        @{ Cmd = 'Stop-Container'; Class = 'StopContainerCommand' }
        @{ Cmd = 'Remove-Container'; Class = 'RemoveContainerCommand' }
        @{ Cmd = 'Get-Container'; Class = 'GetContainerCommand' }
        @{ Cmd = 'Wait-Container'; Class = 'WaitContainerCommand' }
    ) {
        param($Cmd, $Class)
        { & $Cmd -Name 'no-such-container' -ErrorAction Stop } | Should -Throw -ErrorId "ContainerNotFound,Containers.Cmdlets.Runtime.$Class"
    }
}

Describe 'Restart policy' {
    It 'on-failure:3 restarts exactly three times' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name flaky -Detach -RestartPolicy on-failure:3 -Command sh, -c, 'echo run; exit 3'
        $c = Wait-Container flaky -Timeout 60
        $c.ExitCode | Should -Be 3
        $c.RestartCount | Should -Be 3
        @(Get-ContainerLog flaky | Where-Object { $_ -eq 'run' }).Count | Should -Be 4
        Remove-Container flaky
    }
    It 'no restart after success with on-failure' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name fine -Detach -RestartPolicy on-failure -Command true
        (Wait-Container fine -Timeout 30).RestartCount | Should -Be 0
        Remove-Container fine
    }
}

Describe 'True state after kill -9' {
    It 'ends a container whose monitor was killed (MonitorLost) and removes everything' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage -RootFs $script:rootfs -Name orphan -Detach -Init -Command sleep, 600
        $status = Get-Content (Join-Path $script:root "containers/$($c.Id)/status")
        $monitor = [int](($status | Where-Object { $_ -like 'monitorpid=*' }) -replace 'monitorpid=', '')
        $monitor | Should -BeGreaterThan 0
        & kill -9 $monitor
        Start-Sleep -Milliseconds 200
        # nothing supervises it any more: the next read stops it and records why (Lifecycle.Tests.ps1 has the rest)
        $out = InNewSession "(Get-Container orphan) | ForEach-Object { `$_.Status, `$_.ExitReason -join ' ' }"
        $out | Should -Be 'Exited MonitorLost'
        Remove-Container orphan
        Test-Path (Join-Path $script:root "containers/$($c.Id)") | Should -BeFalse
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        ProcsWith $c.Id | Should -BeNullOrEmpty
        (Get-Content /proc/self/mountinfo) -match $c.Id | Should -BeNullOrEmpty
    }
    It 'a container whose first process died with its monitor reads as Exited' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage -RootFs $script:rootfs -Name victim -Detach -Init -Command sleep, 600
        $status = Get-Content (Join-Path $script:root "containers/$($c.Id)/status")
        $monitor = [int](($status | Where-Object { $_ -like 'monitorpid=*' }) -replace 'monitorpid=', '')
        & kill -9 $monitor
        & kill -9 $c.Pid
        Start-Sleep -Milliseconds 300
        (InNewSession "(Get-Container victim).Status") | Should -Be 'Exited'
        Remove-Container victim
        CgroupDirs $c.Id | Should -BeNullOrEmpty
        (Get-Content /proc/self/mountinfo) -match $c.Id | Should -BeNullOrEmpty
    }
    It 'a pwsh killed in the middle of a start leaves a container a new session can remove' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $job = Start-Process -PassThru -FilePath $script:pwsh -ArgumentList ($script:pwshArgs + @('-NoProfile', '-NonInteractive', '-Command',
            "Import-Module '$script:ModulePath'; 1..20 | ForEach-Object { Invoke-ContainerImage -StorageRoot '$script:root' -RootFs '$script:rootfs' -Name mid`$_ -Detach -Init -Command sleep,600 | Out-Null }"))
        $deadline = (Get-Date).AddSeconds(60)
        while (@(Get-ChildItem (Join-Path $script:root 'containers')).Count -lt 2 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
        # kill -9 the pwsh we started (with `dotnet pwsh` the host and its pwsh child both carry our command
        # line, which names this test's storage root), not its monitors; repeat until none is left
        $ours = { @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | ForEach-Object {
                    try {
                        $cl = [IO.File]::ReadAllText("/proc/$($_.Name)/cmdline")
                        if ($cl.Contains('Invoke-ContainerImage') -and $cl.Contains($script:root) -and [int]$_.Name -ne $PID) { [int]$_.Name }
                    } catch { }
                }) }
        & kill -9 $job.Id
        for ($i = 0; $i -lt 50 -and @(& $ours).Count -gt 0; $i++) { foreach ($k in (& $ours)) { & kill -9 $k 2>$null }; Start-Sleep -Milliseconds 20 }
        @(& $ours) | Should -BeNullOrEmpty
        $job.WaitForExit()
        $all = @(Get-Container -All 'mid*')
        $all.Count | Should -BeGreaterThan 0
        foreach ($c in $all) { $c.Status | Should -BeIn @('Created', 'Running', 'Exited') }
        $ids = $all.Id
        $all | Remove-Container -Force
        foreach ($id in $ids) {
            CgroupDirs $id | Should -BeNullOrEmpty
            ProcsWith $id | Should -BeNullOrEmpty
            (Get-Content /proc/self/mountinfo) -match $id | Should -BeNullOrEmpty
        }
        # nothing of the killed session starts after the removal
        Start-Sleep -Milliseconds 500
        @(Get-Container -All 'mid*') | Should -BeNullOrEmpty
    }
}

Describe 'Spare monitors' {
    It 'hands a start to a monitor made ahead of need, which then names its container; the spare ends with its session' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # the first start of a session starts a monitor itself and leaves a spare for the next one
        $session = @'
$ErrorActionPreference = 'Stop'
Import-Module $env:CT_MODULE
$PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $env:CT_ROOT }
# this session's spare: a child of this process whose command line says monitor --spare
function Spares {
    @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | Where-Object {
            try {
                $stat = [IO.File]::ReadAllText("/proc/$($_.Name)/stat")
                $ppid = [int]$stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[1]
                $ppid -eq $PID -and [IO.File]::ReadAllText("/proc/$($_.Name)/cmdline").Contains("monitor`0--spare")
            } catch { $false }
        } | ForEach-Object { [int]$_.Name })
}
$deadline = (Get-Date).AddSeconds(10)
Invoke-ContainerImage -RootFs $env:CT_ROOTFS -Name spare1 -Detach -Command sleep, 600 | Out-Null
while (@(Spares).Count -eq 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
$spare = @(Spares)[0]
$c = Invoke-ContainerImage -RootFs $env:CT_ROOTFS -Name spare2 -Detach -Command sleep, 600
$monitor = [int]((Get-Content (Join-Path $env:CT_ROOT "containers/$($c.Id)/status") | Where-Object { $_ -like 'monitorpid=*' }) -replace 'monitorpid=', '')
while (@(Spares).Count -eq 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
"$spare $monitor $(@(Spares)[0])"
'@
        $file = Join-Path $script:root 'spare-session.ps1'
        Set-Content -LiteralPath $file -Value $session
        $env:CT_MODULE = $script:ModulePath; $env:CT_ROOT = $script:root; $env:CT_ROOTFS = $script:rootfs
        try { $out = & $script:pwsh @script:pwshArgs -NoProfile -NonInteractive -File $file }
        finally { Remove-Item Env:CT_MODULE, Env:CT_ROOT, Env:CT_ROOTFS }
        $LASTEXITCODE | Should -Be 0
        $spare, $monitor, $next = ("$out".Trim() -split ' ') | ForEach-Object { [int]$_ }
        $spare | Should -BeGreaterThan 0
        # the second start went to the spare: it is now spare2's monitor and says so on its command line
        $monitor | Should -Be $spare
        $c2 = Get-Container spare2
        ([IO.File]::ReadAllText("/proc/$monitor/cmdline") -split "`0" | Where-Object { $_ } | Select-Object -Skip 1) | Should -Be @('monitor', (Join-Path $script:root "containers/$($c2.Id)"))
        # the session made another spare, which ended with the session (nothing handed to it)
        $next | Should -BeGreaterThan 0
        $deadline = (Get-Date).AddSeconds(5)
        while ((Test-Path "/proc/$next") -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
        Test-Path "/proc/$next" | Should -BeFalse
        (Get-Container spare1).Status | Should -Be 'Running'
        $c2.Status | Should -Be 'Running'
        Remove-Container spare1, spare2 -Force
        ProcsWith $c2.Id | Should -BeNullOrEmpty
    }
    It 'gives every container without a network a namespace of its own' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # the first start of this session clones the namespace, the later ones use the one their spare made
        $ctrs = 1..3 | ForEach-Object { Invoke-ContainerImage -RootFs $script:rootfs -Name "netns$_" -Network none -Detach -Command sleep, 600 }
        $ns = @($ctrs | ForEach-Object { (Get-Item "/proc/$($_.Pid)/ns/net").LinkTarget })
        $ns | Should -Not -Contain (Get-Item /proc/self/ns/net).LinkTarget
        @($ns | Sort-Object -Unique).Count | Should -Be 3
        # loopback is up in each (IFF_UP is bit 0 of the flags)
        foreach ($c in $ctrs) { [Convert]::ToInt32((Invoke-ContainerCommand $c.Name -Command cat, /sys/class/net/lo/flags).Output.Trim(), 16) % 2 | Should -Be 1 }
        $ctrs | Remove-Container -Force
    }
}

Describe 'Removal' {
    It 'returns with the container gone, deletes its files right after, and sweeps what an ended session left' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = New-TestStorageRoot 'trash'
        try {
            # what a killed session leaves: a renamed-away container directory in tmp/, older than a minute
            $left = Join-Path $r 'tmp/rm-0123456789abcdef'
            New-Item -ItemType Directory -Force -Path "$left/upper/etc" | Out-Null
            Set-Content "$left/upper/etc/file" 'x'
            (Get-Item $left).LastWriteTimeUtc = [DateTime]::UtcNow.AddMinutes(-5)
            $c = Invoke-ContainerImage -RootFs $script:rootfs -StorageRoot $r -Name gone -Command sh, -c, 'echo x > /kept' -Detach
            Wait-Container gone -StorageRoot $r -Timeout 30 | Out-Null
            Remove-Container gone -StorageRoot $r
            # gone at once: the directory, the name, the cgroups
            Test-Path (Join-Path $r "containers/$($c.Id)") | Should -BeFalse
            Get-Container -All -StorageRoot $r | Should -BeNullOrEmpty
            CgroupDirs $c.Id | Should -BeNullOrEmpty
            # and the files, including the old leftover, within moments
            $deadline = (Get-Date).AddSeconds(5)
            while (@(Get-ChildItem (Join-Path $r 'tmp') -Filter 'rm-*').Count -gt 0 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 20 }
            @(Get-ChildItem (Join-Path $r 'tmp') -Filter 'rm-*') | Should -BeNullOrEmpty
        }
        finally { Remove-TestStorageRoot $r }
    }
}
