# Remove-ContainerImage, Add-/Remove-ContainerImageTag, Get-ContainerImage filters and history.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:Work = New-TestStorageRoot 'rm-work'
    $script:RootFs = New-BusyboxRootFs "$script:Work/rootfs"
    & tar -C $script:RootFs -cf "$script:Work/a.tar" .
    New-Item -ItemType Directory "$script:Work/rootfs2" | Out-Null
    Set-Content "$script:Work/rootfs2/hello" 'hi'
}
AfterAll { Remove-TestStorageRoot $script:Work }

Describe 'Remove-ContainerImage' {
    BeforeEach {
        $script:R = New-TestStorageRoot
        $script:A = Import-ContainerImage -RootFs -LiteralPath "$script:Work/a.tar" -Name app:1 -StorageRoot $script:R
        $script:B = Import-ContainerImage -RootFs -LiteralPath "$script:Work/rootfs2" -Name other:1 -StorageRoot $script:R
    }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'untags a name and keeps the image while another name remains' {
        Add-ContainerImageTag app:1 app:2, registry.example:5000/team/app:3 -StorageRoot $script:R
        (Get-ContainerImage app:2 -StorageRoot $script:R).Id | Should -BeExactly $script:A.Id
        Remove-ContainerImage app:1 -StorageRoot $script:R
        $img = Get-ContainerImage -Id $script:A.Id -StorageRoot $script:R
        $img.RepoTags | Should -Not -Contain 'app:1'
        $img.RepoTags | Should -Contain 'app:2'
        Test-Path "$script:R/layers/$($script:A.LayerDiffIds[0].Substring(7))/diff" | Should -BeTrue
    }

    It 'deletes the image, its layer and blobs with the last name; other images stay' {
        Remove-ContainerImage app:1 -StorageRoot $script:R
        @(Get-ContainerImage -StorageRoot $script:R).Id | Should -Be @($script:B.Id)
        Test-Path "$script:R/layers/$($script:A.LayerDiffIds[0].Substring(7))" | Should -BeFalse
        Test-Path "$script:R/blobs/sha256/$($script:A.Id.Substring(7))" | Should -BeFalse
        Test-Path "$script:R/layers/$($script:B.LayerDiffIds[0].Substring(7))/diff/hello" | Should -BeTrue
        @(Get-ChildItem "$script:R/l").Count | Should -Be 1
        @(Test-ContainerStore -StorageRoot $script:R).Count | Should -Be 0
    }

    It 'removes piped images (Get-ContainerImage | Remove-ContainerImage)' {
        Get-ContainerImage -StorageRoot $script:R | Remove-ContainerImage -StorageRoot $script:R
        @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
        @(Get-ChildItem "$script:R/blobs/sha256").Count | Should -Be 0
        @(Get-ChildItem "$script:R/layers").Count | Should -Be 0
    }

    It '-WhatIf changes nothing' {
        Remove-ContainerImage app:1 -StorageRoot $script:R -WhatIf
        Get-ContainerImage -Id $script:A.Id -StorageRoot $script:R | Should -Not -BeNullOrEmpty
        (Get-ContainerImage app:1 -StorageRoot $script:R).RepoTags | Should -Be @('app:1')
    }

    It 'refuses an image a container uses (ImageInUse) unless -Force' {
        New-Item -ItemType Directory "$script:R/containers/c1" | Out-Null
        Set-Content "$script:R/containers/c1/image-id" $script:A.Id
        { Remove-ContainerImage app:1 -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ImageInUse,Containers.Cmdlets.Images.RemoveContainerImageCommand'
        { Remove-ContainerImage $script:A.Id -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ImageInUse,Containers.Cmdlets.Images.RemoveContainerImageCommand'
        Get-ContainerImage app:1 -StorageRoot $script:R | Should -Not -BeNullOrEmpty
        Remove-ContainerImage $script:A.Id -Force -StorageRoot $script:R
        Get-ContainerImage -Id $script:A.Id -StorageRoot $script:R -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'needs -Force to delete by id an image with several names' {
        Add-ContainerImageTag app:1 app:2 -StorageRoot $script:R
        { Remove-ContainerImage $script:A.ShortId -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ImageHasMultipleTags,Containers.Cmdlets.Images.RemoveContainerImageCommand'
        Remove-ContainerImage $script:A.ShortId -StorageRoot $script:R -Force
        Get-ContainerImage app:2 -StorageRoot $script:R -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'fails with <ErrorId> for <Name>' -TestCases @(
        @{ Name = 'nope:1'; ErrorId = 'ImageNotFound' }
        @{ Name = 'Bad:Ref'; ErrorId = 'InvalidReferenceNotLowercase' }
    ) {
        { Remove-ContainerImage $Name -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,Containers.Cmdlets.Images.RemoveContainerImageCommand"
    }
}

Describe 'Tags, filters and history' {
    BeforeAll {
        $script:R = New-TestStorageRoot
        $script:A = Import-ContainerImage -RootFs -LiteralPath "$script:Work/a.tar" -Name app:1 -StorageRoot $script:R -Change 'CMD ["sh"]'
        $script:B = Import-ContainerImage -RootFs -LiteralPath "$script:Work/rootfs2" -Name other:1 -StorageRoot $script:R
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'Add-ContainerImageTag moves a name and -PassThru returns the image; -WhatIf changes nothing' {
        Add-ContainerImageTag other:1 moving:1 -StorageRoot $script:R
        Add-ContainerImageTag app:1 moving:1 -StorageRoot $script:R -WhatIf
        (Get-ContainerImage moving:1 -StorageRoot $script:R).Id | Should -BeExactly $script:B.Id
        $r = Add-ContainerImageTag app:1 moving:1 -StorageRoot $script:R -PassThru
        $r.Id | Should -BeExactly $script:A.Id
        (Get-ContainerImage moving:1 -StorageRoot $script:R).Id | Should -BeExactly $script:A.Id
        (Get-ContainerImage -Id $script:B.Id -StorageRoot $script:R).RepoTags | Should -Be @('other:1')
    }

    It 'Remove-ContainerImageTag leaves a dangling image that -Dangling finds' {
        Add-ContainerImageTag other:1 temp:1 -StorageRoot $script:R
        Remove-ContainerImageTag other:1, temp:1 -StorageRoot $script:R
        $d = @(Get-ContainerImage -Dangling -StorageRoot $script:R)
        $d.Id | Should -Be @($script:B.Id)
        $d[0].Repository | Should -BeExactly '<none>'
        { Remove-ContainerImageTag other:1 -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ImageTagNotFound,Containers.Cmdlets.Images.RemoveContainerImageTagCommand'
        Add-ContainerImageTag $script:B.Id other:1 -StorageRoot $script:R
    }

    It 'Get-ContainerImage matches <Pattern>' -TestCases @(
        @{ Pattern = 'app*'; Count = 1 }
        @{ Pattern = '*:1'; Count = 3 }   # one row per tag: app:1 and moving:1 (image A), other:1 (image B)
        @{ Pattern = 'docker.io/library/app:*'; Count = 1 }
        @{ Pattern = 'app'; Count = 1 }
        @{ Pattern = 'zzz*'; Count = 0 }
    ) { @(Get-ContainerImage $Pattern -StorageRoot $script:R).Count | Should -Be $Count }

    It 'Get-ContainerImage reports ImageNotFound for an exact missing name' {
        { Get-ContainerImage missing:1 -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,Containers.Cmdlets.Images.GetContainerImageCommand'
    }

    It 'Get-ContainerImageHistory shows the import step with its layer' {
        $h = @(Get-ContainerImage app:1 -StorageRoot $script:R | Get-ContainerImageHistory -StorageRoot $script:R)
        $h.Count | Should -Be 1
        $h[0].DiffId | Should -BeExactly $script:A.LayerDiffIds[0]
        $h[0].Size | Should -Be $script:A.Size
        $h[0].CreatedBy | Should -Match 'Import-ContainerImage'
    }

    It 'has a table view for images' {
        $out = Get-ContainerImage -StorageRoot $script:R | Out-String
        $out | Should -Match 'Repository\s+Tag\s+Id'
        $out | Should -Match $script:A.ShortId
    }
}
