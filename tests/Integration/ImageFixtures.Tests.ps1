# Every third-party image fixture (OCI layouts and tarballs made by other tools) imports or fails with a
# clear, specific error: never a crash, never a half-written store.
BeforeDiscovery {
    . $PSScriptRoot/../common.ps1
    $base = Join-Path $script:Fixtures 'images'
    $script:Cases = @()
    if (Test-Path $base) {
        $layouts = Get-ChildItem $base -Recurse -Filter index.json | ForEach-Object DirectoryName
        # layer.tar files are bare layers, not images
        $tars = Get-ChildItem $base -Recurse -Filter *.tar | Where-Object { $_.Name -notin 'layer.tar', 'layer-wh.tar' } | ForEach-Object FullName
        $script:Cases = @($layouts + $tars | Sort-Object | ForEach-Object { @{ Path = $_; Short = $_.Substring($base.Length + 1) } })
    }
}
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    # the specific errors a fixture may fail with: each says what is wrong with the input
    $script:Specific = @('UnsupportedMediaType', 'BlobNotFound', 'BlobDigestMismatch', 'BlobSizeMismatch', 'LayerDigestMismatch',
        'LayerDiffIdMismatch', 'LayerCorrupt', 'UnknownArchiveFormat', 'InvalidArchiveManifest', 'InvalidOciIndex', 'InvalidImageConfig',
        'LayerCountMismatch', 'NoMatchingPlatform', 'InvalidManifest', 'NoImageInLayout')
}

Describe 'Image fixture <Short>' -ForEach $script:Cases {
    BeforeAll { $script:R = New-TestStorageRoot 'fixture' }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'imports, or fails with a specific error, and leaves a consistent store' {
        $imgs = @(); $err = $null
        try { $imgs = @(Import-ContainerImage -LiteralPath $Path -StorageRoot $script:R -ErrorAction Stop) }
        catch { $err = $_ }
        if ($err) {
            $id = $err.FullyQualifiedErrorId.Split(',')[0]
            $id | Should -BeIn $script:Specific -Because "$($err.Exception.Message)"
            $err.Exception.Message | Should -Not -BeNullOrEmpty
            @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
        }
        else {
            $imgs.Count | Should -BeGreaterThan 0
            foreach ($i in $imgs) {
                $i.Id | Should -Match '^sha256:[0-9a-f]{64}$'
                $i.LayerDiffIds.Count | Should -Be $i.Config.RootFs.DiffIds.Count
            }
        }
        (Get-StoreErrors $script:R).Count | Should -Be 0
    }
}

Describe 'Specific fixture outcomes' {
    BeforeEach { $script:R = New-TestStorageRoot 'fixture' }
    AfterEach { Remove-TestStorageRoot $script:R }

    It '<Fixture> fails with <ErrorId>' -TestCases @(
        @{ Fixture = 'go-containerregistry/pkg/v1/layout/testdata/test_index_media_type'; ErrorId = 'UnsupportedMediaType' }
        @{ Fixture = 'containers-image/oci/layout/fixtures/two_images_manifest'; ErrorId = 'BlobNotFound' }
        @{ Fixture = 'go-containerregistry/pkg/v1/tarball/testdata/no_manifest.tar'; ErrorId = 'UnknownArchiveFormat' }
    ) {
        $p = Join-Path $script:Fixtures "images/$Fixture"
        if (-not (Test-Path $p)) { Set-ItResult -Skipped -Because 'fixture not present'; return }
        { Import-ContainerImage -LiteralPath $p -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,Containers.Cmdlets.Images.ImportContainerImageCommand"
    }

    It 'imports the whiteout fixture and turns whiteouts into overlay whiteouts' {
        $p = Join-Path $script:Fixtures 'images/go-containerregistry/pkg/v1/mutate/testdata/whiteout_image.tar'
        if (-not (Test-Path $p)) { Set-ItResult -Skipped -Because 'fixture not present'; return }
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'whiteouts are device nodes (root)')) { return }
        $img = Import-ContainerImage -LiteralPath $p -StorageRoot $script:R
        $paths = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:R)).GetLayerPaths($img)
        $devs = @($paths | ForEach-Object { & find "$_/" -type c } | Where-Object { $_ })
        $devs.Count | Should -BeGreaterThan 0
        foreach ($d in $devs) { (& stat -c '%t %T' $d) | Should -BeExactly '0 0' }
        @($paths | ForEach-Object { & find "$_/" -name '.wh.*' }).Count | Should -Be 0
    }
}
