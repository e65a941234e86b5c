# Rootless operation (issue 14, item 3): pwsh started by an ordinary user runs containers with no root anywhere. The
# test makes a user of its own (useradd, subordinate ids), copies the built module and pwsh where that user can read
# them, and runs pwsh as that user (runuser); what the user's session reports comes back as JSON, and the host side
# (owners on disk, /proc of the container's processes, what is left after removal) is checked here as root.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Ready = $false
    if (-not $script:IsRoot) { return }
    foreach ($tool in 'newuidmap', 'newgidmap', 'runuser', 'useradd', 'userdel') {
        if (-not (Test-Command $tool)) { throw "Missing prerequisite: $tool (packages uidmap, util-linux, passwd)" }
    }
    $script:User = 'pscrl' + [Guid]::NewGuid().ToString('N').Substring(0, 8)
    & useradd --create-home --shell /bin/sh $script:User 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "useradd $($script:User) failed" }
    $script:Uid = [long](& id -u $script:User)
    $script:Gid = [long](& id -g $script:User)
    $script:UserHome = "/home/$($script:User)"
    # useradd gives new users subordinate ids where login.defs says so; otherwise a range of our own, far up
    if (-not (Select-String -LiteralPath /etc/subuid -Pattern "^$($script:User):" -Quiet)) {
        $start = 1500000000 + ($script:Uid % 1000) * 65536
        & usermod --add-subuids "$start-$($start + 65535)" --add-subgids "$start-$($start + 65535)" $script:User
    }
    function script:SubStart([string] $File) {
        $l = Get-Content -LiteralPath $File | Where-Object { $_ -like "$($script:User):*" } | Select-Object -First 1
        [long]($l -split ':')[1]
    }
    $script:SubUid = SubStart /etc/subuid
    $script:SubGid = SubStart /etc/subgid

    # the built module and this pwsh, where the user can read them
    $script:Base = Join-Path $script:TestBase "rootless-$($script:User)"
    New-Item -ItemType Directory -Force -Path $script:Base | Out-Null
    Copy-Item -Recurse -LiteralPath (Split-Path $script:ModulePath -Parent) -Destination (Join-Path $script:Base 'mod')
    Copy-Item -Recurse -LiteralPath $PSHOME -Destination (Join-Path $script:Base 'pwsh')
    & chmod -R a+rX $script:TestBase $script:Base
    $script:UserModule = Join-Path $script:Base "mod/$(Split-Path $script:ModulePath -Leaf)"

    # a root file system whose entries have owners other than root and a setuid bit (idfix gives them on disk)
    $rootfs = New-BusyboxRootFs (Join-Path $script:Base 'rootfs')
    New-Item -ItemType Directory -Path "$rootfs/home/app" -Force | Out-Null
    Set-Content -LiteralPath "$rootfs/home/app/owned" -Value 'x'
    $ownedDir = Join-Path $rootfs 'home/app'
    $ownedFile = Join-Path $ownedDir 'owned'
    & chown '1000:2000' $ownedDir $ownedFile
    & chmod '4755' $ownedFile
    $script:RootFsTar = Join-Path $script:Base 'rootfs.tar'
    & tar --numeric-owner -C $rootfs -cf $script:RootFsTar .
    & chmod a+r $script:RootFsTar

    # slirp4netns opens /dev/net/tun as the user: udev makes it 0666 on an ordinary system; this machine has none
    $script:TunMode = (& stat -c '%a' /dev/net/tun)
    & chmod 0666 /dev/net/tun

    $script:Archive = '/tmp/anchors/images/busybox-test.docker.tar'
    $script:RuntimeDir = "/tmp/pscontainers-$($script:Uid)"
    $script:StoreDir = "$($script:UserHome)/.local/share/pscontainers"

    # Runs $Script in a pwsh of the test user (module imported, errors terminating) and returns its last line parsed
    # as JSON (the script ends with ConvertTo-Json -Compress), or the error text when it failed.
    function script:AsUser([string] $Script, [string] $As = $script:User) {
        $pwsh = Join-Path $script:Base 'pwsh/pwsh.dll'
        $cmd = "`$PSStyle.OutputRendering = 'PlainText'; `$ErrorActionPreference = 'Stop'; Import-Module '$($script:UserModule)'; " +
            "try { $Script } catch { [pscustomobject]@{ Error = `$_.FullyQualifiedErrorId; Message = `$_.Exception.Message } | ConvertTo-Json -Compress }"
        Push-Location /tmp
        try {
            $out = & runuser -u $As -- env -i "HOME=/home/$As" "USER=$As" "LOGNAME=$As" 'PATH=/usr/local/bin:/usr/bin:/bin' 'NO_COLOR=1' `
                "DOTNET_ROOT=$([IO.Path]::GetDirectoryName((Get-Command dotnet).Source))" 'DOTNET_CLI_TELEMETRY_OPTOUT=1' `
                dotnet $pwsh -NoProfile -NonInteractive -Command $cmd 2>&1
        }
        finally { Pop-Location }
        $last = @($out | ForEach-Object { "$_" } | Where-Object { $_.StartsWith('{') -or $_.StartsWith('[') }) | Select-Object -Last 1
        if (-not $last) { throw "the user's pwsh printed no result: $($out -join "`n")" }
        $last | ConvertFrom-Json
    }
    $script:Ready = $true
}

AfterAll {
    if ($script:TunMode) { & chmod $script:TunMode /dev/net/tun }
    if ($script:HostListener) { $script:HostListener.Stop() }
    if (-not $script:IsRoot -or -not $script:User) { return }
    # the user's processes are this test's (it made the user): ended by pid
    foreach ($p in @(& ps -u $script:User -o pid= 2>$null)) { if ("$p".Trim()) { & kill -9 ([int]"$p".Trim()) 2>$null } }
    & userdel --remove $script:User 2>$null
    foreach ($f in '/etc/subuid', '/etc/subgid') {
        $keep = @(Get-Content -LiteralPath $f | Where-Object { $_ -notlike "$($script:User):*" })
        Set-Content -LiteralPath $f -Value $keep
    }
    & rm -rf --one-file-system $script:Base $script:RuntimeDir 2>$null
    # what the KeepId test's podman run left for the user outside its home (its runtime directories)
    & rm -rf --one-file-system "/tmp/podman-run-$($script:Uid)" "/tmp/containers-user-$($script:Uid)" 2>$null
}

Describe 'Rootless operation' {
    It 'uses the user''s storage root and a private runtime directory of its own' {
        $r = AsUser 'Get-ContainerHost | Select-Object Rootless, IsRoot, StorageRoot, RuntimeDirectory, SubordinateIds, DefaultUserNamespace | ConvertTo-Json -Compress'
        $r.Rootless | Should -BeTrue
        $r.IsRoot | Should -BeFalse
        $r.StorageRoot | Should -Be $script:StoreDir
        $r.RuntimeDirectory | Should -Be $script:RuntimeDir
        $r.SubordinateIds | Should -Be "$($script:SubUid)-$($script:SubUid + 65535)"
        $r.DefaultUserNamespace | Should -Be 'Rootless'
        (& stat -c '%u %a %F' $script:RuntimeDir) | Should -Be "$($script:Uid) 700 directory"
    }

    It 'refuses a runtime directory another user made first' {
        # another user's /tmp/pscontainers-<uid> (here: root's) must not be used
        $other = "/tmp/pscontainers-$($script:Uid)"
        $saved = "$other.saved-$PID"
        if (Test-Path $other) { Move-Item -LiteralPath $other -Destination $saved }
        try {
            New-Item -ItemType Directory -Path $other | Out-Null
            & chmod 0777 $other
            $r = AsUser 'Get-ContainerHost | Select-Object RuntimeDirectory, UserNamespaceProblem | ConvertTo-Json -Compress'
            $r.RuntimeDirectory | Should -BeNullOrEmpty
            $r.UserNamespaceProblem | Should -Match 'not a directory of uid'
        }
        finally {
            Remove-Item -LiteralPath $other -Recurse -Force
            if (Test-Path $saved) { Move-Item -LiteralPath $saved -Destination $other }
        }
    }

    It 'imports a docker archive and a root file system, and pulls from the loopback registry, as the user' {
        $r = AsUser @"
Import-ContainerImage -LiteralPath '$($script:Archive)' | Out-Null
Import-ContainerImage -RootFs -LiteralPath '$($script:RootFsTar)' -Name rl/owned:1 | Out-Null
Request-ContainerImage 127.0.0.1:5000/busybox:test | Out-Null
@(Get-ContainerImage | ForEach-Object { "`$(`$_.Repository):`$(`$_.Tag)" }) | ConvertTo-Json -Compress
"@
        $r | Should -Contain 'localhost/busybox:test'
        $r | Should -Contain '127.0.0.1:5000/busybox:test'
        $r | Should -Contain 'rl/owned:1'
        # on disk the layer's root-owned files are the user's, and 1000:2000 are the user's subordinate ids, setuid kept
        $owned = @(Get-ChildItem -Recurse -LiteralPath "$($script:StoreDir)/layers" -Filter owned)
        $owned.Count | Should -Be 1
        (& stat -c '%u %g %a' $owned[0].FullName) | Should -Be "$($script:SubUid + 999) $($script:SubGid + 1999) 4755"
        (& stat -c '%u %g' (Split-Path $owned[0].FullName -Parent)) | Should -Be "$($script:SubUid + 999) $($script:SubGid + 1999)"
        (& stat -c '%u' "$(Split-Path (Split-Path (Split-Path $owned[0].FullName -Parent) -Parent) -Parent)/bin/busybox") | Should -Be "$($script:Uid)"
    }

    It 'runs a container whose root is the user, and sees the image''s owners as the image has them' {
        $r = AsUser @"
`$o = Invoke-ContainerImage rl/owned:1 -Remove -Command sh, -c, 'id -u; cat /proc/self/uid_map; stat -c "%u %g %a" /home/app/owned; echo hi > /tmp/x; cat /tmp/x'
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0
        $lines = @($r.Output -split "`n" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() } | Where-Object { $_ })
        $lines[0] | Should -Be '0'
        $lines[1] | Should -Be "0 $($script:Uid) 1"
        $lines[2] | Should -Be "1 $($script:SubUid) 65536"
        $lines[3] | Should -Be '1000 2000 4755'
        $lines[4] | Should -Be 'hi'
    }

    It 'commits a container''s writable layer with the ids the container saw, KeepId''s too, and copies a running container''s files in and out' {
        $r = AsUser @"
Invoke-ContainerImage localhost/busybox:test -Name rlcommit -Network none -Command sh, -c, 'echo hi > /rootfile; mkdir -p /home/x; echo u > /home/x/f; chown 1000:1000 /home/x/f' | Out-Null
New-ContainerImage -Container rlcommit rlcommitted:1 | Out-Null
`$stat = (Invoke-ContainerImage rlcommitted:1 -Remove -Network none -Command sh, -c, 'stat -c "%u:%g %n" /rootfile /home/x/f').Output
`$export = try { Export-Container rlcommit -Path "`$HOME/rlcommit.tar"; 'exported' } catch { `$_.FullyQualifiedErrorId }
`$stopped = try { Copy-ContainerItem rlcommit /rootfile "`$HOME/rootfile"; 'copied' } catch { `$_.FullyQualifiedErrorId }
# a running container's files: copied in as its root's (the user's), out as the caller's, as docker cp does
Invoke-ContainerImage localhost/busybox:test -Detach -Name rlcopy -Network none -Command sleep, 300 | Out-Null
Set-Content -LiteralPath "`$HOME/copied-in.txt" -Value 'in'
Copy-ContainerItem rlcopy "`$HOME/copied-in.txt" /copied-in.txt -ToContainer
`$in = (Invoke-ContainerCommand rlcopy -Command sh, -c, 'ls -ln /copied-in.txt; cat /copied-in.txt').Output
Copy-ContainerItem rlcopy /etc/passwd "`$HOME/copied-out.txt"
`$out = (Get-Item "`$HOME/copied-out.txt").UnixFileMode.ToString() + ' ' + (& stat -c '%u' "`$HOME/copied-out.txt")
Remove-Container rlcopy -Force
Invoke-ContainerImage localhost/busybox:test -Name rlkeep -UserNamespace KeepId -User 0 -Network none -Command sh, -c, 'echo r > /keeproot; echo k > /keepmine; chown $($script:Uid):$($script:Gid) /keepmine' | Out-Null
New-ContainerImage -Container rlkeep rlkeepcommitted:1 | Out-Null
`$keep = (Invoke-ContainerImage rlkeepcommitted:1 -Remove -Network none -Command sh, -c, 'stat -c "%u:%g %n" /keeproot /keepmine').Output
Remove-Container rlcommit, rlkeep
Remove-ContainerImage rlcommitted:1, rlkeepcommitted:1 | Out-Null
[pscustomobject]@{ Stat = `$stat; Export = "`$export"; Stopped = "`$stopped"; In = `$in; Out = `$out; Keep = `$keep } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty -Because "$($r.Message)"
        # what the container saw is what the committed image and the export hold (not the ids on the host's disk)
        $r.Stat | Should -Match '(?m)^0:0 /rootfile'
        $r.Stat | Should -Match '(?m)^1000:1000 /home/x/f'
        # not yet: a stopped container's files, and an export (both need its layers mounted in the user's namespaces)
        $r.Export | Should -Match '^RootlessUnsupported'
        $r.Stopped | Should -Match '^RootlessUnsupported'
        $r.In | Should -Match '(?m)^\S+\s+1\s+0\s+0\s.*/copied-in\.txt'
        $r.In | Should -Match '(?m)^in$'
        $r.Out | Should -Match " $($script:Uid)$"
        # KeepId: root inside stays 0, the user's own ids stay the user's ids
        $r.Keep | Should -Match '(?m)^0:0 /keeproot'
        $r.Keep | Should -Match "(?m)^$($script:Uid):$($script:Gid) /keepmine"
    }
    It 'runs detached as the user on the host, execs, logs, and keeps a named volume''s files under the user''s ids' {
        $r = AsUser @"
New-Container localhost/busybox:test -Name rl1 -Volume rlvol:/data -Command sh, -c, 'echo started; touch /data/f; chown 1000:2000 /data/f; exec sleep 600' | Out-Null
Start-Container rl1 | Out-Null
`$deadline = (Get-Date).AddSeconds(10)
while (-not (Get-ContainerLog rl1 | Where-Object { "`$_" -eq 'started' }) -and (Get-Date) -lt `$deadline) { Start-Sleep -Milliseconds 100 }
Start-Sleep -Milliseconds 300
`$e = Invoke-ContainerCommand rl1 -Command sh, -c, 'id -u; stat -c "%u %g" /data/f'
[pscustomobject]@{ Pid = (Get-Container rl1).Pid; Exec = `$e.Output; Log = @(Get-ContainerLog rl1 | ForEach-Object { "`$_" }) } | ConvertTo-Json -Compress
"@
        $r.Pid | Should -BeGreaterThan 0
        # the container's first process, seen from the host: the user's uid and gid (root in its namespace)
        $status = Get-Content -LiteralPath "/proc/$($r.Pid)/status"
        ($status | Where-Object { $_ -like 'Uid:*' }) -replace '\s+', ' ' | Should -Be "Uid: $($script:Uid) $($script:Uid) $($script:Uid) $($script:Uid)"
        ($status | Where-Object { $_ -like 'Gid:*' }) -replace '\s+', ' ' | Should -Be "Gid: $($script:Gid) $($script:Gid) $($script:Gid) $($script:Gid)"
        (Get-Content -LiteralPath "/proc/$($r.Pid)/uid_map" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() }) | Should -Be @("0 $($script:Uid) 1", "1 $($script:SubUid) 65536")
        ($r.Exec -split "`n" | Where-Object { $_ }) | Should -Be @('0', '1000 2000')
        $r.Log | Should -Contain 'started'
        (& stat -c '%u %g' "$($script:StoreDir)/volumes/rlvol/_data/f") | Should -Be "$($script:SubUid + 999) $($script:SubGid + 1999)"
    }

    It 'gives the default network through slirp4netns, and keeps the host''s loopback out of the container''s reach' {
        foreach ($tool in 'slirp4netns') { if (-not (Test-Command $tool)) { throw "Missing prerequisite: $tool (package slirp4netns)" } }
        # a service on the host's loopback: slirp4netns's gateway 10.0.2.2 would lead to it without --disable-host-loopback
        $script:HostListener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $script:HostListener.Start()
        $port = $script:HostListener.LocalEndpoint.Port
        $r = AsUser @"
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Command sh, -c, 'ip -4 -o addr show tap0; cat /etc/resolv.conf; nc -w 2 10.0.2.2 $port </dev/null && echo reached || echo refused'
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Network = 'x' } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Match 'tap0\s+inet 10\.0\.2\.100/24'
        $r.Output | Should -Match 'nameserver 10\.0\.2\.3'
        $r.Output | Should -Match 'refused'
        $script:HostListener.Pending() | Should -BeFalse
    }

    It 'publishes a port the host reaches on its loopback' {
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $r = AsUser @"
New-Container localhost/busybox:test -Name rlweb -Port 127.0.0.1:${port}:80 -Command sh, -c, 'echo rootless-web > /tmp/index.html; exec httpd -f -p 80 -h /tmp' | Start-Container | Out-Null
[pscustomobject]@{ Network = (Get-Container rlweb).Network; Id = (Get-Container rlweb).Id } | ConvertTo-Json -Compress
"@
        $r.Network | Should -Be 'slirp4netns'
        $body = $null
        $deadline = (Get-Date).AddSeconds(10)
        while (-not $body -and (Get-Date) -lt $deadline) {
            try { $body = (Invoke-WebRequest -Uri "http://127.0.0.1:$port/index.html" -UseBasicParsing -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 200 }
        }
        $body | Should -Match 'rootless-web'
        # the API socket of its slirp4netns is in the user's runtime directory while it runs
        Test-Path -LiteralPath (Join-Path $script:RuntimeDir "slirp-$($r.Id.Substring(0, 12)).sock") | Should -BeTrue
    }

    It 'gives a user network in the user''s rootless network namespace: containers reach each other by name, a published port reaches one from the host' {
        if (-not $script:HostListener) { throw 'the slirp4netns test did not run (its listener on the host''s loopback is used here)' }
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $r = AsUser @"
`$n = New-ContainerNetwork rlnet
New-Container localhost/busybox:test -Name rlsrv -Network rlnet -Port 127.0.0.1:${port}:80 -HealthCommand 'wget -O /dev/null http://127.0.0.1/index.html' -HealthInterval ([timespan]::FromMilliseconds(300)) -Command sh, -c, 'echo by-name > /tmp/index.html; exec httpd -f -p 80 -h /tmp' | Start-Container | Out-Null
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network rlnet -Command sh, -c, 'for i in 1 2 3; do nslookup rlsrv > /tmp/ns && break; sleep 1; done; cat /tmp/ns; wget -O - http://rlsrv/index.html; ip -4 -o addr show eth0; ping -c 1 -W 2 rlsrv >/dev/null && echo pinged; nc -w 2 10.0.2.2 $($script:HostListener.LocalEndpoint.Port) </dev/null && echo host-loopback-reached || echo host-loopback-refused'
`$holder = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).RuntimeDirectory 'netns')
`$deadline = (Get-Date).AddSeconds(10)
while ((Get-Container rlsrv).Health -ne 'Healthy' -and (Get-Date) -lt `$deadline) { Start-Sleep -Milliseconds 200 }
`$dnsPid = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).StorageRoot 'networks/dns.pid') -ErrorAction SilentlyContinue
[pscustomobject]@{ Dns = "`$dnsPid"; DnsConf = (Get-Content -Raw -LiteralPath (Join-Path (Get-ContainerHost).StorageRoot 'networks/dns.conf') -ErrorAction SilentlyContinue); Health = "`$((Get-Container rlsrv).Health)"; ExitCode = `$o.ExitCode; Output = `$o.Output; Pid = (Get-Container rlsrv).Pid; Holder = "`$holder"; Subnet = `$n.Subnet; Gateway = `$n.Gateway; Bridge = `$n.Bridge; Ports = "`$((Get-Container rlsrv).Ports)" } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty
        # what the DNS server was, in the failure message (once in 8 runs nslookup found no server: not understood yet; the
        # container's client now asks up to three times, a second apart, as resolvers retry)
        $dnsNs = if ($r.Dns) { & readlink "/proc/$($r.Dns)/ns/net" } else { 'none' }
        $dnsState = "DNS server pid $($r.Dns) (alive: $(Test-Path "/proc/$($r.Dns)")) netns $dnsNs, holder $($r.Holder) netns $(& readlink "/proc/$((($r.Holder -split ' ')[0]))/ns/net"); config: $($r.DnsConf); log: $(Get-Content -Raw -LiteralPath "$($script:StoreDir)/networks/dns.log" -ErrorAction SilentlyContinue)"
        $r.ExitCode | Should -Be 0
        # its health check runs from its monitor, which is in the rootless network namespace's user namespace
        $r.Health | Should -Be 'Healthy'
        $prefix = ($r.Subnet -split '/')[0] -replace '\.0$', '.'
        # the name resolves to the server's address on the network, through the network's DNS server (its gateway)
        $r.Output | Should -Match "Server:\s+$([regex]::Escape($r.Gateway))" -Because $dnsState
        $r.Output | Should -Match "Address:\s+$([regex]::Escape($prefix))\d+"
        $r.Output | Should -Match 'by-name'
        $r.Output | Should -Match 'pinged'
        # the rootless network namespace's slirp4netns keeps the host's loopback out of reach too
        $r.Output | Should -Match 'host-loopback-refused'
        $script:HostListener.Pending() | Should -BeFalse
        $r.Output | Should -Match "eth0\s+inet $([regex]::Escape($prefix))\d+/"
        $r.Ports | Should -Match "127\.0\.0\.1:$port->80/tcp"
        # the container's namespaces: its user namespace is the holder's (the user's pause process), its network
        # namespace its own, and neither the host's
        $holderPid = [int](($r.Holder -split ' ')[0])
        $holderPid | Should -BeGreaterThan 0
        (& readlink "/proc/$($r.Pid)/ns/user") | Should -Be (& readlink "/proc/$holderPid/ns/user")
        (& readlink "/proc/$holderPid/ns/user") | Should -Not -Be (& readlink /proc/self/ns/user)
        (& readlink "/proc/$holderPid/ns/net") | Should -Not -Be (& readlink /proc/self/ns/net)
        (& readlink "/proc/$($r.Pid)/ns/net") | Should -Not -Be (& readlink "/proc/$holderPid/ns/net")
        (& stat -c '%u' "/proc/$holderPid") | Should -Be "$($script:Uid)"
        # the bridge is in that namespace only: nothing was added to the host's links
        @(& ip -o link show | Where-Object { $_ -match [regex]::Escape($r.Bridge) }) | Should -BeNullOrEmpty
        $body = $null
        $deadline = (Get-Date).AddSeconds(10)
        while (-not $body -and (Get-Date) -lt $deadline) {
            try { $body = (Invoke-WebRequest -Uri "http://127.0.0.1:$port/index.html" -UseBasicParsing -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 200 }
        }
        $body | Should -Match 'by-name'
        $script:NetnsHolder = $holderPid
        $script:NetnsPort = $port
    }

    It 'keeps the user''s networks apart, as the root engine keeps its own: nothing on a second network reaches the first' {
        if (-not $script:NetnsHolder) { throw 'the user network test did not run' }
        $r = AsUser @"
`$n2 = New-ContainerNetwork rlnet2
`$ip = ((Invoke-ContainerCommand rlsrv -Command sh, -c, 'ip -4 -o addr show eth0').Output -split '\s+' | Where-Object { `$_ -match '^\d+\.\d+\.\d+\.\d+/' } | Select-Object -First 1) -replace '/.*'
`$cmd = "timeout 5 wget -O - http://`$ip/index.html >/dev/null 2>&1 && echo reached || echo refused; ping -c 1 -W 2 `$ip >/dev/null 2>&1 && echo pinged || echo not-pinged"
`$other = Invoke-ContainerImage localhost/busybox:test -Remove -Network rlnet2 -Command sh, -c, `$cmd
`$same = Invoke-ContainerImage localhost/busybox:test -Remove -Network rlnet -Command sh, -c, `$cmd
[pscustomobject]@{ Ip = "`$ip"; Other = `$other.Output; Same = `$same.Output; Bridge2 = `$n2.Bridge; Bridge = (Get-ContainerNetwork rlnet).Bridge } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty -Because "$($r.Message)"
        $r.Ip | Should -Match '^\d+\.\d+\.\d+\.\d+$'
        $r.Same | Should -Match 'reached'
        $r.Same | Should -Match '(?m)^pinged'
        $r.Other | Should -Match 'refused'
        $r.Other | Should -Match 'not-pinged'
        # the rules are in the user's rootless network namespace only (read from the host, as that namespace's root), and
        # go with the network
        try {
            $rules = (& nsenter --user --net --target $script:NetnsHolder iptables -S FORWARD 2>&1) -join "`n"
            $rules | Should -Match ([regex]::Escape("-A FORWARD -i $($r.Bridge2) -o $($r.Bridge) -j REJECT"))
            (& iptables -S 2>$null) -join "`n" | Should -Not -Match ([regex]::Escape($r.Bridge2))
        }
        finally {
            $gone = AsUser "Remove-ContainerNetwork rlnet2; [pscustomobject]@{ Networks = @(Get-ContainerNetwork).Count } | ConvertTo-Json -Compress"
        }
        $gone.Networks | Should -Be 1
        $rules = (& nsenter --user --net --target $script:NetnsHolder iptables -S FORWARD 2>&1) -join "`n"
        $rules | Should -Not -Match ([regex]::Escape($r.Bridge2))
        $rules | Should -Match ([regex]::Escape("-i $($r.Bridge) -o $($r.Bridge) -j ACCEPT"))
    }

    It 'connects a running container to one more user network and disconnects it, live and across a restart of its restart policy, as root''s networks do' {
        if (-not $script:NetnsHolder) { throw 'the user network test did not run' }
        $r = AsUser @"
New-ContainerNetwork rlnet3 | Out-Null
Invoke-ContainerImage localhost/busybox:test -Detach -Name rlcli -Network rlnet3 -RestartPolicy on-failure:3 -Command sh, -c, 'rm -f /tmp/stop; while [ ! -f /tmp/stop ]; do sleep 0.2; done; exit 1' | Out-Null
`$probe = 'ip -o -4 addr show; for i in 1 2 3 4 5 6; do timeout 5 wget -O - http://rlsrv/index.html 2>/dev/null && break; sleep 1; done; cat /etc/resolv.conf; timeout 5 nslookup rlsrv 2>&1 | tail -3'
`$before = (Invoke-ContainerCommand rlcli -Command sh, -c, `$probe).Output
Connect-ContainerNetwork -Network rlnet -Container rlcli -Alias rlnewcomer
`$after = (Invoke-ContainerCommand rlcli -Command sh, -c, `$probe).Output
`$alias = (Invoke-ContainerImage localhost/busybox:test -Remove -Network rlnet -Command sh, -c, 'for i in 1 2 3; do nslookup rlnewcomer && break; sleep 1; done').Output
Invoke-ContainerCommand rlcli -Command touch, /tmp/stop | Out-Null
`$deadline = (Get-Date).AddSeconds(20)
while ((Get-Date) -lt `$deadline -and -not ((Get-Container rlcli).RestartCount -ge 1 -and (Get-Container rlcli).State -eq 'Running')) { Start-Sleep -Milliseconds 200 }
Start-Sleep -Milliseconds 500
`$restarted = (Invoke-ContainerCommand rlcli -Command sh, -c, `$probe).Output
Disconnect-ContainerNetwork -Network rlnet -Container rlcli
`$gone = (Invoke-ContainerCommand rlcli -Command sh, -c, 'ip -o -4 addr show; timeout 5 wget -O - http://rlsrv/index.html 2>/dev/null || echo unreachable').Output
`$count = (Get-Container rlcli).RestartCount
Remove-Container rlcli -Force
Remove-ContainerNetwork rlnet3
# a container on slirp4netns has no interface the rootless network namespace could add to
Invoke-ContainerImage localhost/busybox:test -Detach -Name rlslirp -Command sleep, 60 | Out-Null
`$slirpErr = try { Connect-ContainerNetwork -Network rlnet -Container rlslirp; 'connected' } catch { `$_.FullyQualifiedErrorId }
Remove-Container rlslirp -Force
[pscustomobject]@{ Before = `$before; After = `$after; Alias = `$alias; Restarted = `$restarted; Gone = `$gone; Restarts = `$count; SlirpErr = "`$slirpErr" } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty -Because "$($r.Message)"
        $r.Before | Should -Not -Match 'eth1'
        $r.Before | Should -Not -Match 'by-name'
        $r.After | Should -Match 'eth1'
        $r.After | Should -Match 'by-name'
        $r.Alias | Should -Match 'Name:\s+rlnewcomer'
        $r.Restarts | Should -BeGreaterOrEqual 1
        $r.Restarted | Should -Match 'eth1'
        $r.Restarted | Should -Match 'by-name'
        $r.Gone | Should -Not -Match 'eth1'
        $r.Gone | Should -Match 'unreachable'
        $r.SlirpErr | Should -Match '^RootlessNetworkUnsupported'
    }

    It 'finds the rootless network namespace again in a new session, and ends it with the last user network' {
        if (-not $script:NetnsHolder) { throw 'the user network test did not run' }
        $r = AsUser @"
`$before = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).RuntimeDirectory 'netns')
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network rlnet -Command sh, -c, 'wget -O - http://rlsrv/index.html'
Remove-Container rlsrv -Force
Remove-ContainerNetwork rlnet
[pscustomobject]@{ Before = "`$before"; Output = `$o.Output; Networks = @(Get-ContainerNetwork).Count } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty
        [int](($r.Before -split ' ')[0]) | Should -Be $script:NetnsHolder
        $r.Output | Should -Match 'by-name'
        $r.Networks | Should -Be 0
        Test-Path "/proc/$($script:NetnsHolder)" | Should -BeFalse
        Test-Path (Join-Path $script:RuntimeDir 'netns') | Should -BeFalse
        Test-Path (Join-Path $script:RuntimeDir 'netns-slirp.sock') | Should -BeFalse
        # the published port went with the container and its namespace
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $script:NetnsPort)
        $listener.Start(); $listener.Stop()
        # no process of the user is left from the network: holder, pause process, its slirp4netns, the DNS server, the
        # monitors of its containers (the earlier tests' containers on slirp4netns still run: the last test removes them)
        $ours = { @(& ps -u $script:User -o pid=,args= 2>$null | Where-Object { $_ -match 'rootless-netns|netns-slirp|containers-helper dns|rlsrv' -or $_ -match "^\s*$($script:NetnsHolder)\s" }) }
        $deadline = (Get-Date).AddSeconds(10)
        while ((Get-Date) -lt $deadline -and (& $ours).Count -gt 0) { Start-Sleep -Milliseconds 200 }
        & $ours | Should -BeNullOrEmpty
    }

    It 'makes the rootless network namespace again when its holder is gone (as after a reboot)' {
        $r = AsUser @"
New-ContainerNetwork rlnet2 | Out-Null
`$first = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).RuntimeDirectory 'netns')
[pscustomobject]@{ First = "`$first" } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty
        $f = $r.First -split ' '
        # the machine "reboots": the holder and its pause process are gone (both are this test user's, ended by pid)
        & kill -9 ([int]$f[0]) ([int]$f[2])
        $deadline = (Get-Date).AddSeconds(5)
        while ((Get-Date) -lt $deadline -and (Test-Path "/proc/$($f[2])")) { Start-Sleep -Milliseconds 100 }
        $r = AsUser @"
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network rlnet2 -Name rlagain -Command sh, -c, 'nslookup rlagain'
`$again = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).RuntimeDirectory 'netns')
Remove-ContainerNetwork rlnet2
[pscustomobject]@{ Again = "`$again"; ExitCode = `$o.ExitCode; Output = `$o.Output } | ConvertTo-Json -Compress
"@
        $r.Error | Should -BeNullOrEmpty
        $r.ExitCode | Should -Be 0
        [int](($r.Again -split ' ')[0]) | Should -Not -Be ([int]$f[0])
        $r.Output | Should -Match 'Name:\s+rlagain'
        Test-Path (Join-Path $script:RuntimeDir 'netns') | Should -BeFalse
    }

    It 'runs -UserNamespace KeepId as podman''s --userns=keep-id: the same id, passwd, group and owners inside, and the bind mount''s new file is the user''s' {
        if (-not (Test-Command podman)) { throw 'Missing prerequisite: podman (the comparison)' }
        $src = "$($script:UserHome)/keepshare"
        & install -d -o $script:Uid -g $script:Gid $src
        # the same probe in both engines: $1 names the file it writes in the bind mount
        Set-Content -LiteralPath "$src/probe.sh" -Value 'id; echo "HOME=$HOME"; grep "^$(id -un):" /etc/passwd; grep "^$(id -gn):" /etc/group; stat -c "%u %g %n" /etc /etc/passwd /bin/busybox; touch "/s/$1"'
        & chmod a+r "$src/probe.sh"
        $r = AsUser @"
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network none -UserNamespace KeepId -Volume '${src}:/s' -Command sh, /s/probe.sh, ours
New-Container localhost/busybox:test -Name rlkeep -UserNamespace KeepId -Command sleep, 600 | Start-Container | Out-Null
`$c = Get-Container rlkeep
`$e = Invoke-ContainerCommand rlkeep -Command id
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error; Pid = `$c.Pid; UserNamespace = `$c.UserNamespace; Exec = `$e.Output } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0 -Because "$($r.Error) $($r.Message)"
        $ours = @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        # podman, as the same user, on the same image (its pause process ended by pid afterwards: the test user's)
        try {
            $pod = & runuser -u $script:User -- env -i "HOME=$($script:UserHome)" "USER=$($script:User)" "LOGNAME=$($script:User)" 'PATH=/usr/local/bin:/usr/bin:/bin' `
                sh -c "cd /tmp && podman load -q -i '$($script:Archive)' >/dev/null && podman run --rm --userns=keep-id --network none -v ${src}:/s localhost/busybox:test sh /s/probe.sh podman" 2>&1
        }
        finally {
            foreach ($l in @(& ps -u $script:User -o pid=,args= 2>$null)) { if ("$l" -match '^\s*(\d+)\s+(podman|catatonit|/usr/bin/podman|/usr/libexec/podman)') { & kill -9 ([int]$Matches[1]) 2>$null } }
        }
        # (podman's own log lines on stderr, such as its warning that / is not a shared mount, are not the probe's)
        $theirs = @($pod | ForEach-Object { "$_".Trim() } | Where-Object { $_ -and $_ -notmatch '^time=".*level=' })
        $theirs.Count | Should -BeGreaterThan 3 -Because "podman printed: $($pod -join "`n")"
        $ours | Should -Be $theirs
        $ours[0] | Should -Be "uid=$($script:Uid)($($script:User)) gid=$($script:Gid)($(& id -gn $script:User)) groups=$($script:Gid)($(& id -gn $script:User))"
        # what each wrote in the user's folder is the user's on the host
        (& stat -c '%u %g' "$src/ours") | Should -Be "$($script:Uid) $($script:Gid)"
        (& stat -c '%u %g' "$src/podman") | Should -Be "$($script:Uid) $($script:Gid)"
        # the mapping, seen from the host: 0..uid-1 the first subordinate ids, uid the user, the rest of the range above
        $r.UserNamespace | Should -Be 'KeepId'
        (Get-Content -LiteralPath "/proc/$($r.Pid)/uid_map" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() }) |
            Should -Be @("0 $($script:SubUid) $($script:Uid)", "$($script:Uid) $($script:Uid) 1", "$($script:Uid + 1) $($script:SubUid + $script:Uid) $(65536 - $script:Uid)")
        ((Get-Content -LiteralPath "/proc/$($r.Pid)/status" | Where-Object { $_ -like 'Uid:*' }) -replace '\s+', ' ') | Should -Be "Uid: $($script:Uid) $($script:Uid) $($script:Uid) $($script:Uid)"
        $r.Exec.Trim() | Should -Be $ours[0]
        # :U gives the source to the container user's ids as KeepId maps them: 1000 (below the user's uid) is the
        # range's 1001st id, where the ordinary mapping has its 1000th
        $u = "$($script:UserHome)/keepu"
        & install -d -o $script:Uid -g $script:Gid $u
        $r = AsUser "`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network none -UserNamespace KeepId -User 1000:1000 -Volume '${u}:/u:U' -Command sh, -c, 'id -u; stat -c %u /u; touch /u/f'; [pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error } | ConvertTo-Json -Compress"
        $r.ExitCode | Should -Be 0 -Because "$($r.Error) $($r.Message)"
        @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) | Should -Be @('1000', '1000')
        $hostUid = if (1000 -lt $script:Uid) { $script:SubUid + 1000 } elseif (1000 -eq $script:Uid) { $script:Uid } else { $script:SubUid + 999 }
        $hostGid = if (1000 -lt $script:Gid) { $script:SubGid + 1000 } elseif (1000 -eq $script:Gid) { $script:Gid } else { $script:SubGid + 999 }
        foreach ($f in $u, "$u/f") { (& stat -c '%u %g' $f) | Should -Be "$hostUid $hostGid" }
    }

    It 'shows KeepId containers the image''s other owners as the image has them, in the layers and in a new volume filled from them' {
        $r = AsUser @"
`$o = Invoke-ContainerImage rl/owned:1 -Remove -Network none -UserNamespace KeepId -Volume rlkeepvol:/home -Command sh, -c, 'stat -c "%u %g %a" /home/app/owned /bin/busybox'
`$l = Invoke-ContainerImage rl/owned:1 -Remove -Network none -UserNamespace KeepId -Command sh, -c, 'stat -c "%u %g %a" /home/app/owned'
Remove-ContainerVolume rlkeepvol
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error; Layer = `$l.Output } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0 -Because "$($r.Error) $($r.Message)"
        @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) | Should -Be @('1000 2000 4755', '0 0 755')
        $r.Layer.Trim() | Should -Be '1000 2000 4755'
    }

    It 'runs KeepId containers on a user network: by name, a published port, HOME where the user''s home is mounted' {
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $src = "$($script:UserHome)/keepnet"
        & install -d -o $script:Uid -g $script:Gid $src
        $r = AsUser @"
New-ContainerNetwork rlkeepnet | Out-Null
New-Container localhost/busybox:test -Name rlkeepsrv -Network rlkeepnet -UserNamespace KeepId -Port 127.0.0.1:${port}:8080 -HealthCommand 'test `$(wc -l < /proc/self/uid_map) = 3 && wget -O /dev/null http://127.0.0.1:8080/index.html' -HealthInterval ([timespan]::FromMilliseconds(300)) -Command sh, -c, 'echo keep-by-name > /tmp/index.html; exec httpd -f -p 8080 -h /tmp' | Start-Container | Out-Null
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network rlkeepnet -UserNamespace KeepId -Volume '$($script:UserHome):$($script:UserHome)' -Command sh, -c, 'id -u; echo "HOME=`$HOME"; for i in 1 2 3; do nslookup rlkeepsrv > /tmp/ns && break; sleep 1; done; for i in 1 2 3 4 5; do wget -q -O - http://rlkeepsrv:8080/index.html && break; sleep 1; done; touch $src/f'
`$holder = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).RuntimeDirectory 'netns')
`$deadline = (Get-Date).AddSeconds(10)
while ((Get-Container rlkeepsrv).Health -ne 'Healthy' -and (Get-Date) -lt `$deadline) { Start-Sleep -Milliseconds 200 }
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error; Pid = (Get-Container rlkeepsrv).Pid; Holder = "`$holder"; Health = "`$((Get-Container rlkeepsrv).Health)" } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0 -Because "$($r.Error) $($r.Message)"
        @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) | Should -Be @("$($script:Uid)", "HOME=$($script:UserHome)", 'keep-by-name') -Because "the client's errors: $($r.Error)"
        (& stat -c '%u %g' "$src/f") | Should -Be "$($script:Uid) $($script:Gid)"
        # its health check (run by its monitor, in the holder's namespace) joins the container's own user namespace
        # (three lines in its uid_map, where the holder's has two)
        $r.Health | Should -Be 'Healthy'
        # its user namespace is its own, below the holder's (whose 0 is the user, 1.. the subordinate ids), as podman's is below its pause process's
        $holderPid = [int](($r.Holder -split ' ')[0])
        (& readlink "/proc/$($r.Pid)/ns/user") | Should -Not -Be (& readlink "/proc/$holderPid/ns/user")
        (Get-Content -LiteralPath "/proc/$($r.Pid)/uid_map" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() }) |
            Should -Be @("0 $($script:SubUid) $($script:Uid)", "$($script:Uid) $($script:Uid) 1", "$($script:Uid + 1) $($script:SubUid + $script:Uid) $(65536 - $script:Uid)")
        $body = $null
        $deadline = (Get-Date).AddSeconds(10)
        while (-not $body -and (Get-Date) -lt $deadline) {
            try { $body = (Invoke-WebRequest -Uri "http://127.0.0.1:$port/index.html" -UseBasicParsing -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 200 }
        }
        $body | Should -Match 'keep-by-name'
        # a stop removes the published port's host forward, so the next start publishes it again
        $r = AsUser "Stop-Container rlkeepsrv -Timeout 1; Start-Container rlkeepsrv; [pscustomobject]@{ Status = `"`$((Get-Container rlkeepsrv).Status)`" } | ConvertTo-Json -Compress"
        $r.Status | Should -Be 'Running' -Because "$($r.Error) $($r.Message)"
        $body = $null
        $deadline = (Get-Date).AddSeconds(10)
        while (-not $body -and (Get-Date) -lt $deadline) {
            try { $body = (Invoke-WebRequest -Uri "http://127.0.0.1:$port/index.html" -UseBasicParsing -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 200 }
        }
        $body | Should -Match 'keep-by-name'
        $r = AsUser "Remove-Container rlkeepsrv, rlkeep -Force; Remove-ContainerNetwork rlkeepnet; [pscustomobject]@{ Problems = @(Test-ContainerStore | ForEach-Object { `"`$(`$_.Kind) `$(`$_.Target)`" }) } | ConvertTo-Json -Compress"
        $r.Error | Should -BeNullOrEmpty
        # the KeepId copies of the layers (idcopies/<uid>) are complete ones of layers the root has
        @($r.Problems) | Should -BeNullOrEmpty
        Test-Path "$($script:StoreDir)/idcopies/$($script:Uid)" | Should -BeTrue
    }

    It 'refuses -UserNamespace KeepId under root with UserNamespaceKeepIdRootless, making nothing' {
        $root = New-TestStorageRoot 'keepid-root'
        try {
            Import-ContainerImage -LiteralPath $script:Archive -StorageRoot $root | Out-Null
            { New-Container localhost/busybox:test -StorageRoot $root -UserNamespace KeepId -Command true -ErrorAction Stop } |
                Should -Throw -ErrorId 'UserNamespaceKeepIdRootless,Containers.Cmdlets.Runtime.NewContainerCommand'
            try { New-Container localhost/busybox:test -StorageRoot $root -UserNamespace KeepId -Command true -ErrorAction Stop } catch { $err = $_ }
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err.Exception.Message | Should -Match 'rootless'
            @(Get-Container -All -StorageRoot $root) | Should -BeNullOrEmpty
        }
        finally { Remove-TestStorageRoot $root }
    }

    It 'refuses -Memory, -Cpus and -PidsLimit on this cgroup v1 host with RootlessCgroupsNotDelegated' {
        if (-not (Test-Path /sys/fs/cgroup/memory)) { throw 'this test expects a cgroup v1 host (the v2 case runs in the CgroupV2VM suite)' }
        foreach ($flag in '-Memory 64MB', '-Cpus 0.5', '-PidsLimit 50') {
            $r = AsUser "New-Container localhost/busybox:test $flag -Command true | Out-Null; 'created' | ConvertTo-Json -Compress"
            $r.Error | Should -Match '^RootlessCgroupsNotDelegated'
            $r.Message | Should -Match 'cgroup v1'
        }
    }

    It 'refuses what needs host privilege or a network it cannot give, with stable ErrorIds' {
        (AsUser "New-Container localhost/busybox:test -Privileged -Command true | Out-Null; 'created' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessUnsupported'
        (AsUser "New-Container localhost/busybox:test -UserNamespace Auto -Command true | Out-Null; 'created' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessUnsupported'
        # a parent cgroup elsewhere would be ignored by the rootless manager, never silently
        (AsUser "New-Container localhost/busybox:test -CgroupParent elsewhere -Command true | Out-Null; 'created' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessUnsupported'
        (AsUser "New-Container localhost/busybox:test -Network host -Command true | Out-Null; 'created' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessNetworkUnsupported'
        (AsUser "New-ContainerNetwork rlv6 -IPv6 | Out-Null; 'created' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessNetworkUnsupported'
        (AsUser "Connect-ContainerNetwork rlnone rlnone | Out-Null; 'connected' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessNetworkUnsupported'
        (AsUser "Disconnect-ContainerNetwork rlnone rlnone | Out-Null; 'disconnected' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessNetworkUnsupported'
        (AsUser "New-Container localhost/busybox:test -Port 80 -Command true | Out-Null; 'created' | ConvertTo-Json -Compress").Error | Should -Match '^RootlessNetworkUnsupported'
    }

    It 'fills a new named volume from the image''s content at the mount point, with the image''s owners' {
        $r = AsUser @"
`$o = Invoke-ContainerImage rl/owned:1 -Remove -Network none -Volume rlseed:/home -Command sh, -c, 'stat -c "%u %g %a %n" /home/app /home/app/owned; cat /home/app/owned; echo new > /home/new'
`$again = Invoke-ContainerImage rl/owned:1 -Remove -Network none -Volume rlseed:/home -Command sh, -c, 'ls /home'
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error; Again = `$again.Output } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $lines = @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        $lines | Should -Be @('1000 2000 755 /home/app', '1000 2000 4755 /home/app/owned', 'x')
        # on disk: the subordinate ids, as the layer has them; seeded once (the second run sees the first's file)
        (& stat -c '%u %g' "$($script:StoreDir)/volumes/rlseed/_data/app/owned") | Should -Be "$($script:SubUid + 999) $($script:SubGid + 1999)"
        @($r.Again -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) | Should -Be @('app', 'new')
        (AsUser "Remove-ContainerVolume rlseed; [pscustomobject]@{ Volumes = @(Get-ContainerVolume | ForEach-Object Name) } | ConvertTo-Json -Compress").Volumes | Should -Not -Contain 'rlseed'
        Test-Path "$($script:StoreDir)/volumes/rlseed" | Should -BeFalse
    }

    It 'gives a bind source to the container''s user with :U, and refuses :idmap with RootlessUnsupported' {
        $src = "$($script:UserHome)/ushare"
        $r = AsUser @"
New-Item -ItemType Directory -Path '$src' | Out-Null
Set-Content -LiteralPath '$src/f' -Value x
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network none -User 1000:2000 -Volume '${src}:/s:U' -Command sh, -c, 'id -u; stat -c "%u %g" /s /s/f; echo y > /s/g'
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error } | ConvertTo-Json -Compress
"@
        $r.ExitCode | Should -Be 0 -Because $r.Error
        @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) | Should -Be @('1000', '1000 2000', '1000 2000')
        foreach ($f in $src, "$src/f", "$src/g") { (& stat -c '%u %g' $f) | Should -Be "$($script:SubUid + 999) $($script:SubGid + 1999)" }
        $e = AsUser "New-Container localhost/busybox:test -Network none -Volume '${src}:/s:idmap' -Command true | Out-Null; 'created' | ConvertTo-Json -Compress"
        $e.Error | Should -Match '^RootlessUnsupported'
        $e.Message | Should -Match ':idmap'
    }

    It 'stops and removes containers, volumes and images leaving nothing behind' {
        $r = AsUser @"
Get-Container -All | Remove-Container -Force
Get-ContainerNetwork | Remove-ContainerNetwork
Remove-ContainerVolume rlvol
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
[pscustomobject]@{ Containers = @(Get-Container -All).Count; Images = @(Get-ContainerImage).Count; Volumes = @(Get-ContainerVolume).Count } | ConvertTo-Json -Compress
"@
        $r.Containers | Should -Be 0
        $r.Images | Should -Be 0
        $r.Volumes | Should -Be 0
        # the session's background delete (or its hand-over at exit) finishes within moments
        $deadline = (Get-Date).AddSeconds(10)
        while ((Get-Date) -lt $deadline -and @(Get-ChildItem -Force -LiteralPath "$($script:StoreDir)/tmp").Count -gt 0) { Start-Sleep -Milliseconds 200 }
        foreach ($d in 'containers', 'layers', 'volumes', 'tmp', 'l') {
            @(Get-ChildItem -Force -LiteralPath "$($script:StoreDir)/$d") | Should -BeNullOrEmpty -Because "$d is empty after removal"
        }
        # no process of the user is left (the last session's hand-over of deletes ends within moments), and its
        # runtime directory holds nothing
        $deadline = (Get-Date).AddSeconds(10)
        while ((Get-Date) -lt $deadline -and @(& ps -u $script:User -o pid= 2>$null | Where-Object { "$_".Trim() }).Count -gt 0) { Start-Sleep -Milliseconds 200 }
        @(& ps -u $script:User -o pid=,args= 2>$null | Where-Object { "$_".Trim() }) | Should -BeNullOrEmpty
        @(Get-ChildItem -Force -LiteralPath $script:RuntimeDir) | Should -BeNullOrEmpty
        # nothing of the user's root is mounted on the host
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -like "*$($script:StoreDir)*" }) | Should -BeNullOrEmpty
    }
}

# podman's fallback where newuidmap/newgidmap or the user's subordinate ids are missing: one mapping, the user's own uid
# and gid as 0 in the container and nothing else; layer files of other owners are kept as the user's (ignore_chown_errors)
Describe 'Rootless operation with the single mapping' {
    BeforeAll {
        # a second user with no subordinate ids (useradd may give new users some: removed here)
        $script:User2 = 'pscrs' + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        & useradd --create-home --shell /bin/sh $script:User2 2>&1 | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "useradd $($script:User2) failed" }
        foreach ($f in '/etc/subuid', '/etc/subgid') {
            Set-Content -LiteralPath $f -Value @(Get-Content -LiteralPath $f | Where-Object { $_ -notlike "$($script:User2):*" })
        }
        $script:Uid2 = [long](& id -u $script:User2)
        $script:Gid2 = [long](& id -g $script:User2)
        $script:Store2 = "/home/$($script:User2)/.local/share/pscontainers"
    }

    AfterAll {
        if (-not $script:User2) { return }
        foreach ($p in @(& ps -u $script:User2 -o pid= 2>$null)) { if ("$p".Trim()) { & kill -9 ([int]"$p".Trim()) 2>$null } }
        & userdel --remove $script:User2 2>$null
        & rm -rf --one-file-system "/tmp/pscontainers-$($script:Uid2)" 2>$null
    }

    It 'says so in Get-ContainerHost when the user has no subordinate ids' {
        $r = AsUser 'Get-ContainerHost | Select-Object Rootless, RootlessIdMapping, SubordinateIds, UserNamespaceProblem | ConvertTo-Json -Compress' -As $script:User2
        $r.Rootless | Should -BeTrue
        $r.RootlessIdMapping | Should -Be 'Single'
        $r.SubordinateIds | Should -BeNullOrEmpty
        $r.UserNamespaceProblem | Should -Match '^RootlessSingleMapping: .*no range of at least 65536 ids in /etc/subuid'
    }

    It 'falls back to it when newuidmap is missing, and not otherwise' {
        # the user with subordinate ids: the full mapping, unless the tools are not found (their paths, set before first use)
        (AsUser 'Get-ContainerHost | Select-Object RootlessIdMapping | ConvertTo-Json -Compress').RootlessIdMapping | Should -Be 'SubordinateIds'
        $r = AsUser "[Containers.Engine.Rootless.RootlessHost]::UidmapTools = @('/nonexistent/newuidmap', '/usr/bin/newgidmap'); Get-ContainerHost | Select-Object RootlessIdMapping, UserNamespaceProblem | ConvertTo-Json -Compress"
        $r.RootlessIdMapping | Should -Be 'Single'
        $r.UserNamespaceProblem | Should -Match '^RootlessSingleMapping: /nonexistent/newuidmap is missing'
    }

    It 'imports an image keeping files of other owners as the user''s, with one warning' {
        $r = AsUser @"
Import-ContainerImage -RootFs -LiteralPath '$($script:RootFsTar)' -Name rl/owned:1 -WarningVariable w1 -WarningAction SilentlyContinue | Out-Null
Import-ContainerImage -LiteralPath '$($script:Archive)' -WarningVariable w2 -WarningAction SilentlyContinue | Out-Null
[pscustomobject]@{ W1 = @(`$w1 | ForEach-Object { "`$_" }); W2 = @(`$w2 | ForEach-Object { "`$_" }) } | ConvertTo-Json -Compress
"@ -As $script:User2
        @($r.W1).Count | Should -Be 1
        $r.W1[0] | Should -Match '^RootlessOwnersKept: .*ignore_chown_errors'
        $r.W1[0] | Should -Match '/home/app'
        @($r.W2) | Should -BeNullOrEmpty -Because 'it is said once per session'
        $owned = @(Get-ChildItem -Recurse -LiteralPath "$($script:Store2)/layers" -Filter owned)
        $owned.Count | Should -Be 1
        (& stat -c '%u %g %a' $owned[0].FullName) | Should -Be "$($script:Uid2) $($script:Gid2) 4755"
    }

    It 'runs busybox as the user''s uid mapped to root and nothing else, with a warning, exec included' {
        $r = AsUser @"
`$o = Invoke-ContainerImage rl/owned:1 -Remove -Network none -WarningVariable w -WarningAction SilentlyContinue -Command sh, -c, 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; stat -c "%u %g %a" /home/app/owned; echo hi > /tmp/x; cat /tmp/x'
New-Container localhost/busybox:test -Name rs1 -Network none -Volume rsvol:/data -Command sh, -c, 'touch /data/f; exec sleep 600' | Start-Container | Out-Null
`$e = Invoke-ContainerCommand rs1 -Command sh, -c, 'id -u; cat /proc/self/uid_map'
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error; W = @(`$w | ForEach-Object { "`$_" }); Exec = `$e.Output; Pid = (Get-Container rs1).Pid } | ConvertTo-Json -Compress
"@ -As $script:User2
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $lines = @($r.Output -split "`n" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() } | Where-Object { $_ })
        $lines | Should -Be @('0', '0', "0 $($script:Uid2) 1", "0 $($script:Gid2) 1", 'deny', '0 0 4755', 'hi')
        @($r.W).Count | Should -Be 1
        $r.W[0] | Should -Match '^RootlessSingleMapping: .*no range of at least 65536 ids'
        ($r.Exec -split "`n" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() } | Where-Object { $_ }) | Should -Be @('0', "0 $($script:Uid2) 1")
        $status = Get-Content -LiteralPath "/proc/$($r.Pid)/status"
        ($status | Where-Object { $_ -like 'Uid:*' }) -replace '\s+', ' ' | Should -Be "Uid: $($script:Uid2) $($script:Uid2) $($script:Uid2) $($script:Uid2)"
        (& stat -c '%u %g' "$($script:Store2)/volumes/rsvol/_data/f") | Should -Be "$($script:Uid2) $($script:Gid2)"
    }

    It 'refuses a user other than root with RootlessUserNotMapped' {
        $r = AsUser "New-Container localhost/busybox:test -User 1000 -Network none -Command true | Out-Null; 'created' | ConvertTo-Json -Compress" -As $script:User2
        $r.Error | Should -Match '^RootlessUserNotMapped'
        $r.Message | Should -Match 'single mapping'
    }

    It 'runs KeepId with the single mapping as podman''s keep-id does: only the user''s uid and gid, mapped to themselves' {
        $src = "/home/$($script:User2)/keepshare"
        & install -d -o $script:Uid2 -g $script:Gid2 $src
        $r = AsUser @"
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -UserNamespace KeepId -Volume '${src}:/s' -Command sh, -c, 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; grep "^`$(id -un):" /etc/passwd; ip -4 -o addr show tap0 | grep -c 10.0.2.100; touch /s/f'
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error } | ConvertTo-Json -Compress
"@ -As $script:User2
        $r.ExitCode | Should -Be 0 -Because "$($r.Error) $($r.Message)"
        @($r.Output -split "`n" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() } | Where-Object { $_ }) |
            Should -Be @("$($script:Uid2)", "$($script:Gid2)", "$($script:Uid2) $($script:Uid2) 1", "$($script:Gid2) $($script:Gid2) 1", 'deny', "$($script:User2):*:$($script:Uid2):$($script:Gid2)::/:/bin/sh", '1')
        (& stat -c '%u %g' "$src/f") | Should -Be "$($script:Uid2) $($script:Gid2)"
        # no other id exists there: root (or any other user) is refused before anything is made
        $e = AsUser "New-Container localhost/busybox:test -UserNamespace KeepId -User 0 -Command true | Out-Null; 'created' | ConvertTo-Json -Compress" -As $script:User2
        $e.Error | Should -Match '^RootlessUserNotMapped'
        $e.Message | Should -Match 'KeepId'
    }

    It 'gives the single-mapping user a user network: two containers reach each other by name, a published port is reached from the host' {
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $r = AsUser @"
New-ContainerNetwork rsnet | Out-Null
New-Container localhost/busybox:test -Name rssrv -Network rsnet -Port 127.0.0.1:${port}:8080 -Command sh, -c, 'echo single-by-name > /tmp/index.html; exec httpd -f -p 8080 -h /tmp' | Start-Container | Out-Null
`$o = Invoke-ContainerImage localhost/busybox:test -Remove -Network rsnet -Command sh, -c, 'id -u; for i in 1 2 3; do nslookup rssrv > /tmp/ns && break; sleep 1; done; for i in 1 2 3 4 5; do wget -q -O - http://rssrv:8080/index.html && break; sleep 1; done'
`$k = Invoke-ContainerImage localhost/busybox:test -Remove -Network rsnet -UserNamespace KeepId -Command sh, -c, 'id -u; cat /proc/self/uid_map; for i in 1 2 3 4 5; do wget -q -O - http://rssrv:8080/index.html && break; sleep 1; done'
`$holder = Get-Content -LiteralPath (Join-Path (Get-ContainerHost).RuntimeDirectory 'netns')
[pscustomobject]@{ ExitCode = `$o.ExitCode; Output = `$o.Output; Error = `$o.Error; KExitCode = `$k.ExitCode; KOutput = `$k.Output; KError = `$k.Error; Holder = "`$holder" } | ConvertTo-Json -Compress
"@ -As $script:User2
        $r.ExitCode | Should -Be 0 -Because "$($r.Error) $($r.Message)"
        @($r.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ }) | Should -Be @('0', 'single-by-name')
        $r.KExitCode | Should -Be 0 -Because $r.KError
        @($r.KOutput -split "`n" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() } | Where-Object { $_ }) | Should -Be @("$($script:Uid2)", "$($script:Uid2) 0 1", 'single-by-name')
        # the holder's user namespace has the single mapping, written by the holder itself (no newuidmap)
        $holderPid = [int](($r.Holder -split ' ')[0])
        (Get-Content -LiteralPath "/proc/$holderPid/uid_map" | ForEach-Object { ($_ -replace '\s+', ' ').Trim() }) | Should -Be "0 $($script:Uid2) 1"
        (Get-Content -LiteralPath "/proc/$holderPid/setgroups").Trim() | Should -Be 'deny'
        $body = $null
        $deadline = (Get-Date).AddSeconds(10)
        while (-not $body -and (Get-Date) -lt $deadline) {
            try { $body = (Invoke-WebRequest -Uri "http://127.0.0.1:$port/index.html" -UseBasicParsing -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 200 }
        }
        $body | Should -Match 'single-by-name'
        $r = AsUser "Remove-Container rssrv -Force; Remove-ContainerNetwork rsnet; [pscustomobject]@{ Networks = @(Get-ContainerNetwork).Count } | ConvertTo-Json -Compress" -As $script:User2
        $r.Networks | Should -Be 0
        Test-Path "/proc/$holderPid" | Should -BeFalse
    }

    It 'removes everything, leaving nothing behind' {
        $r = AsUser @"
Get-Container -All | Remove-Container -Force
Remove-ContainerVolume rsvol
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
[pscustomobject]@{ Containers = @(Get-Container -All).Count; Images = @(Get-ContainerImage).Count } | ConvertTo-Json -Compress
"@ -As $script:User2
        $r.Containers | Should -Be 0
        $r.Images | Should -Be 0
        $deadline = (Get-Date).AddSeconds(10)
        while ((Get-Date) -lt $deadline -and @(Get-ChildItem -Force -LiteralPath "$($script:Store2)/tmp").Count -gt 0) { Start-Sleep -Milliseconds 200 }
        foreach ($d in 'containers', 'layers', 'volumes', 'tmp') {
            @(Get-ChildItem -Force -LiteralPath "$($script:Store2)/$d") | Should -BeNullOrEmpty -Because "$d is empty after removal"
        }
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -like "*$($script:Store2)*" }) | Should -BeNullOrEmpty
    }
}
