# Joining another container's namespaces, on New-Container and Invoke-ContainerImage: -Network container:<name|id>
# (docker --network container:), -Pid and -Ipc host or container:<name|id> (docker --pid, --ipc). Real containers as
# root; docker defines the network mode's rules (podman differs: it keeps its own hostname and drops ports with a
# warning), so those tests compare with docker (the anchors' localhost/busybox:test image), -Pid/-Ipc host with podman.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'nsjoin'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    New-Item -ItemType Directory -Force -Path "$($script:rootfs)/www" | Out-Null
    Set-Content -LiteralPath "$($script:rootfs)/www/index.html" -Value 'served-by-joined' -NoNewline
    New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/readlink" -Target busybox | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'nsjoin/bb:1'
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null }
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $script:podmanTag = "localhost/pscontainers-nsjoin:$PID"
    $script:havePodman = Test-Command 'podman'
    if ($script:havePodman) { & timeout 120 podman import --quiet $script:tar $script:podmanTag 2>&1 | Out-Null }
    $script:haveDocker = (Test-Command 'docker') -and ((& timeout 30 docker image inspect localhost/busybox:test 2>$null) -and $LASTEXITCODE -eq 0)
    $script:New = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:Run = 'Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
    $script:Start = 'Containers.Cmdlets.Runtime.StartContainerCommand'
    function script:Ns([string] $Container, [string] $Kind) { (Invoke-ContainerCommand $Container -Quiet -Command readlink, "/proc/1/ns/$Kind").Output.Trim() }
    function script:NewTarget([string] $Name, [hashtable] $Extra = @{}) {
        Invoke-ContainerImage $script:img -Detach -Name $Name @Extra -Command sleep, 300
    }
}
AfterAll {
    if ($script:havePodman) { & timeout 60 podman rmi -f $script:podmanTag 2>&1 | Out-Null }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe '-Network container:<name>' {
    AfterEach { Get-Container -All | Remove-Container -Force -Volumes }

    It 'shares the other container''s network namespace, interfaces, hostname, /etc/hosts and resolv.conf' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $t = NewTarget 'net-target'
        $want = (Invoke-ContainerCommand net-target -Quiet -Command sh, -c, 'readlink /proc/self/ns/net; hostname; ip -o addr | cut -d" " -f2,7; cat /etc/hosts /etc/resolv.conf').Output
        $r = Invoke-ContainerImage $script:img -Remove -Quiet -Network container:net-target -Command sh, -c, 'readlink /proc/self/ns/net; hostname; ip -o addr | cut -d" " -f2,7; cat /etc/hosts /etc/resolv.conf'
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Be $want
        $r.Output | Should -Match "(?m)^$($t.Hostname)$"
        $r.Output | Should -Match '(?m)^eth0 '
    }

    It 'has no endpoint of its own and records the other container by id (a name given or an id prefix)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $t = NewTarget 'net-target2'
        foreach ($ref in 'net-target2', $t.Id.Substring(0, 12)) {
            $c = New-Container $script:img -Network "container:$ref" -Command sleep, 300
            $c.Network | Should -Be "container:$($t.Id)"
            $c.Hostname | Should -Be $t.Hostname
            $c = Start-Container $c.Id -PassThru
            $c.Endpoints.Count | Should -Be 0
            $c.Networks.Count | Should -Be 0
            $c.Ports.Count | Should -Be 0
            Remove-Container $c.Id -Force
        }
        # the other container's endpoint is untouched by the joined one's removal
        (Get-Container net-target2).Endpoints.Count | Should -Be 1
    }

    It 'is reached through the other container''s published port (127.0.0.1)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $t = NewTarget 'net-web' @{ Port = '127.0.0.1:0:8080' }
        $hostPort = $t.Ports[0].HostPort
        Invoke-ContainerImage $script:img -Detach -Name net-web-server -Network container:net-web -Command httpd, -f, -p, 8080, -h, /www | Out-Null
        $body = $null
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not $body -and [DateTime]::UtcNow -lt $deadline) {
            try { $body = (Invoke-WebRequest -Uri "http://127.0.0.1:$hostPort/" -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 100 }
        }
        $body | Should -Be 'served-by-joined'
    }

    It 'refuses <Option> with the network mode, as docker does (<ErrorId>)' -TestCases @(
        @{ Option = 'Hostname'; Extra = @{ Hostname = 'x' }; DockerArgs = @('--hostname', 'x'); ErrorId = 'NetworkModeConflict' }
        @{ Option = 'Port'; Extra = @{ Port = '127.0.0.1:0:80' }; DockerArgs = @('-p', '127.0.0.1:0:80'); ErrorId = 'NetworkModeConflict' }
        @{ Option = 'Dns'; Extra = @{ Dns = '1.1.1.1' }; DockerArgs = @('--dns', '1.1.1.1'); ErrorId = 'NetworkModeConflict' }
        @{ Option = 'AddHost'; Extra = @{ AddHost = 'a:10.0.0.1' }; DockerArgs = @('--add-host', 'a:10.0.0.1'); ErrorId = 'NetworkModeConflict' }
        @{ Option = 'NetworkAlias'; Extra = @{ NetworkAlias = 'a' }; DockerArgs = @('--network-alias', 'a'); ErrorId = 'NetworkModeConflict' }
        # docker 28 accepts --ip here and ignores it: refused rather than ignored (DOCKER.md)
        @{ Option = 'IPAddress'; Extra = @{ IPAddress = '10.0.0.9' }; DockerArgs = $null; ErrorId = 'NetworkModeConflict' }
        @{ Option = 'Sysctl net.*'; Extra = @{ Sysctl = 'net.ipv4.ip_forward=1' }; DockerArgs = $null; ErrorId = 'SysctlNotNamespaced' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        NewTarget 'net-conflict' | Out-Null
        { New-Container $script:img -Network container:net-conflict @Extra -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$($script:New)"
        { Invoke-ContainerImage $script:img -Remove -Network container:net-conflict @Extra -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$($script:Run)"
        @(Get-Container -All).Count | Should -Be 1
        if ($DockerArgs -and (Test-Prerequisite $script:haveDocker 'needs docker with localhost/busybox:test')) {
            $name = "pscontainers-nsjoin-$PID"
            & timeout 60 docker run -d --pull never --name $name --network none localhost/busybox:test sleep 60 2>&1 | Out-Null
            try {
                $out = & timeout 60 docker run --rm --pull never --network "container:$name" @DockerArgs localhost/busybox:test true 2>&1
                $LASTEXITCODE | Should -Not -Be 0
                "$out" | Should -Match 'conflicting options|only supported for user-defined networks'
            }
            finally { & timeout 60 docker rm -f $name 2>&1 | Out-Null }
        }
    }

    It 'refuses a network list that mixes container: with a network (NetworkModeExclusive) and an unknown container (ContainerNotFound)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        NewTarget 'net-mix' | Out-Null
        { New-Container $script:img -Network 'container:net-mix', 'bridge' -Command true -ErrorAction Stop } | Should -Throw -ErrorId "NetworkModeExclusive,$($script:New)"
        { New-Container $script:img -Network 'container:no-such-ctr' -Command true -ErrorAction Stop } | Should -Throw -ErrorId "ContainerNotFound,$($script:New)"
        { New-Container $script:img -Network 'container:' -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidNamespaceMode,$($script:New)"
    }

    It 'fails the start with JoinedContainerNotRunning when the other container is not running, as docker refuses it' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        NewTarget 'net-stopped' | Out-Null
        $c = New-Container $script:img -Name net-joiner -Network container:net-stopped -Command true
        Stop-Container net-stopped -Force
        $e = $null
        try { Start-Container net-joiner -ErrorAction Stop } catch { $e = $_ }
        $e.FullyQualifiedErrorId | Should -Be "JoinedContainerNotRunning,$($script:Start)"
        $e.CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $e.TargetObject | Should -Be 'net-stopped'
        (Get-Container net-joiner).Status | Should -Be 'Created'
        # a run with -Remove leaves nothing behind
        { Invoke-ContainerImage $script:img -Remove -Network container:net-stopped -Command true -ErrorAction Stop } | Should -Throw -ErrorId "JoinedContainerNotRunning,$($script:Run)"
        @(Get-Container -All).Name | Sort-Object | Should -Be @('net-joiner', 'net-stopped')
        if (Test-Prerequisite $script:haveDocker 'needs docker with localhost/busybox:test') {
            $name = "pscontainers-nsjoin-stopped-$PID"
            & timeout 60 docker create --pull never --name $name --network none localhost/busybox:test true 2>&1 | Out-Null
            try {
                $out = & timeout 60 docker run --rm --pull never --network "container:$name" localhost/busybox:test true 2>&1
                $LASTEXITCODE | Should -Not -Be 0
                "$out" | Should -Match 'non running container'
            }
            finally { & timeout 60 docker rm -f $name 2>&1 | Out-Null }
        }
    }

    It 'gives the other container''s hostname and shared /etc/hosts as docker does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:haveDocker) 'needs root and docker with localhost/busybox:test')) { return }
        $name = "pscontainers-nsjoin-h-$PID"
        & timeout 60 docker run -d --pull never --name $name --network none --hostname tgt localhost/busybox:test sleep 60 2>&1 | Out-Null
        try {
            $d = & timeout 60 docker run --rm --pull never --network "container:$name" localhost/busybox:test sh -c 'hostname; cat /etc/hostname' 2>&1
            ($d -join "`n") | Should -Be "tgt`ntgt"
        }
        finally { & timeout 60 docker rm -f $name 2>&1 | Out-Null }
        NewTarget 'net-host' @{ Hostname = 'tgt'; Network = 'none' } | Out-Null
        (Invoke-ContainerImage $script:img -Remove -Quiet -Network container:net-host -Command sh, -c, 'hostname; cat /etc/hostname').Output.Trim() | Should -Be "tgt`ntgt"
    }
}

Describe '-Pid and -Ipc' {
    AfterEach { Get-Container -All | Remove-Container -Force -Volumes }

    It 'container:<name> joins the other container''s PID and IPC namespaces and sees its processes' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        NewTarget 'pid-target' @{ Network = 'none' } | Out-Null
        $pidNs = Ns pid-target pid
        $ipcNs = Ns pid-target ipc
        $r = Invoke-ContainerImage $script:img -Remove -Quiet -Network none -Pid container:pid-target -Ipc container:pid-target -Command sh, -c, 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; cat /proc/1/cmdline | tr "\0" " "'
        $r.ExitCode | Should -Be 0
        $r.Output.Trim() | Should -Be "$pidNs`n$ipcNs`nsleep 300"
        $c = New-Container $script:img -Network none -Pid container:pid-target -Ipc container:pid-target -Command true
        $t = Get-Container pid-target
        $c.PidMode | Should -Be "container:$($t.Id)"
        $c.IpcMode | Should -Be "container:$($t.Id)"
        # without them, its own namespaces
        $own = Invoke-ContainerImage $script:img -Remove -Quiet -Network none -Command sh, -c, 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc'
        $own.Output | Should -Not -Match ([regex]::Escape($pidNs))
        $own.Output | Should -Not -Match ([regex]::Escape($ipcNs))
    }

    It 'ends the processes the first one leaves behind when it shares a PID namespace (-Pid <Mode>)' -TestCases @(@{ Mode = 'host' }, @{ Mode = 'container:pid-orphans' }) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        NewTarget 'pid-orphans' @{ Network = 'none' } | Out-Null
        # a background process outlives its parent: with a PID namespace of its own, the namespace's end ends it;
        # shared, the monitor ends what is left in the container's cgroup, as runc does
        $secs = Get-Random -Minimum 3000 -Maximum 3999
        $r = Invoke-ContainerImage $script:img -Network none -Pid $Mode -Name pid-orphan -Command sh, -c, "sleep $secs & echo started"
        $r.ExitCode | Should -Be 0
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        do {
            $left = @(Get-ChildItem /proc -Directory | Where-Object { $_.Name -match '^\d+$' } |
                Where-Object { try { ([IO.File]::ReadAllText("$($_.FullName)/cmdline") -replace "`0", ' ').Trim() -eq "sleep $secs" } catch { $false } })
            if ($left.Count -eq 0) { break }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        $left.Count | Should -Be 0
        (Get-Container pid-orphans).Status | Should -Be 'Running'
    }

    It 'fails the start with JoinedContainerNotRunning when the PID namespace''s container has stopped' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        NewTarget 'pid-stopped' @{ Network = 'none' } | Out-Null
        Stop-Container pid-stopped -Force
        { Invoke-ContainerImage $script:img -Remove -Network none -Pid container:pid-stopped -Command true -ErrorAction Stop } | Should -Throw -ErrorId "JoinedContainerNotRunning,$($script:Run)"
        { Invoke-ContainerImage $script:img -Remove -Network none -Ipc container:pid-stopped -Command true -ErrorAction Stop } | Should -Throw -ErrorId "JoinedContainerNotRunning,$($script:Run)"
    }

    It 'host shares the host''s PID and IPC namespaces and /dev/shm, as podman --pid host --ipc host does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $marker = "pscontainers-nsjoin-$PID"
        Set-Content -LiteralPath "/dev/shm/$marker" -Value 'shm'
        try {
            $cmd = "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; cat /dev/shm/$marker"
            $p = & timeout 120 podman run --rm --network none --pid host --ipc host $script:podmanTag sh -c $cmd 2>&1
            $o = Invoke-ContainerImage $script:img -Remove -Quiet -Network none -Pid host -Ipc host -Command sh, -c, $cmd
            $want = "$(& readlink /proc/self/ns/pid)`n$(& readlink /proc/self/ns/ipc)`nshm"
            ($p -join "`n").Trim() | Should -Be $want
            $o.Output.Trim() | Should -Be $want
        }
        finally { Remove-Item -LiteralPath "/dev/shm/$marker" -Force }
    }

    It 'refuses <Value> with InvalidNamespaceMode' -TestCases @(@{ Value = 'bogus' }, @{ Value = 'container:' }, @{ Value = 'ns:/proc/1/ns/pid' }) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        { New-Container $script:img -Network none -Pid $Value -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidNamespaceMode,$($script:New)"
        { New-Container $script:img -Network none -Ipc $Value -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidNamespaceMode,$($script:New)"
    }
}
