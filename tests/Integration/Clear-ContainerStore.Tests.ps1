# docker system df and prune: Get-ContainerDiskUsage and Clear-ContainerStore never touch what a container uses.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'prune'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Clear-ContainerStore:Confirm' = $false }
    function script:Row([string] $kind) { Get-ContainerDiskUsage | Where-Object Kind -eq $kind }
    if ($script:IsRoot) {
        & tar -C $script:rootfs -cf "$script:root/bb.tar" .
        $script:image = Import-ContainerImage -RootFs -LiteralPath "$script:root/bb.tar" -Name localhost/dfbb:1
        # a second image, then untagged: dangling
        Set-Content -Path (Join-Path $script:rootfs 'extra') -Value ('e' * 3000) -NoNewline
        & tar -C $script:rootfs -cf "$script:root/bb2.tar" .
        $script:dangling = Import-ContainerImage -RootFs -LiteralPath "$script:root/bb2.tar" -Name localhost/dfbb:gone
        Remove-ContainerImageTag localhost/dfbb:gone
        $null = New-ContainerNetwork used-net
        $null = New-ContainerNetwork free-net
        $null = New-ContainerVolume used-vol
        $null = New-ContainerVolume free-vol
        [IO.File]::WriteAllBytes((Join-Path (Get-ContainerVolume free-vol).Mountpoint 'f'), [byte[]]::new(51200))
        [IO.File]::WriteAllBytes((Join-Path (Get-ContainerVolume used-vol).Mountpoint 'f'), [byte[]]::new(4096))
        $null = Invoke-ContainerImage localhost/dfbb:1 -Name keeper -Network used-net -Volume used-vol:/data -Detach -Command sleep, 600
        $null = Invoke-ContainerImage localhost/dfbb:1 -Name stopped1 -Network none -Command sh, -c, 'head -c 102400 /dev/zero > /big'
        $null = New-Container localhost/dfbb:1 -Name created1 -Network none -Command true
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Get-ContainerVolume -StorageRoot $script:root | Remove-ContainerVolume -StorageRoot $script:root -ErrorAction SilentlyContinue
        Get-ContainerNetwork -StorageRoot $script:root | Where-Object { -not $_.IsDefault } | Remove-ContainerNetwork -Force -StorageRoot $script:root -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Get-ContainerDiskUsage' {
    It 'counts each kind, what is in use, the bytes and what a prune would free' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $rows = @(Get-ContainerDiskUsage)
        $rows.Kind | Should -Be @('Image', 'Container', 'Volume', 'Network', 'BuildCache')
        $rows | ForEach-Object { $_.Size | Should -BeOfType [long]; $_.Reclaimable | Should -BeOfType [long] }

        $v = Row Volume
        $v.Count | Should -Be 2
        $v.Active | Should -Be 1
        $v.Size | Should -Be (51200 + 4096)
        $v.Reclaimable | Should -Be 51200

        $c = Row Container
        $c.Count | Should -Be 3
        $c.Active | Should -Be 1
        $c.Reclaimable | Should -BeGreaterOrEqual 102400
        $c.Size | Should -BeGreaterThan $c.Reclaimable

        $i = Row Image
        $i.Count | Should -Be 2
        $i.Active | Should -Be 1
        # layers counted once; the dangling image's own layer is what removing it frees
        $i.Size | Should -Be ($script:image.Size + $script:dangling.UniqueSize)
        $i.Reclaimable | Should -Be $script:dangling.UniqueSize
        $i.Reclaimable | Should -BeGreaterThan 3000

        $n = Row Network
        $n.Active | Should -BeGreaterOrEqual 1
        (Get-ContainerDiskUsage -Kind Volume, Network).Kind | Should -Be @('Volume', 'Network')
    }
}

Describe 'Clear-ContainerStore' {
    It 'changes nothing with -WhatIf' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $before = (Get-Container -All).Name | Sort-Object
        $out = @(Clear-ContainerStore -Kind Container, Image, Volume, Network -All -WhatIf)
        $out | Should -BeNullOrEmpty
        (Get-Container -All).Name | Sort-Object | Should -Be $before
        @(Get-ContainerVolume).Count | Should -Be 2
        @(Get-ContainerImage -Dangling).Count | Should -Be 1
    }

    It 'by default removes stopped containers, unused networks and dangling images, and nothing in use' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $freeable = (Row Container).Reclaimable
        $res = @(Clear-ContainerStore)
        $res | ForEach-Object { $_ | Should -BeOfType ([Containers.Engine.Model.ContainerPruneResult]) }
        @($res | Where-Object Kind -eq Container).Name | Sort-Object | Should -Be @('created1', 'stopped1')
        ($res | Where-Object Kind -eq Container | Measure-Object ReclaimedBytes -Sum).Sum | Should -Be $freeable
        @($res | Where-Object Kind -eq Network).Name | Should -Be @('free-net')
        @($res | Where-Object Kind -eq Image).Id | Should -Be @($script:dangling.Id)
        ($res | Where-Object Kind -eq Image).ReclaimedBytes | Should -Be $script:dangling.UniqueSize
        @($res | Where-Object Kind -eq Volume) | Should -BeNullOrEmpty     # volumes only when asked, as docker
        (Get-Container keeper).Status | Should -Be 'Running'
        (Get-ContainerNetwork used-net).Name | Should -Be 'used-net'
        (Get-ContainerImage localhost/dfbb:1).Id | Should -Be $script:image.Id
        @(Get-ContainerVolume).Name | Sort-Object | Should -Be @('free-vol', 'used-vol')
        # a second run finds nothing more
        @(Clear-ContainerStore) | Should -BeNullOrEmpty
    }

    It 'removes unused volumes only when asked, keeping the mounted one' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $res = @(Clear-ContainerStore -Kind Volume)
        $res.Name | Should -Be @('free-vol')
        $res.ReclaimedBytes | Should -Be 51200
        @(Get-ContainerVolume).Name | Should -Be @('used-vol')
    }

    It 'keeps an image a container uses even with -All, and removes it with -All once unused (only then)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        @(Clear-ContainerStore -Kind Image -All) | Should -BeNullOrEmpty
        Remove-Container keeper -Force
        @(Clear-ContainerStore -Kind Image) | Should -BeNullOrEmpty         # tagged: not dangling
        $res = @(Clear-ContainerStore -Kind Image -All)
        $res.Id | Should -Be @($script:image.Id)
        $res.Name | Should -Be 'localhost/dfbb:1'
        $res.ReclaimedBytes | Should -Be $script:image.Size
        { Get-ContainerImage localhost/dfbb:1 -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,*'
        (Row Image).Count | Should -Be 0
    }

    It 'refuses an object that came into use after it was listed' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $img = Import-ContainerImage -RootFs -LiteralPath "$script:root/bb.tar" -Name localhost/dfbb:race
        $m = [Containers.Engine.Runtime.StoreMaintenance]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        $cand = @($m.Candidates('Image', $true, $null))
        $cand.Id | Should -Be @($img.Id)
        $null = New-Container localhost/dfbb:race -Name racer -Network none -Command true
        $err = { $m.Remove($cand[0], [Threading.CancellationToken]::None) } | Should -Throw -PassThru
        $err.Exception.InnerException.ErrorId | Should -Be 'ImageInUse'
        (Get-ContainerImage localhost/dfbb:race).Id | Should -Be $img.Id
        (Get-Container racer -All).Name | Should -Be 'racer'

        $cc = @($m.Candidates('Container', $false, $null))
        $cc.Name | Should -Be @('racer')
        Remove-Container racer -Force
        $null = New-Container localhost/dfbb:race -Name racer2 -Network none -Command sleep, 600
        $cc = @($m.Candidates('Container', $false, $null))
        Start-Container racer2
        $err = { $m.Remove(($cc | Where-Object Name -eq racer2), [Threading.CancellationToken]::None) } | Should -Throw -PassThru
        $err.Exception.InnerException.ErrorId | Should -Be 'ContainerRunning'
        (Get-Container racer2).Status | Should -Be 'Running'
        Remove-Container racer2 -Force
    }

    It 'honours -Until: only objects created before it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-ContainerVolume | Remove-ContainerVolume     # what earlier tests left (unused now)
        $null = New-ContainerVolume old-vol
        $cut = Get-Date
        Start-Sleep -Milliseconds 50
        $null = New-ContainerVolume new-vol
        @(Clear-ContainerStore -Kind Volume -Until $cut).Name | Should -Be @('old-vol')
        @(Get-ContainerVolume).Name | Should -Contain 'new-vol'
        Remove-ContainerVolume new-vol
    }

    It 'records what it removes in the event log' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $t0 = [datetime]::UtcNow
        $null = New-ContainerVolume ev-vol
        $null = Clear-ContainerStore -Kind Volume
        (Get-ContainerEvent -Since $t0 -Name ev-vol).Action | Should -Be @('create', 'remove')
    }
}
