# Pure parts of networking: CIDR arithmetic and published-port parsing (no root, no kernel).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
}

Describe 'IpNetwork' -Tag 'Unit' {
    It 'normalises <In> to <Out>' -TestCases @(
        @{ In = '10.90.1.7/24'; Out = '10.90.1.0/24' }
        @{ In = '10.90.1.0/30'; Out = '10.90.1.0/30' }
        @{ In = 'fd00:1:2:3::9/64'; Out = 'fd00:1:2:3::/64' }
    ) {
        $n = [Containers.Engine.Networking.Ipam.IpNetwork]::Parse($In, 'subnet')
        $n.ToString() | Should -Be $Out
    }

    It 'knows overlap and containment' {
        $a = [Containers.Engine.Networking.Ipam.IpNetwork]::Parse('10.90.0.0/16', 's')
        $b = [Containers.Engine.Networking.Ipam.IpNetwork]::Parse('10.90.5.0/24', 's')
        $c = [Containers.Engine.Networking.Ipam.IpNetwork]::Parse('10.91.0.0/24', 's')
        $a.Overlaps($b) | Should -BeTrue
        $a.Contains($b) | Should -BeTrue
        $b.Contains($a) | Should -BeFalse
        $a.Overlaps($c) | Should -BeFalse
        $b.At(1).ToString() | Should -Be '10.90.5.1'
        $b.Size | Should -Be 256
    }

    It 'rejects <In> with InvalidSubnet' -TestCases @(@{ In = '10.1.2.3' }, @{ In = '10.1.2.0/33' }, @{ In = 'x/24' }) {
        $err = $null
        try { [Containers.Engine.Networking.Ipam.IpNetwork]::Parse($In, 'subnet') } catch { $err = $_.Exception.InnerException }
        $err.ErrorId | Should -Be 'InvalidSubnet'
    }
}

Describe 'Published port specifications' -Tag 'Unit' {
    It 'parses <Spec>' -TestCases @(
        @{ Spec = '8080:80'; Ip = $null; HostPort = 8080; Port = 80; Proto = 'tcp' }
        @{ Spec = '127.0.0.1:8080:80'; Ip = '127.0.0.1'; HostPort = 8080; Port = 80; Proto = 'tcp' }
        @{ Spec = '127.0.0.1::53/udp'; Ip = '127.0.0.1'; HostPort = 0; Port = 53; Proto = 'udp' }
        @{ Spec = '80'; Ip = $null; HostPort = 0; Port = 80; Proto = 'tcp' }
        @{ Spec = '[::1]:8080:80'; Ip = '::1'; HostPort = 8080; Port = 80; Proto = 'tcp' }
    ) {
        $p = [Containers.Engine.Networking.BridgeNetworkProvider]::ParsePort($Spec)
        $p.HostIp | Should -Be $Ip
        $p.HostPort | Should -Be $HostPort
        $p.ContainerPort | Should -Be $Port
        $p.Protocol | Should -Be $Proto
    }

    It 'rejects <Spec> with InvalidPortSpecification' -TestCases @(
        @{ Spec = '80/sctp' }, @{ Spec = '70000:80' }, @{ Spec = 'a:b' }, @{ Spec = '1.2.3:80:80' }, @{ Spec = '' }
    ) {
        $err = $null
        try { [Containers.Engine.Networking.BridgeNetworkProvider]::ParsePort($Spec) } catch { $err = $_.Exception.InnerException }
        $err.ErrorId | Should -Be 'InvalidPortSpecification'
    }
}
