# Isolation, layers, users, capabilities and masked paths of containers (real kernel, as root).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'newctr'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    function script:Run([string] $sh, [hashtable] $extra = @{}) {
        Invoke-ContainerImage -RootFs $script:rootfs -Command sh, -c, $sh -Remove @extra
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'New-Container isolation' {
    BeforeAll { $script:ok = $script:IsRoot }
    It 'runs the command as PID 1 and hides host processes' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        $r = Run 'echo $$; ps -o pid,comm | tail -n +2 | wc -l'
        $lines = $r.Output.Trim() -split "`n"
        $lines[0] | Should -Be '1'
        [int]$lines[1] | Should -BeLessOrEqual 4 -Because "only sh, ps, tail and wc run inside"
        $r.ExitCode | Should -Be 0
    }
    It 'with -Init runs an init as PID 1 that shows no host path and reaps orphans' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        # the orphaned sleep is re-parented to PID 1; once it ends, PID 1 must reap it (no zombie left)
        $r = Run 'tr "\0" " " < /proc/1/cmdline; echo; echo "parent=$PPID"; (sleep 0.2 &); sleep 1; ps -o stat,comm | grep -c "^Z" || true' @{ Init = $true }
        $lines = $r.Output.Trim() -split "`n"
        $lines[0] | Should -Match '^init -- sh -c '
        $r.Output | Should -Not -Match 'containers-helper|containers-tests|/containers/'
        $lines[1] | Should -Be 'parent=1'
        $lines[2].Trim() | Should -Be '0'
        $r.ExitCode | Should -Be 0
    }
    It 'uses the container hostname' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        (Run 'hostname' @{ Hostname = 'box1' }).Output.Trim() | Should -Be 'box1'
    }
    It 'passes the exit code through' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        (Run 'exit 7').ExitCode | Should -Be 7
    }
    It 'has Docker''s default capabilities' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        (Run 'grep CapEff /proc/1/status').Output | Should -Match 'CapEff:\s+00000000a80425fb'
        (Run 'grep CapEff /proc/1/status' @{ CapabilityDrop = 'NET_RAW' }).Output | Should -Match 'CapEff:\s+00000000a80405fb'
        (Run 'grep CapBnd /proc/1/status' @{ CapabilityAdd = 'SYS_ADMIN' }).Output | Should -Match 'CapBnd:\s+00000000a82425fb'
    }
    It 'masks /proc/kcore (and the other masked paths) and makes /proc/sys read-only' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        # /proc/kcore exists only with CONFIG_PROC_KCORE; check every masked file the host has
        $masked = @('/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug') | Where-Object { Test-Path $_ }
        $masked.Count | Should -BeGreaterThan 0
        foreach ($m in $masked) { (Run "wc -c < $m").Output.Trim() | Should -Be '0' -Because "$m is masked" }
        (Run 'ls /sys/firmware | wc -l').Output.Trim() | Should -Be '0'
        $r = Run 'echo 1 > /proc/sys/kernel/domainname && echo WROTE; grep " /proc/sys " /proc/self/mounts'
        $r.Output | Should -Not -Match 'WROTE'
        $r.Output | Should -Match '/proc/sys proc ro'
    }
    It 'gives /dev the standard nodes and a private /dev/pts' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        $r = Run 'ls /dev | tr "\n" " "; ls /dev/pts | wc -l'
        foreach ($n in 'null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'shm', 'mqueue', 'pts', 'stdout') { $r.Output | Should -Match "\b$n\b" }
    }
    It 'does not set no_new_privs unless asked' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        (Run 'grep NoNewPrivs /proc/1/status').Output | Should -Match 'NoNewPrivs:\s+0'
        (Run 'grep NoNewPrivs /proc/1/status' @{ NoNewPrivileges = $true }).Output | Should -Match 'NoNewPrivs:\s+1'
    }
    It 'has loopback only with -Network none' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        $r = Run 'ls /sys/class/net | tr "\n" " "' @{ Network = 'none' }
        $r.Output.Trim() | Should -Be 'lo'
        # loopback is up and carries traffic: a server on 127.0.0.1 inside answers a client inside
        $r = Run 'cat /sys/class/net/lo/operstate; echo hi > /tmp/i.txt; httpd -p 127.0.0.1:8080 -h /tmp; wget -q -O - http://127.0.0.1:8080/i.txt' @{ Network = 'none' }
        $r.Output | Should -Match 'hi'
        $r.ExitCode | Should -Be 0
    }
    It 'shares the host network with -Network host' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        # the interface of the host's default route (interfaces of other tests come and go)
        $dev = ((& ip route show default) -split ' ')[4]
        $dev | Should -Not -BeNullOrEmpty
        $r = Run 'ls /sys/class/net' @{ Network = 'host' }
        ($r.Output -split "`n") | Should -Contain $dev
    }
}

Describe 'Resource limits (-Ulimit)' {
    It 'sets soft and hard limits for the first process and for commands run in the container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Run 'ulimit -Sn; ulimit -Hn; ulimit -Su' @{ Ulimit = 'nofile=256:512', 'nproc=300' }
        ($r.Output.Trim() -split "`n") | Should -Be @('256', '512', '300')
        $c = New-Container -RootFs $script:rootfs -Name lim -Ulimit 'nofile=200:400' -Command sleep, 60 | Start-Container -PassThru
        try {
            $c.Ulimits | Should -Be @('nofile=200:400')
            ((Invoke-ContainerCommand lim -Command sh, -c, 'ulimit -Sn; ulimit -Hn').Output.Trim() -split "`n") | Should -Be @('200', '400')
        }
        finally { Remove-Container lim -Force }
    }
    It 'refuses a hard limit above the session''s own without CAP_SYS_RESOURCE (PermissionDenied, nothing created)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $status = Get-Content /proc/self/status | Where-Object { $_ -like 'CapEff:*' }
        $hasSysResource = ([Convert]::ToUInt64(($status -split '\s+')[1], 16) -band (1 -shl 24)) -ne 0
        $hard = [long](& sh -c 'ulimit -Hn')
        if ($hasSysResource) {
            # with the capability the raise is allowed, and the container gets it
            (Run 'ulimit -Hn' @{ Ulimit = "nofile=1024:$($hard + 1)" }).Output.Trim() | Should -Be "$($hard + 1)"
            return
        }
        $before = @(Get-ChildItem (Join-Path $script:root 'containers')).Count
        $e = { New-Container -RootFs $script:rootfs -Command true -Ulimit "nofile=1024:$($hard + 1)" -ErrorAction Stop } |
            Should -Throw -ErrorId 'UlimitAboveHardLimit,Containers.Cmdlets.Runtime.NewContainerCommand' -PassThru
        $e.CategoryInfo.Category | Should -Be 'PermissionDenied'
        @(Get-ChildItem (Join-Path $script:root 'containers')).Count | Should -Be $before
    }
}

Describe 'Users' {
    It 'runs as root by default and as -User (name or number)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        (Run 'id -u; id -g').Output.Trim() -split "`n" | Should -Be @('0', '0')
        (Run 'id -u; id -g' @{ User = 'app' }).Output.Trim() -split "`n" | Should -Be @('1000', '1000')
        (Run 'id -u; id -g' @{ User = '1234:4321' }).Output.Trim() -split "`n" | Should -Be @('1234', '4321')
        (Run 'grep CapEff /proc/self/status' @{ User = 'app' }).Output | Should -Match 'CapEff:\s+0000000000000000'
    }
    It 'fails clearly for an unknown user' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        { Invoke-ContainerImage -RootFs $script:rootfs -Command true -User nosuch -Remove -ErrorAction Stop } |
            Should -Throw -ErrorId 'UserNotFound,Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
    }
}

Describe 'Layers' {
    It 'keeps writes in the container''s own layer and drops them on removal' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $a = New-Container -RootFs $script:rootfs -Name layer-a -Command sh, -c, 'echo data > /etc/written; rm /bin/ls'
        Start-Container layer-a
        Wait-Container layer-a -Timeout 30 | Select-Object -ExpandProperty ExitCode | Should -Be 0
        $upper = Join-Path $script:root "containers/$($a.Id)/upper"
        Get-Content "$upper/etc/written" | Should -Be 'data'
        Test-Path "$script:rootfs/etc/written" | Should -BeFalse
        Test-Path "$script:rootfs/bin/ls" | Should -BeTrue
        (Run 'cat /etc/written 2>&1; ls /bin/ls').Output | Should -Match 'No such file'
        Remove-Container layer-a
        Test-Path (Join-Path $script:root "containers/$($a.Id)") | Should -BeFalse
    }
    It 'leaves the writable layer empty when the container writes nothing (mount points come from a shared layer)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # /proc, /dev, /sys and the bind-mounted /etc files need mount points; busybox's tree has none of them
        Test-Path "$script:rootfs/proc" | Should -BeFalse
        Test-Path "$script:rootfs/etc/hostname" | Should -BeFalse
        $c = New-Container -RootFs $script:rootfs -Name layer-empty -Hostname quiet -Command sh, -c, 'cat /etc/hostname; test -d /proc/self && echo proc'
        Start-Container layer-empty
        Wait-Container layer-empty -Timeout 30 | Select-Object -ExpandProperty ExitCode | Should -Be 0
        Get-ContainerLog layer-empty | Should -Be @('quiet', 'proc')
        @(Get-ChildItem -Force (Join-Path $script:root "containers/$($c.Id)/upper")) | Should -BeNullOrEmpty
        # the shared layer has only empty mount points and the /etc/mtab link, and containers never change it
        $shared = Join-Path $script:root 'runtime/mountpoints.2'
        @(Get-ChildItem -Recurse -File $shared | Where-Object { $_.Length -gt 0 -and -not $_.LinkTarget }) | Should -BeNullOrEmpty
        (Get-Item (Join-Path $shared 'etc/mtab')).LinkTarget | Should -Be '/proc/mounts'
        Remove-Container layer-empty
    }
    It 'makes the root file system read-only with -ReadOnly' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Run 'touch /x 2>&1; echo rc=$?; touch /tmp/y 2>&1; echo tmp=$?' @{ ReadOnly = $true; Tmpfs = '/tmp' }
        $r.Output | Should -Match 'Read-only file system'
        $r.Output | Should -Match 'rc=1'
        $r.Output | Should -Match 'tmp=0'
    }
}

Describe 'New-Container errors and -WhatIf' {
    It 'fails with <Id>' -TestCases @(
        @{ Id = 'ImageNotFound'; Params = @{ Image = 'nosuch/image:1'; Command = 'true'; Pull = 'Never' } }
        @{ Id = 'RootFsNotFound'; Params = @{ RootFs = '/nonexistent/rootfs'; Command = 'true' } }
        @{ Id = 'InvalidRestartPolicy'; Params = @{ RootFs = '/'; Command = 'true'; RestartPolicy = 'sometimes' } }
        @{ Id = 'InvalidCapability'; Params = @{ RootFs = '/'; Command = 'true'; CapabilityAdd = 'CAP_FLY' } }
        @{ Id = 'InvalidVolumeSpec'; Params = @{ RootFs = '/'; Command = 'true'; Volume = 'justaname' } }
        @{ Id = 'InvalidContainerName'; Params = @{ RootFs = '/'; Command = 'true'; Name = '-bad' } }
        @{ Id = 'InvalidSignal'; Params = @{ RootFs = '/'; Command = 'true'; StopSignal = 'SIGNOPE' } }
        @{ Id = 'NetworkNotFound'; Params = @{ RootFs = '/'; Command = 'true'; Network = 'nosuchnet' } }
        @{ Id = 'InvalidUlimit'; Params = @{ RootFs = '/'; Command = 'true'; Ulimit = 'nofiles=10' } }
        @{ Id = 'InvalidUlimit'; Params = @{ RootFs = '/'; Command = 'true'; Ulimit = 'nofile=20:10' } }
        @{ Id = 'InvalidUlimit'; Params = @{ RootFs = '/'; Command = 'true'; Ulimit = 'nofile=ten' } }
    ) {
        param($Id, $Params)
        { New-Container @Params -ErrorAction Stop } | Should -Throw -ErrorId "$Id,Containers.Cmdlets.Runtime.NewContainerCommand"
    }
    It 'names the missing image in the message' {
        $e = { New-Container -Image 'nosuch/image:1' -Pull Never -ErrorAction Stop } | Should -Throw -PassThru
        $e.Exception.Message | Should -Match 'nosuch/image:1'
    }
    It 'refuses a name in use unless -Replace' {
        $null = New-Container -RootFs $script:rootfs -Name twin -Command true
        { New-Container -RootFs $script:rootfs -Name twin -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'ContainerNameInUse,Containers.Cmdlets.Runtime.NewContainerCommand'
        $b = New-Container -RootFs $script:rootfs -Name twin -Command true -Replace
        @(Get-Container -All | Where-Object Name -eq twin).Count | Should -Be 1
        (Get-Container twin).Id | Should -Be $b.Id
        Remove-Container twin
    }
    It 'changes nothing with -WhatIf' {
        $before = @(Get-ChildItem (Join-Path $script:root 'containers')).Count
        New-Container -RootFs $script:rootfs -Command true -WhatIf
        @(Get-ChildItem (Join-Path $script:root 'containers')).Count | Should -Be $before
    }
}

Describe 'From an image' {
    BeforeAll {
        if ($script:IsRoot) {
            $script:img = Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name rt-bb:1 -Change @('CMD ["sh","-c","id -u; pwd; echo $GREETING"]', 'USER app', 'WORKDIR /tmp', 'ENV GREETING=hello')
            $script:layerDirs = @(Get-ChildItem (Join-Path $script:root 'layers') -Directory)
            $script:layerFiles = @(Get-ChildItem (Join-Path $script:root 'layers') -Recurse -File -Force).Count
        }
    }
    It 'runs the image''s command as its USER in its WORKDIR with its ENV; -User overrides' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        (Invoke-ContainerImage rt-bb:1 -Remove).Output.Trim() -split "`n" | Should -Be @('1000', '/tmp', 'hello')
        (Invoke-ContainerImage rt-bb:1 -User root -Remove).Output.Trim() -split "`n" | Select-Object -First 1 | Should -Be '0'
    }
    It 'records the image id, keeps writes out of the image layers and sibling containers' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $a = New-Container rt-bb:1 -Name img-a -User root -Command sh, -c, 'echo mine > /etc/only-a; rm /bin/ls'
        $a.ImageId | Should -Be $script:img.Id
        (Get-Content -Raw (Join-Path $script:root "containers/$($a.Id)/config.json") | ConvertFrom-Json).imageId | Should -Be $script:img.Id
        # the image store sees it in use
        { Remove-ContainerImage rt-bb:1 -ErrorAction Stop } | Should -Throw -ErrorId 'ImageInUse,Containers.Cmdlets.Images.RemoveContainerImageCommand'
        Start-Container img-a; (Wait-Container img-a -Timeout 30).ExitCode | Should -Be 0
        (Invoke-ContainerImage rt-bb:1 -User root -Command sh, -c, 'cat /etc/only-a 2>&1; ls /bin/ls' -Remove).Output | Should -Match 'No such file[\s\S]*/bin/ls'
        @(Get-ChildItem (Join-Path $script:root 'layers') -Recurse -File -Force).Count | Should -Be $script:layerFiles
        Remove-Container img-a
        Test-Path (Join-Path $script:root "containers/$($a.Id)") | Should -BeFalse
    }
    It 'commits a container as a new image (New-ContainerImage -Container)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage rt-bb:1 -Name to-commit -User root -Command sh, -c, 'echo committed > /etc/marker'
        $new = New-ContainerImage -Container to-commit -Name rt-bb:2 -Change 'CMD ["cat","/etc/marker"]'
        $new.Id | Should -Not -Be $script:img.Id
        (Invoke-ContainerImage rt-bb:2 -Remove).Output.Trim() | Should -Be 'committed'
        Remove-Container to-commit
    }
}

Describe 'Bridge network (through the network provider)' {
    It 'gives the container an interface on the default bridge network, removed with it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage -RootFs $script:rootfs -Name bridged -Network bridge -Detach -Init -Command sleep, 600
        $r = Invoke-ContainerCommand bridged -Command sh, -c, 'ls /sys/class/net | tr "\n" " "; cat /etc/resolv.conf'
        $r.Output | Should -Match 'eth0'
        $r.Output | Should -Match 'nameserver'
        Remove-Container bridged -Force
        Test-Path (Join-Path $script:root "containers/$($c.Id)") | Should -BeFalse
    }
}

Describe 'New-Container networking defaults' {
    BeforeAll { $script:ok = $script:IsRoot }
    It 'joins the default bridge network when no -Network is given and shows its address on the object' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        $c = New-Container -RootFs $script:rootfs -Name defnet -Command sleep, 30
        try {
            $c.Network | Should -Be 'bridge'
            $c.Networks | Should -Be @('bridge')
            $c | Start-Container
            $c = Get-Container defnet
            @($c.Endpoints).Count | Should -Be 1
            $c.Endpoints[0].Network | Should -Be 'bridge'
            $c.IPAddress | Should -Match '^\d+\.\d+\.\d+\.\d+$'
            $inside = Invoke-ContainerCommand defnet -Command sh, -c, 'ip -4 -o addr show eth0'
            $inside.Output | Should -Match ([regex]::Escape($c.IPAddress) + '/')
            (Get-ContainerNetwork bridge).Subnet | Should -Not -BeNullOrEmpty
        }
        finally { Remove-Container defnet -Force }
    }
    It 'lists published ports as objects with the host port it bound' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        $c = New-Container -RootFs $script:rootfs -Name pubport -Port '127.0.0.1::80' -Command sleep, 30 | Start-Container -PassThru
        try {
            $c = Get-Container pubport
            @($c.Ports).Count | Should -Be 1
            $c.Ports[0].HostIp | Should -Be '127.0.0.1'
            $c.Ports[0].ContainerPort | Should -Be 80
            $c.Ports[0].Protocol | Should -Be 'tcp'
            $c.Ports[0].HostPort | Should -BeGreaterThan 0
        }
        finally { Remove-Container pubport -Force }
    }
    It 'joins two networks given as -Network a,b' {
        if (-not (Test-Prerequisite -Condition $script:ok -Because 'needs root')) { return }
        New-ContainerNetwork -Name neta -StorageRoot $script:root | Out-Null
        New-ContainerNetwork -Name netb -StorageRoot $script:root | Out-Null
        try {
            New-Container -RootFs $script:rootfs -Name twonets -Network neta, netb -Command sleep, 30 | Start-Container
            $c = Get-Container twonets
            @($c.Endpoints.Network | Sort-Object) | Should -Be @('neta', 'netb')
            (Invoke-ContainerCommand twonets -Command sh, -c, 'ls /sys/class/net | tr "\n" " "').Output | Should -Match 'eth0 eth1'
        }
        finally {
            Remove-Container twonets -Force -ErrorAction SilentlyContinue
            Remove-ContainerNetwork neta, netb -Force -StorageRoot $script:root -Confirm:$false
        }
    }
    It 'refuses none mixed with other networks with NetworkModeExclusive' {
        { New-Container -RootFs $script:rootfs -Network none, bridge -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'NetworkModeExclusive,Containers.Cmdlets.Runtime.NewContainerCommand'
        @(Get-Container -All | Where-Object Network -eq 'none,bridge').Count | Should -Be 0
    }
}
