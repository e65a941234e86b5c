# docker run flags on New-Container and Invoke-ContainerImage: --add-host, --dns, --dns-search, --shm-size,
# --group-add, memory sizes written with units, --sysctl. Real containers as root; compared with podman (the same
# busybox root file system imported there) where podman accepts the same options with --network none.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'runflags'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    # app (1000) is in extra (2000); other (3000) is a group app is not in
    Set-Content -LiteralPath "$($script:rootfs)/etc/group" -Value "root:x:0:`nnogroup:x:65534:`napp:x:1000:`nextra:x:2000:app`nother:x:3000:" -NoNewline
    New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/df" -Target busybox | Out-Null
    New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/sysctl" -Target busybox | Out-Null
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'runflags/bb:1'
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null }

    $script:podmanTag = "localhost/pscontainers-runflags:$PID"
    $script:havePodman = Test-Command 'podman'
    if ($script:havePodman) { & timeout 120 podman import --quiet $script:tar $script:podmanTag 2>&1 | Out-Null }
    function script:Podman([string[]] $Arguments) {
        $out = & timeout 120 podman run --rm --network none @Arguments 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n").Trim() }
    }
    function script:Ours([hashtable] $Extra, [string] $Script) {
        $r = Invoke-ContainerImage $script:img -Remove -Network none @Extra -Command sh, -c, $Script
        [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.Output.Trim() }
    }
    $script:New = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:Run = 'Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
}
AfterAll {
    if ($script:havePodman) { & timeout 60 podman rmi -f $script:podmanTag 2>&1 | Out-Null }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe '-AddHost' {
    It 'adds name:ip lines to /etc/hosts, as podman --add-host does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $p = Podman @('--add-host', 'db:10.0.0.5', '--add-host', 'cache:10.0.0.6', $script:podmanTag, 'cat', '/etc/hosts')
        $o = Ours @{ AddHost = 'db:10.0.0.5', 'cache:10.0.0.6' } 'cat /etc/hosts'
        $o.ExitCode | Should -Be 0
        $want = @($p.Output -split "`n" | Where-Object { $_ -match '\s(db|cache)$' })
        $want.Count | Should -Be 2
        @($o.Output -split "`n" | Where-Object { $_ -match '\s(db|cache)$' }) | Should -Be $want
    }

    It 'takes an IPv6 address, bracketed or not, and name=ip' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $o = Ours @{ AddHost = 'six:[fd00::5]', 'seven:fd00::7', 'eq=192.0.2.9' } 'cat /etc/hosts'
        $o.Output | Should -Match "(?m)^fd00::5\tsix$"
        $o.Output | Should -Match "(?m)^fd00::7\tseven$"
        $o.Output | Should -Match "(?m)^192\.0\.2\.9\teq$"
    }

    It 'keeps the entries across a restart and shows them on the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name addhost-restart -Network none -AddHost db:10.0.0.5 -Command sh, -c, 'grep db /etc/hosts'
        try {
            $c.ExtraHosts | Should -Be @('db:10.0.0.5')
            Start-Container addhost-restart -PassThru | Wait-Container | Out-Null
            Start-Container addhost-restart -PassThru | Wait-Container | Out-Null
            @(Get-ContainerLog addhost-restart | Where-Object { "$_" -match "^10\.0\.0\.5\tdb$" }).Count | Should -Be 2
        }
        finally { Remove-Container addhost-restart -Force -ErrorAction SilentlyContinue }
    }

    It 'resolves host-gateway to the gateway of the container''s bridge network' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -AddHost 'host.docker.internal:host-gateway' -Command sh, -c, 'grep host.docker.internal /etc/hosts; ip route | grep default'
        $r.ExitCode | Should -Be 0
        $gw = [regex]::Match($r.Output, 'default via (\S+)').Groups[1].Value
        $gw | Should -Not -BeNullOrEmpty
        $r.Output | Should -Match "(?m)^$([regex]::Escape($gw))\thost\.docker\.internal$"
    }

    It 'refuses <Value> with <ErrorId> (<Cmd>)' -TestCases @(
        @{ Value = 'nocolon'; ErrorId = 'InvalidAddHost'; Cmd = 'New-Container'; Class = 'NewContainerCommand' }
        @{ Value = 'db:10.0.0.300'; ErrorId = 'InvalidAddHost'; Cmd = 'New-Container'; Class = 'NewContainerCommand' }
        @{ Value = ':10.0.0.1'; ErrorId = 'InvalidAddHost'; Cmd = 'Invoke-ContainerImage'; Class = 'InvokeContainerImageCommand' }
        @{ Value = 'gw:host-gateway'; ErrorId = 'HostGatewayNeedsBridgeNetwork'; Cmd = 'New-Container'; Class = 'NewContainerCommand' }
        @{ Value = 'gw:host-gateway'; ErrorId = 'HostGatewayNeedsBridgeNetwork'; Cmd = 'Invoke-ContainerImage'; Class = 'InvokeContainerImageCommand' }
    ) {
        param($Value, $ErrorId, $Cmd, $Class)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $err = $null
        try { & $Cmd $script:img -Network none -AddHost $Value -Command true -ErrorAction Stop | Out-Null } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be "$ErrorId,Containers.Cmdlets.Runtime.$Class"
        $err.TargetObject | Should -Be $Value
        @(Get-Container -All).Count | Should -Be 0
    }
}

Describe '-Dns and -DnsSearch' {
    It 'writes the name servers and search domains into /etc/resolv.conf' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $o = Ours @{ Dns = '9.9.9.9', '2620:fe::fe'; DnsSearch = 'example.com', 'corp.example' } 'cat /etc/resolv.conf'
        $o.ExitCode | Should -Be 0
        @($o.Output -split "`n" | Where-Object { $_ -match '^nameserver ' }) | Should -Be @('nameserver 9.9.9.9', 'nameserver 2620:fe::fe')
        @($o.Output -split "`n" | Where-Object { $_ -match '^search ' }) | Should -Be @('search example.com corp.example')
    }

    It 'replaces the bridge network''s DNS server, keeping its search domains unless -DnsSearch is given' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $plain = (Invoke-ContainerImage $script:img -Remove -Command cat, /etc/resolv.conf).Output
        $r = (Invoke-ContainerImage $script:img -Remove -Dns 192.0.2.53 -Command cat, /etc/resolv.conf).Output
        @($r -split "`n" | Where-Object { $_ -match '^nameserver ' }) | Should -Be @('nameserver 192.0.2.53')
        @($r -split "`n" | Where-Object { $_ -match '^search ' }) | Should -Be @($plain -split "`n" | Where-Object { $_ -match '^search ' })
        $s = (Invoke-ContainerImage $script:img -Remove -DnsSearch . -Command cat, /etc/resolv.conf).Output
        $s | Should -Not -Match '(?m)^search'
        @($s -split "`n" | Where-Object { $_ -match '^nameserver ' }) | Should -Be @($plain -split "`n" | Where-Object { $_ -match '^nameserver ' })
    }

    It 'keeps them across a restart and shows them on the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name dns-restart -Network none -Dns 192.0.2.1 -DnsSearch example.org -Command cat, /etc/resolv.conf
        try {
            $c.Dns | Should -Be @('192.0.2.1')
            $c.DnsSearch | Should -Be @('example.org')
            Start-Container dns-restart -PassThru | Wait-Container | Out-Null
            Start-Container dns-restart -PassThru | Wait-Container | Out-Null
            @(Get-ContainerLog dns-restart | Where-Object { "$_" -eq 'nameserver 192.0.2.1' }).Count | Should -Be 2
        }
        finally { Remove-Container dns-restart -Force -ErrorAction SilentlyContinue }
    }

    It 'refuses <Param> <Value> with <ErrorId>' -TestCases @(
        @{ Param = 'Dns'; Value = 'dns.example'; ErrorId = 'InvalidDns' }
        @{ Param = 'Dns'; Value = '10.0.0.0/8'; ErrorId = 'InvalidDns' }
        @{ Param = 'DnsSearch'; Value = 'bad domain'; ErrorId = 'InvalidDnsSearch' }
        @{ Param = 'DnsSearch'; Value = '-x.example'; ErrorId = 'InvalidDnsSearch' }
    ) {
        param($Param, $Value, $ErrorId)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = @{ $Param = $Value }
        { New-Container $script:img -Network none @p -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$($script:New)"
        { Invoke-ContainerImage $script:img -Network none @p -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$($script:Run)"
        @(Get-Container -All).Count | Should -Be 0
    }
}

Describe '-ShmSize' {
    It 'sizes /dev/shm as podman --shm-size does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $p = Podman @('--shm-size', '134217728', $script:podmanTag, 'sh', '-c', 'df -k /dev/shm | tail -1')
        $o = Ours @{ ShmSize = 128MB } 'df -k /dev/shm | tail -1'
        $o.ExitCode | Should -Be 0
        ($o.Output -split '\s+')[1] | Should -Be (($p.Output -split '\s+')[1])
        ($o.Output -split '\s+')[1] | Should -Be '131072'
    }

    It 'keeps 64 MB when not given and shows the size on the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        (Ours @{} 'df -k /dev/shm | tail -1').Output -split '\s+' | Select-Object -Index 1 | Should -Be '65536'
        $c = New-Container $script:img -Name shm-show -Network none -ShmSize 32MB -Command sh, -c, 'df -k /dev/shm | tail -1'
        try {
            $c.ShmSize | Should -Be 32MB
            Start-Container shm-show -PassThru | Wait-Container | Out-Null
            Start-Container shm-show -PassThru | Wait-Container | Out-Null
            @(Get-ContainerLog shm-show | ForEach-Object { ("$_" -split '\s+')[1] }) | Should -Be @('32768', '32768')
        }
        finally { Remove-Container shm-show -Force -ErrorAction SilentlyContinue }
    }

    It 'refuses a size of 0 with InvalidShmSize' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        { New-Container $script:img -Network none -ShmSize 0 -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidShmSize,$($script:New)"
        { Invoke-ContainerImage $script:img -Network none -ShmSize -5 -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidShmSize,$($script:Run)"
    }
}

Describe '-GroupAdd' {
    It 'gives <User> the groups podman --group-add gives' -TestCases @(
        @{ User = 'root'; Groups = @('other', '5000') }
        @{ User = 'app'; Groups = @('other') }
        @{ User = 'app:app'; Groups = @('extra', '3000') }
        @{ User = '4242'; Groups = @('other') }
    ) {
        param($User, $Groups)
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $pa = @('--passwd=false', '-u', $User)
        foreach ($g in $Groups) { $pa += @('--group-add', $g) }
        $p = Podman ($pa + @($script:podmanTag, 'id', '-G'))
        $o = Ours @{ User = $User; GroupAdd = $Groups } 'id -G'
        $o.ExitCode | Should -Be 0
        $p.ExitCode | Should -Be 0
        # the same set (podman lists the primary group first, then the rest in its own order)
        @(($o.Output -split ' ') | Sort-Object) | Should -Be @(($p.Output -split ' ') | Sort-Object)
    }

    It 'keeps the groups across a restart, for Invoke-ContainerCommand too, and shows them' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name groupadd-keep -Network none -User app -GroupAdd other, 4000 -Command sleep, 60
        try {
            $c.GroupAdd | Should -Be @('other', '4000')
            Start-Container groupadd-keep
            (Invoke-ContainerCommand groupadd-keep -Command id, -G).Output.Trim() -split ' ' | Sort-Object | Should -Be @('1000', '2000', '3000', '4000')
            Stop-Container groupadd-keep -Timeout 1
            Start-Container groupadd-keep
            (Invoke-ContainerCommand groupadd-keep -Command id, -G).Output.Trim() -split ' ' | Sort-Object | Should -Be @('1000', '2000', '3000', '4000')
        }
        finally { Remove-Container groupadd-keep -Force -ErrorAction SilentlyContinue }
    }

    It 'refuses <Case> with <ErrorId>' -TestCases @(
        @{ Case = 'a group the image lacks'; Value = 'nosuchgroup'; ErrorId = 'GroupNotFound' }
        @{ Case = 'name:name'; Value = 'a:b'; ErrorId = 'InvalidGroupAdd' }
        @{ Case = 'an empty name'; Value = ''; ErrorId = 'InvalidGroupAdd' }
    ) {
        param($Case, $Value, $ErrorId)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $err = $null
        try { New-Container $script:img -Network none -GroupAdd $Value -Command true -ErrorAction Stop | Out-Null } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be "$ErrorId,$($script:New)"
        $err.TargetObject | Should -Be $Value
        { Invoke-ContainerImage $script:img -Network none -GroupAdd $Value -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$($script:Run)"
        @(Get-Container -All).Count | Should -Be 0
    }
}

Describe 'sizes with docker''s units' {
    It 'binds -<Param> <Value> as <Bytes> bytes' -TestCases @(
        @{ Param = 'Memory'; Value = '32m'; Bytes = 33554432 }
        @{ Param = 'Memory'; Value = '1g'; Bytes = 1073741824 }
        @{ Param = 'Memory'; Value = '1G'; Bytes = 1073741824 }
        @{ Param = 'Memory'; Value = '65536K'; Bytes = 67108864 }
        @{ Param = 'Memory'; Value = '1.5g'; Bytes = 1610612736 }
        @{ Param = 'Memory'; Value = '64mb'; Bytes = 67108864 }
        @{ Param = 'Memory'; Value = '16777216b'; Bytes = 16777216 }
        @{ Param = 'Memory'; Value = '16777216'; Bytes = 16777216 }
        @{ Param = 'MemorySwap'; Value = '64m'; Bytes = 67108864 }
        @{ Param = 'MemorySwap'; Value = '-1'; Bytes = -1 }
        @{ Param = 'ShmSize'; Value = '128m'; Bytes = 134217728 }
    ) {
        param($Param, $Value, $Bytes)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = @{ $Param = $Value }
        if ($Param -eq 'MemorySwap') { $p.Memory = '32m' }
        $c = New-Container $script:img -Network none @p -Command true
        try { $c.$Param | Should -Be $Bytes }
        finally { $c | Remove-Container -Force }
    }

    It 'still takes numbers PowerShell wrote with its own suffixes (32MB)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Network none -Memory 32MB -MemorySwap 64MB -ShmSize 16MB -Command true
        try {
            $c.Memory | Should -Be 32MB
            $c.MemorySwap | Should -Be 64MB
            $c.ShmSize | Should -Be 16MB
        }
        finally { $c | Remove-Container -Force }
    }

    It 'limits the container to -Memory 32m and sizes /dev/shm from -ShmSize 8m' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $o = Ours @{ Memory = '32m'; ShmSize = '8m' } 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; df -k /dev/shm | tail -1'
        $o.ExitCode | Should -Be 0
        $lines = $o.Output -split "`n"
        $lines[0] | Should -Be '33554432'
        ($lines[1] -split '\s+')[1] | Should -Be '8192'
    }

    It 'fails parameter binding for -<Param> <Value> (<Cmd>)' -TestCases @(
        @{ Param = 'Memory'; Value = '32x'; Cmd = 'New-Container'; Class = 'NewContainerCommand' }
        @{ Param = 'Memory'; Value = 'lots'; Cmd = 'Invoke-ContainerImage'; Class = 'InvokeContainerImageCommand' }
        @{ Param = 'MemorySwap'; Value = 'm'; Cmd = 'New-Container'; Class = 'NewContainerCommand' }
        @{ Param = 'ShmSize'; Value = '1.2.3m'; Cmd = 'Invoke-ContainerImage'; Class = 'InvokeContainerImageCommand' }
    ) {
        param($Param, $Value, $Cmd, $Class)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = @{ $Param = $Value }
        $err = $null
        try { & $Cmd $script:img -Network none @p -Command true -ErrorAction Stop | Out-Null } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be "ParameterArgumentTransformationError,Containers.Cmdlets.Runtime.$Class"
        $err.Exception.Message | Should -Match ([regex]::Escape("'$Value' is not a size"))
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'keeps -Memory''s lower bound after the transformation (1m is too small)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        { New-Container $script:img -Network none -Memory 1m -Command true -ErrorAction Stop } | Should -Throw -ErrorId "ParameterArgumentValidationError,$($script:New)"
    }
}

Describe '-Sysctl' {
    It 'sets namespaced parameters inside the container only, as podman --sysctl does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $hostMsgmax = (Get-Content /proc/sys/kernel/msgmax).Trim()
        $hostPing = (Get-Content /proc/sys/net/ipv4/ping_group_range).Trim()
        $cmd = 'cat /proc/sys/kernel/msgmax /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max /proc/sys/net/ipv4/ping_group_range'
        $sysctls = 'kernel.msgmax=4096', 'kernel/shmmni=2048', 'fs.mqueue.msg_max=20', 'net.ipv4.ping_group_range=0 0'
        $pa = @()
        foreach ($s in $sysctls) { $pa += @('--sysctl', ($s -replace '/', '.')) }
        $p = Podman ($pa + @($script:podmanTag, 'sh', '-c', $cmd))
        $o = Ours @{ Sysctl = $sysctls } $cmd
        $o.ExitCode | Should -Be 0
        $p.ExitCode | Should -Be 0
        ($o.Output -split "`n" | ForEach-Object { $_ -replace '\s+', ' ' }) | Should -Be ($p.Output -split "`n" | ForEach-Object { $_ -replace '\s+', ' ' })
        ($o.Output -split "`n")[0] | Should -Be '4096'
        # the host's values are untouched
        (Get-Content /proc/sys/kernel/msgmax).Trim() | Should -Be $hostMsgmax
        (Get-Content /proc/sys/net/ipv4/ping_group_range).Trim() | Should -Be $hostPing
    }

    It 'keeps them across a restart, shows them, and /proc/sys stays read-only to the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name sysctl-keep -Network none -Sysctl kernel.shmmni=1234, kernel.shmmni=2345 `
            -Command sh, -c, 'cat /proc/sys/kernel/shmmni; echo 99 > /proc/sys/kernel/shmmni || echo refused'
        try {
            $c.Sysctls | Should -Be @('kernel.shmmni=2345')
            Start-Container sysctl-keep -PassThru | Wait-Container | Out-Null
            Start-Container sysctl-keep -PassThru | Wait-Container | Out-Null
            $log = @(Get-ContainerLog sysctl-keep | ForEach-Object { "$_" })
            @($log | Where-Object { $_ -eq '2345' }).Count | Should -Be 2
            @($log | Where-Object { $_ -eq 'refused' }).Count | Should -Be 2
        }
        finally { Remove-Container sysctl-keep -Force -ErrorAction SilentlyContinue }
    }

    It 'refuses <Value> with <ErrorId> (network <Network>)' -TestCases @(
        @{ Value = 'kernel.hostname=x'; ErrorId = 'SysctlNotNamespaced'; Network = 'none' }
        @{ Value = 'vm.swappiness=10'; ErrorId = 'SysctlNotNamespaced'; Network = 'none' }
        @{ Value = 'kernel.msgmax'; ErrorId = 'InvalidSysctl'; Network = 'none' }
        @{ Value = 'net..x=1'; ErrorId = 'InvalidSysctl'; Network = 'none' }
        @{ Value = 'net/../../x=1'; ErrorId = 'InvalidSysctl'; Network = 'none' }
        @{ Value = 'net.ipv4.ip_forward=1'; ErrorId = 'SysctlNotNamespaced'; Network = 'host' }
    ) {
        param($Value, $ErrorId, $Network)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $err = $null
        try { New-Container $script:img -Network $Network -Sysctl $Value -Command true -ErrorAction Stop | Out-Null } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be "$ErrorId,$($script:New)"
        $err.TargetObject | Should -Be $Value
        { Invoke-ContainerImage $script:img -Network $Network -Sysctl $Value -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$($script:Run)"
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'fails the start clearly for a parameter the kernel does not have' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name sysctl-missing -Network none -Sysctl net.ipv4.no_such_parameter=1 -Command true
        try {
            $err = $null
            try { Start-Container sysctl-missing -ErrorAction Stop } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'ContainerStartFailed,Containers.Cmdlets.Runtime.StartContainerCommand'
            $err.Exception.Message | Should -Match 'no_such_parameter'
        }
        finally { Remove-Container sysctl-missing -Force -ErrorAction SilentlyContinue }
    }
}
