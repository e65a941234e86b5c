# The awesome-compose apps brought up and down by Debian's docker-compose 1.29.2 (on the anchors' dockerd) and by
# Start-/Remove-ContainerProject, compared structurally. Their Hub images cannot be pulled here, so both sides run
# the same stand-ins: the anchors' busybox image (localhost/busybox:test, saved from dockerd and imported into our
# store) tagged under every image name an app uses, and a service with build: gets a stand-in image named
# cgaps-standin-<service> instead of its build (on both sides). Each service's command becomes a sleep (their own
# cannot run in busybox), healthchecks, user, working_dir and entrypoint go (they need the real images) and
# depends_on conditions become service_started; published ports are bound on 127.0.0.1 at free ports. Each app
# runs in a copy of its folder (binds stay inside it). The file both sides read is the same JSON.
# What differs by design is written in docs/COMPOSE.md (Peer: up and down beside docker-compose 1.29.2).
BeforeDiscovery {
    . $PSScriptRoot/../common.ps1
    $dir = Join-Path $script:Fixtures 'compose/awesome-compose'
    # apps whose files use what the engine refuses (runtime: io.containerd.wasmedge.v1): compared on the error only
    $script:awesome = @(Get-ChildItem -Directory $dir -ErrorAction SilentlyContinue | Sort-Object Name | ForEach-Object {
            $f = Get-ChildItem $_.FullName -File | Where-Object Name -match '^compose\.ya?ml$' | Select-Object -First 1
            if ($f) { @{ App = $_.Name; Dir = $_.FullName; File = $f.Name } }
        })
}
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'cgaps-peer'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:ready = $false
    $script:why = 'needs root, docker-compose (apt package docker-compose) and dockerd (../shared/anchors/setup.sh)'
    if ($script:IsRoot -and (Test-Command 'docker-compose') -and (Test-Command 'docker')) {
        & docker info *> $null
        if ($LASTEXITCODE -eq 0) {
            & docker image inspect localhost/busybox:test *> $null
            if ($LASTEXITCODE -eq 0) {
                $tar = Join-Path $script:root 'busybox.tar'
                & docker save -o $tar localhost/busybox:test
                Import-ContainerImage -LiteralPath $tar -Name localhost/busybox:test | Out-Null
                $script:imageLabels = @((& docker image inspect localhost/busybox:test | ConvertFrom-Json).Config.Labels.PSObject.Properties.Name)
                $script:ready = $true
            }
        }
    }
    $script:tagged = [System.Collections.Generic.List[string]]::new()
    # a port free now and never handed out before in this file: the kernel may give the same ephemeral port to
    # two listeners in a row once the first is closed, and two services (or a docker-compose run whose proxy
    # is still letting go of the last app's port) would then ask for the same one
    $script:portsGiven = [System.Collections.Generic.HashSet[int]]::new()
    function script:Get-FreePort {
        while ($true) {
            $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start()
            $p = $l.LocalEndpoint.Port; $l.Stop()
            if ($script:portsGiven.Add($p)) { return $p }
        }
    }
    function script:Use-StandIn([string] $Image) {
        # the busybox stand-in under the app's image name, on both sides
        if ($script:tagged.Contains($Image)) { return }
        & docker tag localhost/busybox:test $Image
        Add-ContainerImageTag localhost/busybox:test $Image | Out-Null
        $script:tagged.Add($Image)
    }
    function script:Get-Normal([string] $Value) { if ($null -eq $Value) { '' } else { "$Value" } }
    # one side's view: sorted lines per facet, so the two compare with Should -Be
    function script:Get-TheirState([string] $Project) {
        $ids = @(& docker ps -aq --filter "label=com.docker.compose.project=$Project")
        $cs = if ($ids) { @(& docker inspect @ids | ConvertFrom-Json) } else { @() }
        $st = [ordered]@{ Containers = @(); Networks = @(); Volumes = @(); Aliases = @(); Ports = @(); Env = @(); Mounts = @(); Restart = @(); Labels = @() }
        foreach ($c in $cs) {
            $l = $c.Config.Labels
            $key = "$($l.'com.docker.compose.service')#$($l.'com.docker.compose.container-number')"
            $st.Containers += $key
            # network_mode host, none or container:x: dockerd lists the mode as a network; we list no network (none to join)
            foreach ($n in $c.NetworkSettings.Networks.PSObject.Properties | Where-Object { $c.HostConfig.NetworkMode -notmatch '^(host|none|container:.*)$' }) {
                # dockerd adds the container's short id itself: not compose's doing
                $al = @($n.Value.Aliases | Where-Object { $_ -and $_ -ne $c.Id.Substring(0, 12) } | Sort-Object -Unique)
                $st.Aliases += "$key $($n.Name): $($al -join ',')"
            }
            foreach ($pb in $c.HostConfig.PortBindings.PSObject.Properties) {
                foreach ($b in $pb.Value) { $st.Ports += "$key $($b.HostIp):$($b.HostPort)->$($pb.Name)" }
            }
            $st.Env += @($c.Config.Env | ForEach-Object { "$key $_" })
            foreach ($m in $c.Mounts) {
                # an anonymous volume's name is random on each side: it is compared as anonymous
                $src = if ($m.Type -ne 'volume') { $m.Source } elseif ($m.Name -match '^[0-9a-f]{64}$') { '<anonymous>' } else { $m.Name }
                $st.Mounts += "$key $($m.Type) $($m.Destination) <- $src"
            }
            $rp = $c.HostConfig.RestartPolicy
            $name = if ($rp.Name) { $rp.Name } else { 'no' }
            $st.Restart += "$key $name$(if ($name -eq 'on-failure' -and $rp.MaximumRetryCount -gt 0) { ":$($rp.MaximumRetryCount)" })"
            foreach ($p in $l.PSObject.Properties) {
                if ($p.Name -in $script:imageLabels -or $p.Name -in 'com.docker.compose.version', 'com.docker.compose.config-hash') { continue }
                $st.Labels += "$key $($p.Name)=$($p.Value)"
            }
        }
        foreach ($n in @(& docker network ls -q --filter "label=com.docker.compose.project=$Project")) {
            $ni = & docker network inspect $n | ConvertFrom-Json
            $st.Networks += "$($ni.Name) $(@($ni.Labels.PSObject.Properties | Where-Object Name -Like 'com.docker.compose.*' | Where-Object Name -NE 'com.docker.compose.version' | ForEach-Object { "$($_.Name)=$($_.Value)" } | Sort-Object) -join ' ')"
        }
        foreach ($v in @(& docker volume ls -q --filter "label=com.docker.compose.project=$Project")) {
            $vi = & docker volume inspect $v | ConvertFrom-Json
            $st.Volumes += "$($vi.Name) $(@($vi.Labels.PSObject.Properties | Where-Object Name -Like 'com.docker.compose.*' | Where-Object Name -NE 'com.docker.compose.version' | ForEach-Object { "$($_.Name)=$($_.Value)" } | Sort-Object) -join ' ')"
        }
        foreach ($k in @($st.Keys)) { $st[$k] = @($st[$k] | Sort-Object) }
        $st
    }
    function script:Get-OurState([string] $Project) {
        $cs = @(Get-Container -All -ErrorAction SilentlyContinue | Where-Object { $_.Labels['com.docker.compose.project'] -eq $Project })
        $st = [ordered]@{ Containers = @(); Networks = @(); Volumes = @(); Aliases = @(); Ports = @(); Env = @(); Mounts = @(); Restart = @(); Labels = @() }
        foreach ($c in $cs) {
            $l = $c.Labels
            $key = "$($l['com.docker.compose.service'])#$($l['com.docker.compose.container-number'])"
            $st.Containers += $key
            foreach ($n in $c.Networks) {
                $own = if ($c.NetworkAliasesByNetwork.ContainsKey($n)) { $c.NetworkAliasesByNetwork[$n] } else { @() }
                $al = @(@($c.NetworkAliases) + @($own) | Where-Object { $_ } | Sort-Object -Unique)
                $st.Aliases += "$key $($n): $($al -join ',')"
            }
            foreach ($pb in $c.Ports) { $st.Ports += "$key $($pb.HostIp):$($pb.HostPort)->$($pb.ContainerPort)/$($pb.Protocol)" }
            # HOSTNAME: dockerd sets it in the process's environment at each start, not in Config.Env; we keep it in the record
            $st.Env += @($c.Environment | Where-Object { $_ -notlike 'HOSTNAME=*' } | ForEach-Object { "$key $_" })
            foreach ($m in $c.Mounts) {
                if ($m.Type -notin 'bind', 'volume') { continue }
                $st.Mounts += "$key $($m.Type) $($m.Destination) <- $(if ($m.Anonymous) { '<anonymous>' } else { $m.Source })"
            }
            $st.Restart += "$key $($c.RestartPolicy)"
            foreach ($k in $l.Keys) {
                # compose v2's labels that 1.29.2 does not write (by design: docs/COMPOSE.md)
                if ($k -in 'com.docker.compose.version', 'com.docker.compose.config-hash', 'com.docker.compose.depends_on', 'com.docker.compose.image') { continue }
                $st.Labels += "$key $k=$($l[$k])"
            }
        }
        foreach ($n in @(Get-ContainerNetwork | Where-Object { $_.Labels['com.docker.compose.project'] -eq $Project })) {
            $st.Networks += "$($n.Name) $(@($n.Labels.Keys | Where-Object { $_ -like 'com.docker.compose.*' -and $_ -ne 'com.docker.compose.version' } | ForEach-Object { "$_=$($n.Labels[$_])" } | Sort-Object) -join ' ')"
        }
        foreach ($v in @(Get-ContainerVolume | Where-Object { $_.Labels['com.docker.compose.project'] -eq $Project })) {
            $st.Volumes += "$($v.Name) $(@($v.Labels.Keys | Where-Object { $_ -like 'com.docker.compose.*' -and $_ -ne 'com.docker.compose.version' } | ForEach-Object { "$_=$($v.Labels[$_])" } | Sort-Object) -join ' ')"
        }
        foreach ($k in @($st.Keys)) { $st[$k] = @($st[$k] | Sort-Object) }
        $st
    }
}
AfterAll {
    if ($script:ready) { foreach ($t in $script:tagged) { & docker rmi $t *> $null } }
    if ($script:root) {
        Get-ContainerProject -ErrorAction SilentlyContinue | Remove-ContainerProject -Volumes -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Peer: the awesome-compose apps up and down beside docker-compose 1.29.2' -Tag 'Peer' {
    It '<App>: the same containers, networks, volumes, aliases, ports, env, mounts, restart policies and labels; nothing left after down' -TestCases $script:awesome {
        param($App, $Dir, $File)
        if (-not (Test-Prerequisite $script:ready $script:why)) { return }
        $name = "cgp$(($App.ToLowerInvariant() -replace '[^a-z0-9]', ''))"
        $work = Join-Path $script:root "apps/$App"
        New-Item -ItemType Directory -Force (Split-Path $work) | Out-Null
        Copy-Item -Recurse -LiteralPath $Dir -Destination $work
        $proj = ConvertFrom-ContainerCompose -Path (Join-Path $work $File) -ProjectName $name -Profile '*' -WarningAction SilentlyContinue
        $tree = $proj.ToTree()
        [void]$tree.Remove('name')
        # the normalised form names every network and volume (<project>_<key>); 1.29.2 labels a network named
        # explicitly with that name instead of its key, so the derived names are left to derive on both sides
        foreach ($kind in 'networks', 'volumes') {
            if (-not $tree[$kind]) { continue }
            foreach ($k in @($tree[$kind].Keys)) {
                $d = $tree[$kind][$k]
                if ($d -and -not $d['external'] -and $d['name'] -eq "$($name)_$k") { [void]$d.Remove('name') }
            }
        }
        foreach ($svc in @($tree['services'].Keys)) {
            $s = $tree['services'][$svc]
            if ($s.ContainsKey('build')) { $s['image'] = "cgaps-standin-$($svc.ToLowerInvariant())"; [void]$s.Remove('build') }
            Use-StandIn $s['image']
            foreach ($k in 'healthcheck', 'user', 'working_dir', 'entrypoint', 'pull_policy', 'platform') { [void]$s.Remove($k) }
            $s['command'] = @('sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait")
            if ($s['depends_on']) { foreach ($d in @($s['depends_on'].Keys)) { $s['depends_on'][$d]['condition'] = 'service_started'; [void]$s['depends_on'][$d].Remove('required') } }
            # 1.29.2's long port syntax has no host_ip: the short form says the same to both
            if ($s['ports']) { $s['ports'] = @(foreach ($p in $s['ports']) { "127.0.0.1:$(Get-FreePort):$($p['target'])/$($p['protocol'] ?? 'tcp')" }) }
            foreach ($v in @($s['volumes'])) {
                if ($null -eq $v -or $v['type'] -ne 'bind') { continue }
                # 1.29.2's schema has no create_host_path: the folder is made beforehand, for both
                [void]$v.Remove('bind')
                if (-not (Test-Path -LiteralPath $v['source'])) { New-Item -ItemType Directory -Force $v['source'] | Out-Null }
            }
        }
        $composeFile = Join-Path $work 'cgaps-compose.json'
        # JSON is YAML; $$ stays literal through interpolation
        Set-Content -LiteralPath $composeFile -Value (($tree | ConvertTo-Json -Depth 30) -replace '\$', '$$$$')
        $wasm = $App -like 'wasmedge-*'
        # theirs
        try {
            $out = & timeout 300 docker-compose -p $name -f $composeFile up -d 2>&1
            $theirCode = $LASTEXITCODE
            $theirs = Get-TheirState $name
        }
        finally {
            & timeout 300 docker-compose -p $name -f $composeFile down -v 2>&1 | Out-Null
        }
        $theirLeft = Get-TheirState $name
        # ours
        try {
            Start-ContainerProject -Path $composeFile -ProjectName $name -ErrorVariable e -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            $ours = Get-OurState $name
        }
        finally { Remove-ContainerProject $name -Volumes -Confirm:$false -ErrorAction SilentlyContinue }
        $ourLeft = Get-OurState $name
        if ($wasm) {
            # the wasmedge runtime: dockerd has no such runtime either; both refuse, we before creating anything
            $theirCode | Should -Not -Be 0
            $e[0].FullyQualifiedErrorId | Should -BeLike 'ComposeKeyNotSupported,*'
            $ours.Containers | Should -BeNullOrEmpty
            return
        }
        $theirCode | Should -Be 0 -Because ($out -join "`n")
        $e | Should -BeNullOrEmpty
        # every difference at once: facet, then what only one side has
        $diffs = @(foreach ($facet in $theirs.Keys) {
                $onlyTheirs = @($theirs[$facet] | Where-Object { $_ -notin $ours[$facet] })
                # labels: every label 1.29.2 writes, with the same value; compose v2's extra ones are by design
                $onlyOurs = if ($facet -eq 'Labels') { @() } else { @($ours[$facet] | Where-Object { $_ -notin $theirs[$facet] }) }
                foreach ($x in $onlyTheirs) { "$facet only docker-compose: $x" }
                foreach ($x in $onlyOurs) { "$facet only ours: $x" }
            })
        $diffs | Should -BeNullOrEmpty -Because "$App differs"
        foreach ($side in $theirLeft, $ourLeft) { foreach ($facet in 'Containers', 'Networks', 'Volumes') { $side[$facet] | Should -BeNullOrEmpty -Because "$facet left after down" } }
    }
}
