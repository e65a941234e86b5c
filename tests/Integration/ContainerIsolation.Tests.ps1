# The security issue's container-side attacks, run for real: a container is its own session (signals it
# sends to its process group or session never reach its monitor), the monitor survives stray signals,
# the inheritable capability set is empty, and every mount destination is resolved inside the container's
# root (absolute and relative links in the image, and a link swapped during 100 starts).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'isolation'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    # a host directory whose absolute path the image also has: a mount resolved against the host's root
    # instead of the container's would land here
    $script:hostSide = Join-Path $script:root 'hostside'
    New-Item -ItemType Directory -Force -Path $script:hostSide, "$($script:rootfs)$($script:hostSide)" | Out-Null
    Set-Content -LiteralPath (Join-Path $script:hostSide 'target') -Value 'host' -NoNewline
    Set-Content -LiteralPath "$($script:rootfs)$($script:hostSide)/target" -Value 'image' -NoNewline
    # links in the image, as Debian's nginx has sites-enabled/default -> /etc/nginx/sites-available/default
    New-Item -ItemType Directory -Force -Path "$($script:rootfs)/etc/site/available", "$($script:rootfs)/etc/site/enabled" | Out-Null
    Set-Content -LiteralPath "$($script:rootfs)/etc/site/available/default" -Value 'image default' -NoNewline
    New-Item -ItemType SymbolicLink -Path "$($script:rootfs)/etc/site/enabled/abs" -Target '/etc/site/available/default' | Out-Null
    New-Item -ItemType SymbolicLink -Path "$($script:rootfs)/etc/site/enabled/rel" -Target '../available/default' | Out-Null
    New-Item -ItemType SymbolicLink -Path "$($script:rootfs)/hostlink" -Target $script:hostSide | Out-Null
    New-Item -ItemType SymbolicLink -Path "$($script:rootfs)/dangling" -Target "$($script:hostSide)/nothing-here" | Out-Null
    Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name isolation/bb:1 -StorageRoot $script:root | Out-Null
    $script:mountFile = Join-Path $script:root 'mounted.conf'
    Set-Content -LiteralPath $script:mountFile -Value 'from the bind mount' -NoNewline
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }

    function script:MonitorOf([int] $ContainerPid) {
        # the monitor is the container's first process's parent on the host
        [int]((Get-Content "/proc/$ContainerPid/stat" -Raw) -replace '^.*\) \S+ (\d+) .*$', '$1')
    }
    function script:WaitFor([scriptblock] $Condition, [int] $Ms = 5000) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        while ($sw.ElapsedMilliseconds -lt $Ms) { if (& $Condition) { return $true }; Start-Sleep -Milliseconds 50 }
        $false
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'A container is a session of its own' {
    It 'shows PID 1 as its own session and process group leader, as podman does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage isolation/bb:1 -Remove -Command sh, -c, 'ps -o pid,pgid,sid | awk ''$1==1'''
        ($r.Output.Trim() -split '\s+') | Should -Be @('1', '1', '1')
    }

    It 'keeps the monitor when a process inside signals its process group (kill -USR2 0) and everything (kill -TERM -1)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image isolation/bb:1 -StopTimeout 1 -Command sh, -c, 'sleep 0.3; sh -c "kill -USR2 0"; sh -c "kill -TERM -1"; echo survived; sleep 600'
        Start-Container $c.Id
        WaitFor { (Get-ContainerLog $c.Id) -match 'survived' } | Should -BeTrue
        $ctr = Get-Container $c.Id
        $ctr.Status | Should -Be 'Running'
        $monitor = MonitorOf $ctr.Pid
        Test-Path "/proc/$monitor" | Should -BeTrue
        (Get-Content "/proc/$monitor/cmdline" -Raw) -split "`0" | Should -Contain 'monitor'
        Stop-Container $c.Id
        $after = Get-Container $c.Id
        $after.Status | Should -Be 'Exited'
        $after.ExitCode | Should -Be 137 -Because 'sh as PID 1 ignores SIGTERM; the stop timeout kills it, and the monitor records it'
        Remove-Container $c.Id
    }

    It 'exits 0 when its stop handler signals its own process group (an Apache-style stop)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # like apache2ctl stop: the parent's TERM handler signals the whole group, then exits cleanly
        $c = New-Container -Image isolation/bb:1 -StopTimeout 5 -Command sh, -c, 'trap "trap '''' TERM; kill -TERM 0; exit 0" TERM; sleep 600 & sleep 600 & echo ready; wait'
        Start-Container $c.Id
        WaitFor { (Get-ContainerLog $c.Id) -match 'ready' } | Should -BeTrue
        Stop-Container $c.Id
        $after = Get-Container $c.Id
        $after.Status | Should -Be 'Exited'
        $after.ExitCode | Should -Be 0
        Remove-Container $c.Id
    }

    It 'keeps supervising when the monitor itself gets <Signal> from the host' -TestCases @(
        @{ Signal = 'HUP' }, @{ Signal = 'INT' }, @{ Signal = 'TERM' }, @{ Signal = 'USR1' }, @{ Signal = 'USR2' }, @{ Signal = 'ALRM' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image isolation/bb:1 -Command sh, -c, 'echo ready; sleep 600'
        Start-Container $c.Id
        $monitor = MonitorOf (Get-Container $c.Id).Pid
        & kill "-$Signal" $monitor
        Start-Sleep -Milliseconds 200
        Test-Path "/proc/$monitor" | Should -BeTrue
        (Get-Container $c.Id).Status | Should -Be 'Running'
        Stop-Container $c.Id -Timeout 1
        (Get-Container $c.Id).ExitCode | Should -Be 137
        Remove-Container $c.Id
    }

    It 'runs an exec''d process in a session of its own, so its kill 0 does not reach the session that ran it' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image isolation/bb:1 -Command sleep, 600
        Start-Container $c.Id
        $r = Invoke-ContainerCommand $c.Id -Command sh, -c, 'ps -o pid,pgid,sid,args | grep "[p]s -o"; trap "" USR2; kill -USR2 0; echo alive'
        $r.Output | Should -Match 'alive'
        $f = ($r.Output -split "`n")[0].Trim() -split '\s+'
        $f[1] | Should -Be $f[2] -Because 'the exec''d shell leads its own session'
        (Get-Container $c.Id).Status | Should -Be 'Running'
        Remove-Container $c.Id -Force
    }
}

Describe 'What a container can reach of its monitor' {
    It 'holds no descriptor but 0, 1 and 2 in PID 1 and in an exec''d process, and cannot see the monitor' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image isolation/bb:1 -Command sleep, 600
        Start-Container $c.Id
        $r = Invoke-ContainerCommand $c.Id -Command sh, -c, 'ls /proc/1/fd | sort | tr "\n" " "; echo; ls /proc/self/fd | sort | tr "\n" " "; echo; ls -d /proc/[0-9]* | wc -l'
        $lines = $r.Output -split "`n"
        $lines[0].Trim() | Should -Be '0 1 2'
        # ls itself opens one more (the directory it lists)
        $lines[1].Trim() | Should -Be '0 1 2 3'
        [int]$lines[2] | Should -BeLessOrEqual 4 -Because 'only sleep, sh, ls and wc are in the PID namespace'
        $monitor = MonitorOf (Get-Container $c.Id).Pid
        # the monitor holds pipes, its log, /dev/null and the runtime's /dev/urandom: no directory of the host
        # (a directory fd in the monitor would be a way out for anything that could reach /proc/<monitor>/fd)
        $targets = @(Get-ChildItem "/proc/$monitor/fd" | ForEach-Object { (Get-Item $_.FullName).LinkTarget })
        $targets.Count | Should -BeGreaterThan 2
        $targets | Where-Object { $_ -like '/*' -and (Test-Path -LiteralPath $_ -PathType Container) } | Should -BeNullOrEmpty
        $targets | Where-Object { $_ -like '/*' -and $_ -notin '/dev/null', '/dev/urandom' -and $_ -notlike '*/ctr.log' } | Should -BeNullOrEmpty
        Remove-Container $c.Id -Force
    }
}

Describe 'Capabilities' {
    It 'gives an empty inheritable set to <Who>' -TestCases @(
        @{ Who = 'root'; Extra = @{} }, @{ Who = '-User 1234'; Extra = @{ User = '1234' } },
        @{ Who = 'root with -CapabilityAdd SYS_ADMIN'; Extra = @{ CapabilityAdd = 'SYS_ADMIN' } }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage isolation/bb:1 -Remove -Command sh, -c, 'grep -E "^Cap(Inh|Amb)" /proc/self/status' @Extra
        $r.Output | Should -Match 'CapInh:\s+0000000000000000'
        $r.Output | Should -Match 'CapAmb:\s+0000000000000000'
    }

    It 'gives an exec''d process an empty inheritable set' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image isolation/bb:1 -Command sleep, 600
        Start-Container $c.Id
        (Invoke-ContainerCommand $c.Id -Command grep, CapInh, /proc/self/status).Output | Should -Match 'CapInh:\s+0000000000000000'
        Remove-Container $c.Id -Force
    }
}

Describe 'Mount destinations are resolved inside the container' {
    It 'mounts onto an <Kind> link in the image where the link points inside the container' -TestCases @(
        @{ Kind = 'absolute'; Dest = '/etc/site/enabled/abs' }, @{ Kind = 'relative'; Dest = '/etc/site/enabled/rel' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage isolation/bb:1 -Remove -Volume "$($script:mountFile):$($Dest):ro" -Command sh, -c, "cat /etc/site/available/default; echo; readlink $Dest"
        $r.ExitCode | Should -Be 0
        $lines = $r.Output -split "`n"
        $lines[0] | Should -Be 'from the bind mount'
        $lines[1] | Should -Not -BeNullOrEmpty -Because 'the link itself is still a link'
    }

    It 'never mounts on the host path an absolute link names, even where that path exists on the host' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # /hostlink -> <hostside>, a directory that exists both on the host and in the image
        $r = Invoke-ContainerImage isolation/bb:1 -Remove -Volume "$($script:mountFile):/hostlink/target" -Command sh, -c, "cat $($script:hostSide)/target; echo; grep -c ' $($script:hostSide)/target ' /proc/self/mountinfo"
        $r.ExitCode | Should -Be 0
        ($r.Output -split "`n")[0] | Should -Be 'from the bind mount'
        ($r.Output -split "`n")[1] | Should -Be '1'
        Get-Content -LiteralPath (Join-Path $script:hostSide 'target') -Raw | Should -Be 'host'
    }

    It 'mounts onto a dangling link that names a host path by creating its target inside the root, as runc does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # /dangling -> <hostside>/nothing-here: the host has <hostside>, the image too, neither has the file
        $r = Invoke-ContainerImage isolation/bb:1 -Remove -Volume "$($script:mountFile):/dangling" -Command sh, -c, "cat $($script:hostSide)/nothing-here"
        $r.ExitCode | Should -Be 0
        $r.Output.Trim() | Should -Be 'from the bind mount'
        Test-Path "$($script:hostSide)/nothing-here" | Should -BeFalse
        (Get-Content /proc/self/mountinfo -Raw) | Should -Not -Match ([regex]::Escape("$($script:hostSide)/nothing-here"))
    }

    It 'keeps every mount inside the root while another container swaps a directory and a link in a loop (100 starts)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-ContainerVolume swap | Out-Null
        # the swapper turns /vol/x back and forth between a directory and a link to <hostside>, an absolute
        # path that exists on the host too (and in the image, where the mount must land)
        $swapper = New-Container -Image isolation/bb:1 -Volume swap:/vol -Command sh, -c, "while true; do mkdir -p /vol/d; rm -rf /vol/x; mv /vol/d /vol/x 2>/dev/null; rm -rf /vol/x; ln -s $($script:hostSide) /vol/x; done"
        Start-Container $swapper.Id
        $places = @{}
        $failed = 0
        for ($i = 0; $i -lt 100; $i++) {
            try {
                $r = Invoke-ContainerImage isolation/bb:1 -Remove -Volume 'swap:/vol', "$($script:mountFile):/vol/x/target" -Command sh, -c, "grep -o ' [^ ]*/target ' /proc/self/mountinfo" -ErrorAction Stop
                $places[$r.Output.Trim()] = 1 + [int]$places[$r.Output.Trim()]
            }
            catch {
                # a start may fail cleanly when the swap leaves no directory at the moment of the mount
                "$($_.FullyQualifiedErrorId): $_" | Should -BeLike 'ContainerStartFailed,*'
                $failed++
            }
        }
        Remove-Container $swapper.Id -Force
        Remove-ContainerVolume swap -Confirm:$false
        # '' : the mount was made, then the swapper (in its own mount namespace) deleted the directory holding
        # it, which detaches it; any other place would be a mount outside where the link pointed
        @($places.Keys | Where-Object { $_ -notin @('', '/vol/x/target', "$($script:hostSide)/target") }) | Should -BeNullOrEmpty
        $places["$($script:hostSide)/target"] | Should -BeGreaterThan 0 -Because 'some starts met the link (and mounted inside the root)'
        Get-Content -LiteralPath (Join-Path $script:hostSide 'target') -Raw | Should -Be 'host'
        Write-Host "swap loop: $($places | ConvertTo-Json -Compress), $failed clean failures"
    }
}
