# Volumes and mounts of docker run on New-Container and Invoke-ContainerImage: the image's VOLUMEs (an anonymous volume
# each, removed by -Remove and Remove-Container -Volumes), copy-up of a new volume from the image (once, never for a
# bind, not with volume-nocopy, never through a link in the image), and -Mount (docker's --mount syntax). Real
# containers as root; compared with podman (the same root file system imported with the same VOLUME) where it
# defines the behaviour.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'runmounts'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    New-Item -ItemType Directory -Force -Path "$($script:rootfs)/data/sub", "$($script:rootfs)/cache" | Out-Null
    Set-Content -LiteralPath "$($script:rootfs)/data/seed.txt" -Value 'from-image' -NoNewline
    Set-Content -LiteralPath "$($script:rootfs)/data/sub/deep.txt" -Value 'deep' -NoNewline
    & chmod 0750 "$($script:rootfs)/data/sub"
    & chown 1000:1000 "$($script:rootfs)/data/sub/deep.txt"
    $script:changes = 'VOLUME /data', 'VOLUME /cache'
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'runmounts/vol:1'
    $script:plain = 'runmounts/plain:1'
    if ($script:IsRoot) {
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -Change $script:changes -StorageRoot $script:root | Out-Null
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:plain -StorageRoot $script:root | Out-Null
    }

    $script:podmanTag = "localhost/pscontainers-runmounts:$PID"
    $script:podmanVolumes = [System.Collections.Generic.List[string]]::new()
    $script:havePodman = Test-Command 'podman'
    if ($script:havePodman) {
        $ch = foreach ($c in $script:changes) { '--change'; $c }
        & timeout 120 podman import --quiet @ch $script:tar $script:podmanTag 2>&1 | Out-Null
    }
    function script:Podman([string[]] $Arguments) {
        $out = & timeout 120 podman run --rm --network none @Arguments 2>&1
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out -join "`n").Trim() }
    }
    function script:Ours([hashtable] $Extra, [string] $Script, [string] $Image = $script:img) {
        $r = Invoke-ContainerImage $Image -Remove -Network none @Extra -Command sh, -c, $Script
        [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.Output.Trim() }
    }
    function script:Anonymous { @(Get-ContainerVolume | Where-Object { $_.Labels.ContainsKey('com.docker.volume.anonymous') }) }
    $script:New = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:Run = 'Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
}
AfterAll {
    if ($script:havePodman) {
        & timeout 60 podman rmi -f $script:podmanTag 2>&1 | Out-Null
        foreach ($v in $script:podmanVolumes) { & timeout 60 podman volume rm -f $v 2>&1 | Out-Null }
    }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'The image''s VOLUMEs' {
    AfterEach { Get-ContainerVolume | Remove-ContainerVolume -ErrorAction SilentlyContinue }

    It 'each gets an anonymous volume seeded from the image, as podman gives it' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $script = 'cat /data/seed.txt; echo; cat /data/sub/deep.txt; echo; stat -c "%a %u" /data/sub /data/sub/deep.txt; grep -c " /data " /proc/mounts; grep -c " /cache " /proc/mounts'
        $p = Podman @($script:podmanTag, 'sh', '-c', $script)
        $p.ExitCode | Should -Be 0
        $o = Ours @{} $script
        $o.ExitCode | Should -Be 0
        $o.Output | Should -Be $p.Output
        $o.Output | Should -Match '(?s)^from-image\ndeep\n750 0\n644 1000\n1\n1$'
    }

    It 'labels them anonymous, shows them on the container and keeps them without -Volumes' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name vol-keep -Network none -Command true
        try {
            $m = @($c.Mounts | Sort-Object Destination)
            $m.Destination | Should -Be @('/cache', '/data')
            $m.Type | Should -Be @('volume', 'volume')
            $m.Anonymous | Should -Be @($true, $true)
            $m[0].Source | Should -Match '^[0-9a-f]{64}$'
            (Anonymous).Name | Sort-Object | Should -Be ($m.Source | Sort-Object)
            Remove-Container vol-keep
            @(Anonymous).Count | Should -Be 2   # docker rm without -v keeps them
        }
        finally { Remove-Container vol-keep -Force -ErrorAction SilentlyContinue }
    }

    It 'Remove-Container -Volumes removes the anonymous ones and keeps the named ones (docker rm -v)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        New-Container $script:img -Name vol-rmv -Network none -Volume keepme:/data -Command true | Out-Null
        @(Anonymous).Count | Should -Be 1
        Remove-Container vol-rmv -Volumes
        @(Anonymous).Count | Should -Be 0
        (Get-ContainerVolume keepme).Name | Should -Be 'keepme'
    }

    It 'an attached and a detached -Remove run remove their anonymous volumes, as podman run --rm does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $before = @(& podman volume ls -q)
        (Podman @($script:podmanTag, 'true')).ExitCode | Should -Be 0
        @(& podman volume ls -q).Count | Should -Be $before.Count
        (Invoke-ContainerImage $script:img -Remove -Network none -Command true).ExitCode | Should -Be 0
        @(Anonymous).Count | Should -Be 0
        Invoke-ContainerImage $script:img -Remove -Detach -Network none -Name vol-detached -Command true | Out-Null
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while ((Get-Container -All | Where-Object Name -eq 'vol-detached') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        @(Get-Container -All | Where-Object Name -eq 'vol-detached').Count | Should -Be 0
        @(Anonymous).Count | Should -Be 0
    }

    It 'gets none where -Volume, -Mount or -Tmpfs already covers the path' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:img -Name vol-covered -Network none -Volume covered:/data -Tmpfs /cache -Command true
        try {
            ($c.Mounts | Where-Object Destination -eq '/data').Source | Should -Be 'covered'
            ($c.Mounts | Where-Object Destination -eq '/cache').Type | Should -Be 'tmpfs'
            @(Anonymous).Count | Should -Be 0
        }
        finally { Remove-Container vol-covered -Force }
        $c = New-Container $script:img -Name vol-covered2 -Network none -Mount 'type=volume,source=covered,target=/data/' -Command true
        try { @($c.Mounts | Where-Object Destination -eq '/data').Count | Should -Be 1 }
        finally { Remove-Container vol-covered2 -Force -Volumes }
    }

    It '-Volume /path alone is an anonymous volume (docker -v /path)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:plain -Name vol-anonpath -Network none -Volume /scratch -Command true
        try {
            $m = $c.Mounts | Where-Object Destination -eq '/scratch'
            $m.Anonymous | Should -BeTrue
            (Anonymous).Name | Should -Be $m.Source
        }
        finally { Remove-Container vol-anonpath -Force -Volumes }
        @(Anonymous).Count | Should -Be 0
    }
}

Describe 'Copy-up of a new volume' {
    AfterEach { Get-ContainerVolume | Remove-ContainerVolume -ErrorAction SilentlyContinue }

    It 'seeds a new named volume from the image once, as podman does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $pv = "pscontainers-runmounts-$PID"
        $script:podmanVolumes.Add($pv)
        $first = 'cat /data/seed.txt; echo; rm /data/seed.txt; echo mine > /data/own'
        $second = 'ls /data; cat /data/own'
        $p1 = Podman @('-v', "${pv}:/data", $script:podmanTag, 'sh', '-c', $first)
        $p2 = Podman @('-v', "${pv}:/data", $script:podmanTag, 'sh', '-c', $second)
        $o1 = Ours @{ Volume = 'seeded:/data' } $first
        $o2 = Ours @{ Volume = 'seeded:/data' } $second
        $o1.Output | Should -Be $p1.Output
        $o1.Output | Should -Be 'from-image'
        # the second container finds what the first left, not the image's file again
        $o2.Output | Should -Be $p2.Output
        $o2.Output | Should -Be "own`nsub`nmine"
    }

    It 'seeds a named volume mounted on an image path that is not a VOLUME' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        (Ours @{ Volume = 'plainseed:/data' } 'cat /data/seed.txt' -Image $script:plain).Output | Should -Be 'from-image'
    }

    It 'does not seed a volume that already has content' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $v = New-ContainerVolume prefilled
        Set-Content -LiteralPath (Join-Path $v.Mountpoint 'kept.txt') -Value 'kept'
        (Ours @{ Volume = 'prefilled:/data' } 'ls /data').Output | Should -Be 'kept.txt'
    }

    It 'does not copy into a bind mount' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $dir = Join-Path $script:root 'bindsrc'
        New-Item -ItemType Directory -Force $dir | Out-Null
        (Ours @{ Volume = "${dir}:/data" } 'ls -A /data | wc -l').Output | Should -Be '0'
        @(Get-ChildItem -Force $dir).Count | Should -Be 0
    }

    It 'does not seed with volume-nocopy, and the volume stays unseeded for later containers' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        (Ours @{ Mount = 'type=volume,source=nocopy,target=/data,volume-nocopy' } 'ls -A /data | wc -l').Output | Should -Be '0'
        (Ours @{ Mount = 'type=volume,src=nocopy2,dst=/data,volume-nocopy=true' } 'ls -A /data | wc -l').Output | Should -Be '0'
    }

    It 'never reads the host through a link at the volume path, and copies links in the tree as links' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # a hostile image: /data is a link to a host directory's absolute path (which the image has too, with a file
        # of its own); /links holds a link to a host file
        $hostDir = Join-Path $script:root 'host-secret-dir'
        New-Item -ItemType Directory -Force $hostDir | Out-Null
        Set-Content -LiteralPath "$hostDir/secret.txt" -Value 'host-secret'
        $rf = Join-Path $script:root 'hostile'
        New-BusyboxRootFs $rf | Out-Null
        New-Item -ItemType Directory -Force "$rf$hostDir" | Out-Null
        Set-Content -LiteralPath "$rf$hostDir/image-side.txt" -Value 'image'
        New-Item -ItemType SymbolicLink -Path "$rf/data" -Target $hostDir | Out-Null
        New-Item -ItemType Directory -Path "$rf/links" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$rf/links/passwd" -Target "$hostDir/secret.txt" | Out-Null
        Import-ContainerImage -RootFs -LiteralPath $rf -Name runmounts/hostile:1 -Change 'VOLUME /data', 'VOLUME /links' | Out-Null
        $c = New-Container runmounts/hostile:1 -Name vol-hostile -Network none -Command sh, -c, 'ls -A /data; echo written > /data/new.txt'
        try {
            Start-Container vol-hostile -PassThru | Wait-Container | Out-Null
            # the link resolved inside the image: its directory's file, not the host's
            # the link resolved inside the image: its directory's file, not the host's
            @(Get-ContainerLog vol-hostile | ForEach-Object { "$_" }) | Should -Be @('image-side.txt')
            $data = Get-ContainerVolume ($c.Mounts | Where-Object Destination -eq '/data').Source
            $links = Get-ContainerVolume ($c.Mounts | Where-Object Destination -eq '/links').Source
            # the volume holds the image's file and what the container wrote; the host directory is unchanged
            @(Get-ChildItem -Force $data.Mountpoint).Name | Sort-Object | Should -Be @('image-side.txt', 'new.txt')
            @(Get-ChildItem -Force $hostDir).Name | Should -Be @('secret.txt')
            $l = Get-Item -Force (Join-Path $links.Mountpoint 'passwd')
            $l.LinkType | Should -Be 'SymbolicLink'
            $l.Target | Should -Be "$hostDir/secret.txt"
        }
        finally { Remove-Container vol-hostile -Force -Volumes }
    }
}

Describe '-Mount (docker --mount)' {
    AfterEach { Get-ContainerVolume | Remove-ContainerVolume -ErrorAction SilentlyContinue }

    It 'mounts a bind read-only and a tmpfs with size and mode, as podman --mount does' {
        if (-not (Test-Prerequisite ($script:IsRoot -and $script:havePodman) 'needs root and podman')) { return }
        $dir = Join-Path $script:root 'mountbind'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content -LiteralPath "$dir/f" -Value 'bound' -NoNewline
        $script = 'cat /b/f; echo; touch /b/x 2>/dev/null && echo rw || echo ro; stat -c %a /t; grep " /t " /proc/mounts | cut -d" " -f3,4 | grep -o "tmpfs\|size=[0-9a-z]*"'
        $p = Podman @('--mount', "type=bind,source=$dir,target=/b,readonly", '--mount', 'type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=750', $script:podmanTag, 'sh', '-c', $script)
        $o = Ours @{ Mount = "type=bind,source=$dir,target=/b,readonly", 'type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=750' } $script
        $o.ExitCode | Should -Be 0
        $o.Output | Should -Be $p.Output
        $o.Output | Should -Match '(?s)^bound\nro\n750\ntmpfs\nsize=1024k$'
    }

    It 'mounts a named volume, and an anonymous one without source' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = New-Container $script:plain -Name mount-vol -Network none -Mount 'type=volume,source=mvol,target=/v,ro', 'target=/anon' -Command true
        try {
            $v = $c.Mounts | Where-Object Destination -eq '/v'
            $v.Source | Should -Be 'mvol'; $v.ReadOnly | Should -BeTrue; $v.Anonymous | Should -BeFalse
            ($c.Mounts | Where-Object Destination -eq '/anon').Anonymous | Should -BeTrue
        }
        finally { Remove-Container mount-vol -Force -Volumes }
        (Get-ContainerVolume mvol).Name | Should -Be 'mvol'
        @(Anonymous).Count | Should -Be 0
    }

    It 'takes a quoted field with a comma in it (docker''s CSV)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $dir = Join-Path $script:root 'a,b'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content -LiteralPath "$dir/f" -Value 'comma' -NoNewline
        (Ours @{ Mount = "type=bind,`"source=$dir`",target=/b" } 'cat /b/f' -Image $script:plain).Output | Should -Be 'comma'
    }

    It 'refuses <Spec> with <ErrorId> naming <Target> (<Cmd>)' -TestCases @(
        @{ Spec = 'type=bind,target=/x'; ErrorId = 'InvalidMountSpec'; Target = 'source'; Cmd = 'New-Container' }
        @{ Spec = 'type=volume,source=v'; ErrorId = 'InvalidMountSpec'; Target = 'target'; Cmd = 'Invoke-ContainerImage' }
        @{ Spec = 'type=volume,target=/x,size=1'; ErrorId = 'InvalidMountSpec'; Target = 'size'; Cmd = 'New-Container' }
        @{ Spec = 'type=nfs,target=/x'; ErrorId = 'InvalidMountSpec'; Target = 'type'; Cmd = 'New-Container' }
        @{ Spec = 'type=volume,target=/x,tmpfs-size=1m'; ErrorId = 'InvalidMountSpec'; Target = 'tmpfs-size'; Cmd = 'Invoke-ContainerImage' }
        @{ Spec = 'type=tmpfs,target=/x,tmpfs-mode=999'; ErrorId = 'InvalidMountSpec'; Target = 'tmpfs-mode'; Cmd = 'New-Container' }
        @{ Spec = 'type=tmpfs,target=/x,tmpfs-size=big'; ErrorId = 'InvalidMountSpec'; Target = 'tmpfs-size'; Cmd = 'New-Container' }
        @{ Spec = 'type=tmpfs,source=x,target=/x'; ErrorId = 'InvalidMountSpec'; Target = 'source'; Cmd = 'New-Container' }
        @{ Spec = 'type=volume,target=relative'; ErrorId = 'InvalidMountSpec'; Target = 'target'; Cmd = 'New-Container' }
        @{ Spec = 'type=volume,target=/x,readonly=maybe'; ErrorId = 'InvalidMountSpec'; Target = 'readonly'; Cmd = 'New-Container' }
        @{ Spec = 'type=volume,source=bad/name,target=/x'; ErrorId = 'InvalidVolumeName'; Target = 'bad/name'; Cmd = 'New-Container' }
        @{ Spec = 'type=bind,source=/nonexistent-runmounts,target=/x'; ErrorId = 'BindSourceNotFound'; Target = '/nonexistent-runmounts'; Cmd = 'New-Container' }
        @{ Spec = 'type=bind,source=/tmp,target=/x,bind-propagation=rshared'; ErrorId = 'MountOptionNotSupported'; Target = 'bind-propagation'; Cmd = 'New-Container' }
        @{ Spec = 'type=volume,source=v,target=/x,volume-driver=nfs'; ErrorId = 'MountOptionNotSupported'; Target = 'volume-driver'; Cmd = 'New-Container' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $class = if ($Cmd -eq 'New-Container') { $script:New } else { $script:Run }
        $e = $null
        try { & $Cmd $script:plain -Network none -Mount $Spec -Command true -ErrorAction Stop | Out-Null }
        catch { $e = $_ }
        $e | Should -Not -BeNullOrEmpty
        $e.FullyQualifiedErrorId | Should -Be "$ErrorId,$class"
        $e.TargetObject | Should -Be $Target
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'refuses two mounts on one path (DuplicateMountPoint)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        { New-Container $script:plain -Network none -Volume a:/x -Mount 'type=tmpfs,target=/x' -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId "DuplicateMountPoint,$($script:New)"
    }
}
