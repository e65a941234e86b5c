# Import-ContainerImage: archives saved by podman, OCI layouts, root file systems, shared layers, bad input.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:Work = New-TestStorageRoot 'import-work'
    $script:Pm = $null
    if ($script:IsRoot -and (Test-Command podman)) { $script:Pm = New-PodmanSavedImage "$script:Work/podman" }
}
AfterAll {
    if ($script:Work) { Remove-PodmanStore "$script:Work/podman"; Remove-TestStorageRoot $script:Work }
}

Describe 'Import-ContainerImage from podman save' {
    BeforeEach { $script:R = New-TestStorageRoot }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'imports a <Format> with the config digest, diffIDs, config and size podman has' -TestCases @(
        @{ Format = 'docker-archive'; Prop = 'Docker' }
        @{ Format = 'oci-archive'; Prop = 'Oci' }
    ) {
        if (-not (Test-Prerequisite -Condition ($null -ne $script:Pm) -Because 'podman (as root) makes the archives')) { return }
        $img = Import-ContainerImage -LiteralPath $script:Pm.$Prop -StorageRoot $script:R
        $img.Id | Should -BeExactly ('sha256:' + $script:Pm.Id)
        $img.LayerDiffIds | Should -Be $script:Pm.DiffIds
        $img.Config.Config.Env | Should -Contain 'FOO=bar'
        $img.Config.Config.Cmd | Should -Be @('sh')
        # the unpacked layer holds busybox: size is at least its bytes
        $img.Size | Should -BeGreaterOrEqual (Get-Item /bin/busybox).Length
        $img.Names | Should -Contain 'localhost/pmtest:1'
        $paths = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:R)).GetLayerPaths($img)
        Test-Path "$($paths[0])/bin/busybox" | Should -BeTrue
        (Get-StoreErrors $script:R).Count | Should -Be 0
    }

    It 'imports the anchors'' <File> when present' -TestCases @(
        @{ File = 'busybox-test.docker.tar' }
        @{ File = 'busybox-test.oci.tar' }
    ) {
        $p = "/tmp/anchors/images/$File"
        if (-not (Test-Prerequisite -Condition (Test-Path $p) -Because "the anchors' $File (../shared/anchors/setup.sh makes it)")) { return }
        $img = Import-ContainerImage -LiteralPath $p -StorageRoot $script:R
        $ref = (& skopeo inspect --config "$(if ($File -like '*.oci.tar') { 'oci-archive' } else { 'docker-archive' }):$p" | ConvertFrom-Json)
        $img.LayerDiffIds | Should -Be @($ref.rootfs.diff_ids)
    }

    It 'pipes files by property name and honours -WhatIf' {
        if (-not (Test-Prerequisite -Condition ($null -ne $script:Pm) -Because 'podman (as root) makes the archives')) { return }
        Get-Item $script:Pm.Docker | Import-ContainerImage -StorageRoot $script:R -WhatIf
        @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
        $img = Get-Item $script:Pm.Docker | Import-ContainerImage -StorageRoot $script:R -Name extra:1
        $img.RepoTags | Should -Contain 'extra:1'
        $img.RepoTags | Should -Contain 'localhost/pmtest:1'
    }
}

Describe 'Import-ContainerImage -RootFs' {
    BeforeEach { $script:R = New-TestStorageRoot }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'makes an image from a directory with -Change config' {
        $rootfs = New-BusyboxRootFs "$script:Work/bb-$([guid]::NewGuid().ToString('N').Substring(0,6))"
        $img = Import-ContainerImage -RootFs -LiteralPath $rootfs -Name bb:1 -StorageRoot $script:R -Message 'from test' -Change @(
            'CMD ["sh","-c","echo hi"]', 'ENTRYPOINT ["/bin/busybox"]', 'ENV A=1 B="two words"', 'WORKDIR /tmp', 'USER app',
            'EXPOSE 80 53/udp', 'LABEL org.test=yes', 'VOLUME /data', 'STOPSIGNAL SIGINT')
        $c = $img.Config.Config
        $c.Cmd | Should -Be @('sh', '-c', 'echo hi')
        $c.Entrypoint | Should -Be @('/bin/busybox')
        $c.Env | Should -Contain 'A=1'
        $c.Env | Should -Contain 'B=two words'
        $c.WorkingDir | Should -BeExactly '/tmp'
        $c.User | Should -BeExactly 'app'
        @($c.ExposedPorts.Keys | Sort-Object) | Should -Be @('53/udp', '80/tcp')
        $c.Labels['org.test'] | Should -BeExactly 'yes'
        @($c.Volumes.Keys) | Should -Be @('/data')
        $c.StopSignal | Should -BeExactly 'SIGINT'
        $img.RepoTags | Should -Be @('bb:1')
        $layer = ([Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:R)).GetLayerPaths($img))[0]
        (Get-Item "$layer/bin/sh").LinkTarget | Should -BeExactly 'busybox'
        (& stat -c '%a' "$layer/tmp") | Should -BeExactly '1777'
        (Get-ContainerImageHistory bb:1 -StorageRoot $script:R)[0].Comment | Should -BeExactly 'from test'
    }

    It 'makes an image from a gzip tar, keeping the compressed blob' {
        $rootfs = New-BusyboxRootFs "$script:Work/bbz-$([guid]::NewGuid().ToString('N').Substring(0,6))"
        & tar -C $rootfs -czf "$rootfs.tgz" .
        $img = Import-ContainerImage -RootFs -LiteralPath "$rootfs.tgz" -Name bbz:1 -StorageRoot $script:R
        $img.Layers[0].MediaType | Should -BeExactly 'application/vnd.oci.image.layer.v1.tar+gzip'
        $img.Layers[0].BlobDigest | Should -BeExactly ('sha256:' + (Get-FileHash "$rootfs.tgz" -Algorithm SHA256).Hash.ToLowerInvariant())
        $img.LayerDiffIds[0] | Should -BeExactly ('sha256:' + (& bash -c "gzip -dc '$rootfs.tgz' | sha256sum").Split(' ')[0])
    }

    It 'imports a Debian minbase root file system and keeps ownership, modes, devices and hard links' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'unpacking device nodes and ownership needs root')) { return }
        $deb = Get-DebianRootFs
        if (-not (Test-Prerequisite -Condition ($null -ne $deb) -Because 'debootstrap makes the Debian root file system')) { return }
        $img = Import-ContainerImage -RootFs -LiteralPath $deb -Name debian:minbase -StorageRoot $script:R
        $layer = ([Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:R)).GetLayerPaths($img))[0]
        Test-Path "$layer/etc/debian_version" | Should -BeTrue
        foreach ($f in '/usr/bin/passwd', '/etc/shadow', '/var/mail', '/tmp') {
            if (Test-Path "$deb$f") { (& stat -c '%a %u %g %F' "$layer$f") | Should -BeExactly (& stat -c '%a %u %g %F' "$deb$f") -Because $f }
        }
        if (Test-Path "$deb/dev/null") { (& stat -c '%F %t %T' "$layer/dev/null") | Should -BeExactly (& stat -c '%F %t %T' "$deb/dev/null") }
        $img.Size | Should -BeGreaterThan 50MB
        (Get-StoreErrors $script:R).Count | Should -Be 0
    }
}

Describe 'Shared layers' {
    BeforeEach { $script:R = New-TestStorageRoot }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'two images with a common base share the layer directory, and removing one keeps it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'overlay whiteouts (mknod) need root')) { return }
        $rootfs = New-BusyboxRootFs "$script:Work/base-$([guid]::NewGuid().ToString('N').Substring(0,6))"
        $base = Import-ContainerImage -RootFs -LiteralPath $rootfs -Name base:1 -StorageRoot $script:R
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:R))
        # a container's overlay upper dir: a new file, a deleted file (whiteout) and an opaque directory
        $upper = "$script:Work/upper-$([guid]::NewGuid().ToString('N').Substring(0,6))"
        New-Item -ItemType Directory -Force "$upper/etc", "$upper/var/www" | Out-Null
        Set-Content "$upper/etc/added" 'new'
        & mknod "$upper/etc/group" c 0 0
        & setfattr -n trusted.overlay.opaque -v y "$upper/var/www" 2>$null
        if ($LASTEXITCODE -ne 0) { [Containers.Engine.Images.ImageStore].Assembly | Out-Null }
        $opts = [Containers.Engine.Images.CommitOptions]@{ Name = 'child:1'; Message = 'added a file'; Changes = [string[]]@('CMD ["cat","/etc/added"]') }
        $child = $store.CommitFromOverlayUpper($upper, $base, $opts, [Threading.CancellationToken]::None)
        $child.ParentId | Should -BeExactly $base.Id
        $child.LayerDiffIds.Count | Should -Be 2
        $child.LayerDiffIds[0] | Should -BeExactly $base.LayerDiffIds[0]
        $bp = $store.GetLayerPaths($base); $cp = $store.GetLayerPaths($child)
        $cp[0] | Should -BeExactly $bp[0]
        (Get-Item $cp[0]).ResolveLinkTarget($true).FullName | Should -BeExactly (Get-Item $bp[0]).ResolveLinkTarget($true).FullName
        @(Get-ChildItem "$script:R/layers" -Directory).Count | Should -Be 2
        # the committed layer: whiteout back as a 0/0 char device, new file present
        (& stat -c '%F %t %T' "$($cp[1])/etc/group") | Should -BeExactly 'character special file 0 0'
        Get-Content "$($cp[1])/etc/added" | Should -BeExactly 'new'
        $img = Get-ContainerImage child:1 -StorageRoot $script:R
        $img.SharedSize | Should -Be $base.Size
        Remove-ContainerImage base:1 -StorageRoot $script:R
        Get-ContainerImage base:1 -StorageRoot $script:R -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path "$($bp[0])/bin/busybox" | Should -BeTrue
        (Get-ContainerImage child:1 -StorageRoot $script:R).UniqueSize | Should -Be $child.Size
        (Get-StoreErrors $script:R).Count | Should -Be 0
    }
}

Describe 'Import-ContainerImage errors' {
    BeforeAll { $script:R = New-TestStorageRoot }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'fails with <ErrorId> for <Case>' -TestCases @(
        @{ Case = 'a missing path'; ErrorId = 'ImportPathNotFound'; Make = { @{ LiteralPath = '/nonexistent/x.tar' } } }
        @{ Case = 'a plain tar without -RootFs'; ErrorId = 'UnknownArchiveFormat'; Make = { & tar -C /etc -cf "$script:Work/plain.tar" hostname; @{ LiteralPath = "$script:Work/plain.tar" } } }
        @{ Case = 'a file that is no tar'; ErrorId = 'ArchiveUnreadable'; Make = { Set-Content "$script:Work/junk.tar" ('x' * 1000); @{ LiteralPath = "$script:Work/junk.tar" } } }
        @{ Case = '-RootFs without -Name'; ErrorId = 'ImportNameRequired'; Make = { @{ LiteralPath = '/etc/hostname'; RootFs = $true } } }
        @{ Case = 'a bad -Change'; ErrorId = 'InvalidChange'; Make = { @{ LiteralPath = '/etc/hostname'; RootFs = $true; Name = 'x:1'; Change = 'RUN rm -rf /' } } }
        @{ Case = 'an upper-case name'; ErrorId = 'InvalidReferenceNotLowercase'; Make = { @{ LiteralPath = '/etc/hostname'; RootFs = $true; Name = 'Bad' } } }
    ) {
        $params = & $Make
        { Import-ContainerImage @params -StorageRoot $script:R -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,Containers.Cmdlets.Images.ImportContainerImageCommand"
        @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
    }
}
