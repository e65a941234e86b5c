# One damaged record never takes the engine down, and repair never deletes what is in use: a truncated or
# garbled container, network, image, names or volume record is skipped by every listing with one
# non-terminating <Kind>RecordCorrupt error (ReadError, the file as target), everything else keeps working,
# Test-ContainerStore reports it, and -Repair moves it aside without collecting any blob or layer.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Work = New-TestStorageRoot 'records-work'
    $script:RootFs = New-BusyboxRootFs (Join-Path $script:Work 'rootfs')

    function script:New-RecordRoot {
        $r = New-TestStorageRoot 'records'
        $null = Import-ContainerImage -RootFs -LiteralPath $script:RootFs -Name rec-bb:1 -StorageRoot $r
        $r
    }
    # a torn write: the first half of the file
    function script:Truncate([string] $Path) {
        $b = [IO.File]::ReadAllBytes($Path)
        [IO.File]::WriteAllBytes($Path, $b[0..([Math]::Max(1, [int]($b.Length / 2)) - 1)])
    }
    function script:Garble([string] $Path) { [IO.File]::WriteAllText($Path, '{"name": "x", "created": [1, 2') }
    # errors of one kind written by a call, as FullyQualifiedErrorId
    function script:Fqids($Errors, [string] $Kind) { @($Errors | Where-Object { $_.FullyQualifiedErrorId -like "$Kind,*" } | ForEach-Object FullyQualifiedErrorId) }
    function script:Tree([string] $Root) {
        @(Get-ChildItem -LiteralPath "$Root/blobs", "$Root/layers", "$Root/images", "$Root/l" -Recurse -Force | ForEach-Object FullName | Sort-Object)
    }
}
AfterAll { Remove-TestStorageRoot $script:Work }

Describe 'A corrupt container record' {
    BeforeAll {
        $script:R = New-RecordRoot
        $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
        $script:Bad = New-Container -Image rec-bb:1 -Name bad -Network none -Command true
        $script:Good = New-Container -Image rec-bb:1 -Name good -Network none -Command sh, -c, 'echo good-ran'
        $script:BadPath = "$script:R/containers/$($script:Bad.Id)/config.json"
        Truncate $script:BadPath
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'lists every other container and writes one ContainerRecordCorrupt naming the file' {
        $ev = $null
        $list = @(Get-Container -All -ErrorAction SilentlyContinue -ErrorVariable ev)
        $list.Name | Should -Be @('good')
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'ContainerRecordCorrupt,Containers.Cmdlets.Runtime.GetContainerCommand'
        $ev[0].CategoryInfo.Category | Should -Be 'ReadError'
        $ev[0].TargetObject | Should -BeExactly $script:BadPath
    }

    It 'starts the other container by name and creates new ones; names are still unique' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        $ev = $null
        Start-Container good -ErrorAction SilentlyContinue -ErrorVariable ev
        Fqids $ev '*' | Should -Be @('ContainerRecordCorrupt,Containers.Cmdlets.Runtime.StartContainerCommand')
        (Wait-Container $script:Good.Id -ErrorAction SilentlyContinue).ExitCode | Should -Be 0
        Get-ContainerLog $script:Good.Id | Should -Be 'good-ran'
        $new = New-Container -Image rec-bb:1 -Name fresh -Network none -Command true -ErrorAction SilentlyContinue
        $new.Name | Should -BeExactly 'fresh'
        # the corrupt record may be reported beside the refusal (when the name search reads it before 'good')
        $ev2 = $null
        $null = New-Container -Image rec-bb:1 -Name good -Network none -Command true -ErrorAction SilentlyContinue -ErrorVariable ev2
        Fqids $ev2 '*' | Where-Object { $_ -notlike 'ContainerRecordCorrupt,*' } | Should -Be @('ContainerNameInUse,Containers.Cmdlets.Runtime.NewContainerCommand')
    }

    It 'is an Error finding of Test-ContainerStore; -Repair -WhatIf changes nothing, -Repair moves it aside' {
        $p = @(Test-ContainerStore | Where-Object Kind -eq 'ContainerRecordCorrupt')
        $p.Count | Should -Be 1
        $p[0].Target | Should -BeExactly $script:BadPath
        $p[0].Severity | Should -BeExactly 'Error'
        Test-ContainerStore -Quiet | Should -BeFalse
        $before = [IO.File]::ReadAllBytes($script:BadPath)
        Test-ContainerStore -Repair -WhatIf | Out-Null
        [IO.File]::ReadAllBytes($script:BadPath) | Should -Be $before
        $fixed = @(Test-ContainerStore -Repair | Where-Object Kind -eq 'ContainerRecordCorrupt')
        $fixed[0].Repaired | Should -BeTrue
        Test-Path -LiteralPath $script:BadPath | Should -BeFalse
        @(Get-ChildItem -LiteralPath (Split-Path $script:BadPath) -Filter 'config.json.corrupt-*').Count | Should -Be 1
        $ev = $null
        $null = Get-Container -All -ErrorVariable ev
        @($ev).Count | Should -Be 0
    }
}

Describe 'Corrupt network records' -Tag 'Network' {
    BeforeAll {
        if (-not $script:IsRoot) { return }
        $script:R = New-RecordRoot
        $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
        New-ContainerNetwork -Name usernet | Out-Null
        New-ContainerNetwork -Name othernet | Out-Null
        $script:OnBridge = New-Container -Image rec-bb:1 -Name onbridge -Network bridge -Command sleep, 600
        $script:OnUser = New-Container -Image rec-bb:1 -Name onuser -Network usernet -Command sleep, 600
        $script:OnOther = New-Container -Image rec-bb:1 -Name onother -Network othernet -Command sleep, 600
        $script:OnBridge2 = New-Container -Image rec-bb:1 -Name onbridge2 -Network bridge -Command sleep, 600
        # running: the default network's record exists from the first start, and both hold allocations
        Start-Container $script:OnBridge.Id, $script:OnUser.Id
        $script:BridgePath = "$script:R/networks/n/bridge.json"
        $script:UserPath = "$script:R/networks/n/usernet.json"
        # kept to put back before cleanup, so the bridges are removed and nothing leaks
        $script:Saved = @{ $script:BridgePath = [IO.File]::ReadAllBytes($script:BridgePath); $script:UserPath = [IO.File]::ReadAllBytes($script:UserPath) }
        Garble $script:BridgePath
        Truncate $script:UserPath
    }
    AfterAll {
        if (-not $script:IsRoot) { return }
        foreach ($k in $script:Saved.Keys) {
            Get-ChildItem -LiteralPath (Split-Path $k) -Filter "$(Split-Path $k -Leaf).corrupt-*" | Remove-Item
            [IO.File]::WriteAllBytes($k, $script:Saved[$k])
        }
        Remove-TestStorageRoot $script:R
    }
    BeforeEach { if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'networks need root')) { return } }

    It 'Get-Container and Get-ContainerNetwork work and name both files' {
        if (-not $script:IsRoot) { return }
        $ev = $null
        (Get-Container -All -ErrorAction SilentlyContinue -ErrorVariable ev).Name | Sort-Object | Should -Be @('onbridge', 'onbridge2', 'onother', 'onuser')
        Fqids $ev '*' | Sort-Object -Unique | Should -Be @('NetworkRecordCorrupt,Containers.Cmdlets.Runtime.GetContainerCommand')
        @($ev.TargetObject | Sort-Object -Unique) | Should -Be @($script:BridgePath, $script:UserPath)
        $ev = $null
        (Get-ContainerNetwork -ErrorAction SilentlyContinue -ErrorVariable ev).Name | Should -Be @('othernet')
        Fqids $ev '*' | Should -Be (@('NetworkRecordCorrupt,Containers.Cmdlets.Networks.GetContainerNetworkCommand') * 2)
        @($ev | ForEach-Object { $_.CategoryInfo.Category } | Sort-Object -Unique) | Should -Be @('ReadError')
    }

    It 'starts and stops a container on another network' {
        if (-not $script:IsRoot) { return }
        $ev = $null
        Start-Container $script:OnOther.Id -ErrorAction SilentlyContinue -ErrorVariable ev
        @(Fqids $ev '*' | Where-Object { $_ -notlike 'NetworkRecordCorrupt,*' }) | Should -BeNullOrEmpty
        (Get-Container $script:OnOther.Id -ErrorAction SilentlyContinue).Status | Should -Be 'Running'
        Stop-Container $script:OnOther.Id -Timeout 2 -ErrorAction SilentlyContinue
        (Get-Container $script:OnOther.Id -ErrorAction SilentlyContinue).Status | Should -Be 'Exited'
    }

    It 'refuses to start a container on, or create, a network whose record is corrupt, and never overwrites it' {
        if (-not $script:IsRoot) { return }
        $bridge = [IO.File]::ReadAllBytes($script:BridgePath)
        $user = [IO.File]::ReadAllBytes($script:UserPath)
        $ev = $null
        Start-Container $script:OnBridge2.Id -ErrorAction SilentlyContinue -ErrorVariable ev
        Fqids $ev '*' | Should -Contain 'NetworkRecordCorrupt,Containers.Cmdlets.Runtime.StartContainerCommand'
        (Get-Container $script:OnBridge2.Id -ErrorAction SilentlyContinue).Status | Should -Not -Be 'Running'
        $ev = $null
        New-ContainerNetwork -Name usernet -ErrorAction SilentlyContinue -ErrorVariable ev | Out-Null
        Fqids $ev '*' | Should -Be @('NetworkRecordCorrupt,Containers.Cmdlets.Networks.NewContainerNetworkCommand')
        [IO.File]::ReadAllBytes($script:BridgePath) | Should -Be $bridge
        [IO.File]::ReadAllBytes($script:UserPath) | Should -Be $user
    }

    It 'reports both as Error findings' {
        if (-not $script:IsRoot) { return }
        $p = @(Test-ContainerStore | Where-Object Kind -eq 'NetworkRecordCorrupt')
        @($p.Target | Sort-Object) | Should -Be @($script:BridgePath, $script:UserPath)
        @($p.Severity | Sort-Object -Unique) | Should -Be @('Error')
    }
}

Describe 'A corrupt image record' {
    BeforeAll {
        $script:R = New-RecordRoot
        $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
        $fs = Join-Path $script:R 'six-fs'
        $null = New-BusyboxRootFs $fs
        Set-Content -LiteralPath "$fs/marker" -Value 'six-layer' -NoNewline
        $script:Six = Import-ContainerImage -RootFs -LiteralPath $fs -Name rec-six:1
        $script:Ctrs = @(1..6 | ForEach-Object { New-Container -Image rec-six:1 -Name "six$_" -Network none -Command cat, /marker })
        $script:RecPath = "$script:R/images/$($script:Six.ManifestDigest.Substring(7)).json"  # one record per manifest
        $script:LayerDir = "$script:R/layers/$($script:Six.LayerDiffIds[0].Substring(7))"
        Garble $script:RecPath
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'lists the other images with one ImageRecordCorrupt; New-Container from another image works' {
        $ev = $null
        (Get-ContainerImage -ErrorAction SilentlyContinue -ErrorVariable ev).RepoTags | Should -Be @('rec-bb:1')
        Fqids $ev '*' | Should -Be @('ImageRecordCorrupt,Containers.Cmdlets.Images.GetContainerImageCommand')
        $ev[0].TargetObject | Should -BeExactly $script:RecPath
        $ev[0].CategoryInfo.Category | Should -Be 'ReadError'
        (New-Container -Image rec-bb:1 -Name other -Network none -Command true -ErrorAction SilentlyContinue).Name | Should -BeExactly 'other'
    }

    It 'reports the record, no dangling name and no garbage, and says collection is skipped' {
        $p = @(Test-ContainerStore)
        $c = @($p | Where-Object Kind -eq 'ImageRecordCorrupt')
        $c.Count | Should -Be 1
        $c[0].Target | Should -BeExactly $script:RecPath
        $c[0].Severity | Should -BeExactly 'Error'
        $p.Kind | Should -Contain 'CollectionSkipped'
        $p.Kind | Should -Not -Contain 'NameDangling'
        $p.Kind | Should -Not -Contain 'BlobUnreferenced'
        $p.Kind | Should -Not -Contain 'LayerUnreferenced'
    }

    It '-Repair -WhatIf changes nothing' {
        $before = Tree $script:R
        $rec = [IO.File]::ReadAllBytes($script:RecPath)
        Test-ContainerStore -Repair -WhatIf | Out-Null
        Tree $script:R | Should -Be $before
        [IO.File]::ReadAllBytes($script:RecPath) | Should -Be $rec
    }

    It '-Repair moves the record aside and deletes no blob or layer; the six containers still start' {
        $blobsBefore = @(Get-ChildItem "$script:R/blobs/sha256" | ForEach-Object Name | Sort-Object)
        $layersBefore = @(Get-ChildItem "$script:R/layers" | ForEach-Object Name | Sort-Object)
        $p = @(Test-ContainerStore -Repair)
        @($p | Where-Object Kind -eq 'ImageRecordCorrupt').Repaired | Should -Be @($true)
        @($p | Where-Object Repaired | Where-Object Kind -in 'BlobUnreferenced', 'LayerUnreferenced', 'NameDangling').Count | Should -Be 0
        Test-Path -LiteralPath $script:RecPath | Should -BeFalse
        @(Get-ChildItem "$script:R/images" -Filter '*.corrupt-*').Count | Should -Be 1
        # a second repair: the set-aside record still keeps everything
        $p2 = @(Test-ContainerStore -Repair)
        $p2.Kind | Should -Contain 'RecordSetAside'
        $p2.Kind | Should -Contain 'CollectionSkipped'
        @(Get-ChildItem "$script:R/blobs/sha256" | ForEach-Object Name | Sort-Object) | Should -Be $blobsBefore
        @(Get-ChildItem "$script:R/layers" | ForEach-Object Name | Sort-Object) | Should -Be $layersBefore
        Test-Path -LiteralPath "$script:LayerDir/diff/marker" | Should -BeTrue
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        foreach ($c in $script:Ctrs) {
            Start-Container $c.Id
            (Wait-Container $c.Id).ExitCode | Should -Be 0
            Get-ContainerLog $c.Id | Should -BeExactly 'six-layer'
        }
    }

    It 'Remove-ContainerImage of another image collects nothing while the record is set aside' {
        $layersBefore = @(Get-ChildItem "$script:R/layers" | ForEach-Object Name | Sort-Object)
        Remove-Container other -Force -ErrorAction SilentlyContinue
        Remove-ContainerImage rec-bb:1 -Force -ErrorAction SilentlyContinue -Confirm:$false | Out-Null
        @(Get-ChildItem "$script:R/layers" | ForEach-Object Name | Sort-Object) | Should -Be $layersBefore
    }
}

Describe 'Layers a container uses' {
    BeforeAll {
        $script:R = New-RecordRoot
        $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
        $fs = Join-Path $script:R 'lone-fs'
        $null = New-BusyboxRootFs $fs
        Set-Content -LiteralPath "$fs/marker" -Value 'lone-layer' -NoNewline
        $script:Lone = Import-ContainerImage -RootFs -LiteralPath $fs -Name rec-lone:1
        $script:Ctr = New-Container -Image rec-lone:1 -Name lone -Network none -Command cat, /marker
        $script:LayerDir = "$script:R/layers/$($script:Lone.LayerDiffIds[0].Substring(7))"
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'are kept when the image is removed with -Force and by -Repair: the LowerDirs of config.json count' {
        Remove-ContainerImage rec-lone:1 -Force -Confirm:$false | Out-Null
        Test-Path -LiteralPath "$script:LayerDir/diff/marker" | Should -BeTrue
        $p = @(Test-ContainerStore -Repair)
        @($p | Where-Object { $_.Kind -eq 'LayerUnreferenced' -and $_.Target -eq $script:Lone.LayerDiffIds[0] }).Count | Should -Be 0
        Test-Path -LiteralPath "$script:LayerDir/diff/marker" | Should -BeTrue
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers need root')) { return }
        Start-Container $script:Ctr.Id
        (Wait-Container $script:Ctr.Id).ExitCode | Should -Be 0
        Get-ContainerLog $script:Ctr.Id | Should -BeExactly 'lone-layer'
    }
}

Describe 'A corrupt repositories.json' {
    BeforeAll {
        $script:R = New-RecordRoot
        $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
        $script:Img = Get-ContainerImage rec-bb:1
        $script:ReposPath = "$script:R/repositories.json"
        Garble $script:ReposPath
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'lists images without names, with one RepositoriesRecordCorrupt' {
        $ev = $null
        $list = @(Get-ContainerImage -ErrorAction SilentlyContinue -ErrorVariable ev)
        $list.Id | Should -Be @($script:Img.Id)
        $list[0].Names.Count | Should -Be 0
        Fqids $ev '*' | Should -Be @('RepositoriesRecordCorrupt,Containers.Cmdlets.Images.GetContainerImageCommand')
        $ev[0].TargetObject | Should -BeExactly $script:ReposPath
        $ev[0].CategoryInfo.Category | Should -Be 'ReadError'
    }

    It 'creates a container from the image by id; by name fails with RepositoriesRecordCorrupt' {
        (New-Container -Image $script:Img.Id -Name byid -Network none -Command true).Name | Should -BeExactly 'byid'
        { New-Container -Image rec-bb:1 -Name byname -Network none -Command true } |
            Should -Throw -ErrorId 'RepositoriesRecordCorrupt,Containers.Cmdlets.Runtime.NewContainerCommand'
    }

    It 'is an Error finding; -Repair moves it aside and names work again' {
        $p = @(Test-ContainerStore | Where-Object Kind -eq 'RepositoriesRecordCorrupt')
        $p.Target | Should -Be @($script:ReposPath)
        Test-ContainerStore -Repair | Out-Null
        @(Get-ChildItem $script:R -Filter 'repositories.json.corrupt-*').Count | Should -Be 1
        Add-ContainerImageTag -Name $script:Img.Id -NewName rec-bb:again | Out-Null
        (Get-ContainerImage rec-bb:again).Id | Should -BeExactly $script:Img.Id
    }
}

Describe 'A corrupt volume record' {
    BeforeAll {
        $script:R = New-RecordRoot
        $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
        New-ContainerVolume -Name v1 | Out-Null
        New-ContainerVolume -Name v2 | Out-Null
        $script:VolPath = "$script:R/volumes/v1/volume.json"
        Truncate $script:VolPath
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'lists the other volume with one VolumeRecordCorrupt and reports it as a finding' {
        $ev = $null
        (Get-ContainerVolume -ErrorAction SilentlyContinue -ErrorVariable ev).Name | Should -Be @('v2')
        Fqids $ev '*' | Should -Be @('VolumeRecordCorrupt,Containers.Cmdlets.Volumes.GetContainerVolumeCommand')
        $ev[0].TargetObject | Should -BeExactly $script:VolPath
        @(Test-ContainerStore | Where-Object Kind -eq 'VolumeRecordCorrupt').Target | Should -Be @($script:VolPath)
    }
}
