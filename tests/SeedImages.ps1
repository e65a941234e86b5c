# The seed's example images (issue 12, item 8), built once per test run: dot-source after common.ps1, then
#   $seed = Get-SeedImages
# returns @{ StorageRoot; Base; MariaDb; WordPress; BuildSeconds }: the storage root (shared by every caller of
# the run, under the run's test base, removed with it) holding
#   localhost/debian:bookworm         the Debian base (the anchors' debootstrap archive, else a debootstrap here)
#   localhost/seed/mariadb:latest     examples/seed/mariadb   (MARIADB_ROOT_PASSWORD/_DATABASE/_USER/_PASSWORD)
#   localhost/seed/wordpress:latest   examples/seed/wordpress (WORDPRESS_DB_HOST/_NAME/_USER/_PASSWORD, port 80)
# The builds reach the Debian mirror (RUN with -Network host): tag tests that call this 'Network'. Callers make
# their own containers and networks in that root, with names of their own, and remove them when done; they do
# not remove or retag the three images.
. (Join-Path $PSScriptRoot 'Integration/ImageTestHelpers.ps1')

function Get-SeedImages {
    [CmdletBinding()]
    param()
    $root = Join-Path $env:CONTAINERS_TEST_BASE 'seed-images'
    $done = Join-Path $root '.seed-complete.json'
    if (Test-Path -LiteralPath $done) { return (Get-Content -Raw -LiteralPath $done | ConvertFrom-Json) }
    if ((& id -u) -ne '0') { throw 'Building the seed images needs root.' }
    New-Item -ItemType Directory -Force -Path $root | Out-Null
    # one builder at a time, should two processes of one run ask together
    $lock = $null
    for ($i = 0; -not $lock; $i++) {
        try { $lock = [IO.File]::Open("$root.lock", 'OpenOrCreate', 'ReadWrite', 'None') }
        catch [IO.IOException] { if ($i -gt 1200) { throw }; Start-Sleep -Milliseconds 500 }
    }
    try {
        if (Test-Path -LiteralPath $done) { return (Get-Content -Raw -LiteralPath $done | ConvertFrom-Json) }
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $base = 'localhost/debian:bookworm'
        if (-not (Get-ContainerImage $base -StorageRoot $root -ErrorAction SilentlyContinue)) {
            $archive = '/tmp/anchors/images/debian-bookworm.docker.tar'
            if (Test-Path -LiteralPath $archive) {
                # the anchors' debootstrap of the mirror, imported as podman saved it (named localhost/debian:bookworm)
                Import-ContainerImage -LiteralPath $archive -StorageRoot $root | Out-Null
            } else {
                $deb = Get-DebianRootFs
                if (-not $deb) { throw 'No Debian root file system: neither the anchors'' archive nor a debootstrap from the mirror worked.' }
                Import-ContainerImage -RootFs -LiteralPath $deb -Name $base -StorageRoot $root | Out-Null
            }
        }
        if (-not (Get-ContainerImage $base -StorageRoot $root -ErrorAction SilentlyContinue)) { throw "The seed base $base is not in $root after the import." }
        $examples = Join-Path (Split-Path $PSScriptRoot -Parent) 'examples/seed'
        $names = [ordered]@{ MariaDb = 'localhost/seed/mariadb:latest'; WordPress = 'localhost/seed/wordpress:latest' }
        foreach ($k in $names.Keys) {
            $ctx = Join-Path $examples $k.ToLowerInvariant()
            Build-ContainerImage -Path $ctx -Tag $names[$k] -Network host -Quiet -StorageRoot $root -ErrorAction Stop | Out-Null
        }
        $seed = [pscustomobject]@{
            StorageRoot  = $root
            Base         = $base
            MariaDb      = $names.MariaDb
            WordPress    = $names.WordPress
            BuildSeconds = [math]::Round($sw.Elapsed.TotalSeconds, 1)
        }
        $seed | ConvertTo-Json | Set-Content -LiteralPath $done
        $seed
    }
    finally { $lock.Dispose() }
}
