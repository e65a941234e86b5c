# The network's DNS server answers reverse (PTR) queries for container addresses with the container's name,
# as docker's embedded DNS does (MariaDB and others log "could not be resolved" for every connection
# otherwise); other addresses go on as unknown names do. Real containers on a user network, busybox nslookup.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'dnsptr'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        $null = New-ContainerNetwork -Name ptrnet
        $null = New-ContainerNetwork -Name othernet
        $null = New-Container -RootFs $script:rootfs -Name db -Network ptrnet -NetworkAlias database -Command sleep, 600 | Start-Container
        $null = New-Container -RootFs $script:rootfs -Name stranger -Network othernet -Command sleep, 600 | Start-Container
        $script:dbIp = (Get-Container db).IPAddress
        $script:strangerIp = (Get-Container stranger).IPAddress
        $script:gw = (Get-ContainerNetwork ptrnet).Gateway
    }
    function script:Lookup([string] $Network, [string] $Query) {
        Invoke-ContainerImage -RootFs $script:rootfs -Network $Network -Remove -Quiet -Command nslookup, $Query
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork | Remove-ContainerNetwork -Force -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Reverse lookups on a network' -Tag 'Network' {
    It 'answers nslookup <ip> of a container on the network with its name (not its alias)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $script:dbIp | Should -Match '^\d+\.\d+\.\d+\.\d+$'
        $r = Lookup ptrnet $script:dbIp
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match "name = db\.containers\.internal"
        $r.Output | Should -Not -Match 'database'
    }
    It 'gives the name back that resolves forward to the same address' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Lookup ptrnet 'db.containers.internal'
        $r.Output | Should -Match ([regex]::Escape("Address: $script:dbIp"))
    }
    It 'answers for the asking container''s own address too' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerImage -RootFs $script:rootfs -Network ptrnet -Name asker -Remove -Quiet -Command sh, -c, 'nslookup $(ip -4 -o addr show eth0 | sed "s/.*inet \([0-9.]*\).*/\1/")'
        $r.Output | Should -Match 'name = asker\.containers\.internal'
    }
    It 'does not tell the name of a container on another network' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Lookup ptrnet $script:strangerIp
        $r.Output | Should -Not -Match 'stranger'
    }
    It 'does not answer for the address of a removed container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = New-Container -RootFs $script:rootfs -Name gone -Network ptrnet -Command sleep, 600 | Start-Container
        $ip = (Get-Container gone).IPAddress
        (Lookup ptrnet $ip).Output | Should -Match 'name = gone\.containers\.internal'
        Remove-Container gone -Force
        (Lookup ptrnet $ip).Output | Should -Not -Match 'gone'
    }
}
