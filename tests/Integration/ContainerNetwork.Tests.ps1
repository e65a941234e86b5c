# Bridge networks end to end on the real kernel: cmdlets, rtnetlink plumbing, IPAM, DNS, isolation, ports.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/NetworkTestHelpers.ps1
    if ($script:IsRoot) { Initialize-NetTest }
}

AfterAll {
    if ($script:IsRoot -and $script:NetRoot) { Clear-NetTest }
}

Describe 'New/Get/Remove-ContainerNetwork' -Tag 'Network' {
    BeforeEach { if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'networks need root')) { return } }

    It 'creates a bridge named after the scope id with a free subnet away from the peers and the host' {
        if (-not $script:IsRoot) { return }
        $n = New-ContainerNetwork -Name 'plain' -StorageRoot $script:NetRoot
        $n.Name | Should -Be 'plain'
        $n.Bridge | Should -BeLike "pc$($script:Scope)-*"
        $n.Bridge.Length | Should -BeLessOrEqual 15
        $n.Subnet | Should -Match '^10\.(9\d|1[01]\d|12[0-7])\.\d+\.0/24$'
        $n.Gateway | Should -Be ($n.Subnet -replace '0/24$', '1')
        (& ip -o addr show dev $n.Bridge) -join "`n" | Should -Match ([regex]::Escape($n.Gateway + '/24'))
        (Get-ContainerNetwork -Name plain -StorageRoot $script:NetRoot).Subnet | Should -Be $n.Subnet
        (& iptables -S "PSC-$($script:Scope)") -join "`n" | Should -Match ([regex]::Escape($n.Bridge))
    }

    It 'gives two networks different subnets and honours -Subnet, -Gateway, -IPRange and -Label' {
        if (-not $script:IsRoot) { return }
        $n = New-ContainerNetwork -Name 'fixed' -Subnet 10.123.45.0/24 -Gateway 10.123.45.254 -IPRange 10.123.45.128/25 -Label @{ team = 'x' } -StorageRoot $script:NetRoot
        $n.Subnet | Should -Be '10.123.45.0/24'
        $n.Gateway | Should -Be '10.123.45.254'
        $n.IPRange | Should -Be '10.123.45.128/25'
        $n.Labels['team'] | Should -Be 'x'
        (Get-ContainerNetwork -Name plain -StorageRoot $script:NetRoot).Subnet | Should -Not -Be $n.Subnet
    }

    It 'fails with <Id> for <Case>' -TestCases @(
        @{ Case = 'a duplicate name'; Id = 'NetworkExists'; Params = @{ Name = 'plain' } }
        @{ Case = 'a malformed subnet'; Id = 'InvalidSubnet'; Params = @{ Name = 'bad1'; Subnet = '10.1.2.3' } }
        @{ Case = 'an overlapping subnet'; Id = 'SubnetInUse'; Params = @{ Name = 'bad2'; Subnet = '10.123.45.0/25' } }
        @{ Case = 'the host subnet'; Id = 'SubnetInUse'; Params = @{ Name = 'bad3'; Subnet = '127.0.0.0/24' } }
        @{ Case = 'a gateway outside the subnet'; Id = 'AddressNotInSubnet'; Params = @{ Name = 'bad4'; Subnet = '10.124.0.0/24'; Gateway = '10.125.0.1' } }
        @{ Case = 'a bad name'; Id = 'InvalidNetworkName'; Params = @{ Name = '-bad name' } }
    ) {
        if (-not $script:IsRoot) { return }
        { New-ContainerNetwork @Params -StorageRoot $script:NetRoot -ErrorAction Stop } |
            Should -Throw -ErrorId "$Id,Containers.Cmdlets.Networks.NewContainerNetworkCommand"
        @(Get-ContainerNetwork -StorageRoot $script:NetRoot).Count | Should -Be 2
    }

    It 'reports NetworkNotFound for a missing name and filters with wildcards' {
        if (-not $script:IsRoot) { return }
        { Get-ContainerNetwork -Name nothere -StorageRoot $script:NetRoot -ErrorAction Stop } |
            Should -Throw -ErrorId 'NetworkNotFound,Containers.Cmdlets.Networks.GetContainerNetworkCommand'
        @(Get-ContainerNetwork -Name 'fi*' -StorageRoot $script:NetRoot).Name | Should -Be @('fixed')
    }

    It 'changes nothing with -WhatIf' {
        if (-not $script:IsRoot) { return }
        New-ContainerNetwork -Name 'whatif' -StorageRoot $script:NetRoot -WhatIf
        Remove-ContainerNetwork -Name 'fixed' -StorageRoot $script:NetRoot -WhatIf
        @(Get-ContainerNetwork -StorageRoot $script:NetRoot).Name | Sort-Object | Should -Be @('fixed', 'plain')
    }

    It 'removes networks from the pipeline with their bridge and rules' {
        if (-not $script:IsRoot) { return }
        $br = (Get-ContainerNetwork fixed -StorageRoot $script:NetRoot).Bridge
        Get-ContainerNetwork -Name fixed -StorageRoot $script:NetRoot | Remove-ContainerNetwork -StorageRoot $script:NetRoot -Confirm:$false
        @(Get-ContainerNetwork -StorageRoot $script:NetRoot).Name | Should -Be @('plain')
        (& ip -o link show) -join "`n" | Should -Not -Match ([regex]::Escape($br))
        (& iptables-save) -join "`n" | Should -Not -Match ([regex]::Escape($br))
    }
}

Describe 'Containers on bridge networks' -Tag 'Network' {
    BeforeAll {
        if ($script:IsRoot) {
            $script:app = New-ContainerNetwork -Name 'app' -StorageRoot $script:NetRoot
            $script:other = New-ContainerNetwork -Name 'other' -StorageRoot $script:NetRoot
            $script:inner = New-ContainerNetwork -Name 'inner' -Internal -StorageRoot $script:NetRoot
            $script:webRes = New-FakeContainer 'web' @([Containers.Engine.Networking.NetworkRequest]::new('app', [string[]]@('www'), $null, $null)) @('127.0.0.1::80', '127.0.0.1::53/udp')
            Start-Httpd 'web'
            $script:cliRes = New-FakeContainer 'cli' @('app')
            $script:strRes = New-FakeContainer 'stranger' @('other')
            $script:inRes = New-FakeContainer 'hermit' @('inner')
        }
    }
    BeforeEach { if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'networks need root')) { return } }

    It 'gives each container an address, a default route via the gateway, and lists it on the network' {
        if (-not $script:IsRoot) { return }
        $ep = $script:webRes.Endpoints[0]
        $ep.IPv4Address | Should -Not -BeNullOrEmpty
        $ep.IPv4Gateway | Should -Be $script:app.Gateway
        (Invoke-InNs 'cli' @('ip', 'route')).Output | Should -Match "default via $([regex]::Escape($script:app.Gateway))"
        $net = Get-ContainerNetwork app -StorageRoot $script:NetRoot
        ($net.Containers | Where-Object ContainerName -eq 'web').IPv4Address | Should -Be $ep.IPv4Address
        $script:webRes.HostsEntries -join "`n" | Should -Match "$([regex]::Escape($ep.IPv4Address)) web"
        $script:webRes.Nameservers | Should -Be @($script:app.Gateway)
    }

    It 'lets one container fetch from the other by name and by alias' {
        if (-not $script:IsRoot) { return }
        $r = Get-Http 'cli' 'http://web/'
        $r.Output | Should -Match 'hello-from-web'
        $r = Get-Http 'cli' 'http://www/'
        $r.Output | Should -Match 'hello-from-web'
        $r = Get-Http 'cli' 'http://web.containers.internal/'
        $r.Output | Should -Match 'hello-from-web'
    }

    It 'answers NXDOMAIN for unknown names on the network domain' {
        if (-not $script:IsRoot) { return }
        (Invoke-InNs 'cli' @('busybox', 'nslookup', 'nosuchbox', $script:app.Gateway)).Output | Should -Match 'NXDOMAIN'
        (Invoke-InNs 'cli' @('busybox', 'nslookup', 'nosuchbox.containers.internal', $script:app.Gateway)).Output | Should -Match 'NXDOMAIN'
    }

    It 'refuses a connection from another network at once' {
        if (-not $script:IsRoot) { return }
        $ip = $script:webRes.Endpoints[0].IPv4Address
        $r = Get-Http 'stranger' "http://${ip}/" 10
        $r.ExitCode | Should -Not -Be 0
        # A refusal (ICMP admin-prohibited), not the timeout's kill (exit 143): the failure is immediate.
        $r.ExitCode | Should -Not -Be 143
        $r.Output | Should -Not -Match 'hello-from-web'
        (Invoke-InNs 'stranger' @('busybox', 'nslookup', 'web', $script:other.Gateway)).Output | Should -Match 'NXDOMAIN'
    }

    It 'gives a container on an internal network no default route' {
        if (-not $script:IsRoot) { return }
        (Invoke-InNs 'hermit' @('ip', 'route')).Output | Should -Not -Match 'default'
        $script:inRes.Endpoints[0].IPv4Gateway | Should -BeNullOrEmpty
    }

    It 'publishes a TCP port on 127.0.0.1 with a host port picked when none is given' {
        if (-not $script:IsRoot) { return }
        $b = $script:webRes.Ports | Where-Object Protocol -eq 'tcp'
        $b.HostIp | Should -Be '127.0.0.1'
        $b.ContainerPort | Should -Be 80
        $b.HostPort | Should -BeGreaterThan 0
        (& busybox timeout 5 busybox wget -q -O - "http://127.0.0.1:$($b.HostPort)/") | Should -Be 'hello-from-web'
    }

    It 'publishes a UDP port' {
        if (-not $script:IsRoot) { return }
        $b = $script:webRes.Ports | Where-Object Protocol -eq 'udp'
        # A DNS server (the helper's dns mode) inside the container answers on its port 53.
        $ip = $script:webRes.Endpoints[0].IPv4Address
        $conf = Join-Path $script:NetRoot 'inner-dns.conf'
        Set-Content -LiteralPath $conf -Value "G 1`nN t 0 x.internal $ip -`nR t udpcheck 10.1.2.3`n"
        $helper = Join-Path (Split-Path $script:ModulePath) 'containers-helper'
        Start-InNs 'web' @($helper, 'dns', $conf) | Out-Null
        $udp = [System.Net.Sockets.UdpClient]::new()
        try {
            $udp.Client.ReceiveTimeout = 1000
            # query: id 0x1234, RD, one question udpcheck. A IN
            $q = [byte[]](0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 8) + [Text.Encoding]::ASCII.GetBytes('udpcheck') + [byte[]](0, 0, 1, 0, 1)
            $answer = $null
            for ($i = 0; $i -lt 30 -and -not $answer; $i++) {
                [void]$udp.Send($q, $q.Length, '127.0.0.1', $b.HostPort)
                try { $ep = [System.Net.IPEndPoint]::new([ipaddress]::Any, 0); $answer = $udp.Receive([ref]$ep) } catch { Start-Sleep -Milliseconds 100 }
            }
            $answer | Should -Not -BeNullOrEmpty
            ($answer[-4..-1] -join '.') | Should -Be '10.1.2.3'
        }
        finally { $udp.Dispose() }
    }

    It 'fails with PortAlreadyAllocated when the host port is taken and leaves nothing behind' {
        if (-not $script:IsRoot) { return }
        $l = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)
        $l.Start()
        try {
            $port = $l.LocalEndpoint.Port
            & ip netns add "t$($script:Scope)clash"
            $ctx = New-NetContext 'clash' @('app') @("127.0.0.1:${port}:80")
            $err = $null
            try { $script:Provider.Setup($ctx, [Threading.CancellationToken]::None) } catch { $err = $_.Exception.InnerException }
            $err.ErrorId | Should -Be 'PortAlreadyAllocated'
            (Get-ContainerNetwork app -StorageRoot $script:NetRoot).Containers.ContainerName | Should -Not -Contain 'clash'
            (Invoke-InNs 'clash' @('ip', '-o', 'link')).Output | Should -Not -Match 'eth0'
            { [Containers.Engine.Networking.BridgeNetworkProvider]::ValidatePorts([Containers.Engine.Networking.PortRequest[]]@([Containers.Engine.Networking.BridgeNetworkProvider]::ParsePort("127.0.0.1:${port}:80"))) } |
                Should -Throw '*already in use*'
        }
        finally { $l.Stop(); & ip netns del "t$($script:Scope)clash" }
    }

    It 'forwards other names to the network''s upstream resolver (a stub on loopback)' {
        if (-not $script:IsRoot) { return }
        $stub = [System.Net.Sockets.UdpClient]::new([System.Net.IPEndPoint]::new([ipaddress]::Loopback, 0))
        $port = $stub.Client.LocalEndPoint.Port
        $job = Start-ThreadJob -ArgumentList $stub -ScriptBlock {
            param($s)
            $s.Client.ReceiveTimeout = 15000
            $ep = [System.Net.IPEndPoint]::new([ipaddress]::Any, 0)
            $q = $s.Receive([ref]$ep)
            $r = [byte[]]$q + [byte[]](0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 77, 77, 77)
            $r[2] = 0x81; $r[3] = 0x80; $r[7] = 1
            [void]$s.Send($r, $r.Length, $ep)
        }
        try {
            New-ContainerNetwork -Name 'fwd' -DnsServer "127.0.0.1:$port" -StorageRoot $script:NetRoot | Out-Null
            New-FakeContainer 'asker' @('fwd') | Out-Null
            $gw = (Get-ContainerNetwork fwd -StorageRoot $script:NetRoot).Gateway
            (Invoke-InNs 'asker' @('busybox', 'nslookup', '-type=a', 'example.test', $gw)).Output | Should -Match '10\.77\.77\.77'
        }
        finally {
            $job | Wait-Job -Timeout 20 | Out-Null; $job | Remove-Job -Force; $stub.Dispose()
            Remove-FakeContainer 'asker'
        }
    }

    It 'changes name resolution live on connect and disconnect' {
        if (-not $script:IsRoot) { return }
        # 'stranger' joins app under an alias: cli resolves it; after disconnect it does not.
        Connect-ContainerNetwork -Network app -Container stranger -Alias 'newcomer' -StorageRoot $script:NetRoot
        (Invoke-InNs 'stranger' @('ip', '-o', 'addr')).Output | Should -Match 'eth1'
        $o = (Invoke-InNs 'cli' @('busybox', 'nslookup', 'newcomer', $script:app.Gateway)).Output; if ($o -notmatch 'Address: 10') { Write-Host (Get-Content -Raw "$script:NetRoot/networks/dns.conf"); Write-Host (Get-Content -Raw "$script:NetRoot/networks/dns.log" -ErrorAction SilentlyContinue); Write-Host (ps -ef | grep 'helper dns'); Write-Host (Invoke-InNs 'cli' @('busybox', 'nslookup', 'web', $script:app.Gateway)).Output; Write-Host (Invoke-InNs 'cli' @('busybox', 'nslookup', 'newcomer', $script:app.Gateway)).Output; Write-Host (Invoke-InNs 'cli' @('ip', 'addr')).Output  }
        $o | Should -Match 'Address: 10\.'
        $r = Get-Http 'stranger' 'http://web/'
        $r.Output | Should -Match 'hello-from-web'
        { Connect-ContainerNetwork -Network app -Container stranger -StorageRoot $script:NetRoot -ErrorAction Stop } |
            Should -Throw -ErrorId 'ContainerAlreadyConnected,Containers.Cmdlets.Networks.ConnectContainerNetworkCommand'
        $n = Disconnect-ContainerNetwork -Network app -Container stranger -PassThru -StorageRoot $script:NetRoot
        $n.Containers.ContainerName | Should -Not -Contain 'stranger'
        (Invoke-InNs 'cli' @('busybox', 'nslookup', 'newcomer', $script:app.Gateway)).Output | Should -Match 'NXDOMAIN'
        (Invoke-InNs 'stranger' @('ip', '-o', 'addr')).Output | Should -Not -Match 'eth1'
    }

    It 'refuses to remove a network in use unless -Force' {
        if (-not $script:IsRoot) { return }
        { Remove-ContainerNetwork -Name inner -StorageRoot $script:NetRoot -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NetworkInUse,Containers.Cmdlets.Networks.RemoveContainerNetworkCommand'
        Remove-ContainerNetwork -Name inner -Force -StorageRoot $script:NetRoot -Confirm:$false
        (Invoke-InNs 'hermit' @('ip', '-o', 'link')).Output | Should -Not -Match 'eth0'
    }

    It 'takes the names out of DNS when a container stops and removes its veth at teardown' {
        if (-not $script:IsRoot) { return }
        $ctx = $script:Fakes | Where-Object ContainerName -eq 'cli'
        $script:Provider.Stopped($ctx)
        (Invoke-InNs 'web' @('busybox', 'nslookup', 'cli', $script:app.Gateway)).Output | Should -Match 'NXDOMAIN'
        $script:Provider.Setup($ctx, [Threading.CancellationToken]::None).Endpoints[0].IPv4Address | Should -Be $script:cliRes.Endpoints[0].IPv4Address
        $veths = @(& ip -o link show | Select-String "pv$($script:Scope)")
        Remove-FakeContainer 'cli'
        @(& ip -o link show | Select-String "pv$($script:Scope)").Count | Should -Be ($veths.Count - 1)
    }
}

Describe 'The default network' -Tag 'Network' {
    BeforeEach { if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'networks need root')) { return } }

    It 'is created on first use, has DNS, and containers on it reach each other by name' {
        if (-not $script:IsRoot) { return }
        New-FakeContainer 'dweb' | Out-Null
        Start-Httpd 'dweb'
        New-FakeContainer 'dcli' | Out-Null
        $n = Get-ContainerNetwork bridge -StorageRoot $script:NetRoot
        $n.IsDefault | Should -BeTrue
        $n.Containers.ContainerName | Sort-Object | Should -Be @('dcli', 'dweb')
        (Get-Http 'dcli' 'http://dweb/').Output | Should -Match 'hello-from-web'
    }
}
