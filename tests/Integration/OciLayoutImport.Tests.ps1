# OCI layouts as skopeo and podman read them: entries that are no image (artifacts, unknown media types,
# indexes without this platform) are skipped with a warning instead of refusing the layout; -Reference picks
# one entry by its ref.name (skopeo copy oci:dir:ref); ref.name names the image (a full reference as it
# is, a bare tag as localhost/<tag>:latest, as podman load does).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Testrepo = Join-Path $Fixtures 'images/regclient/testdata/testrepo'
    $script:TestIndex = @(Get-ChildItem -Recurse -Directory (Join-Path $Fixtures 'images/go-containerregistry') | Where-Object Name -eq 'test_index')[0].FullName
    $script:Cmd = 'Containers.Cmdlets.Images.ImportContainerImageCommand'
    # what skopeo picks for oci:dir:ref (linux/amd64 of an index), by manifest digest
    function script:SkopeoDigest([string] $Layout, [string] $Ref) {
        $raw = & skopeo inspect --raw --override-os linux --override-arch amd64 "oci:$($Layout):$Ref"
        if ($LASTEXITCODE -ne 0) { throw "skopeo inspect oci:$($Layout):$Ref failed" }
        $j = ($raw -join "`n") | ConvertFrom-Json
        if ($j.manifests) { return @($j.manifests | Where-Object { $_.platform.os -eq 'linux' -and $_.platform.architecture -eq 'amd64' })[0].digest }
        'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes(($raw -join "`n"))))
    }
}

Describe 'Import-ContainerImage of an OCI layout' {
    BeforeEach { $script:R = New-TestStorageRoot 'ocilayout' }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'imports the images of a layout with artifacts and unknown entries, skipping those with a warning' {
        $w = $null
        $imgs = @(Import-ContainerImage -LiteralPath $Testrepo -StorageRoot $R -WarningVariable w -WarningAction SilentlyContinue)
        $imgs.Count | Should -BeGreaterThan 0
        @($w).Count | Should -BeGreaterThan 0
        "$($w -join "`n")" | Should -Match "Skipped the layout entry 'a1'.*artifact"
        # v1 is what skopeo copy oci:dir:v1 copies for linux/amd64
        $v1 = Get-ContainerImage localhost/v1:latest -StorageRoot $R
        $v1.ManifestDigest | Should -Be (SkopeoDigest $Testrepo 'v1')
        @(Test-ContainerStore -StorageRoot $R).Count | Should -Be 0
    }

    It 'picks one entry with -Reference, as skopeo copy oci:dir:ref does' {
        $imgs = @(Import-ContainerImage -LiteralPath $Testrepo -Reference v2 -StorageRoot $R)
        $imgs.Count | Should -Be 1
        $imgs[0].ManifestDigest | Should -Be (SkopeoDigest $Testrepo 'v2')
        @(Get-ContainerImage -StorageRoot $R).Count | Should -Be 1
        (Get-ContainerImage localhost/v2:latest -StorageRoot $R).ManifestDigest | Should -Be $imgs[0].ManifestDigest
        @(Test-ContainerStore -StorageRoot $R).Count | Should -Be 0
    }

    It 'names the picked entry with -Name instead of its bare ref.name' {
        $img = Import-ContainerImage -LiteralPath $Testrepo -Reference v1 -Name myapp:1 -StorageRoot $R
        @($img.RepoTags) | Should -Be @('myapp:1')
    }

    It 'fails with OciReferenceNotFound naming what the layout has' {
        { Import-ContainerImage -LiteralPath $Testrepo -Reference nope -StorageRoot $R -ErrorAction Stop } |
            Should -Throw -ErrorId "OciReferenceNotFound,$Cmd" -ExpectedMessage '*v1, v2*'
        @(Get-ChildItem "$R/blobs/sha256" -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'refuses -Reference of an artifact (asked for, not skipped)' {
        { Import-ContainerImage -LiteralPath $Testrepo -Reference a1 -StorageRoot $R -ErrorAction Stop } |
            Should -Throw -ErrorId "UnsupportedMediaType,$Cmd"
    }

    It 'imports the go-containerregistry test_index, skipping its descriptor entry' {
        $w = $null
        $imgs = @(Import-ContainerImage -LiteralPath $TestIndex -StorageRoot $R -WarningVariable w -WarningAction SilentlyContinue)
        $imgs.Count | Should -BeGreaterThan 0
        "$($w -join "`n")" | Should -Match "Skipped the layout entry '2'"
        (Get-ContainerImage localhost/1:latest -StorageRoot $R).ManifestDigest | Should -Be (SkopeoDigest $TestIndex '1')
        @(Test-ContainerStore -StorageRoot $R).Count | Should -Be 0
    }

    It 'takes a full-reference ref.name as the name, a bare one as localhost/<tag>:latest' {
        . $PSScriptRoot/../Registry/RegistryTest.ps1
        New-BusyboxRootFs "$R-l" | Out-Null
        try {
            $full = New-TestOciLayout -Path "$R-full" -LayerDirs "$R-l" -Tag 'example.com/team/app:2'
            $bare = New-TestOciLayout -Path "$R-bare" -LayerDirs "$R-l" -Tag 'v7'
            @((Import-ContainerImage -LiteralPath $full.Path -StorageRoot $R).Names) | Should -Be @('example.com/team/app:2')
            @((Import-ContainerImage -LiteralPath $bare.Path -StorageRoot $R).Names) | Should -Contain 'localhost/v7:latest'
        }
        finally { & rm -rf "$R-l" "$R-full" "$R-bare" }
    }
}
