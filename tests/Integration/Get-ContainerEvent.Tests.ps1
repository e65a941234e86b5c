# The event log (docker events): what the engine and the monitors record, filters, -Follow, rotation, concurrent writers.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'events'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:pwsh = (Get-Process -Id $PID).Path
    $script:pwshArgs = @(if ((Split-Path $script:pwsh -Leaf) -like 'dotnet*') { 'pwsh' })
    $script:log = Join-Path $script:root 'events.log'
    function script:InNewSession([string] $code) {
        $full = "`$ErrorActionPreference='Stop'; Import-Module '$script:ModulePath'; `$PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = '$script:root' }; $code"
        & $script:pwsh @script:pwshArgs -NoProfile -NonInteractive -Command $full
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Get-ContainerVolume -StorageRoot $script:root | Remove-ContainerVolume -StorageRoot $script:root -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Get-ContainerEvent' {
    It 'records a container''s life in order: the exit by its monitor with the exit code, the rest by this process' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $null = New-Container -RootFs $script:rootfs -Name life -Network none -Command sh, -c, 'exit 3'
        Start-Container life
        $null = Wait-Container life -Timeout 30
        Rename-Container life life2
        Remove-Container life2
        $ev = @(Get-ContainerEvent -Type Container -Since $t0 | Where-Object Action -ne 'kill')
        $ev.Action | Should -Be @('create', 'start', 'die', 'rename', 'remove')
        ($ev.Id | Select-Object -Unique).Count | Should -Be 1
        $ev[0].Id | Should -Match '^[0-9a-f]{64}$'
        $ev.Name | Should -Be @('life', 'life', 'life', 'life2', 'life2')
        $ev[3].Attributes['oldName'] | Should -Be 'life'
        $die = $ev[2]
        $die.Attributes['exitCode'] | Should -Be '3'
        $die.ProcessName | Should -Be 'containers-helper'
        $die.Pid | Should -Not -Be $PID
        foreach ($e in $ev[0, 1, 3, 4]) { $e.Pid | Should -Be $PID; $e.Uid | Should -Be 0 }
        for ($i = 1; $i -lt $ev.Count; $i++) { $ev[$i].Time | Should -BeGreaterOrEqual $ev[$i - 1].Time }
        $ev[0].Time.Kind | Should -Be 'Utc'
    }

    It 'records the exit of a detached container after the session that started it has ended' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        InNewSession "Invoke-ContainerImage -RootFs '$script:rootfs' -Name orphan -Network none -Detach -Command sh,-c,'sleep 1; exit 5' | Out-Null"
        $null = Wait-Container orphan -Timeout 30
        $ev = @(Get-ContainerEvent orphan -Since $t0)
        $ev.Action | Should -Be @('create', 'start', 'die')
        $ev[0].Pid | Should -Not -Be $PID      # the other session
        $ev[2].Attributes['exitCode'] | Should -Be '5'
        $ev[2].ProcessName | Should -Be 'containers-helper'
        $ev[2].Pid | Should -Not -Be $ev[0].Pid
        Remove-Container orphan
    }

    It 'records stop as kill (with the signal), die and stop, and the restart policy''s starts by the monitor' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name bouncer -Network none -Detach -RestartPolicy on-failure:2 -Command sh, -c, 'exit 1'
        $null = Wait-Container bouncer -Timeout 60
        $ev = @(Get-ContainerEvent bouncer -Since $t0)
        $ev.Action | Should -Be @('create', 'start', 'die', 'start', 'die', 'start', 'die')
        @($ev | Where-Object Action -eq 'start' | Select-Object -Skip 1 | ForEach-Object ProcessName | Select-Object -Unique) | Should -Be 'containers-helper'
        $ev[3].Attributes['restartCount'] | Should -Be '1'
        Remove-Container bouncer

        $t1 = [datetime]::UtcNow
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name sleeper -Network none -Detach -Command sleep, 600
        # sleep as the container's first process ignores SIGTERM (as with docker): SIGKILL after the timeout
        Stop-Container sleeper -Timeout 1
        $ev = @(Get-ContainerEvent sleeper -Since $t1)
        $ev.Action | Should -Be @('create', 'start', 'kill', 'kill', 'die', 'stop')
        $ev[2].Attributes['signal'] | Should -Be '15'
        $ev[3].Attributes['signal'] | Should -Be '9'
        $ev[4].Attributes['exitCode'] | Should -Be '137'
        Remove-Container sleeper
    }

    It 'records volumes, networks and images' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $null = New-ContainerVolume evvol
        Remove-ContainerVolume evvol
        & tar -C $script:rootfs -cf "$script:root/bb.tar" .
        $img = Import-ContainerImage -RootFs -LiteralPath "$script:root/bb.tar" -Name localhost/evbb:1
        $ev = @(Get-ContainerEvent -Since $t0 -Type Volume)
        $ev.Action | Should -Be @('create', 'remove')
        $ev.Name | Should -Be @('evvol', 'evvol')
        Add-ContainerImageTag -Name localhost/evbb:1 -NewName localhost/evtest:one
        Remove-ContainerImageTag localhost/evtest:one
        Remove-ContainerImage localhost/evbb:1
        $iev = @(Get-ContainerEvent -Since $t0 -Type Image)
        $iev.Action | Should -Be @('import', 'tag', 'untag', 'untag', 'remove')
        $iev.Name | Should -Be @('localhost/evbb:1', 'localhost/evtest:one', 'localhost/evtest:one', 'localhost/evbb:1', 'localhost/evbb:1')
        $iev.Id | Select-Object -Unique | Should -Be $img.Id
        $net = New-ContainerNetwork evnet
        Remove-ContainerNetwork evnet
        $nev = @(Get-ContainerEvent -Since $t0 -Type Network -Name evnet)
        $nev.Action | Should -Be @('create', 'remove')
        $nev[0].Id | Should -Be $net.Id
    }

    It 'filters by type, action and name with wildcards, and by time' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $null = New-ContainerVolume filt-a
        $null = New-ContainerVolume filt-b
        $null = New-ContainerVolume other-c
        @(Get-ContainerEvent -Since $t0 -Name 'filt-*').Name | Should -Be @('filt-a', 'filt-b')
        @(Get-ContainerEvent -Since $t0 -Name 'FILT-A', 'other*').Name | Should -Be @('filt-a', 'other-c')
        @(Get-ContainerEvent -Since $t0 -Action 'cr*' -Type Volume).Count | Should -Be 3
        @(Get-ContainerEvent -Since $t0 -Type Container).Count | Should -Be 0
        @(Get-ContainerEvent -Since $t0 -Action remove).Count | Should -Be 0
        @(Get-ContainerEvent -Since ([datetime]::UtcNow.AddMinutes(1))).Count | Should -Be 0
        @(Get-ContainerEvent -Until $t0.AddSeconds(-1) -Name 'filt-*').Count | Should -Be 0
        # local times are compared as the same instants
        @(Get-ContainerEvent -Since $t0.ToLocalTime() -Name 'filt-a').Count | Should -Be 1
        'filt-a', 'filt-b', 'other-c' | ForEach-Object { Remove-ContainerVolume $_ }
    }

    It 'follows: streams new events, and stops when the pipeline stops (Select-Object -First)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = New-ContainerVolume before-follow
        $job = Start-ThreadJob -ScriptBlock {
            param($mod, $root)
            Import-Module $mod
            Get-ContainerEvent -Follow -StorageRoot $root -Type Volume | Select-Object -First 2
        } -ArgumentList $script:ModulePath, $script:root
        try {
            Start-Sleep -Milliseconds 1500   # the follower is reading (it shows only what comes after it started)
            $null = New-ContainerVolume during-follow
            Remove-ContainerVolume during-follow
            $got = @($job | Wait-Job -Timeout 20 | Receive-Job)
            $job.State | Should -Be 'Completed'
            $got.Action | Should -Be @('create', 'remove')
            $got.Name | Should -Be @('during-follow', 'during-follow')
        }
        finally { $job | Remove-Job -Force }
        Remove-ContainerVolume before-follow
    }

    It 'follows across a rotation and ends when stopped' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $job = Start-ThreadJob -ScriptBlock {
            param($mod, $root)
            Import-Module $mod
            Get-ContainerEvent -Follow -StorageRoot $root -Name 'rot-*'
        } -ArgumentList $script:ModulePath, $script:root
        $old = [Containers.Engine.Events.EventLog]::MaxBytes
        try {
            Start-Sleep -Milliseconds 1500
            [Containers.Engine.Events.EventLog]::MaxBytes = 2048
            1..12 | ForEach-Object { $null = New-ContainerVolume "rot-$_" }
            Test-Path "$script:log.1" | Should -BeTrue
            Start-Sleep -Milliseconds 800
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $job | Stop-Job
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
            $got = @($job | Receive-Job)
            $got.Name | Should -Be @(1..12 | ForEach-Object { "rot-$_" })
        }
        finally {
            [Containers.Engine.Events.EventLog]::MaxBytes = $old
            $job | Remove-Job -Force
            1..12 | ForEach-Object { Remove-ContainerVolume "rot-$_" -ErrorAction SilentlyContinue }
        }
    }

    It 'stays bounded: rotates to events.log.1 and reads both in order' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $old = [Containers.Engine.Events.EventLog]::MaxBytes
        try {
            [Containers.Engine.Events.EventLog]::MaxBytes = 4096
            1..60 | ForEach-Object { $null = New-ContainerVolume "bound-$_"; Remove-ContainerVolume "bound-$_" }
            (Get-Item $script:log).Length | Should -BeLessThan (4096 + 4096)
            (Get-Item "$script:log.1").Length | Should -BeLessThan (4096 + 4096)
            $ev = @(Get-ContainerEvent -Name 'bound-*')
            $ev.Count | Should -BeLessThan 120          # the oldest are gone
            $ev.Count | Should -BeGreaterThan 20
            $ev[-1].Name | Should -Be 'bound-60'
            $ev[-1].Action | Should -Be 'remove'
            for ($i = 1; $i -lt $ev.Count; $i++) { $ev[$i].Time | Should -BeGreaterOrEqual $ev[$i - 1].Time }
        }
        finally { [Containers.Engine.Events.EventLog]::MaxBytes = $old }
    }

    It 'keeps every record whole when several processes write at once' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $writer = Join-Path $script:root 'writer.ps1'
        Set-Content $writer -Value @'
param($mod, $root, $tag)
Import-Module $mod
$r = [Containers.Engine.State.StorageRoot]::Resolve($root)
$attrs = [System.ValueTuple[string, string][]]@([System.ValueTuple[string, string]]::new('payload', ('x' * 400)))
for ($i = 0; $i -lt 200; $i++) { [Containers.Engine.Events.EventLog]::Record($r, 'Volume', 'create', "conc-$tag-$i", "conc-$tag-$i", $attrs) }
'@
        $procs = foreach ($tag in 'a', 'b', 'c', 'd') {
            Start-Process -PassThru -FilePath $script:pwsh -ArgumentList ($script:pwshArgs + @('-NoProfile', '-NonInteractive', '-File', $writer, $script:ModulePath, $script:root, $tag))
        }
        $procs | Wait-Process -Timeout 120
        $lines = @(Get-Content "$script:log.1", $script:log -ErrorAction SilentlyContinue | Where-Object { $_ -like '*"conc-*' })
        $lines.Count | Should -Be 800
        foreach ($l in $lines) { $null = $l | ConvertFrom-Json -ErrorAction Stop }
        @(Get-ContainerEvent -Since $t0 -Name 'conc-*').Count | Should -Be 800
    }

    It 'skips a line that is not a record and reads the rest' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $null = New-ContainerVolume garbage-1
        [IO.File]::AppendAllText($script:log, "{`"time`":`"not a time`"}`nnot json at all`n{`"truncat")
        [IO.File]::AppendAllText($script:log, "`n")
        $null = New-ContainerVolume garbage-2
        @(Get-ContainerEvent -Since $t0 -Name 'garbage-*').Name | Should -Be @('garbage-1', 'garbage-2')
        'garbage-1', 'garbage-2' | ForEach-Object { Remove-ContainerVolume $_ }
    }
}
