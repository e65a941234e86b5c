# Build-ContainerImage against the reference engines (issue 12, Done when): the same Dockerfiles built by
# podman build --format docker (buildah 1.28) and by us give the same file trees and the same config, for a
# multi-stage Dockerfile with every instruction and flag buildah 1.28 supports (RUN --mount is compared in
# BuildFeatures.Tests.ps1); COPY/ADD keep hard links within one instruction as buildah does; and our images run in
# podman (docker-archive and oci-archive) and in docker (docker-archive, docker load).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:root = New-TestStorageRoot 'build-gaps-interop'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    # the listings below need find and awk
    foreach ($a in 'find', 'awk', 'xargs', 'readlink', 'cut') { New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/$a" -Target busybox | Out-Null }
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null }

    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path "$($script:ctx)/hl/sub", "$($script:ctx)/dir/sub", "$($script:ctx)/arch/pkg" -Force | Out-Null
    # hard links: f1 = f2 = sub/f3, h1 = h2, g alone
    Set-Content -LiteralPath "$($script:ctx)/hl/f1" -Value 'one' -NoNewline
    & ln "$($script:ctx)/hl/f1" "$($script:ctx)/hl/f2"
    & ln "$($script:ctx)/hl/f1" "$($script:ctx)/hl/sub/f3"
    Set-Content -LiteralPath "$($script:ctx)/hl/h1" -Value 'other' -NoNewline
    & ln "$($script:ctx)/hl/h1" "$($script:ctx)/hl/h2"
    Set-Content -LiteralPath "$($script:ctx)/hl/g" -Value 'alone' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/a.txt" -Value 'alpha' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/dir/sub/c.txt" -Value 'gamma' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/arch/pkg/tool" -Value 'tool' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/app.sh" -Value "#!/bin/sh`necho `"`$GREETING `$1 uid=`$(id -u) gid=`$(id -g) pwd=`$(pwd) mode=`$MODE `$(cat built.txt)`"`n" -NoNewline
    & tar -C "$($script:ctx)/arch" -cf "$($script:ctx)/arch.tar" pkg

    function script:Run([string] $Image, [string] $Script) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -User 0 -Entrypoint sh -Command '-c', $Script -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.TrimEnd()
    }
    # the image config of a docker-archive (docker save layout), as JSON
    function script:Get-ArchiveConfig([string] $Tar) {
        $m = (& tar -xOf $Tar manifest.json | Out-String | ConvertFrom-Json)[0]
        & tar -xOf $Tar $m.Config | Out-String | ConvertFrom-Json
    }
    # what the Done-when list compares: env, cmd, entrypoint, user, workdir, exposed ports, volumes, labels,
    # healthcheck, onbuild, shell, stop signal (and the author MAINTAINER sets); buildah's own label left out
    function script:Format-Config($Cfg) {
        $c = $Cfg.config
        $names = { param($o) if ($o) { @($o.PSObject.Properties.Name | Sort-Object) -join ',' } else { '' } }
        $labels = if ($c.Labels) { @($c.Labels.PSObject.Properties | Where-Object Name -NotLike 'io.buildah.*' | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ';' } else { '' }
        $h = $c.Healthcheck
        $hc = if ($h) { "Test=$($h.Test -join '|') Interval=$($h.Interval) Timeout=$($h.Timeout) StartPeriod=$($h.StartPeriod) Retries=$($h.Retries)" } else { '' }
        @(
            "Env=$($c.Env -join ';')", "Cmd=$($c.Cmd -join '|')", "Entrypoint=$($c.Entrypoint -join '|')", "User=$($c.User)",
            "WorkingDir=$($c.WorkingDir)", "ExposedPorts=$(& $names $c.ExposedPorts)", "Volumes=$(& $names $c.Volumes)",
            "Labels=$labels", "Healthcheck=$hc", "OnBuild=$($c.OnBuild -join '|')", "Shell=$($c.Shell -join '|')",
            "StopSignal=$($c.StopSignal)", "Author=$($Cfg.author)"
        ) -join "`n"
    }
    # podman in a throw-away store with our busybox loaded; $Body gets the podman arguments
    function script:With-Podman([scriptblock] $Body) {
        $work = Join-Path $script:root ('podman-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        $p = Get-PodmanArgs $work
        Export-ContainerImage busybox:latest "$work.tar" -Format DockerArchive
        $out = & timeout 120 podman @p load -i "$work.tar" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        try { & $Body $p $work }
        finally {
            & timeout 120 podman @p rmi -af *> $null
            & rm -rf --one-file-system $work "$work.tar" (Get-PodmanRunRoot $work) 2>$null
        }
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage compared with podman build --format docker' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
        if (-not (Test-Prerequisite (Test-Command podman) 'podman builds the same Dockerfiles for comparison')) { return }
    }

    It 'keeps hard links within what one COPY or ADD copies, as buildah does' {
        $df = "FROM busybox`nCOPY hl /hl`nCOPY hl/f1 hl/f2 hl/h1 /pair/`nADD hl /added`nCOPY hl/f1 /single"
        Set-Content -LiteralPath "$($script:ctx)/Links.Dockerfile" -Value $df
        # each file: its link count and the first name (in sort order) of its inode
        $list = 'find /hl /pair /added /single -type f | sort | while read f; do stat -c "%i %n %h %s %a" "$f"; done | awk ''{ if (!($1 in first)) first[$1] = $2; print $2, $3, $4, $5, first[$1] }'''
        $null = Build-ContainerImage -Path $script:ctx -File "$($script:ctx)/Links.Dockerfile" -Tag links:ours -Network none -Quiet
        $ours = Run 'links:ours' $list
        # not one copy per name: inside /hl the three names of f1 are one file, h1 and h2 another
        ($ours -split "`n") | Should -Contain '/hl/f2 3 3 644 /hl/f1'
        ($ours -split "`n") | Should -Contain '/hl/sub/f3 3 3 644 /hl/f1'
        ($ours -split "`n") | Should -Contain '/hl/h2 2 5 644 /hl/h1'
        ($ours -split "`n") | Should -Contain '/single 1 3 644 /single'
        With-Podman {
            param($p, $work)
            $out = & timeout 300 podman @p build --format docker --pull=never --network none -t localhost/links:podman -f "$($script:ctx)/Links.Dockerfile" $script:ctx 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $theirs = (& timeout 120 podman @p run --rm --network none --entrypoint sh localhost/links:podman -c $list 2>&1) -join "`n"
            $ours | Should -BeExactly $theirs.TrimEnd()
        }
        # in the layer tar: link entries, not copies
        Export-ContainerImage links:ours "$($script:root)/links.tar" -Format DockerArchive
        $m = (& tar -xOf "$($script:root)/links.tar" manifest.json | Out-String | ConvertFrom-Json)[0]
        $copyLayer = $m.Layers[1]
        $entries = (& tar -xOf "$($script:root)/links.tar" $copyLayer | tar -tvf - 2>&1) -join "`n"
        $entries | Should -Match 'hl/f2 link to hl/f1|hl/f1 link to hl/f2|hl/sub/f3 link to'
    }

    It 'makes the same trees and config for a multi-stage Dockerfile with every instruction' {
        $df = @'
# syntax=docker/dockerfile:1
ARG BASE=busybox
ARG VERSION=1.0
FROM --platform=linux/amd64 ${BASE} AS builder
ARG VERSION
ENV BUILD_VERSION=${VERSION}
WORKDIR /build
COPY --chmod=0640 a.txt ./
COPY --chown=1000:1000 dir/ ./dir/
ADD arch.tar /build/extracted/
RUN echo "v=${BUILD_VERSION}" > /build/version && mkdir -p /out && cp -a /build/. /out/
FROM builder AS tested
RUN test -f /out/version && echo ok > /out/tested
FROM ${BASE}
LABEL org.example.name="app" org.example.multi="a b"
LABEL single=one
MAINTAINER someone@example.com
ENV PATH=/usr/local/bin:/bin A=1 B="two words"
ENV C 3
EXPOSE 8080 9090/udp
VOLUME ["/data", "/logs"]
VOLUME /cache
COPY --from=builder /out /app
COPY --from=tested /out/tested /tested
COPY --from=busybox /bin/busybox /copied-from-image
SHELL ["/bin/sh", "-ec"]
RUN echo "$A $B $C" > /shell.txt
WORKDIR /home/app
USER 1000:1000
WORKDIR /home/app/made-by-user
HEALTHCHECK --interval=5s --timeout=3s --start-period=2s --retries=4 CMD ["/bin/true"]
ONBUILD RUN echo child
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo hi"]
'@
        Set-Content -LiteralPath "$($script:ctx)/All.Dockerfile" -Value $df
        $list = 'cd / && find app tested copied-from-image shell.txt home | sort | while read f; do stat -c "%n %F %a %u %g %s" "$f"; done; cat app/version tested shell.txt; find app -type f | sort | xargs md5sum'
        $null = Build-ContainerImage -Path $script:ctx -File "$($script:ctx)/All.Dockerfile" -Tag all:ours -Network none -Quiet
        $ours = Run 'all:ours' $list
        # a WORKDIR made after USER: BuildKit makes it owned by that user (we do the same), buildah 1.28 by root;
        # the comparison below leaves that one directory's owner out
        ($ours -split "`n") | Should -Contain 'home/app/made-by-user directory 755 1000 1000 4096'
        $ours = $ours.Replace('home/app/made-by-user directory 755 1000 1000', 'home/app/made-by-user directory 755 ? ?')
        Export-ContainerImage all:ours "$($script:root)/all-ours.tar" -Format DockerArchive
        $oursCfg = Format-Config (Get-ArchiveConfig "$($script:root)/all-ours.tar")
        # the config is what the Dockerfile says (not only what podman says)
        $oursCfg | Should -Match 'ExposedPorts=8080/tcp,9090/udp'
        $oursCfg | Should -Match 'Volumes=/cache,/data,/logs'
        $oursCfg | Should -Match 'Healthcheck=Test=CMD\|/bin/true Interval=5000000000 Timeout=3000000000 StartPeriod=2000000000 Retries=4'
        With-Podman {
            param($p, $work)
            $out = & timeout 300 podman @p build --format docker --pull=never --network none -t localhost/all:podman -f "$($script:ctx)/All.Dockerfile" $script:ctx 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $theirs = (& timeout 120 podman @p run --rm --network none --no-healthcheck --entrypoint sh -u 0 localhost/all:podman -c $list 2>&1) -join "`n"
            $theirs = $theirs.Replace('home/app/made-by-user directory 755 0 0', 'home/app/made-by-user directory 755 ? ?')
            $ours | Should -BeExactly $theirs.TrimEnd()
            $out = & timeout 120 podman @p save --format docker-archive -o "$work-all.tar" localhost/all:podman 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $theirsCfg = Format-Config (Get-ArchiveConfig "$work-all.tar")
            Remove-Item -LiteralPath "$work-all.tar" -Force
            $oursCfg | Should -BeExactly $theirsCfg
        }
    }
}

Describe 'Our built images run in podman and in docker' {
    BeforeAll {
        if ($script:IsRoot) {
            $df = "FROM busybox`nENV GREETING=hello MODE=prod`nWORKDIR /srv/app`nCOPY --chown=1000:1000 app.sh ./app.sh`nRUN chmod 0755 app.sh && echo built > /srv/app/built.txt`nUSER 1000:1000`nENTRYPOINT [`"/srv/app/app.sh`"]`nCMD [`"world`"]"
            $script:runImg = Build-ContainerImage -Path $script:ctx -InlineDockerfile $df -Tag 'localhost/build-gaps-interop:1' -Network none -Quiet
            $script:expected = 'hello world uid=1000 gid=1000 pwd=/srv/app mode=prod built'
        }
    }
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'runs in our engine as built' {
        $r = Invoke-ContainerImage 'localhost/build-gaps-interop:1' -Remove -Network none -Quiet
        $r.Output.Trim() | Should -Be $script:expected
    }

    It 'runs in podman after podman load of a <Format> export' -TestCases @(@{ Format = 'DockerArchive' }, @{ Format = 'OciArchive' }) {
        if (-not (Test-Prerequisite (Test-Command podman) 'podman runs the exported image')) { return }
        $tar = Join-Path $script:root "run-$Format.tar"
        Export-ContainerImage 'localhost/build-gaps-interop:1' $tar -Format $Format
        $work = Join-Path $script:root "podman-run-$Format"
        $p = Get-PodmanArgs $work
        try {
            $out = & timeout 120 podman @p load -i $tar 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $ref = if ($Format -eq 'OciArchive') { (& podman @p images -q | Select-Object -First 1) } else { 'localhost/build-gaps-interop:1' }
            $got = (& timeout 120 podman @p run --rm --network none $ref 2>&1) -join "`n"
            $LASTEXITCODE | Should -Be 0 -Because $got
            $got.Trim() | Should -Be $script:expected
            # the config as podman reads it
            $cfg = (& podman @p image inspect $ref | ConvertFrom-Json)[0].Config
            $cfg.User | Should -Be '1000:1000'
            $cfg.WorkingDir | Should -Be '/srv/app'
            $cfg.Env | Should -Contain 'GREETING=hello'
        }
        finally {
            & timeout 120 podman @p rmi -af *> $null
            & rm -rf --one-file-system $work (Get-PodmanRunRoot $work) 2>$null
        }
    }

    It 'runs in docker after docker load of a docker-archive export' {
        $ok = (Test-Command docker) -and ((& timeout 20 docker info --format '{{.ServerVersion}}' 2>$null) -ne $null)
        if (-not (Test-Prerequisite $ok 'dockerd (../shared/anchors/setup.sh starts it) runs the exported image')) { return }
        $tar = Join-Path $script:root 'run-docker.tar'
        Export-ContainerImage 'localhost/build-gaps-interop:1' $tar -Format DockerArchive
        try {
            $out = & timeout 120 docker load -i $tar 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $got = (& timeout 120 docker run --rm --network none 'localhost/build-gaps-interop:1' 2>&1) -join "`n"
            $LASTEXITCODE | Should -Be 0 -Because $got
            $got.Trim() | Should -Be $script:expected
            (& docker image inspect 'localhost/build-gaps-interop:1' --format '{{.Config.User}} {{.Config.WorkingDir}} {{json .Config.Entrypoint}}') | Should -Be '1000:1000 /srv/app ["/srv/app/app.sh"]'
            # docker sees the same layers we built
            $ids = (& docker image inspect 'localhost/build-gaps-interop:1' --format '{{json .RootFS.Layers}}') | ConvertFrom-Json
            @($ids) | Should -Be @($script:runImg.LayerDiffIds)
        }
        finally {
            & timeout 60 docker rmi -f 'localhost/build-gaps-interop:1' *> $null
        }
    }
}
