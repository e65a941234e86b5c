# The seed's example end to end (issue 12, item 8): a database (MariaDB) and a CMS (WordPress on Apache + PHP)
# built from the Dockerfiles in examples/seed on one Debian base (localhost/debian:bookworm, debootstrapped from
# the mirror), sharing its layer in the store, and both running: MariaDB answers a query, WordPress's install page
# comes through Apache on a published loopback port, reading the database over a network of their own.
# The builds install packages from the Debian mirror (RUN on the host network): tagged Network.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../SeedImages.ps1
    $script:seed = $null
    $script:suffix = [Guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:net = "seed-$($script:suffix)"
    $script:db = "seed-db-$($script:suffix)"
    $script:wp = "seed-wp-$($script:suffix)"
}
AfterAll {
    if ($script:seed) {
        $r = $script:seed.StorageRoot
        foreach ($c in $script:wp, $script:db) { Remove-Container $c -Force -Volumes -StorageRoot $r -ErrorAction SilentlyContinue }
        Remove-ContainerNetwork $script:net -Force -Confirm:$false -StorageRoot $r -ErrorAction SilentlyContinue
    }
}

Describe 'The seed example: MariaDB and WordPress built on one Debian base' -Tag 'Network' {
    BeforeAll {
        if ($script:IsRoot) { $script:seed = Get-SeedImages }
    }
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'builds both images FROM localhost/debian:bookworm, recording that base' {
        $r = $script:seed.StorageRoot
        $deb = Get-ContainerImage $script:seed.Base -StorageRoot $r
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($r))
        foreach ($name in $script:seed.MariaDb, $script:seed.WordPress) {
            $img = Get-ContainerImage $name -StorageRoot $r
            $img.ParentId | Should -Be $deb.Id
            $m = [Text.Encoding]::UTF8.GetString($store.ReadManifest($img)) | ConvertFrom-Json
            $m.annotations.'org.opencontainers.image.base.name' | Should -Be 'localhost/debian:bookworm'
            $m.annotations.'org.opencontainers.image.base.digest' | Should -Be $deb.ManifestDigest
            # the Debian layer first, then the image's own (packages, files)
            @($img.LayerDiffIds).Count | Should -BeGreaterThan @($deb.LayerDiffIds).Count
        }
        Write-Host "seed images built in $($script:seed.BuildSeconds) s"
    }

    It 'shares the one Debian layer: the same layer directory in the store under both images' {
        $r = $script:seed.StorageRoot
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($r))
        $deb = Get-ContainerImage $script:seed.Base -StorageRoot $r
        $db = Get-ContainerImage $script:seed.MariaDb -StorageRoot $r
        $wp = Get-ContainerImage $script:seed.WordPress -StorageRoot $r
        $debLayer = @($store.GetLayerPaths($deb))[0]
        @($store.GetLayerPaths($db))[0] | Should -Be $debLayer
        @($store.GetLayerPaths($wp))[0] | Should -Be $debLayer
        $db.LayerDiffIds[0] | Should -Be $deb.LayerDiffIds[0]
        $wp.LayerDiffIds[0] | Should -Be $deb.LayerDiffIds[0]
        # one directory on disk for it, and the listing counts it as shared
        $dir = Join-Path $r "layers/$($deb.LayerDiffIds[0].Substring(7))"
        Test-Path -LiteralPath "$dir/diff/etc/debian_version" | Should -BeTrue
        $db.SharedSize | Should -BeGreaterOrEqual $deb.Size
        $wp.SharedSize | Should -BeGreaterOrEqual $deb.Size
        # the images' own layers are theirs: MariaDB's server is not in WordPress's image
        $dbOwn = @($db.LayerDiffIds | Select-Object -Skip 1)
        @($wp.LayerDiffIds | Where-Object { $dbOwn -contains $_ }) | Should -BeNullOrEmpty
    }

    It 'runs MariaDB: it initialises its volume from the environment and answers a query through Invoke-ContainerCommand' {
        $r = $script:seed.StorageRoot
        New-ContainerNetwork $script:net -StorageRoot $r | Out-Null
        $env = @{ MARIADB_ROOT_PASSWORD = 'rootpw'; MARIADB_DATABASE = 'wordpress'; MARIADB_USER = 'wordpress'; MARIADB_PASSWORD = 'wp-secret' }
        Invoke-ContainerImage $script:seed.MariaDb -Name $script:db -Detach -Network $script:net -Environment $env -StorageRoot $r | Out-Null
        $answer = $null
        $deadline = [DateTime]::UtcNow.AddSeconds(90)
        while (-not $answer -and [DateTime]::UtcNow -lt $deadline) {
            $q = Invoke-ContainerCommand $script:db -Command mariadb, '-h127.0.0.1', '-uwordpress', '-pwp-secret', 'wordpress', '-N', '-e', 'SELECT 6*7, DATABASE(), CURRENT_USER()' -StorageRoot $r -ErrorAction SilentlyContinue
            if ($q -and $q.ExitCode -eq 0) { $answer = $q.Output.Trim() } else { Start-Sleep -Milliseconds 500 }
        }
        if (-not $answer) { Get-ContainerLog $script:db -StorageRoot $r | Select-Object -Last 20 | Out-Host }
        $answer | Should -Match '^42\s+wordpress\s+wordpress@%$'
        (Get-Container $script:db -StorageRoot $r).Status | Should -Be 'Running'
    }

    It 'runs WordPress: Apache with PHP answers on a published loopback port and reaches the database' {
        $r = $script:seed.StorageRoot
        $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        $env = @{ WORDPRESS_DB_HOST = $script:db; WORDPRESS_DB_NAME = 'wordpress'; WORDPRESS_DB_USER = 'wordpress'; WORDPRESS_DB_PASSWORD = 'wp-secret' }
        Invoke-ContainerImage $script:seed.WordPress -Name $script:wp -Detach -Network $script:net -Publish "127.0.0.1:$($port):80" -Environment $env -StorageRoot $r | Out-Null
        $resp = $null
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not $resp -and [DateTime]::UtcNow -lt $deadline) {
            try { $resp = Invoke-WebRequest -Uri "http://127.0.0.1:$port/wp-admin/install.php" -TimeoutSec 5 -MaximumRedirection 0 -SkipHttpErrorCheck }
            catch { Start-Sleep -Milliseconds 500 }
        }
        if (-not $resp -or $resp.StatusCode -ne 200) { Get-ContainerLog $script:wp -StorageRoot $r | Select-Object -Last 20 | Out-Host }
        $resp | Should -Not -BeNullOrEmpty
        "$($resp.Headers['Server'])" | Should -Match 'Apache'
        $resp.StatusCode | Should -Be 200
        # PHP ran WordPress's installer, which reached MariaDB (a database error would say so instead)
        $resp.Content | Should -Match 'WordPress'
        $resp.Content | Should -Not -Match 'Error establishing a database connection'
    }
}
