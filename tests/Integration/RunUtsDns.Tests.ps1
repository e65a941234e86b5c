# New-Container / Invoke-ContainerImage: -Domainname (docker --domainname), -DnsOption (docker --dns-option),
# -CgroupParent (docker --cgroup-parent) and -Network's long form name=n,alias=a (aliases on one network only).
# Real containers as root.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'cgaps-uts'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'cgaps/bb:1'
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img | Out-Null }
    $script:New = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:Sleep = 'trap ''exit 0'' TERM; sleep 1000 & wait'
    # a cgroup parent of this run's own, removed at the end (the engine leaves a -CgroupParent in place, as docker does)
    $script:cgParent = "psc-cgaps-$PID"
}
AfterAll {
    if ($script:root) {
        Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork -ErrorAction SilentlyContinue | Where-Object Name -like 'cgaps-*' | Remove-ContainerNetwork -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
    # deepest first, in every hierarchy (v1) or the unified one (v2)
    foreach ($d in @(Get-ChildItem -Directory /sys/fs/cgroup -ErrorAction SilentlyContinue) + @(Get-Item /sys/fs/cgroup)) {
        foreach ($sub in "$script:cgParent/sub", $script:cgParent) {
            $p = Join-Path $d.FullName $sub
            if (Test-Path -LiteralPath $p) { [System.IO.Directory]::Delete($p) }
        }
    }
}

Describe '-Domainname' {
    It 'sets the NIS domain name in the container''s UTS namespace; without it the kernel''s (none)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -Network none -Domainname example.org -Hostname web -Command sh, -c, 'cat /proc/sys/kernel/domainname; hostname'
        $r.Output.Trim() -split "`n" | Should -Be @('example.org', 'web')
        $r = Invoke-ContainerImage $script:img -Remove -Network none -Command cat, /proc/sys/kernel/domainname
        $r.Output.Trim() | Should -Be '(none)'
        # the host's own domain name is untouched
        (Get-Content /proc/sys/kernel/domainname) | Should -Not -Be 'example.org'
    }

    It 'keeps it across a restart and shows it on the container object' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name dn1 -Network none -Domainname corp.example -Command sh, -c, $script:Sleep
        try {
            $c.Domainname | Should -Be 'corp.example'
            Start-Container dn1
            Restart-Container dn1
            (Invoke-ContainerCommand dn1 -Command cat, /proc/sys/kernel/domainname -Quiet).Output.Trim() | Should -Be 'corp.example'
        }
        finally { Remove-Container dn1 -Force }
    }

    It 'refuses a value that is not a domain name with InvalidDomainname (<V>)' -TestCases @(
        @{ V = 'has space.org' }, @{ V = ('a' * 65) }, @{ V = '-bad.org' }, @{ V = "x`ny" }
    ) {
        param($V)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-Container $script:img -Network none -Domainname $V -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be "InvalidDomainname,$script:New"
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}

Describe '-DnsOption' {
    # podman refuses any DNS option with --network none (and its bridge is not used here), so the file is checked
    # against docker's: the name servers, then one "options" line with the words in the order given
    It 'writes one options line into resolv.conf, beside -Dns''s name server, as docker --dns-option does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $ours = (Invoke-ContainerImage $script:img -Remove -Network none -Dns 10.1.1.1 -DnsOption ndots:3, rotate -Command cat, /etc/resolv.conf).Output
        @($ours.Trim() -split "`n" | Where-Object { $_ -match '^(options|nameserver)' }) | Should -Be @('nameserver 10.1.1.1', 'options ndots:3 rotate')
    }

    It 'replaces the options on a bridge network and keeps the network''s name server' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -DnsOption timeout:1 -Command cat, /etc/resolv.conf
        $lines = $r.Output.Trim() -split "`n"
        @($lines | Where-Object { $_ -match '^options' }) | Should -Be @('options timeout:1')
        @($lines | Where-Object { $_ -match '^nameserver' }).Count | Should -BeGreaterThan 0
        $c = New-Container $script:img -Network none -DnsOption edns0 -Command true
        try { $c.DnsOptions | Should -Be @('edns0') } finally { Remove-Container $c.Id -Force }
    }

    It 'refuses an option that is not one word with InvalidDnsOption, and with container: networking NetworkModeConflict' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-Container $script:img -Network none -DnsOption "ndots:1`nnameserver 6.6.6.6" -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be "InvalidDnsOption,$script:New"
        $c = New-Container $script:img -Name dnsbase -Network none -Command sh, -c, $script:Sleep
        try {
            New-Container $script:img -Network container:dnsbase -DnsOption rotate -Command true -ErrorVariable e2 -ErrorAction SilentlyContinue | Out-Null
            $e2[0].FullyQualifiedErrorId | Should -Be "NetworkModeConflict,$script:New"
        }
        finally { Remove-Container $c.Id -Force }
    }
}

Describe '-CgroupParent' {
    It 'makes the container''s cgroup under the parent, with its limits, and leaves the parent when it goes' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name cgp1 -Network none -CgroupParent "/$script:cgParent/sub" -Memory 64MB -Command sh, -c, $script:Sleep
        try {
            $c.CgroupParent | Should -Be "$script:cgParent/sub"
            Start-Container cgp1
            $pid1 = (Get-Container cgp1).Pid
            $lines = Get-Content "/proc/$pid1/cgroup"
            if (Test-Path /sys/fs/cgroup/cgroup.controllers) {
                $lines | Should -Contain "0::/$script:cgParent/sub/$($c.Id)"
                (Get-Content "/sys/fs/cgroup/$script:cgParent/sub/$($c.Id)/memory.max").Trim() | Should -Be "$(64MB)"
            }
            else {
                @($lines | Where-Object { $_ -match ':memory:' }) -join '' | Should -Match ":memory:/$script:cgParent/sub/$($c.Id)$"
                (Get-Content "/sys/fs/cgroup/memory/$script:cgParent/sub/$($c.Id)/memory.limit_in_bytes").Trim() | Should -Be "$(64MB)"
                @($lines | Where-Object { $_ -match ':pids:' }) -join '' | Should -Match "/$script:cgParent/sub/$($c.Id)$"
            }
            # the stats read the same cgroup
            (Measure-Container cgp1).MemoryLimitBytes | Should -Be (64MB)
        }
        finally { Remove-Container cgp1 -Force }
        $base = if (Test-Path /sys/fs/cgroup/cgroup.controllers) { '/sys/fs/cgroup' } else { '/sys/fs/cgroup/memory' }
        Test-Path "$base/$script:cgParent/sub/$($c.Id)" | Should -BeFalse
        Test-Path "$base/$script:cgParent/sub" | Should -BeTrue
    }

    It 'refuses a parent that would climb or leave the hierarchy with InvalidCgroupParent (<V>)' -TestCases @(
        @{ V = '../escape' }, @{ V = 'a/../../b' }, @{ V = '/' }, @{ V = 'a/./b' }, @{ V = 'pscontainers-other' }, @{ V = 'a b' }
    ) {
        param($V)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-Container $script:img -Network none -CgroupParent $V -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be "InvalidCgroupParent,$script:New"
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-Container -All | Should -BeNullOrEmpty
    }
}

Describe '-Network name=<network>,alias=<name>: aliases on one network only' {
    BeforeAll {
        if (-not $script:IsRoot) { return }
        New-ContainerNetwork -Name cgaps-front | Out-Null
        New-ContainerNetwork -Name cgaps-back | Out-Null
        $script:srv = New-Container $script:img -Name cgsrv -Network 'name=cgaps-front,alias=fa', 'name=cgaps-back,alias=ba,alias=bb' -NetworkAlias both -Command sh, -c, $script:Sleep
        Start-Container cgsrv
        foreach ($n in 'front', 'back') {
            New-Container $script:img -Name "cg$n" -Network "cgaps-$n" -Command sh, -c, $script:Sleep | Out-Null
            Start-Container "cg$n"
        }
        function script:Resolves([string] $From, [string] $Name) {
            $r = Invoke-ContainerCommand $From -Command nslookup, $Name -Quiet
            $r.ExitCode -eq 0 -and "$($r.Output)" -match 'Address: *\d+\.\d+\.\d+\.\d+' -and "$($r.Output)" -notmatch 'NXDOMAIN'
        }
    }

    It 'shows the aliases by network on the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $script:srv.Networks | Should -Be @('cgaps-front', 'cgaps-back')
        $script:srv.NetworkAliasesByNetwork['cgaps-front'] | Should -Be @('fa')
        $script:srv.NetworkAliasesByNetwork['cgaps-back'] | Should -Be @('ba', 'bb')
        ((Get-Container cgsrv).Endpoints | Where-Object Network -EQ 'cgaps-back').Aliases | Should -Be @('both', 'ba', 'bb')
    }

    It 'resolves a front alias only from the front network and a back alias only from the back network' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Resolves cgfront fa | Should -BeTrue
        Resolves cgfront ba | Should -BeFalse
        Resolves cgfront bb | Should -BeFalse
        Resolves cgback ba | Should -BeTrue
        Resolves cgback bb | Should -BeTrue
        Resolves cgback fa | Should -BeFalse
        # -NetworkAlias still applies on every network
        Resolves cgfront both | Should -BeTrue
        Resolves cgback both | Should -BeTrue
    }

    It 'gives the address ip= names on its network (and -IPAddress''s on the first)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-ContainerNetwork -Name cgaps-fixed -Subnet 10.213.59.0/24 | Out-Null
        try {
            $c = New-Container $script:img -Name cgfixed -Network cgaps-front, 'name=cgaps-fixed,ip=10.213.59.77,alias=fx' -Command sh, -c, $script:Sleep
            Start-Container cgfixed
            ((Get-Container cgfixed).Endpoints | Where-Object Network -EQ 'cgaps-fixed').IPv4Address | Should -Be '10.213.59.77'
            New-Container $script:img -Network 'name=cgaps-fixed,ip=fe80::1' -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
            $e[0].FullyQualifiedErrorId | Should -Be "InvalidIPAddress,$script:New"
            New-Container $script:img -Network 'name=cgaps-fixed,ip=10.213.59.78' -IPAddress 10.213.59.79 -Command true -ErrorVariable e2 -ErrorAction SilentlyContinue | Out-Null
            $e2[0].FullyQualifiedErrorId | Should -Be "ConflictingOptions,$script:New"
        }
        finally {
            Remove-Container cgfixed -Force -ErrorAction SilentlyContinue
            Remove-ContainerNetwork cgaps-fixed
        }
    }

    It 'refuses a long form without a name or with an unknown field with InvalidNetworkSpec, and aliases for a network not joined' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-Container $script:img -Network 'alias=x' -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Out-Null
        $e[0].FullyQualifiedErrorId | Should -Be "InvalidNetworkSpec,$script:New"
        New-Container $script:img -Network 'name=cgaps-front,mac=02:00:00:00:00:01' -Command true -ErrorVariable e2 -ErrorAction SilentlyContinue | Out-Null
        $e2[0].FullyQualifiedErrorId | Should -Be "InvalidNetworkSpec,$script:New"
        New-Container $script:img -Network 'name=cgaps-front,alias=x', 'container:cgsrv' -Command true -ErrorVariable e3 -ErrorAction SilentlyContinue | Out-Null
        $e3[0].FullyQualifiedErrorId | Should -BeLike "NetworkMode*,$script:New"
    }
}
