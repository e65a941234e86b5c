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
    Set-Content "/etc/netns/b$scope$Name/resolv.conf" (@($r.Nameservers | ForEach-Object { "nameserver $_" }) + @("search $($r.SearchDomains -join ' ')"))
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

    # 1b. the same with real containers from the runtime (busybox rootfs): network + a (sleep) + b pings a by name.
    $rt = Join-Path $script:BenchRoot 'netrt'
    $rootfs = Join-Path $rt 'rootfs'
    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/etc", "$rootfs/tmp" | Out-Null
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($a in 'sh', 'sleep', 'ping', 'wget', 'true') { New-Item -ItemType SymbolicLink -Force -Path "$rootfs/bin/$a" -Target busybox | Out-Null }
    try {
        $real = Measure-Median -Runs 5 -Action {
            $script:benchJ++
            New-ContainerNetwork -Name "rn$script:benchJ" -StorageRoot $rt | Out-Null
            # the root's default (Auto: each container in a user namespace of its own; busybox's ping opens a raw ICMP
            # socket, which its root may in the network namespace its user namespace owns); podman and docker run it as host root
            New-Container -RootFs $rootfs -Name "ra$script:benchJ" -Network "rn$script:benchJ" -Command sleep, 30 -StorageRoot $rt | Start-Container -StorageRoot $rt
            $b = New-Container -RootFs $rootfs -Name "rb$script:benchJ" -Network "rn$script:benchJ" -Command ping, -c1, -W2, "ra$script:benchJ" -StorageRoot $rt
            Start-Container $b.Id -StorageRoot $rt
            if ((Wait-Container $b.Id -StorageRoot $rt).ExitCode -ne 0) { throw 'ping by name failed' }
        } -Prepare {
            Get-Container -All -StorageRoot $rt | Remove-Container -Force -StorageRoot $rt
            Get-ContainerNetwork -StorageRoot $rt | Remove-ContainerNetwork -Force -StorageRoot $rt -Confirm:$false
        }
        Write-BenchLine 'net_2ctr_ping (containers)' $real 'podman_net_2ctr_ping' ($peer['podman_net_2ctr_ping'] ?? 0)
        if ($peer['docker_net_2ctr_ping']) { Write-BenchLine 'net_2ctr_ping (containers)' $real 'docker_net_2ctr_ping' $peer['docker_net_2ctr_ping'] }

        # run-to-exit latency: default network vs network none
        $onDefault = Measure-Median -Runs 10 -Action {
            $c = New-Container -RootFs $rootfs -Network bridge -Command true -StorageRoot $rt
            Start-Container $c.Id -StorageRoot $rt; Wait-Container $c.Id -StorageRoot $rt | Out-Null; Remove-Container $c.Id -Force -StorageRoot $rt
        }
        $onNone = Measure-Median -Runs 10 -Action {
            $c = New-Container -RootFs $rootfs -Network none -Command true -StorageRoot $rt
            Start-Container $c.Id -StorageRoot $rt; Wait-Container $c.Id -StorageRoot $rt | Out-Null; Remove-Container $c.Id -Force -StorageRoot $rt
        }
        Write-BenchLine 'run-to-exit on default network' $onDefault 'ours, network none' $onNone
    }
    catch { "net with containers: skipped ($_)" }
    finally {
        Get-Container -All -StorageRoot $rt -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $rt -ErrorAction SilentlyContinue
        Get-ContainerNetwork -StorageRoot $rt -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $rt -Confirm:$false -ErrorAction SilentlyContinue
    }

    # 2. the network's share of a container start: Setup+Teardown of one endpoint on the default network vs none.
    $one = Measure-Median -Runs 10 -Action {
        $n = New-BenchNs 'solo' 'bridge'
        Remove-BenchNs $n
    }
    $none = Measure-Median -Runs 10 -Action { & ip netns add "b${scope}none"; & ip netns del "b${scope}none" }
    Write-BenchLine 'netns+endpoint on default network (ns)' $one 'netns only (network none)' $none
    Remove-ContainerNetwork -Name bridge -Force -StorageRoot $netRootPath -Confirm:$false -ErrorAction SilentlyContinue

    # 3. TCP throughput between two containers on one network: busybox nc fed by dd, 256 MiB (busybox nc copies in small blocks: tens of MiB/s).
    New-ContainerNetwork -Name tput -StorageRoot $netRootPath | Out-Null
    $srv = New-BenchNs 'srv' 'tput'; $cli = New-BenchNs 'cli' 'tput'
    $ip = $srv.Result.Endpoints[0].IPv4Address
    $bytes = 256MB
    $tputs = foreach ($k in 1..3) {
        # The server's nc must not read its own stdin: busybox nc half-closes the connection at EOF there, and the
        # client then stops after the first block. -e hands the socket to a dd that only reads.
        $psi = [Diagnostics.ProcessStartInfo]::new('ip'); $psi.UseShellExecute = $false
        foreach ($a in 'netns', 'exec', $srv.Ns, 'sh', '-c', 'busybox nc -l -p 5001 -e busybox dd of=/dev/null bs=64k >/dev/null 2>&1') { $psi.ArgumentList.Add($a) }
        $p = [Diagnostics.Process]::Start($psi)
        for ($w = 0; $w -lt 200 -and -not ((& ip netns exec $srv.Ns busybox netstat -ltn) -match ':5001\s'); $w++) { Start-Sleep -Milliseconds 20 }
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & ip netns exec $cli.Ns sh -c "dd if=/dev/zero bs=64k count=$($bytes / 64KB) 2>/dev/null | busybox nc $ip 5001"
        $sw.Stop()
        if (-not $p.WaitForExit(10000)) { $p.Kill($true) }
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
            # podman run's own start-up is measured with a no-op client and subtracted: only the transfer counts.
            $base = Measure-Median -Runs 3 -Warmup 0 -Action { & podman run --rm --network psbench-tput $img true *> $null }
            foreach ($k in 1..3) {
                & podman run -d --name psbench-srv --network psbench-tput $img sh -c 'nc -l -p 5001 -e busybox dd of=/dev/null bs=64k 2>/dev/null' *> $null
                $pip = (& podman inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' psbench-srv).Trim()
                for ($w = 0; $w -lt 200 -and -not ((& podman exec psbench-srv busybox netstat -ltn) -match ':5001\s'); $w++) { Start-Sleep -Milliseconds 20 }
                $sw = [Diagnostics.Stopwatch]::StartNew()
                & podman run --rm --network psbench-tput $img sh -c "dd if=/dev/zero bs=64k count=$($bytes / 64KB) 2>/dev/null | nc $pip 5001" *> $null
                $sw.Stop()
                $t = $sw.Elapsed.TotalMilliseconds - $base
                if ($t -gt 0) { $podTputs += $bytes / 1MB / ($t / 1000) }
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
