# User namespaces on a file system without idmapped mounts (a loop-mounted ext2, as UserNamespace.Tests.ps1):
# the container's layers are copies shifted into its id range (UserNamespaces/LayerCopies), made at the first
# start of each range and layer. What that costs debian (one ~200 MB layer) beside an idmapped start on the bench's
# root, interleaved, and what a start on copies that exist costs beside Host on the same ext2 root.
# Dot-sourced by Bench.ps1 (helpers from there).
$runs = if ($env:USERNS_COPY_BENCH_RUNS) { [int]$env:USERNS_COPY_BENCH_RUNS } else { 5 }
$archive = Join-Path $script:Anchors 'images/debian-bookworm.docker.tar'
if (-not (Get-Command mkfs.ext2 -ErrorAction SilentlyContinue) -or -not (Test-Path $archive)) { 'usernscopy: needs mkfs.ext2 and the anchors'' debian archive; skipped'; return }
$idmRoot = Join-Path $script:BenchRoot 'usernscopy-idmapped'
$e2img = Join-Path $script:BenchRoot 'usernscopy-ext2.img'
$e2mnt = Join-Path $script:BenchRoot 'usernscopy-ext2'
New-Item -ItemType Directory -Force -Path $e2mnt | Out-Null
& truncate -s 2G $e2img
& mkfs.ext2 -q -F $e2img
& mount -t ext2 -o loop $e2img $e2mnt
if ($LASTEXITCODE -ne 0) { throw 'usernscopy: cannot mount the ext2 image' }
$e2 = Join-Path $e2mnt 'root'
try {
    $null = Import-ContainerImage -LiteralPath $archive -Name bench-debian:1 -StorageRoot $idmRoot
    $null = Import-ContainerImage -LiteralPath $archive -Name bench-debian:1 -StorageRoot $e2
    if ((Get-ContainerHost -StorageRoot $e2).UserNamespaceLayers -ne 'CopiedLayers') { throw 'usernscopy: the ext2 root does not copy layers' }
    if ((Get-ContainerHost -StorageRoot $idmRoot).UserNamespaceLayers -ne 'IdmappedLayers') { throw 'usernscopy: the bench root does not idmap layers' }
    function Run([string] $Root, [string] $Mode) {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $r = Invoke-ContainerImage bench-debian:1 -Command true -Network none -Remove -StorageRoot $Root -UserNamespace $Mode -WarningAction SilentlyContinue
        $sw.Stop()
        if ($r.ExitCode -ne 0) { throw "usernscopy: true exited with $($r.ExitCode)" }
        $sw.Elapsed.TotalMilliseconds
    }
    # warm both sessions' paths (the first copy too)
    $null = Run $idmRoot 'Auto'; $null = Run $e2 'Auto'; $null = Run $e2 'Host'
    $t = @{ Idmapped = [System.Collections.Generic.List[double]]::new(); Cold = [System.Collections.Generic.List[double]]::new()
        Warm = [System.Collections.Generic.List[double]]::new(); Host = [System.Collections.Generic.List[double]]::new() }
    for ($i = 0; $i -lt $runs; $i++) {
        $t.Idmapped.Add((Run $idmRoot 'Auto'))
        $t.Warm.Add((Run $e2 'Auto'))
        $t.Host.Add((Run $e2 'Host'))
        # a first start: no copy of any range (removed untimed; a freed range is the next allocation's)
        & rm -rf --one-file-system (Join-Path $e2 'idcopies')
        & sync
        $t.Cold.Add((Run $e2 'Auto'))
    }
    $m = @{}; foreach ($k in $t.Keys) { $m[$k] = Get-Median $t[$k].ToArray() }
    $copyBytes = [long]((& du -sb --one-file-system (Join-Path $e2 'idcopies')) -split '\s+')[0]
    "usernscopy: debian run-to-exit (ms): idmapped {0:N1}, copied first start {1:N1}, copied again {2:N1}, Host on ext2 {3:N1}; a range's copies {4:N0} MB" -f $m.Idmapped, $m.Cold, $m.Warm, $m.Host, ($copyBytes / 1MB)
    Write-BenchLine 'debian first start, copied layers' $m.Cold 'ours, idmapped layers' $m.Idmapped
    Write-BenchLine 'debian start, copy exists' $m.Warm 'ours, idmapped layers' $m.Idmapped
    Write-BenchLine 'debian start, copy exists (ext2)' $m.Warm 'ours, Host on ext2' $m.Host
}
finally {
    foreach ($r in $e2, $idmRoot) {
        Get-Container -All -StorageRoot $r -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $r -ErrorAction SilentlyContinue
        Get-ContainerNetwork -StorageRoot $r -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $r -Confirm:$false -ErrorAction SilentlyContinue
    }
    & umount $e2mnt
    Remove-Item -LiteralPath $e2img -Force -ErrorAction SilentlyContinue
}
