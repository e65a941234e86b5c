# docker update: Set-Container changes limits of running and stopped containers, seen from inside through their cgroup.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'update'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    # what the container sees of its own cgroup: v1 (one directory per controller) or v2 (one tree)
    function script:Inside([string] $name, [string] $v1, [string] $v2) {
        (Invoke-ContainerCommand $name -Command sh, -c, "if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cat /sys/fs/cgroup/$v2; else cat /sys/fs/cgroup/$v1; fi").Output.Trim()
    }
    function script:MemoryInside([string] $name) { Inside $name 'memory/memory.limit_in_bytes' 'memory.max' }
    function script:PidsInside([string] $name) { Inside $name 'pids/pids.max' 'pids.max' }
    function script:CpuInside([string] $name) {
        $v = Inside $name 'cpu/cpu.cfs_quota_us' 'cpu.max'
        [long](($v -split ' ')[0])
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Set-Container' {
    It 'changes the limits of a running container: its cgroup, as seen from inside, and its record' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name up-run -Network none -Detach -Memory 64MB -PidsLimit 100 -Command sleep, 600
        MemoryInside up-run | Should -Be (64MB).ToString()
        $c = Set-Container up-run -Memory 96MB -PidsLimit 50 -Cpus 0.5 -PassThru
        $c.Name | Should -Be 'up-run'
        $c.Memory | Should -Be 96MB
        MemoryInside up-run | Should -Be (96MB).ToString()
        PidsInside up-run | Should -Be '50'
        CpuInside up-run | Should -Be 50000
        (Get-Container up-run).Memory | Should -Be 96MB
        # lower again
        Set-Container up-run -Memory 48MB
        MemoryInside up-run | Should -Be (48MB).ToString()
        (Get-ContainerEvent -Name up-run -Action update).Count | Should -Be 2
    }

    It 'changes a stopped container''s stored limits, applied at its next start' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = New-Container -RootFs $script:rootfs -Name up-stopped -Network none -Command sleep, 600
        Get-Container up-stopped -All | Set-Container -Memory 32MB -PidsLimit 20
        Start-Container up-stopped
        MemoryInside up-stopped | Should -Be (32MB).ToString()
        PidsInside up-stopped | Should -Be '20'
    }

    It 'gives a running container a new restart policy that its monitor applies at the next exit' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name up-policy -Network none -Detach -Command sh, -c, 'sleep 2; exit 1'
        Set-Container up-policy -RestartPolicy on-failure:2
        $c = Wait-Container up-policy -Timeout 60
        $c.RestartCount | Should -Be 2
        $c.RestartPolicy | Should -Be 'on-failure:2'
        $c.ExitCode | Should -Be 1
    }

    It 'changes nothing with -WhatIf' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Set-Container up-run -Memory 80MB -WhatIf
        (Get-Container up-run).Memory | Should -Be 48MB
        MemoryInside up-run | Should -Be (48MB).ToString()
    }

    It 'refuses <Case>' -TestCases @(
        @{ Case = 'swap below memory'; Code = { Set-Container up-run -Memory 64MB -MemorySwap 32MB -ErrorAction Stop }; Id = 'MemorySwapBelowMemory,Containers.Cmdlets.Runtime.SetContainerCommand' }
        @{ Case = 'a restart policy for a -Remove container'; Code = { Set-Container up-rm -RestartPolicy always -ErrorAction Stop }; Id = 'ConflictingOptions,Containers.Cmdlets.Runtime.SetContainerCommand' }
        @{ Case = 'no setting'; Code = { Set-Container up-run -ErrorAction Stop }; Id = 'NothingToUpdate,Containers.Cmdlets.Runtime.SetContainerCommand' }
        @{ Case = 'an unknown container'; Code = { Set-Container nosuch -Memory 64MB -ErrorAction Stop }; Id = 'ContainerNotFound,Containers.Cmdlets.Runtime.SetContainerCommand' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Get-Container up-rm -All -ErrorAction SilentlyContinue)) {
            $null = Invoke-ContainerImage -RootFs $script:rootfs -Name up-rm -Network none -Detach -Remove -Command sleep, 600
        }
        $Code | Should -Throw -ErrorId $Id
        (Get-Container up-run).Memory | Should -Be 48MB
    }
}
