# Get-Container's objects replace `docker inspect`: the configuration asked for at creation (env, user,
# entrypoint, command, working dir, limits, capabilities, mounts, read-only, restart policy, labels,
# hostname, network settings, security options) reads back from the object, and "unlimited" is $null.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'inspect'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        & tar -C $rootfs -cf "$script:root/busybox.tar" .
        $null = Import-ContainerImage -RootFs -LiteralPath "$script:root/busybox.tar" -Name localhost/inspect:test `
            -Change 'ENTRYPOINT ["/bin/sh", "-c"]', 'CMD ["sleep 60"]', 'ENV FROM_IMAGE=yes', 'WORKDIR /tmp'
    }
}
AfterAll { Remove-TestStorageRoot $script:root }

Describe 'A container made with every setting' {
    BeforeAll {
        if (-not $script:IsRoot) { return }
        $script:asked = @{
            Image = 'localhost/inspect:test'; Name = 'full'; Entrypoint = '/bin/sh'; Command = '-c', 'exec sleep 60'
            Environment = @{ APP_MODE = 'test'; FROM_IMAGE = 'overridden' }; User = 'app:app'; WorkingDirectory = '/srv'
            Hostname = 'inspected'; Memory = '64m'; Cpus = 0.5; PidsLimit = 50; ReadOnly = $true
            RestartPolicy = 'on-failure:3'; CapabilityAdd = 'NET_ADMIN'; CapabilityDrop = 'CHOWN', 'MKNOD'
            Label = @{ tier = 'web'; owner = 'team' }; Volume = 'inspect-data:/data:ro'; Tmpfs = '/run:size=8m'
            SecurityOption = 'no-new-privileges'; StopSignal = 'SIGINT'; StopTimeout = 3; Init = $true; Network = 'none'
        }
        $script:c = New-Container @script:asked
        $script:got = Get-Container full
    }
    It 'shows the command, the entrypoint, the environment, the user and the working directory asked for' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $got.Entrypoint | Should -Be @('/bin/sh')
        $got.Command | Should -Be @('/bin/sh', '-c', 'exec sleep 60')
        $got.Environment | Should -Contain 'APP_MODE=test'
        $got.Environment | Should -Contain 'FROM_IMAGE=overridden'
        $got.Environment | Should -Not -Contain 'FROM_IMAGE=yes'
        $got.User | Should -BeExactly 'app:app'
        $got.WorkingDirectory | Should -BeExactly '/srv'
        $got.Hostname | Should -BeExactly 'inspected'
    }
    It 'shows the limits in bytes and CPUs' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $got.Memory | Should -Be 64MB
        $got.Cpus | Should -Be 0.5
        $got.PidsLimit | Should -Be 50
    }
    It 'shows Docker''s default capabilities with the added ones and without the dropped ones' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $expected = 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'NET_BIND_SERVICE', 'NET_ADMIN',
        'NET_RAW', 'SYS_CHROOT', 'AUDIT_WRITE', 'SETFCAP'
        @($got.Capabilities | Sort-Object) | Should -Be @($expected | Sort-Object)
        $got.Privileged | Should -BeFalse
    }
    It 'shows the mounts as objects, read-only, the restart policy, labels and security settings' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $data = $got.Mounts | Where-Object Destination -eq '/data'
        $data.Type | Should -BeExactly 'volume'
        $data.Source | Should -BeExactly 'inspect-data'
        $data.ReadOnly | Should -BeTrue
        $run = $got.Mounts | Where-Object Destination -eq '/run'
        $run.Type | Should -BeExactly 'tmpfs'
        $got.ReadOnly | Should -BeTrue
        $got.RestartPolicy | Should -BeExactly 'on-failure:3'
        $got.Labels['tier'] | Should -BeExactly 'web'
        $got.Labels['owner'] | Should -BeExactly 'team'
        $got.SecurityOptions | Should -Contain 'no-new-privileges'
        $got.NoNewPrivileges | Should -BeTrue
        $got.Seccomp | Should -BeExactly 'default'
        $got.StopSignal | Should -BeExactly 'SIGINT'
        $got.StopTimeout | Should -Be 3
        $got.Init | Should -BeTrue
        $got.Network | Should -BeExactly 'none'
    }
    It 'is what the container runs with (the process sees the same user, directory and environment)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Start-Container full
        try {
            $r = Invoke-ContainerCommand full -Command sh, -c, 'id -u; pwd; echo $APP_MODE; cat /proc/self/status | grep CapBnd' -Quiet
            $lines = $r.Output.Trim() -split "`n"
            $lines[0] | Should -Be '1000'
            $lines[1] | Should -Be '/srv'
            $lines[2] | Should -Be 'test'
            (Get-Container full).Pid | Should -BeGreaterThan 0
        }
        finally { Stop-Container full -Timeout 1 }
    }
    It 'keeps the same configuration when listed with the others and after a restart' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $listed = Get-Container -All | Where-Object Name -eq 'full'
        $listed.Environment | Should -Be $got.Environment
        $listed.Capabilities | Should -Be $got.Capabilities
        $listed.Entrypoint | Should -Be $got.Entrypoint
    }
}

Describe 'A container made with no settings' {
    It 'takes the image''s entrypoint, command, environment and working directory, and shows unlimited as $null' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = New-Container -Image localhost/inspect:test -Network none
        try {
            $c.Entrypoint | Should -Be @('/bin/sh', '-c')
            $c.Command | Should -Be @('/bin/sh', '-c', 'sleep 60')
            $c.Environment | Should -Contain 'FROM_IMAGE=yes'
            $c.WorkingDirectory | Should -BeExactly '/tmp'
            $c.User | Should -BeExactly ''
            $c.Memory | Should -BeNullOrEmpty
            $c.Cpus | Should -BeNullOrEmpty
            $c.PidsLimit | Should -BeNullOrEmpty
            @($c.Capabilities).Count | Should -Be 14
            $c.ReadOnly | Should -BeFalse
            $c.RestartPolicy | Should -BeExactly 'no'
            $c.StopSignal | Should -BeExactly 'SIGTERM'
            $c.StopTimeout | Should -Be 10
        }
        finally { $c | Remove-Container -Force }
    }
    It 'shows every capability with -Privileged' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = New-Container -Image localhost/inspect:test -Network none -Privileged
        try {
            $c.Privileged | Should -BeTrue
            $c.Capabilities | Should -Contain 'SYS_ADMIN'
            @($c.Capabilities).Count | Should -BeGreaterThan 30
        }
        finally { $c | Remove-Container -Force }
    }
    It 'shows -Entrypoint '''' as no entrypoint' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = New-Container -Image localhost/inspect:test -Network none -Entrypoint '' -Command sleep, 5
        try {
            @($c.Entrypoint).Count | Should -Be 0
            $c.Command | Should -Be @('sleep', '5')
        }
        finally { $c | Remove-Container -Force }
    }
}

Describe 'The views show times and sizes alike, and tables use the console''s width' {
    It 'formats sizes in binary units and unlimited as such' -TestCases @(
        @{ Bytes = 0; Text = '0 B' }, @{ Bytes = 1023; Text = '1023 B' }, @{ Bytes = 1024; Text = '1 KiB' }
        @{ Bytes = 1536; Text = '1.5 KiB' }, @{ Bytes = 1982370; Text = '1.89 MiB' }, @{ Bytes = 67108864; Text = '64 MiB' }
        @{ Bytes = 580000000; Text = '553 MiB' }, @{ Bytes = 1610612736; Text = '1.5 GiB' }, @{ Bytes = -1; Text = 'unlimited' }
    ) {
        [Containers.Cmdlets.Base.Display]::Size([long]$Bytes) | Should -BeExactly $Text
    }
    It 'shows an image''s and a container''s creation time the same way, and the image''s size with a unit' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = New-Container -Image localhost/inspect:test -Network none -Name view-dates
        try {
            $img = Get-ContainerImage localhost/inspect:test
            $stamp = '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'
            $imgText = $img | Format-Table | Out-String -Width 200
            $imgText | Should -Match ([regex]::Escape($img.Created.ToLocalTime().ToString('yyyy-MM-dd HH:mm:ss')))
            $imgText | Should -Match ([regex]::Escape([Containers.Cmdlets.Base.Display]::Size($img.Size)))
            $imgText | Should -Match '\d (KiB|MiB)'
            $ctText = Get-Container view-dates | Format-Table | Out-String -Width 200
            $ctText | Should -Match ([regex]::Escape($c.Created.ToLocalTime().ToString('yyyy-MM-dd HH:mm:ss')))
            ($ctText -split "`n" | Where-Object { $_ -match $stamp }).Count | Should -Be 1
        }
        finally { $c | Remove-Container -Force }
    }
    It 'shows a long container name whole on a wide console and fits a narrow one' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $name = 'a-container-with-a-rather-long-name-0123456789'
        $c = New-Container -Image localhost/inspect:test -Network none -Name $name
        try {
            (Get-Container $name | Format-Table | Out-String -Width 200) | Should -Match ([regex]::Escape($name))
            $narrow = Get-Container $name | Format-Table | Out-String -Width 80
            @($narrow -split "`n" | Where-Object { $_.TrimEnd().Length -gt 80 }) | Should -BeNullOrEmpty
        }
        finally { $c | Remove-Container -Force }
    }
}
