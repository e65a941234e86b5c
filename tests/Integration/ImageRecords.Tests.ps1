# One image record per manifest: two manifests of one config (a gzip and a zstd variant, a docker-archive and
# an OCI archive of one image) keep their own digests through import, pull, push and export; the index a
# multi-platform pull went through is referenced by the record; roots written before (records keyed by
# config) still load; a failed pull or import removes what it added and nothing else.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:Work = New-TestStorageRoot 'imgrec-work'
    $script:Reg = Start-TestRegistry -Dir "$Work/registry" -Auth None
    $script:Addr = $Reg.Address
    $env:PSCONTAINERS_AUTH_FILE = "$Work/auth.json"
    New-BusyboxRootFs "$Work/l-base" | Out-Null
    New-Item -ItemType Directory -Force "$Work/l-app", "$Work/l-extra", "$Work/l-bad" | Out-Null
    Set-Content "$Work/l-app/greeting" 'one config, two manifests'
    [IO.File]::WriteAllBytes("$Work/l-extra/extra.bin", [Security.Cryptography.RandomNumberGenerator]::GetBytes(300000))
    [IO.File]::WriteAllBytes("$Work/l-bad/bad.bin", [Security.Cryptography.RandomNumberGenerator]::GetBytes(300000))
    $script:Gz = New-TestOciLayout -Path "$Work/oci-gz" -LayerDirs "$Work/l-base", "$Work/l-app" -Tag gz -Cmd @('/bin/cat', '/greeting')

    # the same image (same config) with zstd layers: another manifest digest
    function script:New-ZstdVariant([string] $From, [string] $To) {
        New-Item -ItemType Directory -Force "$To/blobs/sha256" | Out-Null
        Copy-Item "$From/oci-layout" "$To/oci-layout"
        $idx = Get-Content -Raw "$From/index.json" | ConvertFrom-Json
        $m = Get-Content -Raw "$From/blobs/sha256/$($idx.manifests[0].digest.Substring(7))" | ConvertFrom-Json
        Copy-Item "$From/blobs/sha256/$($m.config.digest.Substring(7))" "$To/blobs/sha256/"
        foreach ($l in $m.layers) {
            $src = "$From/blobs/sha256/$($l.digest.Substring(7))"
            & sh -c "gzip -dc '$src' | zstd -q -c > '$To/layer.zst'"
            $d = Get-Sha256 "$To/layer.zst"
            $l.size = (Get-Item "$To/layer.zst").Length
            $l.digest = $d
            $l.mediaType = 'application/vnd.oci.image.layer.v1.tar+zstd'
            Move-Item -Force "$To/layer.zst" "$To/blobs/sha256/$($d.Substring(7))"
        }
        $mb = [Text.Encoding]::UTF8.GetBytes(($m | ConvertTo-Json -Depth 6 -Compress))
        $md = 'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData($mb))
        [IO.File]::WriteAllBytes("$To/blobs/sha256/$($md.Substring(7))", $mb)
        $idx.manifests[0].digest = $md
        $idx.manifests[0].size = $mb.Length
        [IO.File]::WriteAllText("$To/index.json", ($idx | ConvertTo-Json -Depth 6 -Compress))
        [pscustomobject]@{ Path = $To; Digest = $md; ConfigDigest = $m.config.digest; Layers = @($m.layers | ForEach-Object digest) }
    }
    $script:Zs = New-ZstdVariant "$Work/oci-gz" "$Work/oci-zstd"
    function script:Findings([string] $Root) { @(Test-ContainerStore -StorageRoot $Root | ForEach-Object { "$($_.Kind) $($_.Target)" }) }
    function script:Tree([string] $Root) {
        @(Get-ChildItem -LiteralPath "$Root/blobs/sha256", "$Root/layers" -Force -ErrorAction SilentlyContinue | ForEach-Object Name | Sort-Object)
    }
    function script:RegistryDigest([string] $Ref) {
        $raw = & skopeo inspect --raw --tls-verify=false "docker://$Ref"
        if ($LASTEXITCODE -ne 0) { throw "skopeo inspect $Ref failed" }
        'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes(($raw -join "`n"))))
    }
    function script:ArchiveIndexDigest([string] $Archive) {
        $d = Join-Path $Work ("x-" + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory $d | Out-Null
        & tar -C $d -xf $Archive index.json
        ((Get-Content -Raw "$d/index.json" | ConvertFrom-Json).manifests | ForEach-Object digest)
    }
}

AfterAll {
    Stop-TestRegistry $script:Reg
    Remove-Item Env:PSCONTAINERS_AUTH_FILE -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $script:Work
}

Describe 'Two manifests of one config' {
    BeforeAll {
        $script:R = New-TestStorageRoot 'imgrec'
        $script:ImpGz = Import-ContainerImage -LiteralPath $Gz.Path -Name "$Addr/app:gz" -StorageRoot $R
        $script:ImpZs = Import-ContainerImage -LiteralPath $Zs.Path -Name "$Addr/app:zstd" -StorageRoot $R
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'are two images with one id, each tag on its own manifest' {
        $Zs.ConfigDigest | Should -Be $Gz.ConfigDigest
        $Zs.Digest | Should -Not -Be $Gz.Digest
        $ImpGz.ManifestDigest | Should -Be $Gz.Digest
        $ImpZs.ManifestDigest | Should -Be $Zs.Digest
        (Get-ContainerImage "$Addr/app:gz" -StorageRoot $R).ManifestDigest | Should -Be $Gz.Digest
        (Get-ContainerImage "$Addr/app:zstd" -StorageRoot $R).ManifestDigest | Should -Be $Zs.Digest
        $rows = @(Get-ContainerImage -StorageRoot $R)
        @($rows.ManifestDigest | Sort-Object -Unique) | Should -Be @(@($Gz.Digest, $Zs.Digest) | Sort-Object)
        @($rows.Id | Select-Object -Unique) | Should -Be @($Gz.ConfigDigest)
        @(Get-ChildItem "$R/images" -Filter *.json).Count | Should -Be 2
        Findings $R | Should -BeNullOrEmpty
    }

    It 'push each manifest under its own digest' {
        (Publish-ContainerImage "$Addr/app:gz" -StorageRoot $R).Digest | Should -Be $Gz.Digest
        (Publish-ContainerImage "$Addr/app:zstd" -StorageRoot $R).Digest | Should -Be $Zs.Digest
        RegistryDigest "$Addr/app:gz" | Should -Be $Gz.Digest
        RegistryDigest "$Addr/app:zstd" | Should -Be $Zs.Digest
    }

    It 'pull each manifest under its own digest and leave the store clean' {
        Publish-ContainerImage "$Addr/app:gz" "$Addr/pulled:gz" -StorageRoot $R | Out-Null
        Publish-ContainerImage "$Addr/app:zstd" "$Addr/pulled:zstd" -StorageRoot $R | Out-Null
        $p = New-TestStorageRoot 'imgrec-pull'
        try {
            (Request-ContainerImage "$Addr/pulled:gz" -StorageRoot $p).Digest | Should -Be $Gz.Digest
            (Request-ContainerImage "$Addr/pulled:zstd" -StorageRoot $p).Digest | Should -Be $Zs.Digest
            (Get-ContainerImage "$Addr/pulled:gz" -StorageRoot $p).ManifestDigest | Should -Be $Gz.Digest
            (Get-ContainerImage "$Addr/pulled:zstd" -StorageRoot $p).ManifestDigest | Should -Be $Zs.Digest
            # both manifests' layer blobs are referenced: nothing is garbage
            foreach ($l in $Gz.Layers + $Zs.Layers) { Test-Path "$p/blobs/sha256/$($l.Substring(7))" | Should -BeTrue }
            Findings $p | Should -BeNullOrEmpty
        }
        finally { Remove-TestStorageRoot $p }
    }

    It 'export each manifest under its own digest' {
        Export-ContainerImage "$Addr/app:gz" "$Work/gz.tar" -Format OciArchive -StorageRoot $R
        Export-ContainerImage "$Addr/app:zstd" "$Work/zstd.tar" -Format OciArchive -StorageRoot $R
        ArchiveIndexDigest "$Work/gz.tar" | Should -Be $Gz.Digest
        ArchiveIndexDigest "$Work/zstd.tar" | Should -Be $Zs.Digest
        Export-ContainerImage "$Addr/app:gz", "$Addr/app:zstd" "$Work/both.tar" -Format OciArchive -StorageRoot $R
        ArchiveIndexDigest "$Work/both.tar" | Should -Be @($Gz.Digest, $Zs.Digest)
    }

    It 'a docker-archive and an OCI archive of one image are two records that keep their digests' {
        Export-ContainerImage "$Addr/app:gz" "$Work/gz-docker.tar" -Format DockerArchive -StorageRoot $R
        $d = New-TestStorageRoot 'imgrec-arch'
        try {
            $a = Import-ContainerImage -LiteralPath "$Work/gz-docker.tar" -Name x/img:docker -StorageRoot $d
            $b = Import-ContainerImage -LiteralPath "$Work/gz.tar" -Name x/img:oci -StorageRoot $d
            $a.Id | Should -Be $b.Id
            $b.ManifestDigest | Should -Be $Gz.Digest
            $a.ManifestDigest | Should -Not -Be $b.ManifestDigest
            (Get-ContainerImage x/img:docker -StorageRoot $d).ManifestDigest | Should -Be $a.ManifestDigest
            (Get-ContainerImage x/img:oci -StorageRoot $d).ManifestDigest | Should -Be $Gz.Digest
            Findings $d | Should -BeNullOrEmpty
        }
        finally { Remove-TestStorageRoot $d }
    }

    It 'removing one tag keeps the other manifest whole; a container of the id still runs' {
        $c = New-Container -Image "$Addr/app:zstd" -Network none -StorageRoot $R
        Remove-ContainerImage "$Addr/app:gz" -StorageRoot $R
        Get-ContainerImage "$Addr/app:gz" -StorageRoot $R -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $z = Get-ContainerImage "$Addr/app:zstd" -StorageRoot $R
        $z.ManifestDigest | Should -Be $Zs.Digest
        foreach ($l in $Zs.Layers) { Test-Path "$R/blobs/sha256/$($l.Substring(7))" | Should -BeTrue }
        # the gzip manifest's own blobs were collected with its record
        Test-Path "$R/blobs/sha256/$($Gz.Digest.Substring(7))" | Should -BeFalse
        Findings $R | Should -BeNullOrEmpty
        Start-Container $c.Id -StorageRoot $R
        Wait-Container $c.Id -StorageRoot $R | Out-Null
        (Get-ContainerLog $c.Id -StorageRoot $R) -join "`n" | Should -Match 'one config, two manifests'
    }
}

Describe 'A multi-platform pull' {
    BeforeAll {
        $script:Multi = Join-Path $Fixtures 'images/regclient/testdata/testrepo'
        Copy-TestImage "oci:$($Multi):v1" "docker://$Addr/multi:v1" $Reg -All
        $script:R = New-TestStorageRoot 'imgrec-multi'
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'keeps the index referenced by the image record: Test-ContainerStore stays clean' {
        $pulled = Request-ContainerImage "$Addr/multi:v1" -StorageRoot $R
        $pulled.IndexDigest | Should -Not -BeNullOrEmpty
        Test-Path "$R/blobs/sha256/$($pulled.IndexDigest.Substring(7))" | Should -BeTrue
        $img = Get-ContainerImage "$Addr/multi:v1" -StorageRoot $R
        $img.IndexDigests | Should -Be @($pulled.IndexDigest)
        $img.ManifestDigest | Should -Be $pulled.Digest
        Findings $R | Should -BeNullOrEmpty
        Test-ContainerStore -Repair -StorageRoot $R | Out-Null
        Test-Path "$R/blobs/sha256/$($pulled.IndexDigest.Substring(7))" | Should -BeTrue
    }
}

Describe 'A root written before records were per manifest' {
    BeforeAll {
        $script:R = New-TestStorageRoot 'imgrec-old'
        $img = Import-ContainerImage -LiteralPath $Gz.Path -Name old/app:1 -StorageRoot $R
        Add-ContainerImageTag old/app:1 old/app:2 -StorageRoot $R
        # the old form: images/<config hex>.json, names -> config digest, no Version
        Move-Item "$R/images/$($Gz.Digest.Substring(7)).json" "$R/images/$($Gz.ConfigDigest.Substring(7)).json"
        [IO.File]::WriteAllText("$R/repositories.json", (@{ names = [ordered]@{ 'docker.io/old/app:1' = $Gz.ConfigDigest; 'docker.io/old/app:2' = $Gz.ConfigDigest } } | ConvertTo-Json -Compress))
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'loads: names, ids, containers and Test-ContainerStore work as before' {
        $i = Get-ContainerImage old/app:1 -StorageRoot $R
        $i.Id | Should -Be $Gz.ConfigDigest
        $i.ManifestDigest | Should -Be $Gz.Digest
        @($i.RepoTags) | Should -Be @('old/app:1', 'old/app:2')
        @(Get-ContainerImage $Gz.ConfigDigest -StorageRoot $R | ForEach-Object ManifestDigest | Select-Object -Unique) | Should -Be @($Gz.Digest)
        Findings $R | Should -BeNullOrEmpty
        $c = New-Container -Image old/app:2 -Network none -StorageRoot $R
        $c.ImageId | Should -Be $Gz.ConfigDigest
    }

    It 'is moved to the new form by the next write of that image, keeping its names' {
        Import-ContainerImage -LiteralPath $Zs.Path -Name old/app:z -StorageRoot $R | Out-Null
        Import-ContainerImage -LiteralPath $Gz.Path -Name old/app:3 -StorageRoot $R | Out-Null
        Test-Path "$R/images/$($Gz.ConfigDigest.Substring(7)).json" | Should -BeFalse
        Test-Path "$R/images/$($Gz.Digest.Substring(7)).json" | Should -BeTrue
        @((Get-ContainerImage old/app:1 -StorageRoot $R).RepoTags) | Should -Be @('old/app:1', 'old/app:2', 'old/app:3')
        (Get-ContainerImage old/app:z -StorageRoot $R).ManifestDigest | Should -Be $Zs.Digest
        (Get-Content -Raw "$R/repositories.json" | ConvertFrom-Json).Version | Should -Be 2
        Findings $R | Should -BeNullOrEmpty
    }
}

Describe 'A failed pull or import' {
    BeforeAll {
        # base (shared with an image already stored), a good new layer, and a last layer that arrives corrupt
        $script:Bad = New-TestOciLayout -Path "$Work/oci-bad" -LayerDirs "$Work/l-base", "$Work/l-extra", "$Work/l-bad" -Tag bad
        Copy-TestImage "oci:$Work/oci-bad:bad" "docker://$Addr/broken:1" $Reg
        $hex = $Bad.Layers[2].Substring(7)
        $script:RegBlob = "$Work/registry/data/docker/registry/v2/blobs/sha256/$($hex.Substring(0, 2))/$hex/data"
        Test-Path $RegBlob | Should -BeTrue
        function script:Flip([string] $Path) {
            $b = [IO.File]::ReadAllBytes($Path)
            $i = [int]($b.Length / 2)
            $b[$i] = $b[$i] -bxor 0xff
            [IO.File]::WriteAllBytes($Path, $b)
        }
        Flip $RegBlob
        Copy-Item -Recurse "$Work/oci-bad" "$Work/oci-bad-local"
        Flip "$Work/oci-bad-local/blobs/sha256/$hex"
    }

    It 'pull: removes the layers it added and nothing else' {
        $r = New-TestStorageRoot 'imgrec-fail'
        try {
            Import-ContainerImage -LiteralPath $Gz.Path -Name keep:1 -StorageRoot $r | Out-Null
            $before = Tree $r
            $e = { Request-ContainerImage "$Addr/broken:1" -StorageRoot $r -ErrorAction Stop } | Should -Throw -PassThru
            # the corrupt last layer failed it, after the good new layer was stored
            $e.FullyQualifiedErrorId | Should -Match '^(LayerDigestMismatch|LayerCorrupt|BlobDigestMismatch),'
            Test-Path "$r/blobs/sha256/$($Bad.Layers[1].Substring(7))" | Should -BeFalse
            Tree $r | Should -Be $before
            Findings $r | Should -BeNullOrEmpty
            $c = New-Container -Image keep:1 -Network none -StorageRoot $r
            Start-Container $c.Id -StorageRoot $r
            (Wait-Container $c.Id -StorageRoot $r).ExitCode | Should -Be 0
        }
        finally { Remove-TestStorageRoot $r }
    }

    It 'import of a layout: removes the layers it added and nothing else' {
        $r = New-TestStorageRoot 'imgrec-fail'
        try {
            Import-ContainerImage -LiteralPath $Gz.Path -Name keep:1 -StorageRoot $r | Out-Null
            $before = Tree $r
            $e = { Import-ContainerImage -LiteralPath "$Work/oci-bad-local" -Name broken:1 -StorageRoot $r -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Match '^(LayerDigestMismatch|LayerCorrupt|BlobDigestMismatch),'

            Tree $r | Should -Be $before
            Findings $r | Should -BeNullOrEmpty
            Get-ContainerImage keep:1 -StorageRoot $r | Should -Not -BeNullOrEmpty
        }
        finally { Remove-TestStorageRoot $r }
    }
}
