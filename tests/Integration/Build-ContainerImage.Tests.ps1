# Build-ContainerImage: each instruction's effect checked by running the built image, multi-stage and -Target,
# COPY's destination rules (compared with podman build --format docker where it runs here), links in the context
# and in the image that must not make the build read or write outside, and a failing RUN leaving nothing behind.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:root = New-TestStorageRoot 'build'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    Set-Content -LiteralPath "$($script:rootfs)/etc/group" -Value "root:x:0:`nnogroup:x:65534:`napp:x:1000:`nstaff:x:2000:" -NoNewline
    # a link in the base image pointing out of it: a COPY through it must land in the image, never on the host
    $script:hostDir = Join-Path $script:root 'host-target'
    New-Item -ItemType Directory -Path $script:hostDir | Out-Null
    New-Item -ItemType SymbolicLink -Path "$($script:rootfs)/escape" -Target $script:hostDir | Out-Null
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null }

    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path "$($script:ctx)/dir/sub" -Force | Out-Null
    Set-Content -LiteralPath "$($script:ctx)/a.txt" -Value 'alpha' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/b.txt" -Value 'beta' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/dir/sub/c.txt" -Value 'gamma' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/dir/secret.key" -Value 'nope' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/.dockerignore" -Value "**/*.key"
    & chmod 0750 "$($script:ctx)/dir/sub"
    & chmod 0640 "$($script:ctx)/b.txt"
    New-Item -ItemType SymbolicLink -Path "$($script:ctx)/link.txt" -Target 'a.txt' | Out-Null
    New-Item -ItemType SymbolicLink -Path "$($script:ctx)/dir/sub/rel.lnk" -Target 'c.txt' | Out-Null
    # a link in the context pointing at the host's /etc
    New-Item -ItemType SymbolicLink -Path "$($script:ctx)/hostetc" -Target '/etc' | Out-Null

    # the errors and information records of the last build are kept in $script:err and $script:info
    function script:Build([string] $Dockerfile, [hashtable] $Extra = @{}) {
        Build-ContainerImage -Path $script:ctx -InlineDockerfile $Dockerfile -Network none -ErrorVariable ev -InformationVariable iv @Extra
        $script:err = @($ev)
        $script:info = @($iv)
    }
    function script:Run([string] $Image, [string] $Script) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Command sh, -c, $Script
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.TrimEnd()
    }
    function script:Leftovers {
        [pscustomobject]@{
            Containers = @(Get-Container -All).Count
            Images     = @(Get-ContainerImage -StorageRoot $script:root).Count
            Tmp        = @(Get-ChildItem -LiteralPath (Join-Path $script:root 'tmp') -ErrorAction SilentlyContinue).Count
        }
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'applies every metadata instruction to the config, with empty_layer history entries' {
        $img = Build @'
FROM busybox
MAINTAINER someone@example.com
ARG V=1.2
ENV APP_VERSION=$V OTHER="two words"
LABEL org.example.v=$V "with space"="x y"
EXPOSE 80 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD ["true"]
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo child
USER app:staff
ENTRYPOINT ["/bin/echo"]
CMD ["hello"]
'@ -Extra @{ Tag = 'meta:1'; Label = @{ 'from.cli' = 'yes' } }
        $c = $img.Config.Config
        $c.Env | Should -Contain 'APP_VERSION=1.2'
        $c.Env | Should -Contain 'OTHER=two words'
        $c.Labels['org.example.v'] | Should -Be '1.2'
        $c.Labels['with space'] | Should -Be 'x y'
        $c.Labels['from.cli'] | Should -Be 'yes'
        @($c.ExposedPorts.Keys | Sort-Object) | Should -Be @('53/udp', '80/tcp')
        @($c.Volumes.Keys) | Should -Be @('/data')
        $c.StopSignal | Should -Be 'SIGINT'
        $hc = $c.Healthcheck
        @($hc.GetProperty('Test').EnumerateArray() | ForEach-Object GetString) | Should -Be @('CMD', 'true')
        $hc.GetProperty('Interval').GetInt64() | Should -Be 5000000000
        $hc.GetProperty('Retries').GetInt32() | Should -Be 4
        @($c.Shell) | Should -Be @('/bin/sh', '-ec')
        @($c.OnBuild) | Should -Be @('RUN echo child')
        $c.User | Should -Be 'app:staff'
        @($c.Entrypoint) | Should -Be @('/bin/echo')
        @($c.Cmd) | Should -Be @('hello')
        $img.Config.Author | Should -Be 'someone@example.com'
        # ARG's value is not in the config's environment
        @($c.Env | Where-Object { $_ -like 'V=*' }) | Should -BeNullOrEmpty
        $h = @($img.Config.History)
        @($h | Select-Object -Skip 1 | Where-Object { -not $_.EmptyLayer }) | Should -BeNullOrEmpty
        @($img.LayerDiffIds).Count | Should -Be 1
        # the image runs as configured
        (Invoke-ContainerImage meta:1 -Remove -Network none -Quiet).Output.Trim() | Should -Be 'hello'
        (Invoke-ContainerImage meta:1 -Remove -Network none -Quiet -Entrypoint sh -Command '-c', 'id -u; id -g').Output.Trim() -split "`n" | Should -Be @('1000', '2000')
    }

    It 'records the base name and digest as OCI annotations, and the base as the parent' {
        $img = Build "FROM busybox`nLABEL x=y" -Extra @{ Tag = 'based:1' }
        $base = Get-ContainerImage busybox:latest
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        $m = [Text.Encoding]::UTF8.GetString($store.ReadManifest($img)) | ConvertFrom-Json
        $m.annotations.'org.opencontainers.image.base.name' | Should -Be 'busybox'
        $m.annotations.'org.opencontainers.image.base.digest' | Should -Be $base.ManifestDigest
        $img.ParentId | Should -Be $base.Id
    }

    It 'runs RUN with ENV, ARG, WORKDIR, USER and SHELL applied, each RUN a layer, output live on the information stream' {
        $img = Build @'
FROM busybox
ARG GREETING=hi
ENV TARGET=world
WORKDIR /work/deep
RUN echo "$GREETING $TARGET" > msg && pwd > where && echo visible-line
USER app
RUN id -u > /tmp/uid
SHELL ["/bin/sh", "-c", "echo shell-used > /tmp/shell; eval \"$1\"", "sh"]
USER root
RUN true
'@ -Extra @{ Tag = 'run:1' }
        Run 'run:1' 'cat /work/deep/msg /work/deep/where /tmp/uid /tmp/shell' | Should -Be "hi world`n/work/deep`n1000`nshell-used"
        @($script:info | ForEach-Object { $_.MessageData.Message }) | Should -Contain 'visible-line'
        # WORKDIR made a layer (the directory was new); each RUN with changes a layer; RUN true changed nothing
        $h = @($img.Config.History)
        ($h | Where-Object CreatedBy -like 'WORKDIR*').EmptyLayer | Should -BeNullOrEmpty
        $last = $h[-1]
        $last.CreatedBy | Should -BeLike 'RUN *true*'
        $h.Count - @($h | Where-Object EmptyLayer).Count | Should -Be @($img.LayerDiffIds).Count
    }

    It 'is silent with -Quiet' {
        $null = Build "FROM busybox`nRUN echo should-not-show" -Extra @{ Quiet = $true }
        @($script:info) | Should -BeNullOrEmpty
    }

    It 'takes the Dockerfile from the pipeline and from the context (Containerfile before Dockerfile)' {
        $img = "FROM busybox", "LABEL piped=1" | Build-ContainerImage -Path $script:ctx -Network none
        $img.Config.Config.Labels['piped'] | Should -Be '1'
        $c2 = Join-Path $script:root 'ctx2'
        New-Item -ItemType Directory $c2 | Out-Null
        Set-Content "$c2/Containerfile" "FROM busybox`nLABEL which=containerfile"
        Set-Content "$c2/Dockerfile" "FROM busybox`nLABEL which=dockerfile"
        (Build-ContainerImage -Path $c2 -Network none).Config.Config.Labels['which'] | Should -Be 'containerfile'
        (Build-ContainerImage -Path $c2 -File "$c2/Dockerfile" -Network none).Config.Config.Labels['which'] | Should -Be 'dockerfile'
    }

    It 'copies files, directories, globs and links with docker''s destination rules, after .dockerignore' {
        $null = Build @'
FROM busybox
WORKDIR /w
COPY a.txt renamed.txt
COPY a.txt b.txt /multi/
COPY dir /copied
COPY *.txt /glob/
COPY link.txt /links/
COPY --chown=app:staff --chmod=600 a.txt /owned
COPY --chown=1000 dir/sub /ownedtree/
COPY a.txt /escape/
'@ -Extra @{ Tag = 'copy:1' }
        Run 'copy:1' 'cat /w/renamed.txt /multi/a.txt /multi/b.txt /copied/sub/c.txt' | Should -Be 'alphaalphabetagamma'
        # a source that is a link is followed (BuildKit); a link inside a copied directory stays a link
        Run 'copy:1' 'ls /copied; ls /glob; cat /links/link.txt; echo; test -L /links/link.txt || echo not-a-link; readlink /copied/sub/rel.lnk' | Should -Be "sub`na.txt`nb.txt`nlink.txt`nalpha`nnot-a-link`nc.txt"
        Run 'copy:1' 'stat -c "%a %u %g" /owned /multi/b.txt /copied/sub /ownedtree/c.txt' | Should -Be "600 1000 2000`n640 0 0`n750 0 0`n644 1000 1000"
        # .dockerignore left the key out
        Run 'copy:1' 'test ! -e /copied/secret.key && echo gone' | Should -Be 'gone'
        # /escape is a link to a host directory in the image: the file is in the image, nothing was written on the host
        @(Get-ChildItem -LiteralPath $script:hostDir -Force) | Should -BeNullOrEmpty
    }

    It 'makes the same COPY trees as podman build --format docker' {
        if (-not (Test-Prerequisite (Test-Command podman) 'podman builds the same Dockerfile for comparison')) { return }
        $df = @"
FROM busybox
WORKDIR /w
COPY a.txt renamed.txt
COPY a.txt b.txt /multi/
COPY dir /copied
COPY *.txt /glob/
COPY link.txt /links/
COPY --chown=app:staff --chmod=600 a.txt /owned
COPY --chown=1000 dir/sub /ownedtree/
COPY dir/sub/ /trail
COPY a.txt /w/sub/deeper/
"@
        Set-Content -LiteralPath "$($script:ctx)/Compare.Dockerfile" -Value $df
        $list = 'cd / && find w multi copied glob links owned ownedtree trail | sort | while read f; do stat -c "%n %F %a %u %g %s" "$f"; done; readlink links/link.txt; cat w/renamed.txt trail/c.txt'
        $null = Build-ContainerImage -Path $script:ctx -File "$($script:ctx)/Compare.Dockerfile" -Tag cmp:ours -Network none -Quiet
        $ours = Run 'cmp:ours' $list
        $work = Join-Path $script:root 'podman'
        $p = Get-PodmanArgs $work
        Export-ContainerImage busybox:latest "$work.tar" -Format DockerArchive
        $out = & timeout 120 podman @p load -i "$work.tar" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        try {
            $out = & timeout 300 podman @p build --format docker --pull=never --network none -t localhost/cmp:podman -f "$($script:ctx)/Compare.Dockerfile" $script:ctx 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $theirs = (& timeout 120 podman @p run --rm --network none localhost/cmp:podman sh -c $list 2>&1) -join "`n"
            $ours | Should -BeExactly $theirs.TrimEnd()
        }
        finally {
            & timeout 120 podman @p rmi -af *> $null
            & rm -rf --one-file-system $work (Get-PodmanRunRoot $work) 2>$null
        }
    }

    It 'never follows a link in the context out of it' {
        $null = Build "FROM busybox`nCOPY hostetc/passwd /stolen" -Extra @{ ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'CopySourceNotFound*'
        # a source that is a link is followed inside the context only: /etc is the context's /etc, which it lacks
        $null = Build "FROM busybox`nCOPY hostetc /l/" -Extra @{ ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'CopySourceNotFound*'
        # a link to an absolute path that the context has resolves there, not on the host
        New-Item -ItemType SymbolicLink -Path "$($script:ctx)/abs.lnk" -Target '/a.txt' | Out-Null
        try {
            $null = Build "FROM busybox`nCOPY abs.lnk /abs" -Extra @{ Tag = 'ctxlink:1' }
            Run 'ctxlink:1' 'cat /abs' | Should -Be 'alpha'
        }
        finally { Remove-Item -LiteralPath "$($script:ctx)/abs.lnk" }
    }

    It 'builds multi-stage images with COPY --from and -Target, skipping stages the target does not need' {
        $df = @'
FROM busybox AS builder
RUN echo built-here > /artifact
FROM busybox AS broken
RUN exit 3
FROM scratch AS files
COPY --from=builder /artifact /a2
FROM busybox
COPY --from=files /a2 /final/
COPY --from=busybox:latest /bin/busybox /copied-busybox
'@
        $img = Build $df -Extra @{ Tag = 'multi:1' }
        Run 'multi:1' 'cat /final/a2; test -x /copied-busybox && echo exe' | Should -Be "built-here`nexe"
        $t = Build $df -Extra @{ Target = 'files'; Tag = 'multi:files' }
        @($t.LayerDiffIds).Count | Should -Be 1
        $null = Build $df -Extra @{ Target = 'broken'; ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'BuildStepFailed*'
        $null = Build $df -Extra @{ Target = 'nosuch'; ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'BuildTargetNotFound*'
    }

    It 'fails a RUN with BuildStepFailed naming the line and exit code, leaving no container, image or staging behind' {
        $before = Leftovers
        $r = Build "FROM busybox`nRUN echo one > /one`nCOPY a.txt /`nRUN echo about to fail; exit 7`nRUN echo never" -Extra @{ ErrorAction = 'SilentlyContinue'; Tag = 'failed:1' }
        $r | Should -BeNullOrEmpty
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'BuildStepFailed*'
        $script:err[0].Exception.Message | Should -Match 'line 4'
        $script:err[0].Exception.Message | Should -Match 'exit code 7'
        $after = Leftovers
        $after.Containers | Should -Be $before.Containers
        $after.Images | Should -Be $before.Images
        $after.Tmp | Should -Be 0
        Get-ContainerImage failed:1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'stopped with Ctrl+C during a RUN, leaves no container, image or staging behind' {
        $before = Leftovers
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$($script:ModulePath)'; Build-ContainerImage -StorageRoot '$($script:root)' -Path '$($script:ctx)' -Network none -Tag stopped:1 -InlineDockerfile ""FROM busybox``nCOPY a.txt /``nRUN sleep 60""")
            $async = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (@(Get-Container | Where-Object Status -eq 'Running').Count -eq 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            @(Get-Container | Where-Object Status -eq 'Running').Count | Should -Be 1
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 30
        }
        finally { $ps.Dispose() }
        $after = Leftovers
        $after.Containers | Should -Be $before.Containers
        $after.Images | Should -Be $before.Images
        $after.Tmp | Should -Be 0
        Get-ContainerImage stopped:1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'refuses what it cannot build with clear errors' -TestCases @(
        @{ Df = "FROM busybox`nADD git@example.invalid:x/y.git /x"; Id = 'AddUrlNotSupported' }
        @{ Df = "FROM nosuchimage:1"; Id = 'ImageNotFound'; Pull = 'Never' }
        @{ Df = "FROM --platform=linux/arm64 busybox"; Id = 'PlatformNotSupported' }
        @{ Df = "FROM busybox`nCOPY missing.txt /"; Id = 'CopySourceNotFound' }
        @{ Df = "FROM scratch`nRUN true"; Id = 'RunOnEmptyImage' }
    ) {
        # FROM a name the store lacks with -Pull Never: the default (Missing) would ask Docker Hub for it
        $extra = @{ ErrorAction = 'SilentlyContinue' }
        if ($Pull) { $extra.Pull = $Pull }
        $null = Build $Df -Extra $extra
        $script:err[0].FullyQualifiedErrorId | Should -BeLike "$Id*"
        $null = Build "FROM busybox" -Extra @{ Platform = 'linux/arm64'; ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'PlatformNotSupported*'
    }
}
