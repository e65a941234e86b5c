# User namespaces (-UserNamespace Host|Auto|Private, the root's default): root in the container is an unprivileged
# range of host ids. Real containers as root on a fresh root, whose default is Auto (a root laid out by an earlier
# version, without settings.json, stays Host); the ranges come from the
# pscontainers user's subordinate ids (/etc/subuid), made on first use. Compared with podman --userns=auto where
# podman defines the behaviour.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'userns'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    foreach ($a in 'unshare', 'chown', 'nsenter') { New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/$a" -Target busybox | Out-Null }
    New-Item -ItemType Directory -Force -Path "$($script:rootfs)/srv" | Out-Null
    Set-Content -LiteralPath "$($script:rootfs)/srv/seed.txt" -Value 'seed' -NoNewline
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Get-ContainerHost:StorageRoot' = $script:root }
    $script:img = 'userns/bb:1'
    $script:work = Join-Path $script:TestBase ('userns-work-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Force -Path $script:work | Out-Null
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null }
    # what a new root has (its settings record, written when it is laid out: Auto)
    $script:newRootDefault = (Get-ContainerHost -StorageRoot $script:root).DefaultUserNamespace
    function script:Range([string] $Name) {
        $r = (Get-Container $Name).IdRange
        $f = $r -split '-'
        [pscustomobject]@{ Start = [long]$f[0]; End = [long]$f[1] }
    }
    function script:StatusIds([int] $ProcessId) {
        $uid = (Get-Content "/proc/$ProcessId/status" | Where-Object { $_ -like 'Uid:*' }) -split '\s+' | Select-Object -Skip 1
        $gid = (Get-Content "/proc/$ProcessId/status" | Where-Object { $_ -like 'Gid:*' }) -split '\s+' | Select-Object -Skip 1
        [pscustomobject]@{ Uid = [long[]]$uid; Gid = [long[]]$gid }
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
    if ($script:work -and (Test-Path $script:work)) { & rm -rf --one-file-system $script:work }
}

Describe 'The default of a root' {
    It 'is Auto for a new root, reported by Get-ContainerHost with the system user and its ranges' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $script:newRootDefault | Should -Be 'Auto'
        (Get-Content -Raw (Join-Path $script:root 'settings.json')) | Should -Match '"defaultUserNamespace":\s*"Auto"'
        $h = Get-ContainerHost
        $h.DefaultUserNamespace | Should -Be 'Auto'
        $c = New-Container $script:img -Name default-ns -Command true
        $c.UserNamespace | Should -Be 'Auto'
        $c.IdRange | Should -Match '^\d+-\d+$'
        $h = Get-ContainerHost
        $h.UserNamespaceUser | Should -Be 'pscontainers'
        $h.SubordinateIds | Should -Match '^\d+-\d+$'
        (Get-Content /etc/subuid) -match '^pscontainers:' | Should -Not -BeNullOrEmpty
        $h.IdRangesInUse | Should -BeGreaterOrEqual 1
        Remove-Container default-ns
    }
    It 'is changed by Set-ContainerHostConfiguration (-WhatIf changes nothing) and -UserNamespace Host opts out' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Set-ContainerHostConfiguration -StorageRoot $script:root -DefaultUserNamespace Host -WhatIf
        (Get-ContainerHost).DefaultUserNamespace | Should -Be 'Auto'
        try {
            (Set-ContainerHostConfiguration -StorageRoot $script:root -DefaultUserNamespace Host -PassThru).DefaultUserNamespace | Should -Be 'Host'
            (New-Container $script:img -Name host-default -Command true).UserNamespace | Should -Be 'Host'
            (New-Container $script:img -Name auto-asked -UserNamespace Auto -Command true).UserNamespace | Should -Be 'Auto'
        }
        finally {
            Set-ContainerHostConfiguration -StorageRoot $script:root -DefaultUserNamespace Auto
            Remove-Container host-default, auto-asked -ErrorAction SilentlyContinue
        }
        (New-Container $script:img -Name opt-out -UserNamespace Host -Command true).IdRange | Should -BeNullOrEmpty
        (New-Container $script:img -Name priv -Privileged -Command true).UserNamespace | Should -Be 'Host'
        (New-Container $script:img -Name pidhost -Pid host -Command true).UserNamespace | Should -Be 'Host'
        (New-Container $script:img -Name devhost -Device /dev/null:/dev/hostnull -Command true).UserNamespace | Should -Be 'Host'
        (New-Container $script:img -Name nethost -Network host -Command true).UserNamespace | Should -Be 'Host'
        Remove-Container opt-out, priv, pidhost, devhost, nethost
    }
    It 'is Host for a root laid out by an earlier version (no settings record), whose containers keep working' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # an earlier version's root: a container in the host's user namespace, a volume of host root's, no settings.json
        $old = New-TestStorageRoot 'userns-legacy'
        try {
            Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $old | Out-Null
            $r = Invoke-ContainerImage $script:img -UserNamespace Host -Volume legacyvol:/data -Command sh, -c, 'id -u > /data/f' -Remove -StorageRoot $old -WarningAction SilentlyContinue
            $r.ExitCode | Should -Be 0
            New-Container $script:img -Name legacy -UserNamespace Host -Volume legacyvol:/data -Command cat, /data/f -StorageRoot $old -WarningAction SilentlyContinue | Out-Null
            Remove-Item -LiteralPath (Join-Path $old 'settings.json')
            (Get-ContainerHost -StorageRoot $old).DefaultUserNamespace | Should -Be 'Host'
            (New-Container $script:img -Name legacy2 -Command true -StorageRoot $old -WarningAction SilentlyContinue).UserNamespace | Should -Be 'Host'
            # its volume stays writable for root in its containers (which a range's root could not write)
            $r = Invoke-ContainerImage $script:img -Volume legacyvol:/data -Command sh, -c, 'echo more >> /data/f && cat /data/f' -Remove -StorageRoot $old -WarningAction SilentlyContinue
            ($r.Output -split '\r?\n' | Where-Object { $_ }) | Should -Be '0', 'more'
            Start-Container legacy -StorageRoot $old
            Wait-Container legacy -StorageRoot $old | Out-Null
            (Get-Container legacy -StorageRoot $old).ExitCode | Should -Be 0
            Test-Path (Join-Path $old 'settings.json') | Should -BeFalse
        }
        finally { Remove-TestStorageRoot $old }
    }
    It 'refuses KeepId (rootless only) and :idmap without a user namespace' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        { New-Container $script:img -UserNamespace KeepId -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'UserNamespaceKeepIdRootless,Containers.Cmdlets.Runtime.NewContainerCommand'
        { New-Container $script:img -UserNamespace Host -Volume "$($script:work):/w:idmap" -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'MountNeedsUserNamespace,Containers.Cmdlets.Runtime.NewContainerCommand'
    }
}

Describe 'A storage root on a file system without idmapped mounts (copied layers)' {
    # a loop-mounted ext2 (the kernel's own ext2 driver, which has no FS_ALLOW_IDMAP on 6.18) as the storage root: the
    # kernel is asked (ext2 has ext4's magic); Auto runs on copies of the layers shifted into each range (LayerCopies)
    BeforeAll {
        $script:ext2Ok = $script:IsRoot -and [bool](Get-Command mkfs.ext2 -ErrorAction SilentlyContinue)
        if (-not $script:ext2Ok) { return }
        $script:e2img = Join-Path $script:work 'ext2.img'
        $script:e2mnt = Join-Path $script:work 'ext2-root'
        New-Item -ItemType Directory -Force -Path $script:e2mnt | Out-Null
        & truncate -s 1G $script:e2img
        & mkfs.ext2 -q -F $script:e2img
        & mount -t ext2 -o loop $script:e2img $script:e2mnt
        if ($LASTEXITCODE -ne 0) { throw 'cannot mount the ext2 image' }
        $script:e2 = Join-Path $script:e2mnt 'root'
        # the test image: set-id bits, a hard-linked pair, a directory to make opaque, a file to white out
        $script:e2rootfs = New-BusyboxRootFs (Join-Path $script:work 'e2-rootfs')
        New-Item -ItemType Directory -Force -Path "$($script:e2rootfs)/srv/opq" | Out-Null
        Set-Content -LiteralPath "$($script:e2rootfs)/srv/opq/a" -Value 'a'
        Set-Content -LiteralPath "$($script:e2rootfs)/srv/gone.txt" -Value 'gone'
        Set-Content -LiteralPath "$($script:e2rootfs)/srv/suid" -Value 'x'
        & chmod 4755 "$($script:e2rootfs)/srv/suid"
        Set-Content -LiteralPath "$($script:e2rootfs)/srv/hl1" -Value 'linked'
        & ln "$($script:e2rootfs)/srv/hl1" "$($script:e2rootfs)/srv/hl2"
        & chown 1000:1000 "$($script:e2rootfs)/srv/hl1"
        & touch -d '2001-02-03 04:05:06' "$($script:e2rootfs)/srv/suid"
        Import-ContainerImage -RootFs -LiteralPath $script:e2rootfs -Name $script:img -StorageRoot $script:e2 | Out-Null
        # the copies of a range (directory name -> its layer record), read on the host
        function script:Copies([long] $Start) {
            $d = Join-Path $script:e2 "idcopies/$Start"
            $h = @{}
            if (Test-Path $d) { Get-ChildItem -LiteralPath $d -Directory | Where-Object Name -notlike '.tmp-*' | ForEach-Object { $h[$_.Name] = (Get-Content -Raw -LiteralPath (Join-Path $_.FullName 'layer') -ErrorAction SilentlyContinue) } }
            $h
        }
        function script:E2Range([string] $Name) {
            $f = (Get-Container $Name -StorageRoot $script:e2).IdRange -split '-'
            [pscustomobject]@{ Start = [long]$f[0]; End = [long]$f[1] }
        }
    }
    AfterAll {
        if ($script:ext2Ok) {
            Get-Container -All -StorageRoot $script:e2 -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $script:e2 -ErrorAction SilentlyContinue
            # (the root's DNS server runs while its default network exists)
            Get-ContainerNetwork -StorageRoot $script:e2 -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $script:e2 -Confirm:$false -ErrorAction SilentlyContinue
            # a removal's background delete (tmp/rm-*) may still hold the file system for a moment
            for ($i = 0; $i -lt 50; $i++) {
                & umount $script:e2mnt 2>$null
                if ($LASTEXITCODE -eq 0) { break }
                Start-Sleep -Milliseconds 200
            }
            Remove-Item -LiteralPath $script:e2img -Force -ErrorAction SilentlyContinue
        }
    }
    It 'runs Auto on copied layers, says so once per session (UserNamespaceCopiedLayers) and in Get-ContainerHost; Private works too' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        $h = Get-ContainerHost -StorageRoot $script:e2
        $h.DefaultUserNamespace | Should -Be 'Auto'
        $h.UserNamespaceLayers | Should -Be 'CopiedLayers'
        $h.IdmappedLayersProblem | Should -Match 'does not support idmapped mounts'
        $h.UserNamespaceProblem | Should -BeNullOrEmpty
        # the root of the other tests (not ext2) idmaps
        (Get-ContainerHost).UserNamespaceLayers | Should -Be 'IdmappedLayers'
        # a new session: the warning once, for its first container only
        $out = & dotnet pwsh -NoProfile -Command @"
Import-Module '$($script:ModulePath)'
`$a = New-Container '$($script:img)' -Name warn1 -Command true -StorageRoot '$($script:e2)' -WarningVariable w1 -WarningAction SilentlyContinue
`$b = New-Container '$($script:img)' -Name warn2 -Command true -StorageRoot '$($script:e2)' -WarningVariable w2 -WarningAction SilentlyContinue
"first=`$(@(`$w1 | Where-Object { "`$_" -like 'UserNamespaceCopiedLayers:*idmapped*' }).Count)"
"second=`$(@(`$w2).Count)"
"ns=`$(`$a.UserNamespace)"
"@
        $out | Should -Contain 'first=1'
        $out | Should -Contain 'second=0'
        $out | Should -Contain 'ns=Auto'
        Remove-Container warn1, warn2 -StorageRoot $script:e2
        $p = New-Container $script:img -Name private-ext2 -UserNamespace Private -Command true -StorageRoot $script:e2 -WarningAction SilentlyContinue
        $p.UserNamespace | Should -Be 'Private'
        $p.IdRange | Should -Match '^\d+-\d+$'
        Remove-Container private-ext2 -StorageRoot $script:e2
        # a -RootFs directory is no layer of the store: not copied, Host with the fallback warning (Private: an error)
        $c = New-Container -RootFs $script:e2rootfs -Name rootfs-ext2 -Command true -StorageRoot $script:e2 -WarningVariable w -WarningAction SilentlyContinue
        $c.UserNamespace | Should -Be 'Host'
        @($w | Where-Object { "$_" -like 'UserNamespaceFallback:*-RootFs*' }).Count | Should -Be 1
        { New-Container -RootFs $script:e2rootfs -Name rootfs-private -UserNamespace Private -Command true -StorageRoot $script:e2 -ErrorAction Stop } |
            Should -Throw -ErrorId 'UserNamespaceUnavailable,Containers.Cmdlets.Runtime.NewContainerCommand'
        Remove-Container rootfs-ext2 -StorageRoot $script:e2
    }
    It 'runs the processes as host ids in the range; the copy and what the container writes are the range''s on the host; modes, set-id bits, times, hard links, whiteouts and opaque directories as in the image' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Name e2ids -Command sleep, 300 -StorageRoot $script:e2 -WarningAction SilentlyContinue
        try {
            $r = E2Range e2ids
            $ids = StatusIds (Get-Container e2ids -StorageRoot $script:e2).Pid
            $ids.Uid | ForEach-Object { $_ | Should -Be $r.Start }
            $ids.Gid | ForEach-Object { $_ | Should -Be $r.Start }
            $o = (Invoke-ContainerCommand e2ids -StorageRoot $script:e2 -Command sh, -c, 'stat -c "%u:%g %a %h %i %Y" /srv/suid /srv/hl1 /srv/hl2 /bin/busybox /etc/hosts; echo made > /srv/made; id -u').Output.Trim() -split "`n" | ForEach-Object { $_.Trim() }
            $o[0] | Should -Match "^0:0 4755 1 \d+ $(& stat -c '%Y' "$($script:e2rootfs)/srv/suid")$"
            ($o[1] -split ' ')[0..2] -join ' ' | Should -Be '1000:1000 644 2'
            ($o[1] -split ' ')[3] | Should -Be ($o[2] -split ' ')[3]
            ($o[3] -split ' ')[0] | Should -Be '0:0'
            ($o[4] -split ' ')[0] | Should -Be '0:0'
            $o[5] | Should -Be '0'
            $upper = Join-Path $script:e2 "containers/$($c.Id)/upper"
            (& stat -c '%u:%g' "$upper/srv/made") | Should -Be "$($r.Start):$($r.Start)"
            $copies = Copies $r.Start
            $copies.Keys | Should -Contain 'mountpoints'
            $layerCopy = @($copies.Keys | Where-Object { $_ -ne 'mountpoints' })
            $layerCopy.Count | Should -Be 1
            $diff = Join-Path $script:e2 "idcopies/$($r.Start)/$($layerCopy[0])/diff"
            (& stat -c '%u:%g %a' "$diff/srv/suid") | Should -Be "$($r.Start):$($r.Start) 4755"
            (& stat -c '%u:%g' "$diff/srv/hl1") | Should -Be "$($r.Start + 1000):$($r.Start + 1000)"
            (& stat -c '%u:%g' "$diff/bin/busybox") | Should -Be "$($r.Start):$($r.Start)"
        }
        finally { Remove-Container e2ids -Force -StorageRoot $script:e2 }
        # a layer of whiteouts and an opaque directory (committed), run on copies: what it removed stays removed
        $null = Invoke-ContainerImage $script:img -Name e2del -UserNamespace Host -Command sh, -c, 'rm /srv/gone.txt; rm -rf /srv/opq; mkdir /srv/opq; echo b > /srv/opq/b' -StorageRoot $script:e2
        New-ContainerImage -Container e2del -Name userns/e2del:1 -StorageRoot $script:e2 | Out-Null
        Remove-Container e2del -StorageRoot $script:e2
        $d = Invoke-ContainerImage userns/e2del:1 -Remove -Command sh, -c, 'ls /srv/opq; test -e /srv/gone.txt && echo present || echo absent; cat /srv/hl2' -StorageRoot $script:e2 -WarningAction SilentlyContinue
        ($d.Output.Trim() -split "`n" | ForEach-Object { $_.Trim() }) | Should -Be @('b', 'absent', 'linked')
        Remove-ContainerImage userns/e2del:1 -StorageRoot $script:e2 | Out-Null
    }
    It 'reuses a range''s copy for the next container of that range (same inode and change time)' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        # a freed range is the next allocation's; another run on this host may take it meanwhile: then try again
        $seen = @{}
        $reused = $false
        for ($i = 0; $i -lt 6 -and -not $reused; $i++) {
            $null = Invoke-ContainerImage $script:img -Name "e2reuse$i" -Command true -StorageRoot $script:e2 -WarningAction SilentlyContinue
            $start = (E2Range "e2reuse$i").Start
            $name = @((Copies $start).Keys | Where-Object { $_ -ne 'mountpoints' })[0]
            $stamp = & stat -c '%i %Z' (Join-Path $script:e2 "idcopies/$start/$name/diff/bin/busybox")
            Remove-Container "e2reuse$i" -StorageRoot $script:e2
            if ($seen.ContainsKey($start)) { $seen[$start] | Should -Be $stamp; $reused = $true }
            $seen[$start] = $stamp
            Start-Sleep -Milliseconds 1100
        }
        $reused | Should -BeTrue
    }
    It 'maps the writable layer''s ids back on commit, export and copy out, as under Host' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        $cmd = 'mkdir /made && echo y > /made/y && chown 1000:1000 /made/y && chown 1000 /srv/gone.txt'
        $lists = @{}
        foreach ($ns in 'Auto', 'Host') {
            $c = Invoke-ContainerImage $script:img -Name "e2files-$ns" -UserNamespace $ns -Command sh, -c, $cmd -StorageRoot $script:e2 -WarningAction SilentlyContinue
            $c.ExitCode | Should -Be 0
            $tar = Join-Path $script:work "e2files-$ns.tar"
            Export-Container "e2files-$ns" -Path $tar -StorageRoot $script:e2
            # owner and name of every entry (times differ)
            $lists[$ns] = & tar -tvf $tar --numeric-owner | ForEach-Object { $f = $_ -split '\s+'; "$($f[1]) $($f[-1])" } | Sort-Object
            $out = Join-Path $script:work "y-out-$ns"
            Copy-ContainerItem "e2files-$ns" /made/y $out -StorageRoot $script:e2
            (& stat -c '%u:%g' $out) | Should -Be '1000:1000'
            New-ContainerImage -Container "e2files-$ns" -Name "userns/e2files-$($ns.ToLower()):1" -StorageRoot $script:e2 | Out-Null
            $o = (Invoke-ContainerImage "userns/e2files-$($ns.ToLower()):1" -Remove -UserNamespace Host -Command stat, -c, '%u:%g %n', /made, /made/y, /srv/gone.txt -StorageRoot $script:e2).Output.Trim() -split "`n" | ForEach-Object { $_.Trim() }
            $o | Should -Be @('0:0 /made', '1000:1000 /made/y', '1000:0 /srv/gone.txt')
            Remove-Container "e2files-$ns" -StorageRoot $script:e2
            Remove-ContainerImage "userns/e2files-$($ns.ToLower()):1" -StorageRoot $script:e2 | Out-Null
        }
        ($lists['Auto'] | Where-Object { $_ -match 'made' }) | Should -Be @('0/0 made/', '1000/1000 made/y')
        Compare-Object $lists['Auto'] $lists['Host'] | Should -BeNullOrEmpty
    }
    It 'removes a layer''s copies with its image, and Test-ContainerStore finds half-made, damaged and orphaned copies, which -Repair removes; the range''s next container gets the removed copy made again' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        $rf2 = Join-Path $script:work 'e2-rootfs2'
        & cp -a $script:e2rootfs $rf2
        Set-Content -LiteralPath "$rf2/srv/second" -Value 'second image'
        Import-ContainerImage -RootFs -LiteralPath $rf2 -Name userns/e2second:1 -StorageRoot $script:e2 | Out-Null
        $null = Invoke-ContainerImage userns/e2second:1 -Name e2second -Command true -StorageRoot $script:e2 -WarningAction SilentlyContinue
        $start = (E2Range e2second).Start
        $before = Copies $start
        $mine = @((Get-ChildItem (Join-Path $script:e2 'layers') -Directory | ForEach-Object { "sha256:$($_.Name)" }) | Where-Object { $before.Values -contains $_ })
        $mine.Count | Should -BeGreaterThan 0
        Remove-Container e2second -StorageRoot $script:e2
        # the second image's layer: its copy goes with the image (and only its)
        $secondLayers = @((Get-ChildItem (Join-Path $script:e2 'idcopies') -Directory | ForEach-Object { Get-ChildItem $_.FullName -Directory } | ForEach-Object { Get-Content -Raw (Join-Path $_.FullName 'layer') }) | Sort-Object -Unique)
        Remove-ContainerImage userns/e2second:1 -StorageRoot $script:e2 | Out-Null
        $left = @(Get-ChildItem (Join-Path $script:e2 'idcopies') -Directory | ForEach-Object { Get-ChildItem $_.FullName -Directory } | ForEach-Object { Get-Content -Raw (Join-Path $_.FullName 'layer') })
        $gone = @($secondLayers | Where-Object { $_ -ne 'mountpoints' -and -not (Test-Path (Join-Path $script:e2 "layers/$($_ -replace '^sha256:')")) })
        $gone.Count | Should -BeGreaterThan 0
        foreach ($g in $gone) { $left | Should -Not -Contain $g }
        $left | Should -Contain 'mountpoints'
        (Test-ContainerStore -StorageRoot $script:e2 | Where-Object Kind -like 'LayerCopy*') | Should -BeNullOrEmpty
        # a copy killed half-way (its temporary name), one whose record was lost, one of a layer the root does not have
        $rd = Join-Path $script:e2 "idcopies/$start"
        (Copies $start).Keys | Should -Contain 'mountpoints'
        & cp -a (Join-Path $rd 'mountpoints') (Join-Path $rd '.tmp-mountpoints-0badc0de')
        Remove-Item -LiteralPath (Join-Path $rd "mountpoints/layer")
        New-Item -ItemType Directory -Force -Path (Join-Path $rd 'feedfacecafe/diff') | Out-Null
        Set-Content -LiteralPath (Join-Path $rd 'feedfacecafe/layer') -Value ('sha256:' + ('0' * 64)) -NoNewline
        $found = Test-ContainerStore -StorageRoot $script:e2 | Where-Object Kind -like 'LayerCopy*'
        @($found | Where-Object Kind -eq 'LayerCopyUnfinished').Target | Sort-Object | Should -Be (@((Join-Path $rd '.tmp-mountpoints-0badc0de'), (Join-Path $rd 'mountpoints')) | Sort-Object)
        ($found | Where-Object Kind -eq 'LayerCopyOrphan').Target | Should -Be (Join-Path $rd 'feedfacecafe')
        $fixed = Test-ContainerStore -StorageRoot $script:e2 -Repair | Where-Object Kind -like 'LayerCopy*'
        @($fixed).Count | Should -Be 3
        $fixed.Repaired | Should -Not -Contain $false
        (Test-ContainerStore -StorageRoot $script:e2 | Where-Object Kind -like 'LayerCopy*') | Should -BeNullOrEmpty
        Test-Path (Join-Path $rd '.tmp-mountpoints-0badc0de') | Should -BeFalse
        Test-Path (Join-Path $rd 'feedfacecafe') | Should -BeFalse
        # the range's containers still run: the removed copy is made again
        $ok = Invoke-ContainerImage $script:img -Name e2after -Command sh, -c, 'stat -c %u /etc' -StorageRoot $script:e2 -WarningAction SilentlyContinue
        $ok.Output.Trim() | Should -Be '0'
        (Copies (E2Range e2after).Start)['mountpoints'] | Should -Be 'mountpoints'
        Remove-Container e2after -StorageRoot $script:e2
    }
    It 'builds: a RUN without mounts on copied layers (its layer in container ids), a RUN with a cache mount in the host''s user namespace' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        $ctx = Join-Path $script:work 'e2-build'
        New-Item -ItemType Directory -Force -Path $ctx | Out-Null
        $df = "FROM $($script:img)`nRUN echo one > /one && chown 1000:1000 /one`nRUN --mount=type=cache,target=/c echo x > /c/f && cp /c/f /two"
        $img = Build-ContainerImage -Path $ctx -InlineDockerfile $df -Tag userns/e2built:1 -Network none -StorageRoot $script:e2 -WarningAction SilentlyContinue
        $img | Should -Not -BeNullOrEmpty
        $o = (Invoke-ContainerImage userns/e2built:1 -Remove -UserNamespace Host -Command stat, -c, '%u:%g %n', /one, /two -StorageRoot $script:e2).Output.Trim() -split "`n" | ForEach-Object { $_.Trim() }
        $o | Should -Be @('1000:1000 /one', '0:0 /two')
        Remove-ContainerImage userns/e2built:1 -StorageRoot $script:e2 | Out-Null
    }
    It 'copies a hostile layer without writing outside: links pointing out stay links, a hard link to a host file is not followed or changed' {
        if (-not (Test-Prerequisite $script:ext2Ok 'needs root and mkfs.ext2 (e2fsprogs)')) { return }
        $hostDir = Join-Path $script:e2mnt 'host-only'
        New-Item -ItemType Directory -Force -Path $hostDir | Out-Null
        Set-Content -LiteralPath "$hostDir/secret" -Value 'host'
        & chown 0:0 $hostDir "$hostDir/secret"; & chmod 600 "$hostDir/secret"
        $rf3 = Join-Path $script:work 'e2-rootfs3'
        & cp -a $script:e2rootfs $rf3
        New-Item -ItemType SymbolicLink -Path "$rf3/out-abs" -Target $hostDir | Out-Null
        New-Item -ItemType SymbolicLink -Path "$rf3/out-rel" -Target "../../../../../../../..$hostDir" | Out-Null
        New-Item -ItemType Directory -Force -Path "$rf3/out-abs-dir" | Out-Null
        Set-Content -LiteralPath "$rf3/out-abs-dir/x" -Value 'x'
        Import-ContainerImage -RootFs -LiteralPath $rf3 -Name userns/e2hostile:1 -StorageRoot $script:e2 | Out-Null
        # a hostile layer on disk: a hard link in the layer to a host file (same file system), and a POSIX ACL naming uid 1000
        $layerDiff = Get-ChildItem (Join-Path $script:e2 'layers') -Directory | Where-Object { (& stat -c '%F' (Join-Path $_.FullName 'diff/out-abs') 2>$null) -eq 'symbolic link' } | Select-Object -First 1
        $layerDiff | Should -Not -BeNullOrEmpty
        $diffDir = Join-Path $layerDiff.FullName 'diff'
        & ln "$hostDir/secret" "$diffDir/hl-host"
        $LASTEXITCODE | Should -Be 0
        # system.posix_acl_access, little-endian: version 2; USER_OBJ rw, USER 1000 r, GROUP_OBJ r, MASK r, OTHER r
        # (setfattr: package attr, which the test task installs)
        if (-not (Test-Prerequisite (Test-Command setfattr) 'needs setfattr/getfattr (apt package attr)')) { return }
        & setfattr -n system.posix_acl_access -v 0x0200000001000600ffffffff02000400e803000004000400ffffffff10000400ffffffff20000400ffffffff "$diffDir/srv/hl1"
        $LASTEXITCODE | Should -Be 0
        $before = (& stat -c '%u:%g %a %h' $hostDir "$hostDir/secret") -join ';'
        $listBefore = (Get-ChildItem -Force $hostDir).Name -join ','
        $r = Invoke-ContainerImage userns/e2hostile:1 -Name e2hostile -Command sh, -c, 'ls -ld /out-abs /out-rel | cut -c1; cat /hl-host; ls /out-abs-dir' -StorageRoot $script:e2 -WarningAction SilentlyContinue
        try {
            $start = (E2Range e2hostile).Start
            $lines = $r.Output.Trim() -split "`n" | ForEach-Object { $_.Trim() }
            $lines[0..1] | Should -Be @('l', 'l')
            $lines[2] | Should -Be 'host'   # the layer's own file (its content is the layer's)
            $lines[3] | Should -Be 'x'
            # nothing outside changed: owners, modes, link count (the copy is a new file, not a link to the host's), entries
            ((& stat -c '%u:%g %a %h' $hostDir "$hostDir/secret") -join ';') | Should -Be $before
            ((Get-ChildItem -Force $hostDir).Name -join ',') | Should -Be $listBefore
            $copyName = @((Copies $start).GetEnumerator() | Where-Object { $_.Value -eq "sha256:$($layerDiff.Name)" })[0].Key
            $copy = Join-Path $script:e2 "idcopies/$start/$copyName/diff"
            (& stat -c '%F' "$copy/out-abs") | Should -Be 'symbolic link'
            (& readlink "$copy/out-abs") | Should -Be $hostDir
            (& stat -c '%u:%g %h' "$copy/hl-host") | Should -Be "$($start):$($start) 1"
            # the named user's entry (tag 2) holds the shifted id
            $hex = ((& getfattr --absolute-names -e hex -n system.posix_acl_access "$copy/srv/hl1") -match '^system.posix_acl_access=0x')[0] -replace '^.*=0x', ''
            $ids = for ($o = 8; $o + 16 -le $hex.Length; $o += 16) {
                $tag = [Convert]::ToUInt16($hex.Substring($o + 2, 2) + $hex.Substring($o, 2), 16)
                if ($tag -in 2, 8) { [Convert]::ToUInt32((($hex.Substring($o + 8, 8) -split '(..)' -ne '')[3..0] -join ''), 16) }
            }
            "$ids" | Should -Be "$($start + 1000)"
        }
        finally { Remove-Container e2hostile -Force -StorageRoot $script:e2 }
        Remove-ContainerImage userns/e2hostile:1 -StorageRoot $script:e2 | Out-Null
    }
}

Describe 'Auto' {
    It 'runs the container''s processes as host ids inside its range (read from the host), root inside' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Name ids1 -Command sleep, 300
        try {
            $r = Range ids1
            ($r.End - $r.Start + 1) | Should -Be 65536
            $ids = StatusIds (Get-Container ids1).Pid
            $ids.Uid | ForEach-Object { $_ | Should -Be $r.Start }
            $ids.Gid | ForEach-Object { $_ | Should -Be $r.Start }
            $o = (Invoke-ContainerCommand ids1 -Command sh, -c, 'id -u; cat /proc/self/uid_map').Output.Trim() -split "`n"
            $o[0].Trim() | Should -Be '0'
            ($o[1].Trim() -split '\s+') | Should -Be @('0', "$($r.Start)", '65536')
            # an exec joins the user namespace: it too is the range's
            $null = Invoke-ContainerCommand ids1 -Detach -Command sleep, 30
            $execPid = $null
            for ($i = 0; $i -lt 40 -and -not $execPid; $i++) {
                $execPid = (Get-ContainerProcess ids1 | Where-Object { $_.Command -match 'sleep 30' } | Select-Object -First 1).HostPid
                if (-not $execPid) { Start-Sleep -Milliseconds 50 }
            }
            $execPid | Should -Not -BeNullOrEmpty
            (StatusIds $execPid).Uid[0] | Should -Be $r.Start
            # -User 1000: the range's 1000th id
            $u = Invoke-ContainerImage $script:img -Detach -Name ids-user -User 1000:1000 -Command sleep, 300
            $ur = Range ids-user
            (StatusIds (Get-Container ids-user).Pid).Uid[0] | Should -Be ($ur.Start + 1000)
            # Get-ContainerProcess: the user as the container sees it (podman top's USER), the host's id beside it
            $p = Get-ContainerProcess ids-user | Select-Object -First 1
            $p.UserId | Should -Be 1000
            $p.HostUserId | Should -Be ($ur.Start + 1000)
            $p = Get-ContainerProcess ids1 | Where-Object Pid -eq 1
            $p.UserId | Should -Be 0
            $p.HostUserId | Should -Be $r.Start
        }
        finally { Remove-Container ids1, ids-user -Force -ErrorAction SilentlyContinue }
    }
    It 'gives two containers disjoint ranges' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $a = New-Container $script:img -Name rng-a -Command true
        $b = New-Container $script:img -Name rng-b -Command true
        $ra = Range rng-a; $rb = Range rng-b
        ($ra.End -lt $rb.Start -or $rb.End -lt $ra.Start) | Should -BeTrue
        Remove-Container rng-a, rng-b
    }
    It 'leaves a host root-only file bind-mounted in unreadable to the container''s root' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $secret = Join-Path $script:work 'secret'
        Set-Content -LiteralPath $secret -Value 'host-secret'; & chmod 600 $secret
        $r = Invoke-ContainerImage $script:img -Remove -Volume "$($secret):/s" -Command sh, -c, 'id -u; cat /s 2>&1; echo rc=$?'
        $r.Output | Should -Match '(?m)^0$'
        $r.Output | Should -Not -Match 'host-secret'
        $r.Output | Should -Match 'rc=1'
        # the same file in the host's user namespace: root reads it (the difference is the user namespace)
        (Invoke-ContainerImage $script:img -Remove -UserNamespace Host -Volume "$($secret):/s" -Command cat, /s).Output.Trim() | Should -Be 'host-secret'
    }
    It 'makes unshare and mount fail, as podman --userns=auto does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $script = 'unshare -U true 2>/dev/null; echo unshare=$?; mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?; unshare -m true 2>/dev/null; echo unshare-m=$?'
        $r = Invoke-ContainerImage $script:img -Remove -Command sh, -c, $script
        $r.Output | Should -Match 'unshare=1'
        $r.Output | Should -Match 'mount=(1|255)'
        $r.Output | Should -Match 'unshare-m=1'
        if (Test-Command podman) {
            $tar = Join-Path $script:work 'rootfs.tar'
            & tar -C $script:rootfs -cf $tar . 2>&1 | Out-Null
            $tag = "localhost/pscontainers-userns:$PID"
            & timeout 120 podman import --quiet $tar $tag 2>&1 | Out-Null
            try {
                $p = (& timeout 120 podman run --rm --network none --userns=auto $tag sh -c $script 2>&1) -join "`n"
                if ($p -match 'unshare=') {
                    # podman's default seccomp profile and capability set, like ours, leave a namespaced root without them
                    ($p -split "`n" | Where-Object { $_ -like 'unshare*' }) | Should -Be ($r.Output -split "`n" | Where-Object { $_ -like 'unshare*' })
                }
            }
            finally { & timeout 60 podman rmi -f $tag 2>&1 | Out-Null }
        }
    }
    It 'lets the container''s root reopen its stdout and stderr (/dev/stdout, /proc/1/fd/1), in an exec too, as runc does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -Network none -Command sh, -c, 'echo via-dev > /dev/stdout; echo via-proc > /proc/1/fd/1; echo via-err > /dev/stderr'
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Match 'via-dev'
        $r.Output | Should -Match 'via-proc'
        "$($r.Error)" | Should -Match 'via-err'
        Invoke-ContainerImage $script:img -Detach -Name reopen -Network none -Command sleep, 300 | Out-Null
        try {
            $x = Invoke-ContainerCommand reopen -Command sh, -c, 'echo exec-dev > /dev/stdout; echo exec-err > /proc/self/fd/2'
            $x.ExitCode | Should -Be 0
            $x.Output | Should -Match 'exec-dev'
            "$($x.Error)" | Should -Match 'exec-err'
            # an exec writing to the first process's stdout (/proc/1/fd/1): ComposeProject.Tests.ps1's merged logs
        }
        finally { Remove-Container reopen -Force }
    }
    It 'works with /dev, /proc, /sys, the cgroup, a bridge network, -Init and a read-only root' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -Init -ReadOnly -Network bridge -Command sh, -c, 'echo x > /dev/null && head -c 4 /dev/urandom | wc -c; ls /sys/class/net | sort | tr "\n" " "; echo; cat /proc/1/cmdline | tr "\0" " "; echo; touch /nope 2>/dev/null || echo ro; test -d /sys/fs/cgroup && echo cg'
        $r.ExitCode | Should -Be 0
        $lines = $r.Output.Trim() -split "`n"
        $lines[0].Trim() | Should -Be '4'
        $lines[1] | Should -Match 'eth0'
        $lines[1] | Should -Match 'lo'
        $lines[2] | Should -Match '^init'
        $r.Output | Should -Match '(?m)^ro$'
        $r.Output | Should -Match '(?m)^cg$'
    }
    It 'gives the container''s root the raw sockets of its own network namespace (busybox''s ping) on a user network, the default one and none, as docker run does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        if (-not (Test-Prerequisite (Test-Command docker) 'needs docker (../shared/anchors/setup.sh)')) { return }
        # busybox 1.35's ping opens only a raw ICMP socket: CAP_NET_RAW of the container's root counts only in a network
        # namespace its user namespace owns (the network namespace is made with the user namespace, not before it)
        $d = (& timeout 120 docker run --rm --pull never --network none localhost/busybox:test ping -c1 -W5 127.0.0.1 2>&1) -join "`n"
        $dockerCode = $LASTEXITCODE
        $dockerCode | Should -Be 0 -Because $d
        New-ContainerNetwork -StorageRoot $script:root -Name rawnet | Out-Null
        try {
            $a = Invoke-ContainerImage $script:img -Detach -Name raw-a -Network rawnet -Command sleep, 300
            $a.UserNamespace | Should -Be 'Auto'
            $byName = Invoke-ContainerImage $script:img -Remove -Network rawnet -Command ping, -c1, -W5, raw-a
            $byName.ExitCode | Should -Be $dockerCode -Because "$($byName.Output) $($byName.Error)"
            foreach ($net in 'bridge', 'none') {
                $r = Invoke-ContainerImage $script:img -Remove -Network $net -Command ping, -c1, -W5, 127.0.0.1
                $r.ExitCode | Should -Be $dockerCode -Because "network ${net}: $($r.Output) $($r.Error)"
            }
            # from the host: the container's network namespace is owned by its user namespace (lsns' ONS column)
            function script:NetOwner([int] $ProcessId) {
                $userNs = (& lsns -n -t user -p $ProcessId -o NS | Select-Object -First 1).Trim()
                $owner = (& lsns -n -t net -p $ProcessId -o ONS | Select-Object -First 1).Trim()
                @($userNs, $owner)
            }
            $o = NetOwner (Get-Container raw-a).Pid
            $o[1] | Should -Be $o[0]
            $o[0] | Should -Not -Be ((& readlink /proc/self/ns/user) -replace '\D', '')
            # an exec joins them; a stop and start keeps both namespaces (pinned together until removal)
            (Invoke-ContainerCommand raw-a -Command ping, -c1, -W5, 127.0.0.1).ExitCode | Should -Be 0
            $netBefore = & readlink "/proc/$((Get-Container raw-a).Pid)/ns/net"
            Stop-Container raw-a -Timeout 1
            Start-Container raw-a
            $pid2 = (Get-Container raw-a).Pid
            & readlink "/proc/$pid2/ns/net" | Should -Be $netBefore
            $o = NetOwner $pid2
            $o[1] | Should -Be $o[0]
            (Invoke-ContainerCommand raw-a -Command ping, -c1, -W5, raw-a).ExitCode | Should -Be 0
            # the monitor's own restarts (-RestartPolicy) make each process in the same user namespace
            $f = Invoke-ContainerImage $script:img -Detach -Name raw-flaky -Network rawnet -RestartPolicy on-failure:2 -Command sh, -c, 'ping -c1 -W5 raw-a >/dev/null && echo pinged; exit 3'
            $c = Wait-Container raw-flaky -Timeout 60
            $c.ExitCode | Should -Be 3
            $c.RestartCount | Should -Be 2
            @((Get-ContainerLog raw-flaky) -split "`n" | Where-Object { $_ -match 'pinged' }).Count | Should -Be 3
            $dir = Join-Path $script:root "containers/$($a.Id)"
            (Get-Content /proc/self/mountinfo) -match [regex]::Escape("$dir/userns") | Should -Not -BeNullOrEmpty
            Remove-Container raw-a, raw-flaky -Force
            # removal leaves neither pin
            (Get-Content /proc/self/mountinfo) -match [regex]::Escape($a.Id) | Should -BeNullOrEmpty
        }
        finally {
            Remove-Container raw-a, raw-flaky -Force -ErrorAction SilentlyContinue
            Remove-ContainerNetwork -StorageRoot $script:root rawnet -Force -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
    It 'pins the user and network namespaces through the session''s spare for a storage root whose path holds a space' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $spaced = Join-Path $script:TestBase ('user ns ' + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Force -Path $spaced | Out-Null
        try {
            Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name spaced/bb:1 -StorageRoot $spaced | Out-Null
            New-ContainerNetwork -StorageRoot $spaced -Name spacednet | Out-Null
            # the first start leaves a spare that prepared a user namespace with its network namespace; the next ones use it
            foreach ($i in 1..3) {
                $r = Invoke-ContainerImage spaced/bb:1 -Remove -Network spacednet -StorageRoot $spaced -Command ping, -c1, -W5, 127.0.0.1
                $r.ExitCode | Should -Be 0 -Because "start $($i): $($r.Output) $($r.Error)"
            }
            (Get-Content /proc/self/mountinfo) -match [regex]::Escape(($spaced -replace ' ', '\040')) | Should -BeNullOrEmpty
        }
        finally {
            Get-Container -All -StorageRoot $spaced -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $spaced -ErrorAction SilentlyContinue
            Remove-ContainerNetwork -StorageRoot $spaced spacednet -Force -Confirm:$false -ErrorAction SilentlyContinue
            & rm -rf --one-file-system $spaced
        }
    }
    It 'delegates the container''s cgroup to its root' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Name cgdel -Command sleep, 300
        try {
            $r = Range cgdel
            $procs = @(Get-Content "/proc/$((Get-Container cgdel).Pid)/cgroup" | ForEach-Object { ($_ -split ':', 3)[2] } | Where-Object { $_ -like "*$($c.Id)*" } | Select-Object -Unique)
            $procs.Count | Should -BeGreaterThan 0
            $dirs = foreach ($p in $procs) { Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $p.TrimStart('/') } | Where-Object { Test-Path $_ } }
            @($dirs).Count | Should -BeGreaterThan 0
            foreach ($d in $dirs) { (& stat -c '%u' $d) | Should -Be "$($r.Start)" }
        }
        finally { Remove-Container cgdel -Force }
    }
}

Describe 'Files of a user-namespaced container' {
    It 'owns a named volume''s files with its range on the host, and seeds a new volume shifted' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name volc -Volume usernsvol:/srv -Command sh, -c, 'echo made > /srv/made.txt; stat -c "%u:%g" /srv /srv/seed.txt /srv/made.txt'
        $r = Range volc
        Start-Container volc
        Wait-Container volc | Out-Null
        (Get-ContainerLog volc | ForEach-Object { "$_".Trim() }) | Should -Be @('0:0', '0:0', '0:0')
        $data = (Get-ContainerVolume usernsvol).Mountpoint
        if (-not $data) { $data = Join-Path $script:root 'volumes/usernsvol/_data' }
        (& stat -c '%u:%g' $data) | Should -Be "$($r.Start):$($r.Start)"
        (& stat -c '%u:%g' (Join-Path $data 'made.txt')) | Should -Be "$($r.Start):$($r.Start)"
        (& stat -c '%u:%g' (Join-Path $data 'seed.txt')) | Should -Be "$($r.Start):$($r.Start)"
        Remove-Container volc
        Remove-ContainerVolume usernsvol
    }
    It 'keeps a bind''s host owners, maps them with :idmap and chowns the source with :U (podman''s options)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        foreach ($d in 'plain', 'idmap', 'chown') {
            New-Item -ItemType Directory -Force "$($script:work)/$d" | Out-Null
            Set-Content "$($script:work)/$d/a" 'a'
        }
        $probe = 'stat -c "%u:%g" /b/a; echo x > /b/new 2>/dev/null && echo wrote || echo denied'
        $plain = (Invoke-ContainerImage $script:img -Remove -Volume "$($script:work)/plain:/b" -Command sh, -c, $probe).Output.Trim() -split "`n"
        $plain | Should -Be @('65534:65534', 'denied')
        $idm = (Invoke-ContainerImage $script:img -Remove -Volume "$($script:work)/idmap:/b:idmap" -Command sh, -c, $probe).Output.Trim() -split "`n"
        $idm | Should -Be @('0:0', 'wrote')
        (& stat -c '%u:%g' "$($script:work)/idmap/new") | Should -Be '0:0'
        $c = Invoke-ContainerImage $script:img -Name uchown -Volume "$($script:work)/chown:/b:U" -Command sh, -c, $probe
        $r = Range uchown
        ($c.Output.Trim() -split "`n") | Should -Be @('0:0', 'wrote')
        (& stat -c '%u:%g' "$($script:work)/chown/a") | Should -Be "$($r.Start):$($r.Start)"
        (& stat -c '%u:%g' "$($script:work)/chown/new") | Should -Be "$($r.Start):$($r.Start)"
        Remove-Container uchown
        if (Test-Command podman) {
            # podman's :U gives the source the container's root as the host sees it, as ours does
            New-Item -ItemType Directory -Force "$($script:work)/pm" | Out-Null
            $pu = (& timeout 120 podman run --rm --network none --userns=auto -v "$($script:work)/pm:/b:U" docker.io/library/busybox:latest stat -c '%u' /b 2>$null)
            if ($LASTEXITCODE -eq 0) { "$pu".Trim() | Should -Be '0' }
        }
    }
    It 'makes the mount points of mounts inside a host folder''s bind in that folder, as docker does (compose''s ./src:/app with /app/node_modules)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        if (-not (Test-Prerequisite (Test-Command docker) 'needs docker (../shared/anchors/setup.sh)')) { return }
        # the host folder is root's, 0755: root in the container (nobody to the folder) cannot make a directory in it
        foreach ($d in 'nest', 'nest-docker') { New-Item -ItemType Directory -Force "$($script:work)/$d" | Out-Null; & chmod 755 "$($script:work)/$d" }
        Set-Content "$($script:work)/nested-file" 'filed'
        # given deepest first: the engine mounts shallower destinations first, as docker does
        $c = Invoke-ContainerImage $script:img -Remove -Volume "nestvol:/p/nm/deep", "$($script:work)/nested-file:/p/sub/f", "$($script:work)/nest:/p" -Tmpfs /p/t `
            -Command sh, -c, 'touch /p/nm/deep/x && touch /p/t/y && cat /p/sub/f && stat -c "%u" /p/nm/deep'
        $c.ExitCode | Should -Be 0
        ($c.Output.Trim() -split "`n") | Should -Be @('filed', '0')
        (Test-Path -PathType Container "$($script:work)/nest/nm/deep") | Should -BeTrue
        (Test-Path -PathType Container "$($script:work)/nest/t") | Should -BeTrue
        (Test-Path -PathType Leaf "$($script:work)/nest/sub/f") | Should -BeTrue
        (& stat -c '%u:%g %a' "$($script:work)/nest/nm") | Should -Be '0:0 755'
        # nothing the container wrote went into the host folder: the volume and the tmpfs were over it
        (Test-Path "$($script:work)/nest/nm/deep/x") | Should -BeFalse
        (Test-Path "$($script:work)/nest/t/y") | Should -BeFalse
        # docker (no user namespace) leaves the same mount points in its bind's source
        & timeout 120 docker run --rm --pull never --network none -v "$($script:work)/nest-docker:/p" -v /p/nm/deep -v "$($script:work)/nested-file:/p/sub/f" --tmpfs /p/t localhost/busybox:test true 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        @(Get-ChildItem -Recurse -Name "$($script:work)/nest-docker" | Sort-Object) | Should -Be @(Get-ChildItem -Recurse -Name "$($script:work)/nest" | Sort-Object)
        Remove-ContainerVolume nestvol
    }
    It 'never makes a nested mount point outside the bound folder, whatever links the folder holds' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $d = "$($script:work)/nest-hostile"
        $outside = "$($script:work)/nest-outside"
        New-Item -ItemType Directory -Force $d, $outside | Out-Null
        # the folder is the container's to change: links there point at host paths
        New-Item -ItemType SymbolicLink -Force -Path "$d/abs" -Target $outside | Out-Null
        New-Item -ItemType SymbolicLink -Force -Path "$d/up" -Target '../nest-outside' | Out-Null
        $c = Invoke-ContainerImage $script:img -Remove -Volume "$($d):/p" -Tmpfs /p/abs/made, /p/up/made -Command true -ErrorAction SilentlyContinue -ErrorVariable e
        @(Get-ChildItem -Force -Name $outside) | Should -BeNullOrEmpty
        $c, $e | Out-Null
    }
    It ':U changes links themselves, never what they point at, also while another container swaps a directory for a link' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $src = "$($script:work)/uattack"
        $hostDir = "$($script:work)/host-only"
        New-Item -ItemType Directory -Force "$src/sub", $hostDir | Out-Null
        1..50 | ForEach-Object { Set-Content "$src/sub/f$_" 'x' }
        Set-Content "$hostDir/secret" 'host'
        & chown 0:0 $hostDir "$hostDir/secret"
        New-Item -ItemType SymbolicLink -Path "$src/out" -Target $hostDir | Out-Null
        # a container of the host's user namespace sharing the tree swaps sub for a link to the host directory, in a loop
        $swap = "cd /s; while :; do mv sub sub.d; ln -s $hostDir sub; rm sub; mv sub.d sub; done"
        $null = Invoke-ContainerImage $script:img -Name uswap -Detach -UserNamespace Host -Network none -Volume "$($src):/s" -Command sh, -c, $swap
        try {
            for ($i = 0; $i -lt 20; $i++) {
                $null = Invoke-ContainerImage $script:img -Remove -Network none -Volume "$($src):/b:U" -Command true
            }
        }
        finally { Remove-Container uswap -Force }
        (& stat -c '%u:%g' $hostDir) | Should -Be '0:0'
        (& stat -c '%u:%g' "$hostDir/secret") | Should -Be '0:0'
        (& stat -c '%u' "$src/sub/f1") | Should -Not -Be '0'
        (& stat -c '%u' "$src/out") | Should -Not -Be '0'
    }
    It 'shows container ids (0) in a commit, an export, a copy out and a copy in of files made in the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Name files -Command sh, -c, 'mkdir /made && echo y > /made/y && chown 1000:1000 /made/y'
        $r = Range files
        $upper = Join-Path $script:root "containers/$($c.ContainerId)/upper"
        (& stat -c '%u:%g' "$upper/made") | Should -Be "$($r.Start):$($r.Start)"
        (& stat -c '%u:%g' "$upper/made/y") | Should -Be "$($r.Start + 1000):$($r.Start + 1000)"
        # export
        $tar = Join-Path $script:work 'files.tar'
        Export-Container files -Path $tar
        $list = & tar -tvf $tar --numeric-owner | Where-Object { $_ -match 'made' }
        ($list | Where-Object { $_ -match 'made/$' }) | Should -Match ' 0/0 '
        ($list | Where-Object { $_ -match 'made/y$' }) | Should -Match ' 1000/1000 '
        # copy out
        $out = Join-Path $script:work 'y-out'
        Copy-ContainerItem files /made/y $out
        (& stat -c '%u:%g' $out) | Should -Be '1000:1000'
        # copy in: the container's root as the container sees it, its range on the host
        $in = Join-Path $script:work 'in.txt'
        Set-Content $in 'in'
        Copy-ContainerItem files $in /made/in.txt -ToContainer
        (& stat -c '%u:%g' "$upper/made/in.txt") | Should -Be "$($r.Start):$($r.Start)"
        # commit: the layer holds container ids; a container of it in the host's user namespace sees them as they are
        $img = New-ContainerImage -Container files -Name userns/committed:1
        $o = (Invoke-ContainerImage userns/committed:1 -Remove -UserNamespace Host -Command stat, -c, '%u:%g %n', /made, /made/y, /made/in.txt).Output.Trim() -split "`n"
        $o | Should -Be @('0:0 /made', '1000:1000 /made/y', '0:0 /made/in.txt')
        # and one in a user namespace sees them as the container that made them did
        $o2 = (Invoke-ContainerImage userns/committed:1 -Remove -Command stat, -c, '%u:%g %n', /made, /made/y).Output.Trim() -split "`n"
        $o2 | Should -Be @('0:0 /made', '1000:1000 /made/y')
        Remove-Container files
        Remove-ContainerImage userns/committed:1 | Out-Null
    }
}

Describe 'Ranges' {
    It 'are freed on removal, kept across sessions, and a range whose container went without the engine is free' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name keep -Command true
        $range = (Get-Container keep).IdRange
        # a new session (another pwsh) sees the same range and allocates another for its own container
        $other = & dotnet pwsh -NoProfile -Command "Import-Module '$($script:ModulePath)'; (Get-Container keep -StorageRoot '$($script:root)').IdRange; (New-Container '$($script:img)' -Name keep2 -Command true -StorageRoot '$($script:root)').IdRange"
        $other[0] | Should -Be $range
        $other[1] | Should -Not -Be $range
        $table = Get-Content /var/lib/pscontainers-userns/ranges
        ($table | Where-Object { $_ -like "* $($script:root) $($c.Id)" }) | Should -Not -BeNullOrEmpty
        # the root is known to the rebuild after a crash (durable list of roots)
        Get-Content /var/lib/pscontainers-userns/roots | Should -Contain $script:root
        $inUse = (Get-ContainerHost).IdRangesInUse
        Remove-Container keep, keep2
        # freed by the removal's rename (no table write on the hot path): no longer in use at once, its line dropped
        # by the next allocation
        (Get-ContainerHost).IdRangesInUse | Should -Be ($inUse - 2)
        # an orphan: the container's directory went without the engine; its range is free as well
        $o = New-Container $script:img -Name orphan -Command true
        ((Get-Content /var/lib/pscontainers-userns/ranges) | Where-Object { $_ -like "* $($c.Id)" }) | Should -BeNullOrEmpty
        & rm -rf (Join-Path $script:root "containers/$($o.Id)")
        $n = New-Container $script:img -Name after-orphan -Command true
        $table = Get-Content /var/lib/pscontainers-userns/ranges
        ($table | Where-Object { $_ -like "* $($o.Id)" }) | Should -BeNullOrEmpty
        ($table | Where-Object { $_ -like "* $($script:root) $($n.Id)" }) | Should -Not -BeNullOrEmpty
        (Test-ContainerStore -StorageRoot $script:root | Where-Object Kind -in 'IdRangeOrphan', 'CreationUnfinished') | Should -BeNullOrEmpty
        # a record of the first version (userns/<id>) whose container is gone is found and freed by -Repair
        New-Item -ItemType Directory -Force -Path (Join-Path $script:root 'userns') | Out-Null
        Set-Content -LiteralPath (Join-Path $script:root "userns/$($o.Id)") -Value '1000000000 65536'
        (Test-ContainerStore -StorageRoot $script:root | Where-Object Kind -eq 'IdRangeOrphan').Target | Should -Be (Join-Path $script:root "userns/$($o.Id)")
        $fixed = Test-ContainerStore -StorageRoot $script:root -Repair | Where-Object Kind -eq 'IdRangeOrphan'
        $fixed.Repaired | Should -Contain $true
        (Test-ContainerStore -StorageRoot $script:root | Where-Object Kind -eq 'IdRangeOrphan') | Should -BeNullOrEmpty
        # a creation killed after its allocation: the half-made directory holds the range until -Repair removes it
        $half = Join-Path $script:root 'tmp/ctr-0000000000000000000000000000000000000000000000000000000000000042'
        New-Item -ItemType Directory -Force -Path $half | Out-Null
        (Get-Item $half).LastWriteTimeUtc = [DateTime]::UtcNow.AddMinutes(-5)
        (Test-ContainerStore -StorageRoot $script:root -Repair | Where-Object Kind -eq 'CreationUnfinished').Repaired | Should -Contain $true
        Test-Path $half | Should -BeFalse
        # a crash of the machine: the table (not flushed on the hot path) lost this container's line; the first
        # allocation of the next boot (another boot id) rebuilds it from the container's config
        $lines = @(Get-Content /var/lib/pscontainers-userns/ranges | Where-Object { $_ -and $_ -notlike "* $($n.Id)" })
        Set-Content -LiteralPath /var/lib/pscontainers-userns/ranges -Value $lines
        Set-Content -LiteralPath /var/lib/pscontainers-userns/checked-boot -Value 'a-previous-boot'
        $m = New-Container $script:img -Name after-crash -Command true
        $table = Get-Content /var/lib/pscontainers-userns/ranges
        ($table | Where-Object { $_ -like "* $($script:root) $($n.Id)" }) | Should -Be "$((Get-Container after-orphan).IdRange -replace '-.*') 65536 $($script:root) $($n.Id)"
        (Get-Container after-crash).IdRange | Should -Not -Be (Get-Container after-orphan).IdRange
        (Get-Content /var/lib/pscontainers-userns/checked-boot) | Should -Be (Get-Content /proc/sys/kernel/random/boot_id)
        Remove-Container after-orphan, after-crash
    }
}

Describe 'The image test set under Auto' {
    It 'runs busybox unchanged: a shell, a user, a working directory, an HTTP server over a published port' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -User 1000 -WorkingDirectory /tmp -Command sh, -c, 'id -u; pwd; echo hi > f && cat f'
        ($r.Output.Trim() -split "`n") | Should -Be @('1000', '/tmp', 'hi')
        $port = Get-Random -Minimum 20000 -Maximum 30000
        $c = Invoke-ContainerImage $script:img -Detach -Name web -Port "127.0.0.1:$($port):80" -Command httpd, -f, -p, 80, -h, /srv
        try {
            $got = $null
            for ($i = 0; $i -lt 50 -and -not $got; $i++) {
                try { $got = (Invoke-WebRequest "http://127.0.0.1:$port/seed.txt" -TimeoutSec 2 -UseBasicParsing).Content } catch { Start-Sleep -Milliseconds 100 }
            }
            $got | Should -Be 'seed'
            (Get-Container web).UserNamespace | Should -Be 'Auto'
        }
        finally { Remove-Container web -Force }
    }
    It 'runs debian unchanged (apt''s sandbox user, dpkg, su)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $deb = $null
        try { $deb = Request-ContainerImage 127.0.0.1:5000/debian:bookworm -StorageRoot $script:root -ErrorAction Stop } catch { }
        if (-not (Test-Prerequisite ($null -ne $deb) 'the local registry 127.0.0.1:5000 with debian:bookworm (../shared/anchors/setup.sh, started by the test task)')) { return }
        $r = Invoke-ContainerImage 127.0.0.1:5000/debian:bookworm -Remove -Command bash, -c, 'id -u; dpkg -s bash | grep -c Status; su -s /bin/sh nobody -c "id -un"; touch /root/x && ls -ln /root/x | cut -d" " -f3,4; cat /proc/self/uid_map | tr -s " "'
        $r.ExitCode | Should -Be 0
        $lines = $r.Output.Trim() -split "`n"
        $lines[0] | Should -Be '0'
        $lines[1] | Should -Be '1'
        $lines[2] | Should -Be 'nobody'
        $lines[3] | Should -Be '0 0'
        $lines[4].Trim() | Should -Match '^0 \d+ 65536$'
    }
}
