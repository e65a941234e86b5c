# Run semantics a docker user meets first, compared with what podman (and, where podman differs from docker,
# docker) does here with the same image: users and groups, working directories, entrypoint reset, /etc/mtab,
# /etc/hosts, and options that conflict.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'runsem'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    # app (1000) is also a member of extra (2000); other (3000) is a group app is not in
    Set-Content -LiteralPath "$($script:rootfs)/etc/group" -Value "root:x:0:`nnogroup:x:65534:`napp:x:1000:`nextra:x:2000:app`nother:x:3000:" -NoNewline
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $changes = @('WORKDIR /work/dir', 'USER app', 'ENTRYPOINT ["echo", "from-entrypoint"]', 'CMD ["from-cmd"]')
    Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name runsem/bb:1 -StorageRoot $script:root | Out-Null
    Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name runsem/bb:wd -Change $changes -StorageRoot $script:root | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }

    $script:podmanTag = "localhost/pscontainers-runsem:$PID"
    $script:havePodman = Test-Command 'podman'
    if ($script:havePodman) {
        $args = @('import', '--quiet')
        foreach ($c in $changes) { $args += @('--change', $c) }
        & timeout 120 podman @args $script:tar "$($script:podmanTag)-wd" 2>&1 | Out-Null
        & timeout 120 podman import --quiet $script:tar $script:podmanTag 2>&1 | Out-Null
    }
    function script:Podman([string[]] $Arguments) {
        $out = & timeout 120 podman run --rm --network none @Arguments 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n").Trim() }
    }
    function script:Ours([string] $Image, [hashtable] $Extra, [string[]] $Command) {
        $r = Invoke-ContainerImage $Image -Remove @Extra -Command $Command
        [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.Output.Trim() }
    }
}
AfterAll {
    if ($script:havePodman) { & timeout 60 podman rmi -f $script:podmanTag "$($script:podmanTag)-wd" 2>&1 | Out-Null }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Users and groups, as podman' {
    It 'gives <Case> the same ids as podman' -TestCases @(
        @{ Case = 'a uid the image does not know'; User = '1234' }
        @{ Case = 'a uid with a gid'; User = '1234:5678' }
        @{ Case = 'a named user (with its supplementary groups)'; User = 'app' }
        @{ Case = 'a named user and a named group (that group only)'; User = 'app:other' }
        @{ Case = 'root and a group'; User = 'root:nogroup' }
    ) {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        # --passwd=false: podman would otherwise add the unknown user to /etc/passwd, which docker never does
        $p = Podman @('--passwd=false', '-u', $User, $script:podmanTag, 'id')
        $o = Ours 'runsem/bb:1' @{ User = $User } @('id')
        $p.ExitCode | Should -Be 0 -Because $p.Output
        $o.Output | Should -Be $p.Output
    }
}

Describe 'Working directories' {
    It 'makes the image''s missing WORKDIR, owned by the image''s user, as podman does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $cmd = @('sh', '-c', 'pwd; stat -c "%u:%g %a" /work/dir /work')
        $p = Podman @('--entrypoint', '', "$($script:podmanTag)-wd", 'sh', '-c', 'pwd; stat -c "%u:%g %a" /work/dir /work')
        $o = Ours 'runsem/bb:wd' @{ Entrypoint = '' } $cmd
        $p.ExitCode | Should -Be 0 -Because $p.Output
        $o.Output | Should -Be $p.Output
        $o.Output | Should -Match '^/work/dir\n1000:1000 755'
    }

    It 'makes a missing -WorkingDirectory as root, as docker does (podman refuses it)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $o = Ours 'runsem/bb:1' @{ WorkingDirectory = '/nonexist/deep'; User = '1234' } @('sh', '-c', 'pwd; stat -c "%u:%g" /nonexist/deep')
        $o.ExitCode | Should -Be 0
        $o.Output | Should -Be "/nonexist/deep`n0:0"
        if (Test-Command '/usr/bin/docker') {
            $d = & timeout 120 /usr/bin/docker run --pull never --rm --network none -w /nonexist/deep -u 1234 localhost/busybox:test sh -c 'pwd; stat -c "%u:%g" /nonexist/deep' 2>&1
            if ($LASTEXITCODE -eq 0) { $o.Output | Should -Be (($d -join "`n").Trim()) }
        }
    }

    It 'makes a working directory inside a volume, after the volume is mounted' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $o = Ours 'runsem/bb:1' @{ WorkingDirectory = '/data/sub'; Volume = 'runsem-vol:/data' } @('sh', '-c', 'pwd')
        $o.Output | Should -Be '/data/sub'
        Test-Path (Join-Path $script:root 'volumes/runsem-vol/_data/sub') | Should -BeTrue
        Remove-ContainerVolume runsem-vol -Confirm:$false
    }

    It 'resolves a WORKDIR that is a link in the image inside the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $o = Ours 'runsem/bb:1' @{ WorkingDirectory = '/etc/../tmp/../../x/y' } @('sh', '-c', 'pwd')
        $o.Output | Should -Be '/x/y'
    }
}

Describe 'Entrypoint and command' {
    It 'clears the image''s entrypoint and cmd with -Entrypoint '''', as podman does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $p = Podman @('--entrypoint', '', "$($script:podmanTag)-wd", 'echo', 'mine')
        $o = Ours 'runsem/bb:wd' @{ Entrypoint = '' } @('echo', 'mine')
        $o.Output | Should -Be $p.Output
        $o.Output | Should -Be 'mine'
        # with no command left there is nothing to run: podman refuses, and so do we
        (Podman @('--entrypoint', '', "$($script:podmanTag)-wd")).ExitCode | Should -Not -Be 0
        { New-Container -Image runsem/bb:wd -Entrypoint '' -ErrorAction Stop } | Should -Throw -ErrorId 'NoCommand,Containers.Cmdlets.Runtime.NewContainerCommand'
    }

    It 'runs the image''s entrypoint and cmd when neither is given, as podman does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $p = Podman @("$($script:podmanTag)-wd")
        $r = Invoke-ContainerImage runsem/bb:wd -Remove
        $r.Output.Trim() | Should -Be $p.Output
    }
}

Describe 'Files the runtime provides' {
    It 'links /etc/mtab to /proc/mounts, as podman does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $p = Podman @($script:podmanTag, 'stat', '-c', '%N', '/etc/mtab')
        $p.Output | Should -Match 'proc'
        (Ours 'runsem/bb:1' @{} @('stat', '-c', '%N', '/etc/mtab')).Output | Should -Be $p.Output
        (Ours 'runsem/bb:1' @{} @('sh', '-c', 'grep -c " /proc " /etc/mtab')).Output | Should -Be '1'
    }

    It 'lists the container''s own name once in /etc/hosts on a network' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage runsem/bb:1 -Remove -Name runsem-hosts -Network bridge -Command cat, /etc/hosts
        @($r.Output -split "`n" | Where-Object { $_ -match '\brunsem-hosts\b' }).Count | Should -Be 1
    }
}

Describe 'The cgroup file system inside' {
    It 'mounts the container''s own cgroup read-only at /sys/fs/cgroup with its limits, as podman does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $cmd = 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; grep -c " /sys/fs/cgroup/memory cgroup ro," /proc/self/mounts; (echo 1 > /sys/fs/cgroup/pids/pids.max) 2>/dev/null || echo refused'
        $p = Podman @('--memory', '64m', '--pids-limit', '50', $script:podmanTag, 'sh', '-c', $cmd)
        $o = Ours 'runsem/bb:1' @{ Memory = 64MB; PidsLimit = 50 } @('sh', '-c', $cmd)
        $p.ExitCode | Should -Be 0 -Because $p.Output
        $o.Output | Should -Be $p.Output
        ($o.Output -split "`n") | Should -Be @('67108864', '50', '1', 'refused')
    }
}

Describe 'Options that conflict' {
    It 'refuses -Remove with -RestartPolicy <Policy>, as docker does' -TestCases @(@{ Policy = 'always' }, @{ Policy = 'on-failure:3' }, @{ Policy = 'unless-stopped' }) {
        { Invoke-ContainerImage runsem/bb:1 -Remove -RestartPolicy $Policy -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConflictingOptions,Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
        @(Get-Container -All).Count | Should -Be 0
    }
}

Describe 'A command that cannot be executed' {
    It 'returns exit code <Code> with <ErrorId> beside it for <Case>, as podman''s exit code' -TestCases @(
        @{ Case = 'a command that does not exist'; Command = 'no-such-command'; Code = 127; ErrorId = 'ContainerCommandNotFound' }
        @{ Case = 'a file that is not executable'; Command = '/etc/passwd'; Code = 126; ErrorId = 'ContainerCommandNotExecutable' }
    ) {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        (Podman @($script:podmanTag, $Command)).ExitCode | Should -Be $Code
        $r = Invoke-ContainerImage runsem/bb:1 -Remove -Command $Command -ErrorVariable err -ErrorAction SilentlyContinue
        $r.ExitCode | Should -Be $Code
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "$ErrorId,Containers.Cmdlets.Runtime.InvokeContainerImageCommand"
        @(Get-Container -All).Count | Should -Be 0 -Because '-Remove removes it'
    }

    It 'leaves a started container Exited with exit code 127 and says why' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image runsem/bb:1 -Command no-such-command
        { Start-Container $c.Id -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerCommandNotFound,Containers.Cmdlets.Runtime.StartContainerCommand'
        $after = Get-Container $c.Id
        $after.Status | Should -Be 'Exited'
        $after.ExitCode | Should -Be 127
        $after.Error | Should -Match 'execute'
        Remove-Container $c.Id
    }

    It 'gives an exec''d command that <Case> exit code <Code> and <ErrorId>' -TestCases @(
        @{ Case = 'does not exist'; Command = 'no-such-command'; Code = 127; ErrorId = 'ExecCommandNotFound' }
        @{ Case = 'is not executable'; Command = '/etc/passwd'; Code = 126; ErrorId = 'ExecCommandNotExecutable' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image runsem/bb:1 -Command sleep, 600
        Start-Container $c.Id
        (Invoke-ContainerCommand $c.Id -Command $Command -ErrorAction SilentlyContinue -ErrorVariable err).ExitCode | Should -Be $Code
        $err[0].FullyQualifiedErrorId | Should -Be "$ErrorId,Containers.Cmdlets.Runtime.InvokeContainerCommandCommand"
        Remove-Container $c.Id -Force
    }
}

Describe 'Detached runs with -Remove' {
    It 'removes a detached -Remove container once it has exited (docker run -d --rm), and keeps it while it runs' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage runsem/bb:1 -Detach -Remove -Name runsem-rm -Command sh, -c, 'sleep 1; exit 3'
        (Get-Container runsem-rm).Status | Should -Be 'Running'
        (Wait-Container $c.Id).ExitCode | Should -Be 3
        # the first listing after the exit removes it
        @(Get-Container -All | Where-Object Name -eq 'runsem-rm').Count | Should -Be 0
        Test-Path (Join-Path $script:root "containers/$($c.Id)") | Should -BeFalse
        { Get-Container runsem-rm -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,Containers.Cmdlets.Runtime.GetContainerCommand'
    }

    It 'keeps an attached -Remove run''s output, and a detached one without -Remove' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $d = Invoke-ContainerImage runsem/bb:1 -Detach -Name runsem-keep -Command sh, -c, 'exit 4'
        (Wait-Container $d.Id).ExitCode | Should -Be 4
        (Get-Container -All runsem-keep).ExitCode | Should -Be 4
        Remove-Container $d.Id
    }
}

Describe 'A non-zero exit code a script can stop on' {
    It 'writes ContainerExitedNonZero beside the result with -ErrorOnNonZeroExit, and nothing without it' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage runsem/bb:1 -Remove -Command sh, -c, 'exit 5' -ErrorOnNonZeroExit -ErrorVariable err -ErrorAction SilentlyContinue
        $r.ExitCode | Should -Be 5
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'ContainerExitedNonZero,Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        $err[0].TargetObject.ExitCode | Should -Be 5
        { Invoke-ContainerImage runsem/bb:1 -Remove -Command sh, -c, 'exit 5' -ErrorOnNonZeroExit -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerExitedNonZero,Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
        $null = Invoke-ContainerImage runsem/bb:1 -Remove -Command sh, -c, 'exit 5' -ErrorVariable none
        $none.Count | Should -Be 0
        $null = Invoke-ContainerImage runsem/bb:1 -Remove -Command true -ErrorOnNonZeroExit -ErrorVariable ok
        $ok.Count | Should -Be 0
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'does the same for an exec''d command' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container -Image runsem/bb:1 -Command sleep, 600
        Start-Container $c.Id
        $r = Invoke-ContainerCommand $c.Id -Command sh, -c, 'exit 3' -ErrorOnNonZeroExit -ErrorVariable err -ErrorAction SilentlyContinue
        $r.ExitCode | Should -Be 3
        $err[0].FullyQualifiedErrorId | Should -Be 'ContainerExitedNonZero,Containers.Cmdlets.Runtime.InvokeContainerCommandCommand'
        Remove-Container $c.Id -Force
    }
}
