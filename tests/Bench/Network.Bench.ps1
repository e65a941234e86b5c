# Networking benchmarks (dot-sourced by Bench.ps1): ours beside podman's and docker's from the same run.
# Until the runtime runs containers on this branch, "a container" here is a network namespace configured by
# the provider exactly as the runtime's pinned namespace would be (veth, address, routes, DNS, firewall), and
# the workload runs in it with `ip netns exec`. The line names say so ("ns").
Add-Type -Path (Join-Path (Split-Path $ModulePath) 'Containers.Engine.dll')
$netRootPath = Join-Path $script:BenchRoot 'net'
New-Item -ItemType Directory -Force $netRootPath | Out-Null
$netRoot = [Containers.Engine.State.StorageRoot]::Resolve($netRootPath)
$scope = $netRoot.ScopeId
$provider = [Containers.Engine.Networking.BridgeNetworkProvider]::new($netRoot)

function New-BenchNs([string] $Name, [string] $Network) {
    & ip netns add "b$scope$Name"
    $ctx = [Containers.Engine.Networking.ContainerNetworkContext]@{
        ContainerId = "$Name-$scope"; ContainerName = $Name; Hostname = $Name; NetNsPath = "/run/netns/b$scope$Name"; StateDirectory = $netRootPath
        Networks = [Containers.Engine.Networking.NetworkRequest[]]@([Containers.Engine.Networking.NetworkRequest]::new($Network, [string[]]@(), $null, $null))
        Ports = [Containers.Engine.Networking.PortRequest[]]@()
    }
    $r = $provider.Setup($ctx, [Threading.CancellationToken]::None)
    New-Item -ItemType Directory -Force "/etc/netns/b$scope$Name" | Out-Null
    Set-Content "/etc/netns/b$scope$Name/resolv.conf" (($r.Nameservers | ForEach-Object { "nameserver $_" }) + "search $($r.SearchDomains -join ' ')")
    [pscustomobject]@{ Ctx = $ctx; Result = $r; Ns = "b$scope$Name" }
}

function Remove-BenchNs($n) {
    $provider.Teardown($n.Ctx)
    & ip netns del $n.Ns
    Remove-Item -Recurse -Force "/etc/netns/$($n.Ns)" -ErrorAction SilentlyContinue
}

try {
    $peer = Invoke-AnchorBench 'net_2ctr_ping' 5

    # 1. network create + two "containers" + one pings the other by name, then everything removed (untimed).
    $i = 0
    $ms = Measure-Median -Runs 5 -Action {
        $script:benchI++
        New-ContainerNetwork -Name "bn$script:benchI" -StorageRoot $netRootPath | Out-Null
        $a = New-BenchNs 'a' "bn$script:benchI"
        $b = New-BenchNs 'b' "bn$script:benchI"
        & ip netns exec $b.Ns busybox ping -c1 -W2 a | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'ping by name failed' }
        $script:benchLast = @($a, $b, "bn$script:benchI")
    } -Prepare {
        if ($script:benchLast) {
            Remove-BenchNs $script:benchLast[0]; Remove-BenchNs $script:benchLast[1]
            Remove-ContainerNetwork -Name $script:benchLast[2] -StorageRoot $netRootPath -Confirm:$false
            $script:benchLast = $null
        }
    }
    if ($script:benchLast) {
        Remove-BenchNs $script:benchLast[0]; Remove-BenchNs $script:benchLast[1]
        Remove-ContainerNetwork -Name $script:benchLast[2] -StorageRoot $netRootPath -Confirm:$false
        $script:benchLast = $null
    }
    Write-BenchLine 'net_2ctr_ping (ns: create+2+ping by name)' $ms 'podman_net_2ctr_ping' ($peer['podman_net_2ctr_ping'] ?? 0)
    if ($peer['docker_net_2ctr_ping']) { Write-BenchLine 'net_2ctr_ping (ns: create+2+ping by name)' $ms 'docker_net_2ctr_ping' $peer['docker_net_2ctr_ping'] }

    # 2. the network's share of a container start: Setup+Teardown of one endpoint on the default network vs none.
    $one = Measure-Median -Runs 10 -Action {
        $n = New-BenchNs 'solo' 'bridge'
        Remove-BenchNs $n
    }
    $none = Measure-Median -Runs 10 -Action { & ip netns add "b${scope}none"; & ip netns del "b${scope}none" }
    Write-BenchLine 'netns+endpoint on default network (ns)' $one 'netns only (network none)' $none
    Remove-ContainerNetwork -Name bridge -Force -StorageRoot $netRootPath -Confirm:$false -ErrorAction SilentlyContinue

    # 3. TCP throughput between two containers on one network: busybox nc fed by dd, 1 GiB.
    New-ContainerNetwork -Name tput -StorageRoot $netRootPath | Out-Null
    $srv = New-BenchNs 'srv' 'tput'; $cli = New-BenchNs 'cli' 'tput'
    $ip = $srv.Result.Endpoints[0].IPv4Address
    $bytes = 1GB
    $tputs = foreach ($k in 1..3) {
        $p = Start-Process ip -ArgumentList @('netns', 'exec', $srv.Ns, 'busybox', 'nc', '-l', '-p', '5001') -RedirectStandardOutput /dev/null -PassThru
        Start-Sleep -Milliseconds 200
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & ip netns exec $cli.Ns sh -c "dd if=/dev/zero bs=64k count=$($bytes / 64KB) 2>/dev/null | busybox nc $ip 5001"
        $sw.Stop()
        $p | Wait-Process -Timeout 10 -ErrorAction SilentlyContinue
        if (-not $p.HasExited) { Stop-Process -Id $p.Id -Force }
        $bytes / 1MB / $sw.Elapsed.TotalSeconds
    }
    $oursTput = Get-Median $tputs
    Remove-BenchNs $srv; Remove-BenchNs $cli
    Remove-ContainerNetwork -Name tput -StorageRoot $netRootPath -Confirm:$false

    $podTputs = @()
    if (Get-Command podman -ErrorAction SilentlyContinue) {
        $img = 'localhost/busybox:test'
        & podman network create --subnet 10.89.78.0/24 psbench-tput *> $null
        try {
            foreach ($k in 1..3) {
                & podman run -d --name psbench-srv --network psbench-tput $img sh -c 'nc -l -p 5001 >/dev/null' *> $null
                $pip = (& podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' psbench-srv).Trim()
                Start-Sleep -Milliseconds 300
                # podman run's own start-up is timed inside the container: only the transfer counts.
                $out = & podman run --rm --network psbench-tput $img sh -c "s=`$(date +%s%N); dd if=/dev/zero bs=64k count=$($bytes / 64KB) 2>/dev/null | nc $pip 5001; e=`$(date +%s%N); echo `$((e-s))"
                $ns = [double](($out | Select-Object -Last 1))
                if ($ns -gt 0) { $podTputs += $bytes / 1MB / ($ns / 1e9) }
                & podman rm -f -t 0 psbench-srv *> $null
            }
        }
        finally { & podman rm -f -t 0 psbench-srv *> $null; & podman network rm -f psbench-tput *> $null }
    }
    Write-BenchLine 'tcp throughput 2 ctrs one network (ns)' $oursTput 'podman (nc fed by dd)' (Get-Median $podTputs) 'MiB/s'
}
finally {
    Get-ContainerNetwork -StorageRoot $netRootPath -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $netRootPath -Confirm:$false -ErrorAction SilentlyContinue
    foreach ($n in @(& ip netns list | ForEach-Object { ($_ -split ' ')[0] } | Where-Object { $_ -like "b$scope*" })) { & ip netns del $n; Remove-Item -Recurse -Force "/etc/netns/$n" -ErrorAction SilentlyContinue }
}
