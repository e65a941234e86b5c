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
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name trapper -Detach -Command sh, -c, 'trap "exit 42" TERM; while true; do sleep 1; done'
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
    It 'reports a container whose monitor was killed and removes everything with -Force' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage -RootFs $script:rootfs -Name orphan -Detach -Init -Command sleep, 600
        $status = Get-Content (Join-Path $script:root "containers/$($c.Id)/status")
        $monitor = [int](($status | Where-Object { $_ -like 'monitorpid=*' }) -replace 'monitorpid=', '')
        $monitor | Should -BeGreaterThan 0
        & kill -9 $monitor
        Start-Sleep -Milliseconds 200
        # the container itself still runs without its monitor: the true state is Running
        $out = InNewSession "(Get-Container orphan).Status"
        $out | Should -Be 'Running'
        Remove-Container orphan -Force
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
