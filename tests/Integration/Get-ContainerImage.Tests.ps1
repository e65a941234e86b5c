# Get-ContainerImage: one row per tag as docker images, wildcards on the repository, near names in ImageNotFound.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'getimg'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    & tar -C $script:rootfs -cf "$script:root/busybox.tar" .
    New-Item -ItemType Directory "$script:root/rootfs2" | Out-Null
    Set-Content "$script:root/rootfs2/hello" 'hi'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:bb = Import-ContainerImage -RootFs -LiteralPath "$script:root/busybox.tar" -Name localhost/busybox:test
    Add-ContainerImageTag localhost/busybox:test localhost/busybox:1.36
    $script:deb = Import-ContainerImage -RootFs -LiteralPath "$script:root/rootfs2" -Name localhost/debian:12
    $script:Cmd = 'Containers.Cmdlets.Images.GetContainerImageCommand'
}
AfterAll { Remove-TestStorageRoot $script:root }

Describe 'Get-ContainerImage rows' {
    It 'writes one row per tag; an image with two tags is two rows' {
        $rows = @(Get-ContainerImage)
        $rows.Count | Should -Be 3
        @($rows | Where-Object Id -eq $script:bb.Id | ForEach-Object { "$($_.Repository):$($_.Tag)" } | Sort-Object) |
            Should -Be @('localhost/busybox:1.36', 'localhost/busybox:test')
        @($rows | ForEach-Object Reference | Sort-Object) | Should -Be @('localhost/busybox:1.36', 'localhost/busybox:test', 'localhost/debian:12')
        # every row still tells all tags of its image
        ($rows | Where-Object Reference -eq 'localhost/busybox:1.36').RepoTags | Sort-Object | Should -Be @('localhost/busybox:1.36', 'localhost/busybox:test')
    }

    It 'writes an untagged image as one row with <none>' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # an untagged image: a commit without a name
        New-Container -Image localhost/busybox:test -Name getimg-c -Command touch, /made | Start-Container
        $null = Wait-Container getimg-c
        $u = New-ContainerImage -Container getimg-c
        Remove-Container getimg-c -Force
        try {
            $rows = @(Get-ContainerImage | Where-Object Id -eq $u.Id)
            $rows.Count | Should -Be 1
            $rows[0].Repository | Should -BeExactly '<none>'
            $rows[0].Tag | Should -BeExactly '<none>'
            $rows[0].Reference | Should -BeExactly $u.Id
            @(Get-ContainerImage -Dangling).Id | Should -Be @($u.Id)
        }
        finally { Remove-ContainerImage $u.Id }
    }

    It 'a repository without tag gives all its tags; -Id all rows of the image' {
        @(Get-ContainerImage localhost/busybox).Count | Should -Be 2
        @(Get-ContainerImage -Id $script:bb.Id.Substring(7, 12)).Count | Should -Be 2
        @(Get-ContainerImage localhost/busybox:test).Reference | Should -Be @('localhost/busybox:test')
    }
}

Describe 'Get-ContainerImage wildcards' {
    It '<Pattern> finds <Want>' -TestCases @(
        @{ Pattern = 'deb*'; Want = @('localhost/debian:12') }
        @{ Pattern = '*/busybox:1*'; Want = @('localhost/busybox:1.36') }
        @{ Pattern = 'busy*:t*'; Want = @('localhost/busybox:test') }
        @{ Pattern = 'localhost/*'; Want = @('localhost/busybox:1.36', 'localhost/busybox:test', 'localhost/debian:12') }
        @{ Pattern = '*box'; Want = @('localhost/busybox:1.36', 'localhost/busybox:test') }
    ) {
        @(Get-ContainerImage $Pattern | ForEach-Object Reference | Sort-Object) | Should -Be $Want
    }

    It 'a wildcard that matches nothing writes nothing and no error' {
        Get-ContainerImage 'nothing*' -ErrorVariable ev | Should -BeNullOrEmpty
        $ev | Should -BeNullOrEmpty
    }
}

Describe 'ImageNotFound' {
    It '<Name> suggests <Hint>' -TestCases @(
        @{ Name = 'busybox:test'; Hint = 'did you mean localhost/busybox:test' }
        @{ Name = 'localhost/busybx:1.36'; Hint = 'did you mean localhost/busybox:1.36' }
        @{ Name = 'debian'; Hint = 'did you mean localhost/debian:12' }
        @{ Name = 'localhost/busy:test'; Hint = 'did you mean localhost/busybox:test' }
    ) {
        $err = { Get-ContainerImage $Name -ErrorAction Stop } | Should -Throw -ErrorId "ImageNotFound,$script:Cmd" -PassThru
        $err.Exception.Message | Should -Match ([regex]::Escape($Hint))
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.TargetObject | Should -BeExactly $Name
    }

    It 'suggests nothing when nothing is near' {
        $err = { Get-ContainerImage 'quux:1' -ErrorAction Stop } | Should -Throw -ErrorId "ImageNotFound,$script:Cmd" -PassThru
        $err.Exception.Message | Should -BeExactly "The image 'quux:1' is not in the store."
    }

    It 'the other image cmdlets suggest too' {
        $err = { Remove-ContainerImage busybox:test -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,Containers.Cmdlets.Images.RemoveContainerImageCommand' -PassThru
        $err.Exception.Message | Should -Match 'did you mean localhost/busybox:test'
    }
}
