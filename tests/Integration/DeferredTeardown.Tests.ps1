# Deferred veth teardown (docs/NETWORKING.md, Teardown): removing a container on a bridge network releases its
# network namespace and lets the kernel delete the veth pair with it, without waiting. The network record keeps the
# endpoint as releasing (its address taken) until the next operation sees the link gone; one the kernel did not
# delete (something kept the namespace) is a Test-ContainerStore finding, DeferredTeardown, that -Repair deletes.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'perfnet-deferred'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Test-ContainerStore:StorageRoot' = $script:root }
    $script:scope = if ($script:IsRoot) { [Containers.Engine.State.StorageRoot]::DeriveScopeId($script:root) } else { '' }
    function script:NetRecord([string] $Name) { Get-Content -Raw (Join-Path $script:root "networks/n/$Name.json") | ConvertFrom-Json }
    function script:Veths { @(& ip -o link show | ForEach-Object { (($_ -split ': ')[1] -split '@')[0] } | Where-Object { $_ -like "pv$($script:scope)*" }) }
    function script:WaitFor([scriptblock] $Condition, [int] $Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        [bool](& $Condition)
    }
}
AfterAll { Remove-TestStorageRoot $script:root }

Describe 'Deferred veth teardown' -Tag 'Integration' {
    It 'records the endpoint as releasing, keeps its address taken, and lets the next start drop it once the kernel deleted it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        New-ContainerNetwork -Name dtnet -StorageRoot $script:root | Out-Null
        $a = Invoke-ContainerImage -RootFs $script:rootfs -Network dtnet -Command true -Remove
        $a.ExitCode | Should -Be 0
        $rec = NetRecord dtnet
        @($rec.Endpoints) | Should -BeNullOrEmpty
        @($rec.Releasing).Count | Should -Be 1
        $first = $rec.Releasing[0]
        $first.HostInterface | Should -BeLike "pv$($script:scope)*"
        $first.IPv4Address | Should -Not -BeNullOrEmpty
        # the kernel deletes the pair with the namespace, by itself
        WaitFor { (Veths) -notcontains $first.HostInterface } | Should -BeTrue
        # the next start on the network sees it gone: the record is dropped and the address is free again
        $b = New-Container -RootFs $script:rootfs -Network dtnet -Command sleep, 30 | Start-Container -PassThru
        try {
            $rec = NetRecord dtnet
            @($rec.Releasing | Where-Object HostInterface -eq $first.HostInterface) | Should -BeNullOrEmpty
            $b.IPAddress | Should -Be $first.IPv4Address
        }
        finally { Remove-Container $b.Id -Force }
    }

    It 'gives a second container another address while the first one''s veth is still being deleted' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        # hold the first container's namespace open, so its veth cannot go with it
        $c = New-Container -RootFs $script:rootfs -Network dtnet -Command sleep, 30 | Start-Container -PassThru
        $holder = Start-Process -FilePath nsenter -ArgumentList "--net=$(Join-Path $script:root "containers/$($c.Id)/netns")", 'sleep', '60' -PassThru
        try {
            Start-Sleep -Milliseconds 200
            $ip = $c.IPAddress
            Remove-Container $c.Id -Force
            $held = @((NetRecord dtnet).Releasing | Where-Object IPv4Address -eq $ip)
            $held.Count | Should -Be 1
            (Veths) | Should -Contain $held[0].HostInterface
            $d = New-Container -RootFs $script:rootfs -Network dtnet -Command sleep, 30 | Start-Container -PassThru
            try { $d.IPAddress | Should -Not -Be $ip }
            finally { Remove-Container $d.Id -Force }
            # within the grace it is the kernel's: no finding yet
            @(Test-ContainerStore | Where-Object Kind -eq 'DeferredTeardown') | Should -BeNullOrEmpty
            # after it, a finding; -Repair deletes the pair and releases the address
            Start-Sleep -Seconds 3.2
            $found = @(Test-ContainerStore | Where-Object Kind -eq 'DeferredTeardown')
            $found.Count | Should -Be 1
            $found[0].Severity | Should -Be 'Garbage'
            $found[0].Target | Should -Be $held[0].HostInterface
            $fixed = @(Test-ContainerStore -Repair -Confirm:$false | Where-Object Kind -eq 'DeferredTeardown')
            $fixed.Count | Should -Be 1
            $fixed[0].Repaired | Should -BeTrue
            (Veths) | Should -Not -Contain $held[0].HostInterface
            @((NetRecord dtnet).Releasing | Where-Object IPv4Address -eq $ip) | Should -BeNullOrEmpty
            @(Test-ContainerStore | Where-Object Kind -eq 'DeferredTeardown') | Should -BeNullOrEmpty
        }
        finally { if (-not $holder.HasExited) { $holder.Kill() }; $holder.WaitForExit() }
    }

    It 'finishes what it deferred when the network is removed: nothing of the root stays on the host' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        1..3 | ForEach-Object { (Invoke-ContainerImage -RootFs $script:rootfs -Network dtnet -Command true -Remove).ExitCode | Should -Be 0 }
        Remove-ContainerNetwork dtnet -Force -Confirm:$false
        (Veths) | Should -BeNullOrEmpty
        Test-Path (Join-Path $script:root 'networks/n/dtnet.json') | Should -BeFalse
    }
}
