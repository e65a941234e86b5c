# Export-Container (flat tar of the container's file system) and Copy-ContainerItem (files in and out).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'files'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:work = Join-Path $script:root 'work'
    New-Item -ItemType Directory -Force $script:work | Out-Null
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Export-Container' {
    It 'writes the image files with the container''s changes applied' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name exp -Command sh, -c, 'echo changed > /etc/added; rm /bin/ls'
        $null = Wait-Container exp -Timeout 30
        $tar = Join-Path $script:work 'exp.tar'
        $f = Export-Container exp $tar
        $f.FullName | Should -Be $tar
        $list = & tar -tf $tar
        $list | Should -Contain 'etc/added'
        $list | Should -Contain 'bin/busybox'
        $list | Should -Not -Contain 'bin/ls'
        (& tar -xOf $tar etc/added) | Should -Be 'changed'
        (Get-Content /proc/self/mountinfo) -match 'export' | Where-Object { $_ -match [regex]::Escape($script:root) } | Should -BeNullOrEmpty
    }
    It 'changes nothing with -WhatIf' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Export-Container exp (Join-Path $script:work 'never.tar') -WhatIf
        Test-Path (Join-Path $script:work 'never.tar') | Should -BeFalse
    }
}

Describe 'Copy-ContainerItem' {
    It 'copies out of and into a running container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name cp -Hostname cphost -Detach -Init -Command sleep, 600
        Copy-ContainerItem cp /etc/hostname (Join-Path $script:work 'h.txt')
        Get-Content (Join-Path $script:work 'h.txt') | Should -Be 'cphost'
        Set-Content (Join-Path $script:work 'in.txt') 'pushed'
        Copy-ContainerItem cp (Join-Path $script:work 'in.txt') /tmp/ -ToContainer
        (Invoke-ContainerCommand cp -Command cat, /tmp/in.txt).Output.Trim() | Should -Be 'pushed'
    }
    It 'copies into a stopped container''s writable layer' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = New-Container -RootFs $script:rootfs -Name cpstopped -Command cat, /etc/pushed.txt
        Set-Content (Join-Path $script:work 'pushed.txt') 'offline'
        Copy-ContainerItem cpstopped (Join-Path $script:work 'pushed.txt') /etc/pushed.txt -ToContainer
        Start-Container cpstopped
        $null = Wait-Container cpstopped -Timeout 30
        Get-ContainerLog cpstopped | Should -Be 'offline'
    }
    It 'fails for a missing path in the container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        { Copy-ContainerItem cp /no/such/file (Join-Path $script:work 'x') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ContainerPathNotFound,Containers.Cmdlets.Runtime.CopyContainerItemCommand'
    }
}
