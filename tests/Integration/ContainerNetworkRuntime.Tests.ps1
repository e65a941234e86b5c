# Real containers (New-Container/Start-Container from the runtime) on bridge networks: HTTP by name and alias,
# the default network, isolation, published ports, and nothing left after removal.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'netrt'
    $script:scope = [Containers.Engine.State.StorageRoot]::DeriveScopeId($script:root)
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    Set-Content -LiteralPath (Join-Path $script:rootfs 'var/www/index.html') -Value 'hello-from-ctr' -NoNewline
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    function script:Fetch([string] $Network, [string] $Url, [string] $Name) {
        $c = New-Container -RootFs $script:rootfs -Name $Name -Network $Network -Command timeout, 5, wget, -q, -O, -, $Url
        Start-Container $c.Id
        $code = (Wait-Container $c.Id).ExitCode
        $log = (Get-ContainerLog $c.Id) -join "`n"
        Remove-Container $c.Id -Force
        [pscustomobject]@{ ExitCode = $code; Output = $log }
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork | Remove-ContainerNetwork -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Containers on networks (runtime)' -Tag 'Network' {
    It 'fetches from a container by name and by alias on a user network, and is refused from another network' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        New-ContainerNetwork -Name appnet | Out-Null
        New-ContainerNetwork -Name othernet | Out-Null
        New-Container -RootFs $script:rootfs -Name web -Network appnet -NetworkAlias www -Port '127.0.0.1::80' -Command httpd, -f, -p, 80, -h, /var/www | Start-Container
        $r = Fetch appnet 'http://web/' 'c1'
        $r.Output | Should -Match 'hello-from-ctr'
        (Fetch appnet 'http://www/' 'c2').Output | Should -Match 'hello-from-ctr'
        $ip = ((Get-ContainerNetwork appnet).Containers | Where-Object ContainerName -eq 'web').IPv4Address
        $bad = Fetch othernet "http://$ip/" 'c3'
        $bad.ExitCode | Should -Not -Be 0
        $bad.Output | Should -Not -Match 'hello-from-ctr'
        $port = ([Containers.Engine.Networking.NetworkManager]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root)).PortsOf((Get-Container web).Id) | Where-Object Protocol -eq tcp).HostPort
        (& busybox timeout 5 busybox wget -q -O - "http://127.0.0.1:$port/") | Should -Be 'hello-from-ctr'
    }

    It 'resolves names on the default network' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        New-Container -RootFs $script:rootfs -Name dweb -Network bridge -Command httpd, -f, -p, 80, -h, /var/www | Start-Container
        (Fetch bridge 'http://dweb/' 'd1').Output | Should -Match 'hello-from-ctr'
    }

    It 'refuses a taken host port at New-Container with PortAlreadyAllocated and creates nothing' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $l = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0); $l.Start()
        try {
            $port = $l.LocalEndpoint.Port
            { New-Container -RootFs $script:rootfs -Name clash -Network appnet -Port "127.0.0.1:${port}:80" -Command true -ErrorAction Stop } |
                Should -Throw -ErrorId 'PortAlreadyAllocated,Containers.Cmdlets.Runtime.NewContainerCommand'
            Get-Container -All clash -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        finally { $l.Stop() }
    }

    It 'refuses a host port another container publishes, at create and at start, and keeps its traffic whole' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $l = [System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0); $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        # both created before either starts: the second start must fail, not share the port
        $a = New-Container -RootFs $script:rootfs -Name porta -Network appnet -Port "127.0.0.1:${port}:80" -Command httpd, -f, -p, 80, -h, /var/www
        $b = New-Container -RootFs $script:rootfs -Name portb -Network appnet -Port "127.0.0.1:${port}:80" -Command httpd, -f, -p, 80, -h, /tmp
        Start-Container $a.Id
        { Start-Container $b.Id -ErrorAction Stop } | Should -Throw -ErrorId 'PortAlreadyAllocated,Containers.Cmdlets.Runtime.StartContainerCommand'
        (Get-Container $b.Id).Status | Should -Not -Be 'Running'
        { New-Container -RootFs $script:rootfs -Name portc -Network appnet -Port "127.0.0.1:${port}:80" -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'PortAlreadyAllocated,Containers.Cmdlets.Runtime.NewContainerCommand'
        # every request reaches the first container (two listeners on one port would split them)
        $answers = 1..10 | ForEach-Object { (& busybox timeout 5 busybox wget -q -O - "http://127.0.0.1:$port/" 2>&1) -join '' }
        $answers | Should -Be (@('hello-from-ctr') * 10)
        Remove-Container $a.Id, $b.Id -Force
    }

    It 'leaves no interface of the root after containers and networks are removed' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Remove-ContainerNetwork -Force -Confirm:$false
        (& ip -o link show) -join "`n" | Should -Not -Match $script:scope
        (& iptables-save) -join "`n" | Should -Not -Match $script:scope
    }
}
