# Images: importing the Debian minbase docker-archive (~200 MB) vs podman load and docker load, same run.
# Dot-sourced by Bench.ps1 (helpers Measure-Median, Write-BenchLine; $script:BenchRoot, $script:Anchors).
$archive = Join-Path $script:Anchors 'images/debian-bookworm.docker.tar'
$runs = if ($env:IMAGES_BENCH_RUNS) { [int]$env:IMAGES_BENCH_RUNS } else { 5 }
if (-not (Test-Path $archive)) { "images: skipped, $archive missing (run the anchors' setup.sh)"; return }

# ours: a fresh storage root per run (removal untimed), in-process cmdlet call as a user would make it
$ourRoot = Join-Path $script:BenchRoot 'images'
$ours = Measure-Median -Runs $runs -Warmup 1 -Prepare { & rm -rf --one-file-system $ourRoot; & sync } -Action {
    Import-ContainerImage -LiteralPath $archive -StorageRoot $ourRoot | Out-Null
}
$img = Get-ContainerImage -StorageRoot $ourRoot | Select-Object -First 1
"images: ours imported $($img.RepoTags -join ',') id=$($img.ShortId) size=$($img.Size) bytes"

# podman load into a throw-away store (its runroot must be shorter than 50 characters)
if (Get-Command podman -ErrorAction SilentlyContinue) {
    $pmRoot = "/var/tmp/containers-bench/podman-$PID"
    $pmRun = "/tmp/ctbench-$PID"
    $pm = @('--root', $pmRoot, '--runroot', $pmRun, '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
    $pmClean = { & podman @pm rmi -a -f *> $null; & rm -rf --one-file-system $pmRoot $pmRun; & sync }
    try {
        $podman = Measure-Median -Runs $runs -Warmup 1 -Prepare $pmClean -Action { & podman @pm load -q -i $archive *> $null; if ($LASTEXITCODE) { throw 'podman load failed' } }
        Write-BenchLine 'import debian docker-archive (200 MB)' $ours 'podman load' $podman
    }
    finally { & $pmClean }
}

# docker load into the running dockerd; only when the image is not there already, and removed by id after each run
$dockerId = $img.Id
if ((Get-Command docker -ErrorAction SilentlyContinue) -and (& docker info --format '{{.ServerVersion}}' 2>$null)) {
    & docker image inspect $dockerId *> $null
    if ($LASTEXITCODE -eq 0) { "images: docker load skipped, dockerd already has $dockerId (not ours to remove)" }
    else {
        $dkClean = { & docker image inspect $dockerId *> $null; if ($LASTEXITCODE -eq 0) { & docker rmi -f $dockerId *> $null }; & sync }
        try {
            $docker = Measure-Median -Runs $runs -Warmup 1 -Prepare $dkClean -Action { & docker load -q -i $archive *> $null; if ($LASTEXITCODE) { throw 'docker load failed' } }
            Write-BenchLine 'import debian docker-archive (200 MB)' $ours 'docker load' $docker
        }
        finally { & $dkClean }
    }
}
else { "images: docker load skipped, dockerd is not running" }
& rm -rf --one-file-system $ourRoot
