# Compose benchmark (dot-sourced by Bench.ps1): `up -d` and `down` of a 3-service busybox project (a web server,
# an app and a database stand-in; one network, one volume, one published port; web depends on app and app on db
# with condition service_healthy, both health checks every 200 ms) with Start-/Remove-ContainerProject beside
# Debian's docker-compose 1.29.2 on the anchors' dockerd, in the same run. Ours runs in this session (cmdlets),
# theirs as the CLI a user types. Both files are the same but for the image's name and the host port.
# Should the probe up with service_healthy fail (a build without health checks), the healthy variant is reported as
# not measurable and the same project with condition service_started is measured instead (for both), so the line
# names its variant. The db's check is `test -f` through the shell (CMD-SHELL): the anchors' busybox image has no
# /bin/test applet link, so ["CMD", "test", ...] cannot be executed by either engine and the db is never healthy.
$composeRoot = Join-Path $script:BenchRoot 'compose'
$composeDir = Join-Path $composeRoot 'proj'
New-Item -ItemType Directory -Force $composeDir | Out-Null
$bb = Get-ChildItem (Join-Path $script:Anchors 'images') -Filter 'busybox*.docker.tar' | Select-Object -First 1
$null = Import-ContainerImage -LiteralPath $bb.FullName -Name bench-busybox:1 -StorageRoot $composeRoot

function Write-BenchCompose([string] $Condition) {
    $file = Join-Path $composeDir "compose-$Condition.yaml"
    Set-Content -LiteralPath $file -Value @"
services:
  db:
    image: `${BENCH_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ready; sleep 1000 & wait"]
    volumes: ["data:/data"]
    healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ready"], interval: 200ms, timeout: 1s, retries: 30}
  app:
    image: `${BENCH_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    depends_on: {db: {condition: $Condition}}
    healthcheck: {test: ["CMD", "true"], interval: 200ms, timeout: 1s, retries: 30}
  web:
    image: `${BENCH_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /w; echo ok > /w/index.html; httpd -f -p 80 -h /w & wait"]
    depends_on: {app: {condition: $Condition}}
    ports: ["127.0.0.1:`${BENCH_PORT}:80"]
volumes:
  data: {}
"@
    $file
}

function Measure-ComposePair([scriptblock] $Up, [scriptblock] $Down, [int] $Runs) {
    # the median of up and of down over $Runs cycles (one untimed cycle first)
    & $Up; & $Down
    $ups = @(); $downs = @()
    for ($i = 0; $i -lt $Runs; $i++) {
        $sw = [Diagnostics.Stopwatch]::StartNew(); & $Up; $ups += $sw.Elapsed.TotalMilliseconds
        $sw.Restart(); & $Down; $downs += $sw.Elapsed.TotalMilliseconds
    }
    [pscustomobject]@{ Up = (Get-Median $ups); Down = (Get-Median $downs); Total = (Get-Median @(for ($i = 0; $i -lt $Runs; $i++) { $ups[$i] + $downs[$i] })) }
}

$haveCompose = [bool](Get-Command docker-compose -ErrorAction SilentlyContinue)
& docker info *> $null
if (-not $haveCompose -or $LASTEXITCODE -ne 0) {
    'compose: docker-compose 1.29.2 or dockerd is missing; no comparison'
}
else {
    $runs = 5
    $condition = 'service_healthy'
    $env:BENCH_IMAGE = 'bench-busybox:1'; $env:BENCH_PORT = '18471'
    $file = Write-BenchCompose $condition
    try { Start-ContainerProject -Path $file -ProjectName benchprobe -WaitTimeout 10 -StorageRoot $composeRoot -ErrorAction Stop }
    catch {
        "compose: service_healthy cannot be measured here ($($_.FullyQualifiedErrorId): $($_.Exception.Message)); measuring service_started"
        $condition = 'service_started'
    }
    finally { Remove-ContainerProject benchprobe -Volumes -Confirm:$false -StorageRoot $composeRoot -ErrorAction SilentlyContinue }
    $file = Write-BenchCompose $condition

    $ours = Measure-ComposePair -Runs $runs -Up {
        $env:BENCH_IMAGE = 'bench-busybox:1'; $env:BENCH_PORT = '18471'
        Start-ContainerProject -Path $file -ProjectName benchours -StorageRoot $composeRoot
    } -Down { Remove-ContainerProject benchours -Volumes -Confirm:$false -StorageRoot $composeRoot }

    $theirs = Measure-ComposePair -Runs $runs -Up {
        $env:BENCH_IMAGE = 'localhost/busybox:test'; $env:BENCH_PORT = '18472'
        & docker-compose -p benchtheirs -f $file up -d *> $null
        if ($LASTEXITCODE -ne 0) { throw 'docker-compose up failed' }
    } -Down {
        & docker-compose -p benchtheirs -f $file down -v *> $null
        if ($LASTEXITCODE -ne 0) { throw 'docker-compose down failed' }
    }
    Write-BenchLine "compose_up ($condition)" $ours.Up 'docker-compose_up' $theirs.Up
    Write-BenchLine "compose_down ($condition)" $ours.Down 'docker-compose_down' $theirs.Down
    Write-BenchLine "compose_up+down ($condition) goal<=0.2" $ours.Total 'docker-compose_up+down' $theirs.Total
    Remove-Item Env:BENCH_IMAGE, Env:BENCH_PORT -ErrorAction SilentlyContinue
}
Get-ContainerProject -StorageRoot $composeRoot -ErrorAction SilentlyContinue | Remove-ContainerProject -Volumes -Confirm:$false -StorageRoot $composeRoot -ErrorAction SilentlyContinue
Remove-ContainerImage bench-busybox:1 -StorageRoot $composeRoot -Force -ErrorAction SilentlyContinue | Out-Null
