# Health checks (docker's HEALTHCHECK and --health-*, podman's --health-on-failure), run by each container's monitor:
# states and transitions, the start period, the timeout, NONE and -NoHealthCheck, the image's check merged with the
# parameters, each action on failure, and checks that go on (and restart the container) with the pwsh that started it
# gone. Compared with podman's states where both define them. Only generous polling deadlines, no timed assertions.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'health'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'health/bb:1'
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null }
    $script:ms200 = [timespan]::FromMilliseconds(200)

    $script:havePodman = Test-Command 'podman'
    $script:podmanTag = "localhost/pscontainers-health:$PID"
    if ($script:havePodman) { & timeout 120 podman import --quiet $script:tar $script:podmanTag 2>&1 | Out-Null }
    $script:podmanNames = [System.Collections.Generic.List[string]]::new()

    # polls until the script block returns something true (or the deadline passes) and returns its last value
    function script:Until([scriptblock] $Condition, [int] $Seconds = 60) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        do {
            $v = & $Condition
            if ($v) { return $v }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        $v
    }
    function script:Events([string] $Id) {
        Get-Content -LiteralPath (Join-Path $script:root 'events.log') | ForEach-Object { $_ | ConvertFrom-Json } | Where-Object id -EQ $Id
    }
}
AfterAll {
    if ($script:havePodman) {
        foreach ($n in $script:podmanNames) { & timeout 60 podman rm -f -t 0 $n 2>&1 | Out-Null }
        & timeout 60 podman rmi -f $script:podmanTag 2>&1 | Out-Null
    }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'health states' {
    It 'stays Starting while failures fall in the start period, then turns Healthy when the check passes' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # the check fails until /tmp/ready exists; a start period of an hour keeps those failures from counting
        $c = Invoke-ContainerImage $script:img -Name hc-start -Detach -Network none -HealthCommand 'echo probing; test -e /tmp/ready' `
            -HealthInterval $script:ms200 -HealthStartInterval $script:ms200 -HealthStartPeriod ([timespan]::FromHours(1)) -HealthRetries 1 -Command sleep, 600
        $c.Health | Should -Be 'Starting'
        $c.HealthCheck.Test | Should -Be @('CMD-SHELL', 'echo probing; test -e /tmp/ready')
        $seen = Until { $x = Get-Container hc-start; if (@($x.HealthLog).Count -ge 3) { $x } }
        @($seen.HealthLog).Count | Should -BeGreaterOrEqual 3
        $seen.Health | Should -Be 'Starting'
        $seen.HealthFailingStreak | Should -Be 0
        foreach ($r in $seen.HealthLog) {
            $r.ExitCode | Should -Be 1
            $r.Output | Should -Be "probing`n"
            $r.End | Should -BeGreaterOrEqual $r.Start
        }
        Invoke-ContainerCommand hc-start -Command touch, /tmp/ready | Out-Null
        $h = Wait-Container hc-start -Condition Healthy -Timeout 60
        $h.Health | Should -Be 'Healthy'
        $h.HealthLog[-1].ExitCode | Should -Be 0
        # at most the last five results are kept
        $five = Until { $x = Get-Container hc-start; if (@($x.HealthLog | Where-Object ExitCode -EQ 0).Count -ge 5) { $x } }
        @($five.HealthLog).Count | Should -Be 5
        # the table shows it as docker ps does
        (Get-Container hc-start | Format-Table | Out-String) | Should -Match 'Running \(healthy\)'
        $ev = @(Events $c.Id | Where-Object action -Like 'health_status*')
        $ev[0].action | Should -Be 'health_status: healthy'
        $ev[0].process | Should -Be 'containers-helper'
    }

    It 'turns Unhealthy when Retries consecutive checks fail, and not before' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Name hc-fail -Detach -Network none -HealthCommand 'exit 3' -HealthInterval $script:ms200 -HealthRetries 3 -Command sleep, 600
        $samples = [System.Collections.Generic.List[object]]::new()
        $final = Until { $x = Get-Container hc-fail; $samples.Add($x); if ($x.Health -eq 'Unhealthy') { $x } }
        $final.Health | Should -Be 'Unhealthy'
        foreach ($s in $samples) {
            # the verdict follows the failing streak: below Retries Starting, from Retries on Unhealthy
            if ($s.HealthFailingStreak -ge 3) { $s.Health | Should -Be 'Unhealthy' } else { $s.Health | Should -Be 'Starting' }
        }
        $final.HealthLog | ForEach-Object { $_.ExitCode | Should -Be 3 }
        $ev = @(Events $c.Id | Where-Object action -Like 'health_status*')
        $ev[0].action | Should -Be 'health_status: unhealthy'
        # Wait-Container -Condition Unhealthy answers at once now
        (Wait-Container hc-fail -Condition Unhealthy -Timeout 30).Health | Should -Be 'Unhealthy'
    }

    It 'kills a check that exceeds its timeout, with its process group, and counts it as a failure' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Invoke-ContainerImage $script:img -Name hc-hang -Detach -Network none -HealthCommand sleep, 1000 -HealthInterval $script:ms200 `
            -HealthTimeout ([timespan]::FromMilliseconds(300)) -HealthRetries 1 -Command sleep, 600 | Out-Null
        $u = Wait-Container hc-hang -Condition Unhealthy -Timeout 60
        $u.HealthLog[0].ExitCode | Should -Be -1
        $u.HealthLog[0].Output | Should -Be 'Health check exceeded timeout (300ms)'
        # no check outlives its timeout, and none is left unreaped: only the container's PID 1 is there between checks
        $left = Until { $p = @(Get-ContainerProcess hc-hang); if ($p.Count -eq 1) { $p } } -Seconds 30
        @($left).Count | Should -Be 1
        $left[0].Command | Should -Be 'sleep 600'
        $left[0].Pid | Should -Be 1
    }

    It 'has no check with -NoHealthCheck or NONE, and none without a HEALTHCHECK' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $a = New-Container $script:img -Name hc-none1 -Network none -HealthCommand NONE -Command sleep, 1
        $a.Health | Should -Be 'None'
        $a.HealthCheck | Should -BeNullOrEmpty
        $b = Invoke-ContainerImage $script:img -Name hc-none2 -Detach -Network none -Command sleep, 600
        $b.Health | Should -Be 'None'
        { Wait-Container hc-none2 -Condition Healthy -Timeout 5 } | Should -Throw -ErrorId 'ContainerHasNoHealthCheck,Containers.Cmdlets.Runtime.WaitContainerCommand'
        { New-Container $script:img -Name hc-none3 -Network none -NoHealthCheck -HealthCommand true -Command true } | Should -Throw -ErrorId 'ConflictingOptions*'
        { New-Container $script:img -Name hc-none4 -Network none -HealthCommand true -HealthInterval ([timespan]::FromTicks(10)) -Command true } | Should -Throw -ErrorId 'InvalidHealthCheck*'
        Test-Path (Join-Path $script:root "containers/$($b.Id)/health.json") | Should -BeFalse
    }

    It 'reads an exec-form command: several strings run without a shell' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Name hc-exec -Detach -Network none -HealthCommand echo, '$HOSTNAME', 'a  b' -HealthInterval $script:ms200 -Command sleep, 600
        $c.HealthCheck.Test | Should -Be @('CMD', 'echo', '$HOSTNAME', 'a  b')
        $h = Wait-Container hc-exec -Condition Healthy -Timeout 60
        $h.HealthLog[0].Output | Should -Be "`$HOSTNAME a  b`n"
    }

    It 'runs the check in the container''s user namespace under -UserNamespace Auto, never as the host''s root' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Name hc-userns -Detach -Network none -UserNamespace Auto -HealthCommand cat, /proc/self/uid_map -HealthInterval $script:ms200 -Command sleep, 600
        $range = ($c.IdRange -split '-')[0]
        $h = Wait-Container hc-userns -Condition Healthy -Timeout 60
        # the map the check sees is the container's (0 -> the first id of its range), not the host's identity map
        ($h.HealthLog[0].Output.Trim() -split '\s+') | Should -Be @('0', $range, '65536')
        # the same check run once now (Invoke-ContainerHealthCheck goes through the exec helper) passes too
        $u = Invoke-ContainerHealthCheck hc-userns
        $u.ExitCode | Should -Be 0
    }
}

Describe 'Invoke-ContainerHealthCheck' {
    It 'runs the check once now and returns its result, leaving the monitor''s record alone' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # an interval of an hour: the monitor has not checked yet
        Invoke-ContainerImage $script:img -Name hc-run -Detach -Network none -HealthCommand 'echo checking; test -e /tmp/up' -HealthInterval ([timespan]::FromHours(1)) -Command sleep, 600 | Out-Null
        $r = Invoke-ContainerHealthCheck hc-run
        $r.ContainerName | Should -Be 'hc-run'
        $r.ExitCode | Should -Be 1
        $r.Result | Should -Be 'Unhealthy'
        $r.Output | Should -Be "checking`n"
        Invoke-ContainerCommand hc-run -Command touch, /tmp/up | Out-Null
        $ok = Get-Container hc-run | Invoke-ContainerHealthCheck
        $ok.ExitCode | Should -Be 0
        $ok.Result | Should -Be 'Healthy'
        $x = Get-Container hc-run
        $x.Health | Should -Be 'Starting'
        @($x.HealthLog).Count | Should -Be 0
    }
    It 'kills a check that exceeds its timeout' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Invoke-ContainerImage $script:img -Name hc-run2 -Detach -Network none -HealthCommand sleep, 1000 -HealthInterval ([timespan]::FromHours(1)) `
            -HealthTimeout ([timespan]::FromMilliseconds(300)) -Command sleep, 600 | Out-Null
        $r = Invoke-ContainerHealthCheck hc-run2
        $r.ExitCode | Should -Be -1
        $r.Output | Should -Be 'Health check exceeded timeout (300ms)'
        $left = Until { $p = @(Get-ContainerProcess hc-run2); if ($p.Count -eq 1) { $p } } -Seconds 30
        @($left).Count | Should -Be 1
    }
    It 'fails for a container without a check and for one that is not running' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-Container $script:img -Name hc-run3 -Network none -Command true | Out-Null
        { Invoke-ContainerHealthCheck hc-run3 } | Should -Throw -ErrorId 'ContainerHasNoHealthCheck,*'
        New-Container $script:img -Name hc-run4 -Network none -HealthCommand true -Command true | Out-Null
        { Invoke-ContainerHealthCheck hc-run4 } | Should -Throw -ErrorId 'ContainerNotRunning,*'
    }
}

Describe 'the image''s HEALTHCHECK' {
    BeforeAll {
        if ($script:IsRoot) {
            $script:ctx = Join-Path $script:root 'ctx'
            New-Item -ItemType Directory -Force -Path $script:ctx | Out-Null
            Build-ContainerImage -Path $script:ctx -Tag health/checked:1 -Network none -InlineDockerfile @"
FROM $($script:img)
HEALTHCHECK --interval=200ms --timeout=5s --retries=2 CMD test -e /tmp/ok
"@ | Out-Null
        }
    }

    It 'runs the image''s check, merged field by field with the parameters, as docker merges them' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage health/checked:1 -Name hc-img -Detach -Network none -HealthRetries 7 -Command sleep, 600
        # the shell form of HEALTHCHECK CMD is docker's CMD-SHELL
        $c.HealthCheck.Test | Should -Be @('CMD-SHELL', 'test -e /tmp/ok')
        $c.HealthCheck.Interval | Should -Be $script:ms200
        $c.HealthCheck.Timeout | Should -Be ([timespan]::FromSeconds(5))
        $c.HealthCheck.Retries | Should -Be 7
        $s = Until { $x = Get-Container hc-img; if (@($x.HealthLog).Count -ge 2) { $x } }
        $s.HealthLog[0].ExitCode | Should -Be 1
        Invoke-ContainerCommand hc-img -Command touch, /tmp/ok | Out-Null
        (Wait-Container hc-img -Condition Healthy -Timeout 60).Health | Should -Be 'Healthy'
    }

    It 'runs a shell-form check with the image''s SHELL, as docker does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Build-ContainerImage -Path $script:ctx -Tag health/shell:1 -Network none -InlineDockerfile @"
FROM $($script:img)
SHELL ["/bin/echo", "via-shell"]
HEALTHCHECK --interval=200ms CMD hello
"@ | Out-Null
        Invoke-ContainerImage health/shell:1 -Name hc-shell -Detach -Network none -Command sleep, 600 | Out-Null
        $h = Wait-Container hc-shell -Condition Healthy -Timeout 60
        $h.HealthLog[0].Output | Should -Be "via-shell hello`n"
        # a -HealthCommand line given at the run uses it too (docker: the container's Shell)
        Invoke-ContainerImage health/shell:1 -Name hc-shell2 -Detach -Network none -HealthCommand 'bye' -HealthInterval $script:ms200 -Command sleep, 600 | Out-Null
        (Wait-Container hc-shell2 -Condition Healthy -Timeout 60).HealthLog[0].Output | Should -Be "via-shell bye`n"
    }

    It 'is switched off by -NoHealthCheck and by -HealthCommand NONE' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        (New-Container health/checked:1 -Name hc-img-off1 -Network none -NoHealthCheck -Command true).Health | Should -Be 'None'
        (New-Container health/checked:1 -Name hc-img-off2 -Network none -HealthCommand NONE -Command true).HealthCheck | Should -BeNullOrEmpty
    }
}

Describe '-HealthOnFailure' {
    It 'Kill: the unhealthy container is killed (137) and its policy does not matter to the verdict' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Name hc-kill -Detach -Network none -HealthCommand false -HealthInterval $script:ms200 -HealthRetries 1 -HealthOnFailure Kill -Command sleep, 600
        $e = Wait-Container hc-kill -Timeout 60
        $e.Status | Should -Be 'Exited'
        $e.ExitCode | Should -Be 137
        $e.Health | Should -Be 'Unhealthy'
        $e.RestartCount | Should -Be 0
    }

    It 'Stop: stop signal, then SIGKILL after the stop timeout; the restart policy does not bring it back' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # sh as PID 1 with a TERM trap: the stop signal ends it with 143
        Invoke-ContainerImage $script:img -Name hc-stop -Detach -Network none -RestartPolicy always -HealthCommand false -HealthInterval $script:ms200 -HealthRetries 1 `
            -HealthOnFailure Stop -Command sh, -c, 'trap "exit 143" TERM; while true; do sleep 0.1; done' | Out-Null
        $e = Wait-Container hc-stop -Timeout 60
        $e.Status | Should -Be 'Exited'
        $e.ExitCode | Should -Be 143
        $e.RestartCount | Should -Be 0
        # a PID 1 that ignores the stop signal is killed once the stop timeout has passed
        Invoke-ContainerImage $script:img -Name hc-stop2 -Detach -Network none -StopTimeout 1 -HealthCommand false -HealthInterval $script:ms200 -HealthRetries 1 `
            -HealthOnFailure Stop -Command sleep, 600 | Out-Null
        (Wait-Container hc-stop2 -Timeout 60).ExitCode | Should -Be 137
    }

    It 'Restart: the monitor restarts the unhealthy container through its restart path, whatever the policy' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Name hc-restart -Detach -Network none -StopTimeout 1 -HealthCommand false -HealthInterval $script:ms200 -HealthRetries 1 `
            -HealthOnFailure Restart -Command sleep, 600
        $r = Until { $x = Get-Container hc-restart; if ($x.RestartCount -ge 1 -and $x.Status -eq 'Running') { $x } }
        $r.RestartCount | Should -BeGreaterOrEqual 1
        $r.Status | Should -Be 'Running'
        $ev = @(Events $c.Id)
        $ev.action | Should -Contain 'health_status: unhealthy'
        ($ev | Where-Object action -EQ 'start' | Where-Object { $_.attributes.restartCount }) | Should -Not -BeNullOrEmpty
        Stop-Container hc-restart -Timeout 1 | Out-Null
        (Get-Container hc-restart).Status | Should -Be 'Exited'
    }
}

Describe 'with the pwsh that started it gone' {
    It 'goes on checking and applies Restart with no session alive, as a new session sees' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $ctl = Join-Path $script:root 'ctl'
        New-Item -ItemType Directory -Force -Path $ctl | Out-Null
        # the pwsh this test runs in (under `dotnet pwsh`: dotnet .../pwsh.dll)
        $pwsh = (Get-Process -Id $PID).Path
        $self = [IO.File]::ReadAllText("/proc/$PID/cmdline").Split([char]0)
        $pre = @(if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { if ($self.Count -gt 1 -and $self[1] -like '*pwsh.dll') { $self[1] } else { 'pwsh' } })
        $start = @"
`$ErrorActionPreference = 'Stop'
Import-Module '$($script:ModulePath)'
`$c = Invoke-ContainerImage $($script:img) -Name hc-orphan -Detach -Network none -StopTimeout 1 -Volume '$($ctl):/ctl' -StorageRoot '$($script:root)' ``
    -HealthCommand 'test ! -e /ctl/fail' -HealthInterval 0:0:0.2 -HealthRetries 1 -HealthOnFailure Restart -Command sleep, 600
"`$PID `$(`$c.Id)"
"@
        $out = & $pwsh @pre -NoProfile -NonInteractive -Command $start
        $LASTEXITCODE | Should -Be 0
        $sessionPid, $id = (@($out)[-1]) -split ' '
        # that session has ended (the call returned) and the container's monitor lives on without it
        Test-Path "/proc/$sessionPid" | Should -BeFalse
        $st = Get-Content -LiteralPath (Join-Path $script:root "containers/$id/status") | ConvertFrom-StringData
        $monitorParent = ((Get-Content "/proc/$($st.monitorpid)/status") -match '^PPid:')[0] -replace '\D', ''
        $monitorParent | Should -Not -Be $sessionPid
        $failAt = [DateTime]::UtcNow
        New-Item -ItemType File -Path (Join-Path $ctl 'fail') | Out-Null
        # a new session sees the restart the monitor made, with the failures in the health log
        $look = @"
Import-Module '$($script:ModulePath)'
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
do { `$x = Get-Container hc-orphan -StorageRoot '$($script:root)'; if (`$x.RestartCount -ge 1) { break }; Start-Sleep -Milliseconds 100 } while ([DateTime]::UtcNow -lt `$deadline)
[pscustomobject]@{ RestartCount = `$x.RestartCount; Log = @(`$x.HealthLog | ForEach-Object ExitCode) } | ConvertTo-Json -Compress
"@
        $seen = (& $pwsh @pre -NoProfile -NonInteractive -Command $look) | ConvertFrom-Json
        $seen.RestartCount | Should -BeGreaterOrEqual 1
        $seen.Log | Should -Contain 1
        # the checks go on after the restart: healthy again once the check passes
        Remove-Item -LiteralPath (Join-Path $ctl 'fail')
        $h = Wait-Container hc-orphan -Condition Healthy -Timeout 60
        $h.Status | Should -Be 'Running'
        $h.HealthLog[-1].ExitCode | Should -Be 0
        # the unhealthy verdict and the restart were recorded by the monitor, after the starting session had ended
        $ev = @(Events $id | Where-Object { $_.action -in 'health_status: unhealthy', 'start' -and $_.process -eq 'containers-helper' })
        $ev.action | Should -Contain 'health_status: unhealthy'
        $ev.action | Should -Contain 'start'
        ([DateTime]($ev | Where-Object action -EQ 'start')[0].time).ToUniversalTime() | Should -BeGreaterThan $failAt
    }
}

Describe 'compared with podman' {
    It 'gives the states podman gives after each failing and passing check' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        # podman: retries 2, checks run by hand; state after the first and second failure, then after a pass
        $n = "pscontainers-health-$PID"
        $script:podmanNames.Add($n)
        & timeout 120 podman run -d --name $n --network none --health-cmd 'test -e /tmp/ok' --health-retries 2 --health-interval disable $script:podmanTag sleep 600 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        $podman = foreach ($step in 'fail', 'fail', 'pass') {
            if ($step -eq 'pass') { & timeout 60 podman exec $n touch /tmp/ok 2>&1 | Out-Null }
            & timeout 60 podman healthcheck run $n 2>&1 | Out-Null
            (& timeout 60 podman inspect --format '{{.State.Health.Status}}' $n).Trim()
        }
        $podman | Should -Be @('starting', 'unhealthy', 'healthy')
        # ours, sampled by failing streak: streak 1 -> starting, 2 -> unhealthy, then healthy after a pass
        Invoke-ContainerImage $script:img -Name hc-podman -Detach -Network none -HealthCommand 'test -e /tmp/ok' -HealthRetries 2 `
            -HealthInterval ([timespan]::FromMilliseconds(500)) -Command sleep, 600 | Out-Null
        $byStreak = @{}
        Until { $x = Get-Container hc-podman; if ($x.HealthFailingStreak -in 1, 2) { $byStreak[$x.HealthFailingStreak] = "$($x.Health)".ToLowerInvariant() }; $byStreak.ContainsKey(2) } | Out-Null
        Invoke-ContainerCommand hc-podman -Command touch, /tmp/ok | Out-Null
        $ours = @($byStreak[1], $byStreak[2], "$((Wait-Container hc-podman -Condition Healthy -Timeout 60).Health)".ToLowerInvariant())
        # a sample at streak 1 may be missed on a loaded machine: compare the ones taken
        if ($ours[0]) { $ours[0] | Should -Be $podman[0] }
        $ours[1] | Should -Be $podman[1]
        $ours[2] | Should -Be $podman[2]
    }
}
