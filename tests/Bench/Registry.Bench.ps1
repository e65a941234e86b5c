# Registry: cold pull of debian:bookworm (one ~95 MB gzip layer, ~200 MB unpacked) from the peers' registry
# on 127.0.0.1:5000 into a fresh storage root each run, beside podman pull, docker pull and skopeo copy
# (download only) of the same image from the same registry. Dot-sourced by Bench.ps1.
$regImage = '127.0.0.1:5000/debian:bookworm'
$pullRoot = Join-Path $script:BenchRoot 'registry-pull'
$runs = if ($env:PULL_RUNS) { [int]$env:PULL_RUNS } else { 5 }
$probe = Request-ContainerImage $regImage -StorageRoot $pullRoot -ProgressAction SilentlyContinue
$mb = $probe.Size / 1MB
$ours = Measure-Median -Runs $runs -Warmup 0 -Prepare { & rm -rf --one-file-system $pullRoot } -Action {
    Request-ContainerImage $regImage -StorageRoot $pullRoot -ProgressAction SilentlyContinue
}
& rm -rf --one-file-system $pullRoot
$peers = Invoke-AnchorBench 'podman_pull_debian_cold|docker_pull_debian_cold|skopeo_copy_debian_to_oci' -Runs $runs
"pull debian:bookworm: {0:N1} MB compressed; ours {1:N0} ms = {2:N1} MB/s" -f $mb, $ours, ($mb / ($ours / 1000))
foreach ($p in @(@('podman_pull_debian_cold', 'podman pull'), @('docker_pull_debian_cold', 'docker pull'), @('skopeo_copy_debian_to_oci', 'skopeo copy (download only)'))) {
    if ($peers.ContainsKey($p[0])) {
        Write-BenchLine 'pull debian:bookworm cold' $ours $p[1] $peers[$p[0]]
        "  {0}: {1:N1} MB/s" -f $p[1], ($mb / ($peers[$p[0]] / 1000))
    }
}
