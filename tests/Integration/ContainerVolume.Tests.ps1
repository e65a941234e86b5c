# Named volumes outlive containers; bind mounts show host files, read-only when asked.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'vol'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Named volumes' {
    It 'keeps data across containers' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $v = New-ContainerVolume data -Label @{ tier = 'test' }
        $v.Name | Should -Be 'data'
        (Invoke-ContainerImage -RootFs $script:rootfs -Volume data:/data -Command sh, -c, 'echo kept > /data/file' -Remove).ExitCode | Should -Be 0
        (Invoke-ContainerImage -RootFs $script:rootfs -Volume data:/data:ro -Command cat, /data/file -Remove).Output.Trim() | Should -Be 'kept'
        (Get-ContainerVolume data).Labels['tier'] | Should -Be 'test'
    }
    It 'creates a volume a container names and refuses to remove it while used' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = New-Container -RootFs $script:rootfs -Name user1 -Volume auto:/auto -Command true
        (Get-ContainerVolume auto).UsedBy | Should -Be @('user1')
        { Remove-ContainerVolume auto -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeInUse,Containers.Cmdlets.Volumes.RemoveContainerVolumeCommand'
        Remove-Container user1
        Get-ContainerVolume auto | Remove-ContainerVolume
        { Get-ContainerVolume auto -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,Containers.Cmdlets.Volumes.GetContainerVolumeCommand'
    }
    It 'stays when its container is removed' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Volume data:/d -Command true -Remove
        (Get-ContainerVolume data).Name | Should -Be 'data'
    }
    It 'fails with <Id>' -TestCases @(
        @{ Id = 'InvalidVolumeName'; Name = 'bad/name' }
    ) {
        param($Id, $Name)
        { New-ContainerVolume $Name -ErrorAction Stop } | Should -Throw -ErrorId "$Id,Containers.Cmdlets.Volumes.NewContainerVolumeCommand"
    }
    It 'refuses a duplicate and changes nothing with -WhatIf' {
        { New-ContainerVolume data -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeExists,Containers.Cmdlets.Volumes.NewContainerVolumeCommand'
        New-ContainerVolume ghost -WhatIf
        @(Get-ContainerVolume ghost -ErrorAction SilentlyContinue).Count | Should -Be 0
        Remove-ContainerVolume data -WhatIf
        (Get-ContainerVolume data).Name | Should -Be 'data'
    }
}

Describe 'Bind mounts' {
    BeforeAll {
        $script:hostDir = Join-Path $script:root 'hostdir'
        New-Item -ItemType Directory -Force $script:hostDir | Out-Null
        Set-Content (Join-Path $script:hostDir 'hello.txt') 'from-host'
    }
    It 'shows host files and writes through' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # the host's user namespace: the directory is the host root's, which a user-namespaced root may not write
        # (UserNamespace.Tests.ps1 covers binds under Auto, :idmap and :U)
        $r = Invoke-ContainerImage -RootFs $script:rootfs -UserNamespace Host -Volume "$($script:hostDir):/mnt/h" -Command sh, -c, 'cat /mnt/h/hello.txt; echo back > /mnt/h/out.txt' -Remove
        $r.Output.Trim() | Should -Be 'from-host'
        Get-Content (Join-Path $script:hostDir 'out.txt') | Should -Be 'back'
    }
    It 'is read-only when asked' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerImage -RootFs $script:rootfs -Volume "$($script:hostDir):/mnt/h:ro" -Command sh, -c, 'cat /mnt/h/hello.txt; touch /mnt/h/nope 2>&1; echo rc=$?' -Remove
        $r.Output | Should -Match 'from-host'
        $r.Output | Should -Match 'Read-only file system'
        Test-Path (Join-Path $script:hostDir 'nope') | Should -BeFalse
    }
    It 'rejects a missing host path' {
        { New-Container -RootFs $script:rootfs -Volume '/no/such/dir:/x' -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'BindSourceNotFound,Containers.Cmdlets.Runtime.NewContainerCommand'
    }
}
