# Build: a 10-step Dockerfile (FROM busybox, ARG, ENV, COPY of 200 files, 3 RUNs, WORKDIR, USER, CMD) built
# cold, fully cached, and after one changed COPY source: ours beside podman build, docker build with BuildKit
# (DOCKER_BUILDKIT=1) and with the classic builder (DOCKER_BUILDKIT=0), same run, as ratios.
# Goals (issue 12): cold <= 1/3 of podman, cached <= 1/10 of podman's cached build, faster than BuildKit in all three.
# Dot-sourced by Bench.ps1 (helpers Measure-Median, Write-BenchLine; $script:BenchRoot, $script:Anchors).
$archive = Join-Path $script:Anchors 'images/busybox-test.docker.tar'
$runs = if ($env:BUILD_BENCH_RUNS) { [int]$env:BUILD_BENCH_RUNS } else { 5 }
if (-not (Test-Path $archive)) { "build: skipped, $archive missing (run the anchors' setup.sh)"; return }

# the context: 200 files in a folder, and the Dockerfile every engine builds (the base is the anchors' busybox,
# localhost/busybox:test, in each engine's store; RUN steps without a network, which none of them needs)
$ctx = Join-Path $script:BenchRoot 'build-ctx'
New-Item -ItemType Directory -Force -Path "$ctx/files" | Out-Null
1..200 | ForEach-Object { Set-Content -LiteralPath "$ctx/files/f$_.txt" -Value ("file $_ " + ('x' * ($_ * 10))) -NoNewline }
Set-Content -LiteralPath "$ctx/Dockerfile" -Value @'
FROM localhost/busybox:test
ARG GREETING=hello
ENV APP_HOME=/app
COPY files/ /app/files/
RUN echo "$GREETING" > /greeting
RUN mkdir -p /data && cp /app/files/f1.txt /data/
RUN ls /app/files | wc -l > /count
WORKDIR /app
USER 1000
CMD ["cat", "/greeting"]
'@
$script:changeN = 0
# one COPY source changes (new content each time): everything from the COPY on runs again
$change = { $script:changeN++; Set-Content -LiteralPath "$ctx/files/f100.txt" -Value "changed $PID $($script:changeN)" -NoNewline }
$tag = "localhost/benchbuild:$PID"

# ---- ours: a storage root of its own with the busybox image imported ----
$ourRoot = Join-Path $script:BenchRoot 'build'
Import-ContainerImage -LiteralPath $archive -StorageRoot $ourRoot | Out-Null
$oursBuild = { Build-ContainerImage -Path $ctx -Tag $tag -Network none -Quiet -StorageRoot $ourRoot }
$oursClean = { Remove-ContainerBuildCache -All -Confirm:$false -StorageRoot $ourRoot | Out-Null; Remove-ContainerImage $tag -Force -StorageRoot $ourRoot -ErrorAction SilentlyContinue | Out-Null }
$ours = @{
    cold    = Measure-Median -Runs $runs -Warmup 1 -Prepare $oursClean -Action $oursBuild
    cached  = Measure-Median -Runs $runs -Warmup 1 -Action $oursBuild
    changed = Measure-Median -Runs $runs -Warmup 1 -Prepare $change -Action $oursBuild
}
$img = Get-ContainerImage $tag -StorageRoot $ourRoot
"build: ours built $tag id=$($img.ShortId) layers=$(@($img.LayerDiffIds).Count)"

function Write-BuildLines([string] $Peer, [hashtable] $Theirs) {
    foreach ($k in 'cold', 'cached', 'changed') {
        Write-BenchLine "build 10 steps, 200 files: $k" $ours[$k] $Peer $Theirs[$k]
    }
}

# ---- podman: a throw-away store (runroot shorter than 50 characters) with the busybox image loaded ----
if (Get-Command podman -ErrorAction SilentlyContinue) {
    $pmRoot = "/var/tmp/containers-bench/podman-build-$PID"
    $pmRun = "/tmp/ctbb-$PID"
    $pm = @('--root', $pmRoot, '--runroot', $pmRun, '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
    try {
        & podman @pm load -q -i $archive *> $null
        if ($LASTEXITCODE) { throw 'podman load failed' }
        $pmBuild = { & podman @pm build -q --format docker --network none -t $tag $ctx *> $null; if ($LASTEXITCODE) { throw 'podman build failed' } }
        # cold: every step executed (--no-cache), the previous result removed first
        $pmCold = { & podman @pm build -q --no-cache --format docker --network none -t $tag $ctx *> $null; if ($LASTEXITCODE) { throw 'podman build failed' } }
        $pmClean = { & podman @pm rmi -f $tag *> $null; & podman @pm image prune -f *> $null }
        $podman = @{
            cold    = Measure-Median -Runs $runs -Warmup 1 -Prepare $pmClean -Action $pmCold
            cached  = Measure-Median -Runs $runs -Warmup 1 -Action $pmBuild
            changed = Measure-Median -Runs $runs -Warmup 1 -Prepare $change -Action $pmBuild
        }
        Write-BuildLines 'podman build' $podman
    }
    finally {
        & podman @pm rmi -a -f *> $null
        & podman @pm system reset -f *> $null
        & rm -rf --one-file-system $pmRoot $pmRun
    }
}
else { "build: podman skipped, not installed" }

# ---- docker: the running dockerd (its shared store: only our tag is removed, never a prune) ----
# the CLI of the daemon's own release (Debian's docker.io, /usr/bin/docker) builds with BuildKit by itself; a newer
# CLI first on PATH wants the buildx plugin for DOCKER_BUILDKIT=1, which is not installed here
$docker = if (Test-Path /usr/bin/docker) { '/usr/bin/docker' } else { 'docker' }
if ((Get-Command $docker -ErrorAction SilentlyContinue) -and (& $docker info --format '{{.ServerVersion}}' 2>$null)) {
    & $docker image inspect localhost/busybox:test *> $null
    if ($LASTEXITCODE) { & $docker load -q -i $archive *> $null }
    foreach ($mode in @(@{ Name = 'docker build (BuildKit)'; Kit = '1' }, @{ Name = 'docker build (classic)'; Kit = '0' })) {
        $env:DOCKER_BUILDKIT = $mode.Kit
        try {
            $dkBuild = { & $docker build -q --network none -t $tag $ctx *> $null; if ($LASTEXITCODE) { throw "docker build failed (DOCKER_BUILDKIT=$env:DOCKER_BUILDKIT)" } }
            $dkCold = { & $docker build -q --no-cache --network none -t $tag $ctx *> $null; if ($LASTEXITCODE) { throw "docker build failed (DOCKER_BUILDKIT=$env:DOCKER_BUILDKIT)" } }
            $dkClean = { & $docker rmi -f $tag *> $null }
            $dk = @{
                cold    = Measure-Median -Runs $runs -Warmup 1 -Prepare $dkClean -Action $dkCold
                cached  = Measure-Median -Runs $runs -Warmup 1 -Action $dkBuild
                changed = Measure-Median -Runs $runs -Warmup 1 -Prepare $change -Action $dkBuild
            }
            Write-BuildLines $mode.Name $dk
        }
        finally {
            & $docker rmi -f $tag *> $null
            Remove-Item Env:DOCKER_BUILDKIT -ErrorAction SilentlyContinue
        }
    }
}
else { "build: docker skipped, dockerd is not running" }
& rm -rf --one-file-system $ourRoot $ctx
