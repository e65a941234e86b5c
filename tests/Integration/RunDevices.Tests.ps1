# -Device (docker --device) and the host devices -Privileged gives, on New-Container and Invoke-ContainerImage. Real
# containers as root, compared with podman (the same busybox root file system imported there).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'rundevices'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/find" -Target busybox | Out-Null
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'rundevices/bb:1'
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null }
    $script:podmanTag = "localhost/pscontainers-rundevices:$PID"
    $script:havePodman = Test-Command 'podman'
    if ($script:havePodman) { & timeout 120 podman import --quiet $script:tar $script:podmanTag 2>&1 | Out-Null }
    function script:Podman([string[]] $Arguments) {
        $out = & timeout 120 podman run --rm --network none @Arguments 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n").Trim() }
    }
    function script:Ours([hashtable] $Extra, [string] $Script) {
        $r = Invoke-ContainerImage $script:img -Remove -Quiet -Network none @Extra -Command sh, -c, $Script
        [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.Output.Trim() }
    }
    # a host device outside docker's default allowlist: opening it needs the rule -Device adds (the probe opens it
    # for reading, then for writing, and transfers nothing)
    $script:dev = @('/dev/loop-control', '/dev/cpu_dma_latency', '/dev/btrfs-control') | Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
    $script:probe = 'dd if=/dev/k of=/dev/null bs=1 count=0 2>/dev/null && echo read-ok || echo read-denied; dd if=/dev/null of=/dev/k bs=1 count=0 conv=notrunc 2>/dev/null && echo write-ok || echo write-denied; stat -c "%F %t:%T %a" /dev/k'
    $script:New = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:Run = 'Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
}
AfterAll {
    if ($script:havePodman) { & timeout 60 podman rmi -f $script:podmanTag 2>&1 | Out-Null }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe '-Device' {
    It 'makes the host device at the container path with its numbers and mode, allowed as given (<Perms>), as podman --device does' -TestCases @(
        @{ Perms = 'r'; Want = 'read-ok', 'write-denied' }, @{ Perms = 'rw'; Want = 'read-ok', 'write-ok' }
    ) {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman -and $script:dev) 'needs root, podman and a host device such as /dev/loop-control')) { return }
        $p = Podman @('--device', "$($script:dev):/dev/k:$Perms", $script:podmanTag, 'sh', '-c', $script:probe)
        $o = Ours @{ Device = "$($script:dev):/dev/k:$Perms" } $script:probe
        $o.Output | Should -Be $p.Output
        $st = & stat -L -c '%t:%T %a' $script:dev
        $o.Output | Should -Be "$($Want[0])`n$($Want[1])`ncharacter special file $st"
    }

    It 'opens nothing without -Device: a node made inside the container stays closed by the device cgroup' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:dev) 'needs root and a host device such as /dev/loop-control')) { return }
        $st = (& stat -L -c '%t %T' $script:dev) -split ' ' | ForEach-Object { [Convert]::ToInt32($_, 16) }
        $o = Ours @{} "mknod /dev/k c $($st[0]) $($st[1]) && dd if=/dev/k of=/dev/null bs=1 count=0 2>/dev/null && echo read-ok || echo read-denied"
        $o.Output | Should -Be 'read-denied'
    }

    It 'keeps the host path as the container path when only one is given, and rwm by default' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:dev) 'needs root and a host device such as /dev/loop-control')) { return }
        $o = Ours @{ Device = $script:dev } "ls $($script:dev) && dd if=$($script:dev) of=/dev/null bs=1 count=0 2>/dev/null && echo read-ok"
        $o.Output | Should -Be "$($script:dev)`nread-ok"
        $c = New-Container $script:img -Network none -Device $script:dev -Command true
        try { (Get-Content -Raw -LiteralPath (Join-Path $script:root "containers/$($c.Id)/config.json") | ConvertFrom-Json).Devices | Should -Be @($script:dev) }
        finally { Remove-Container $c.Id -Force }
    }

    It 'refuses <Spec> with <ErrorId> (<Cmd>)' -TestCases @(
        @{ Spec = '/dev/no-such-device-here'; ErrorId = 'DeviceNotFound'; Cmd = 'New-Container' }
        @{ Spec = '/etc/hostname'; ErrorId = 'NotADevice'; Cmd = 'Invoke-ContainerImage' }
        @{ Spec = 'dev/null'; ErrorId = 'InvalidDeviceSpec'; Cmd = 'New-Container' }
        @{ Spec = '/dev/null:/dev/n:rwx'; ErrorId = 'InvalidDeviceSpec'; Cmd = 'New-Container' }
        @{ Spec = '/dev/null:/a:/b:r'; ErrorId = 'InvalidDeviceSpec'; Cmd = 'Invoke-ContainerImage' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $class = if ($Cmd -eq 'New-Container') { $script:New } else { $script:Run }
        { & $Cmd $script:img -Network none -Device $Spec -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,$class"
        @(Get-Container -All).Count | Should -Be 0
    }
}

Describe '-Privileged devices' {
    It 'gives the host''s devices, the same /dev listing as podman --privileged' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $list = 'find /dev -type c -o -type b | sort'
        $p = Podman @('--privileged', $script:podmanTag, 'sh', '-c', $list)
        $o = Ours @{ Privileged = $true } $list
        $o.ExitCode | Should -Be 0
        $o.Output | Should -Be $p.Output
        # more than docker's default set: every host device is there
        $unprivileged = Ours @{} $list
        @($o.Output -split "`n").Count | Should -BeGreaterThan @($unprivileged.Output -split "`n").Count
        if ($script:dev) { $o.Output | Should -Match "(?m)^$([regex]::Escape($script:dev))$" }
    }
}
