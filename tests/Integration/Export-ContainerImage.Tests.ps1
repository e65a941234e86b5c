# Export-ContainerImage: archives that podman load and skopeo read, with our config digest and diffIDs.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:R = New-TestStorageRoot
    $script:Work = New-TestStorageRoot 'export-work'
    $rootfs = New-BusyboxRootFs "$script:Work/rootfs"
    & tar -C $rootfs -czf "$script:Work/rootfs.tgz" .
    $script:Img = Import-ContainerImage -RootFs -LiteralPath "$script:Work/rootfs.tgz" -Name localhost/exported:1 -Change 'CMD ["sh"]' -StorageRoot $script:R
}
AfterAll {
    Remove-PodmanStore "$script:Work/podman"
    Remove-TestStorageRoot $script:Work
    Remove-TestStorageRoot $script:R
}

Describe 'Export-ContainerImage' {
    It 'writes a <Format> that podman load reads with our config digest and diffIDs' -TestCases @(
        @{ Format = 'DockerArchive' }
        @{ Format = 'OciArchive' }
    ) {
        if (-not (Test-Prerequisite -Condition ($script:IsRoot -and (Test-Command podman)) -Because 'podman (as root) loads the archive')) { return }
        $file = "$script:Work/out-$Format.tar"
        Export-ContainerImage localhost/exported:1 $file -Format $Format -StorageRoot $script:R
        $p = Get-PodmanArgs "$script:Work/podman"
        $out = & podman @p load -i $file 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        $inspect = (& podman @p image inspect localhost/exported:1 | ConvertFrom-Json)[0]
        try {
            ('sha256:' + $inspect.Id) | Should -BeExactly $script:Img.Id
            @($inspect.RootFS.Layers) | Should -Be @($script:Img.LayerDiffIds)
        }
        finally { & podman @p rmi -f $inspect.Id *> $null }
    }

    It 'writes an OCI archive skopeo inspects with our layer blobs and diffIDs' {
        if (-not (Test-Prerequisite -Condition (Test-Command skopeo) -Because 'skopeo reads the archive')) { return }
        $file = "$script:Work/skopeo.oci.tar"
        Export-ContainerImage localhost/exported:1 $file -Format OciArchive -StorageRoot $script:R
        $i = & skopeo inspect "oci-archive:$file" | ConvertFrom-Json
        @($i.Layers) | Should -Be @($script:Img.Layers.BlobDigest)
        $c = & skopeo inspect --config "oci-archive:$file" | ConvertFrom-Json
        @($c.rootfs.diff_ids) | Should -Be @($script:Img.LayerDiffIds)
        $raw = & skopeo inspect --raw --config "oci-archive:$file"
        ('sha256:' + [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes(($raw -join "`n")))).ToLowerInvariant()) | Should -BeExactly $script:Img.Id
    }

    It 'round-trips through our own import with the same id and manifest' {
        $file = "$script:Work/rt.tar"
        Get-ContainerImage localhost/exported:1 -StorageRoot $script:R | Export-ContainerImage -Path $file -Format OciArchive -StorageRoot $script:R
        $r2 = New-TestStorageRoot
        try {
            $back = Import-ContainerImage -LiteralPath $file -StorageRoot $r2
            $back.Id | Should -BeExactly $script:Img.Id
            $back.ManifestDigest | Should -BeExactly $script:Img.ManifestDigest
            $back.RepoTags | Should -Be @('localhost/exported:1')
        }
        finally { Remove-TestStorageRoot $r2 }
    }

    It 'refuses to overwrite without -Force, -WhatIf writes nothing, -PassThru returns the file' {
        $file = "$script:Work/force.tar"
        Export-ContainerImage localhost/exported:1 $file -StorageRoot $script:R -WhatIf
        Test-Path $file | Should -BeFalse
        $fi = Export-ContainerImage localhost/exported:1 $file -StorageRoot $script:R -PassThru
        $fi.FullName | Should -BeExactly $file
        { Export-ContainerImage localhost/exported:1 $file -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ExportFileExists,Containers.Cmdlets.Images.ExportContainerImageCommand'
        Export-ContainerImage localhost/exported:1 $file -StorageRoot $script:R -Force
    }

    It 'reports ImageNotFound for an unknown image' {
        { Export-ContainerImage nope:1 "$script:Work/n.tar" -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound,Containers.Cmdlets.Images.ExportContainerImageCommand'
    }
}
