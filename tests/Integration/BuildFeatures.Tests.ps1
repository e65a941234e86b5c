# Build-ContainerImage features beyond the basic executor: heredocs in RUN and COPY, ONBUILD triggers run in the
# child, COPY --exclude/--parents/--link, RUN --mount=type=cache|tmpfs|secret|bind (mount points the image lacks
# stay out of the layer, secrets out of layers and history), checked in the built images' trees and by running them.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:root = New-TestStorageRoot 'build-features'
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        Import-ContainerImage -RootFs -LiteralPath $rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
    }
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path "$($script:ctx)/src/sub", "$($script:ctx)/docs" -Force | Out-Null
    Set-Content -LiteralPath "$($script:ctx)/src/a.txt" -Value 'a' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/src/b.md" -Value 'b' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/src/sub/c.txt" -Value 'c' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/src/sub/d.md" -Value 'd' -NoNewline
    Set-Content -LiteralPath "$($script:ctx)/docs/readme.txt" -Value 'readme' -NoNewline
    New-Item -ItemType SymbolicLink -Path "$($script:ctx)/hostetc" -Target '/etc' | Out-Null
    $script:secretFile = Join-Path $script:root 'token.txt'
    Set-Content -LiteralPath $script:secretFile -Value 's3cr3t-value' -NoNewline

    # archives for ADD: one tree as plain tar, gzip, bzip2 and xz; a gzip file that is no tar; a hostile tar
    $entries = @(@{ Name = 'pkg/'; Type = 'Dir' }, @{ Name = 'pkg/bin/'; Type = 'Dir' }, @{ Name = 'pkg/bin/tool'; Data = 'tool'; Mode = 493 },
        @{ Name = 'pkg/link'; Type = 'Symlink'; Link = 'bin/tool' }, @{ Name = 'pkg/owned'; Data = 'o'; Uid = 1000; Gid = 2000 })
    New-LayerTar -Path "$($script:ctx)/arch.tar" -Entries $entries | Out-Null
    foreach ($z in @(@('gzip', 'gz'), @('bzip2', 'bz2'), @('xz', 'xz'))) {
        & bash -c "$($z[0]) -c '$($script:ctx)/arch.tar' > '$($script:ctx)/arch.tar.$($z[1])'"
    }
    & bash -c "echo plain text | gzip -c > '$($script:ctx)/notes.gz'"
    $script:outside = Join-Path $script:root 'outside'
    New-Item -ItemType Directory -Path $script:outside | Out-Null
    New-Item -ItemType Directory -Path "$($script:ctx)/evil" | Out-Null
    New-LayerTar -Path "$($script:ctx)/evil/up.tar" -Entries @(@{ Name = "../../../../../../../..$($script:outside)/pwned"; Data = 'x' }) | Out-Null
    New-LayerTar -Path "$($script:ctx)/evil/link.tar" -Entries @(@{ Name = 'l'; Type = 'Symlink'; Link = $script:outside }, @{ Name = 'l/pwned'; Data = 'x' }) | Out-Null

    # a loopback HTTP server for ADD <url> (python's http.server on a free port, stopped by its PID)
    $script:www = Join-Path $script:root 'www'
    New-Item -ItemType Directory -Path $script:www | Out-Null
    Set-Content -LiteralPath "$($script:www)/file.txt" -Value 'downloaded' -NoNewline
    $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $script:port = $l.LocalEndpoint.Port; $l.Stop()
    $script:http = Start-Process -FilePath python3 -ArgumentList '-m', 'http.server', "$($script:port)", '--bind', '127.0.0.1', '--directory', $script:www -PassThru -RedirectStandardError (Join-Path $script:root 'http.err') -RedirectStandardOutput (Join-Path $script:root 'http.out')
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ([DateTime]::UtcNow -lt $deadline) {
        try { $c = [Net.Sockets.TcpClient]::new('127.0.0.1', $script:port); $c.Dispose(); break } catch { Start-Sleep -Milliseconds 100 }
    }

    function script:Build([string] $Dockerfile, [hashtable] $Extra = @{}) {
        Build-ContainerImage -Path $script:ctx -InlineDockerfile $Dockerfile -Network none @Extra
    }
    function script:Run([string] $Image, [string] $Script) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Command sh, -c, $Script
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.TrimEnd()
    }
    # every path in the image's layers (tar listings of the layer blobs), without the base's
    function script:LayerPaths($Image) {
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        $base = @((Get-ContainerImage busybox:latest).LayerDiffIds)
        foreach ($l in $Image.Layers) {
            if ($base -contains $l.DiffId) { continue }
            $s = $store.OpenLayerBlob($l)
            try {
                $r = [System.Formats.Tar.TarReader]::new($s)
                while ($null -ne ($e = $r.GetNextEntry())) { $e.Name.TrimEnd('/') }
            }
            finally { $s.Dispose() }
        }
    }
}
AfterAll {
    if ($script:http) { Stop-Process -Id $script:http.Id -ErrorAction SilentlyContinue }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage features' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'runs RUN heredocs: a lone heredoc with the shell, a #! script by its interpreter, a command reading one' {
        $img = Build @'
FROM busybox
ARG WHO=world
RUN <<EOF
echo "hello $WHO" > /one
echo second line >> /one
EOF
RUN <<EOF
#!/bin/sh -e
echo "script $0" > /two
EOF
RUN cat <<EOT > /three
from cat
EOT
RUN <<-EOF
	echo tabs-stripped > /four
	EOF
'@ -Extra @{ Tag = 'heredoc-run:1' }
        Run 'heredoc-run:1' 'cat /one /two /three /four' | Should -Be "hello world`nsecond line`nscript /dev/pipes/EOF`nfrom cat`ntabs-stripped"
        # the script's mount is not in any layer
        @(LayerPaths $img | Where-Object { $_ -like 'dev/pipes*' }) | Should -BeNullOrEmpty
    }

    It 'copies COPY heredocs as files: expanded unless the word is quoted, 0644, --chmod, into a directory' {
        Build @'
FROM busybox
ARG NAME=expanded
COPY <<EOF /etc/greeting
name=$NAME
EOF
COPY <<'EOF' /etc/literal
name=$NAME
EOF
COPY --chmod=0755 <<A <<B /opt/
echo a
A
echo b
B
'@ -Extra @{ Tag = 'heredoc-copy:1' } | Out-Null
        Run 'heredoc-copy:1' 'cat /etc/greeting /etc/literal; stat -c "%a %u" /etc/greeting /opt/A /opt/B' |
            Should -Be "name=expanded`nname=`$NAME`n644 0`n755 0`n755 0"
    }

    It 'runs the base image''s ONBUILD triggers in the child, right after FROM, and does not pass them on' {
        Build "FROM busybox`nONBUILD RUN echo triggered > /onbuild`nONBUILD COPY src/a.txt /from-trigger.txt" -Extra @{ Tag = 'onbuild-parent:1' } | Out-Null
        (Get-ContainerImage onbuild-parent:1).Config.Config.OnBuild.Count | Should -Be 2
        $child = Build "FROM onbuild-parent:1`nRUN cat /onbuild /from-trigger.txt > /seen" -Extra @{ Tag = 'onbuild-child:1' }
        Run 'onbuild-child:1' 'cat /seen' | Should -Be "triggered`na"
        $child.Config.Config.OnBuild | Should -BeNullOrEmpty
        # the parent itself did not run them
        $r = Invoke-ContainerImage onbuild-parent:1 -Remove -Network none -Quiet -Command sh, -c, 'test -e /onbuild'
        $r.ExitCode | Should -Be 1
    }

    It 'applies COPY --exclude (with .dockerignore rules), --parents and --link' {
        Build @'
FROM busybox
COPY --exclude=*.md --exclude=sub/d.md src/ /ex/
COPY --parents src/sub/c.txt docs/readme.txt /par/
COPY --link src/a.txt /linked.txt
'@ -Extra @{ Tag = 'copyflags:1' } | Out-Null
        Run 'copyflags:1' 'cd /ex && find . | sort; cd /par && find . -type f | sort; cat /linked.txt' |
            Should -Be ".`n./a.txt`n./sub`n./sub/c.txt`n./docs/readme.txt`n./src/sub/c.txt`na"
    }

    It 'keeps RUN --mount=type=cache directories between builds, out of the layers' {
        $df = "FROM busybox`nARG N=1`nRUN --mount=type=cache,target=/var/cache/app echo run-`$N >> /var/cache/app/log && cat /var/cache/app/log > /seen"
        Build $df -Extra @{ Tag = 'cachemount:1' } | Out-Null
        $img = Build $df -Extra @{ Tag = 'cachemount:2'; BuildArg = @{ N = '2' } }
        Run 'cachemount:2' 'cat /seen' | Should -Be "run-1`nrun-2"
        @(LayerPaths $img | Where-Object { $_ -like 'var/cache*' }) | Should -BeNullOrEmpty
        Run 'cachemount:2' 'test ! -e /var/cache/app && echo absent' | Should -Be 'absent'
        # Get-ContainerDiskUsage counts the directory; Remove-ContainerBuildCache -All deletes it
        (Get-ContainerDiskUsage -Kind BuildCache).Size | Should -BeGreaterThan 0
        $removed = @(Remove-ContainerBuildCache -All -Confirm:$false | Where-Object Name -eq 'cache mount /var/cache/app')
        $removed.Count | Should -Be 1
        Build $df -Extra @{ Tag = 'cachemount:3'; BuildArg = @{ N = '3' } } | Out-Null
        Run 'cachemount:3' 'cat /seen' | Should -Be 'run-3'
    }

    It 'mounts a tmpfs for one RUN, leaving nothing of it in the layer' {
        $img = Build "FROM busybox`nRUN --mount=type=tmpfs,target=/scratch grep -q ' /scratch tmpfs' /proc/mounts && echo big > /scratch/f && echo ok > /tmpfs-ok" -Extra @{ Tag = 'tmpfsmount:1' }
        Run 'tmpfsmount:1' 'cat /tmpfs-ok; test ! -e /scratch && echo gone' | Should -Be "ok`ngone"
    }

    It 'mounts -Secret files at /run/secrets/<id> (and as an environment variable), never in a layer or the history' {
        $img = Build @'
FROM busybox
RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /token-size && stat -c %a /run/secrets/token > /token-mode
RUN --mount=type=secret,id=token,env=TOKEN test "${#TOKEN}" = 12 && echo env-ok > /env-ok
RUN --mount=type=secret,id=absent echo optional > /optional
'@ -Extra @{ Tag = 'secret:1'; Secret = "id=token,src=$($script:secretFile)" }
        Run 'secret:1' 'cat /token-size /token-mode /env-ok /optional; test ! -e /run/secrets && echo no-secrets-dir' | Should -Be "12`n400`nenv-ok`noptional`nno-secrets-dir"
        @(LayerPaths $img | Where-Object { $_ -like 'run/secrets*' }) | Should -BeNullOrEmpty
        ($img.Config.History.CreatedBy -join "`n") | Should -Not -Match 's3cr3t'
        # no layer blob holds the secret's bytes
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        foreach ($l in $img.Layers) {
            $s = $store.OpenLayerBlob($l); $ms = [IO.MemoryStream]::new(); $s.CopyTo($ms); $s.Dispose()
            [Text.Encoding]::Latin1.GetString($ms.ToArray()) | Should -Not -Match 's3cr3t-value'
        }
        { Build "FROM busybox`nRUN --mount=type=secret,id=missing,required cat /run/secrets/missing" -Extra @{ ErrorAction = 'Stop' } } |
            Should -Throw -ErrorId 'SecretNotFound,Containers.Cmdlets.Build.BuildContainerImageCommand'
        { Build "FROM busybox`nRUN true" -Extra @{ ErrorAction = 'Stop'; Secret = 'bogus' } } |
            Should -Throw -ErrorId 'InvalidBuildSecret,Containers.Cmdlets.Build.BuildContainerImageCommand'
    }

    It 'binds a context path read-only for one RUN (a context link to /etc stays in the context), and a stage''s path' {
        $img = Build @'
FROM busybox AS tools
RUN mkdir /tools && echo tool > /tools/t
FROM busybox
RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/a.txt /mnt/src/sub/c.txt > /bound && (touch /mnt/src/new 2>/dev/null && echo writable || echo readonly) > /ro
RUN --mount=type=bind,from=tools,source=/tools,target=/mnt/tools cat /mnt/tools/t > /from-stage
'@ -Extra @{ Tag = 'bindmount:1' }
        Run 'bindmount:1' 'cat /bound /ro /from-stage; test ! -e /mnt && echo no-mnt' | Should -Be "acreadonly`ntool`nno-mnt"
        # a context link to /etc is followed inside the context only (as COPY does): there is no /etc in it
        { Build "FROM busybox`nRUN --mount=type=bind,source=hostetc,target=/mnt/etc cat /mnt/etc/shadow" -Extra @{ ErrorAction = 'Stop' } } |
            Should -Throw -ErrorId 'CopySourceNotFound,Containers.Cmdlets.Build.BuildContainerImageCommand'
    }

    It 'extracts local tar archives with ADD (plain, gzip, bzip2, xz), copies other files as they are' {
        Build @'
FROM busybox
ADD arch.tar /plain/
ADD arch.tar.gz /gz
ADD arch.tar.bz2 /bz2/
ADD arch.tar.xz /xz/
ADD notes.gz /notes.gz
'@ -Extra @{ Tag = 'addarch:1' } | Out-Null
        $check = 'for d in plain gz bz2 xz; do cat /$d/pkg/bin/tool; readlink /$d/pkg/link; stat -c "%a %u:%g" /$d/pkg/bin/tool /$d/pkg/owned; done; gzip -dc /notes.gz'
        $one = "toolbin/tool`n755 0:0`n644 1000:2000"
        Run 'addarch:1' $check | Should -Be (@($one, $one, $one, $one, 'plain text') -join "`n")
    }

    It 'refuses a hostile archive in ADD (<Name>) and writes nothing outside' -TestCases @(
        @{ Name = 'up.tar'; ErrorId = 'LayerPathTraversal' }
        @{ Name = 'link.tar'; ErrorId = 'LayerPathThroughSymlink' }
    ) {
        { Build "FROM busybox`nADD evil/$Name /x/" -Extra @{ ErrorAction = 'Stop' } } | Should -Throw -ErrorId "$ErrorId,Containers.Cmdlets.Build.BuildContainerImageCommand"
        @(Get-ChildItem -LiteralPath $script:outside -Force).Count | Should -Be 0
    }

    It 'downloads ADD <url> sources (0600, the URL''s file name), checks --checksum, and keys the cache on the content' {
        $url = "http://127.0.0.1:$($script:port)/file.txt"
        $sum = 'sha256:' + (Get-FileHash -Algorithm SHA256 -LiteralPath "$($script:www)/file.txt").Hash.ToLowerInvariant()
        $df = "FROM busybox`nADD $url /dl/`nADD --checksum=$sum $url /checked.txt`nRUN cat /dl/file.txt > /seen"
        Build $df -Extra @{ Tag = 'addurl:1' } | Out-Null
        Run 'addurl:1' 'cat /dl/file.txt /checked.txt /seen; stat -c %a /dl/file.txt' | Should -Be 'downloadeddownloadeddownloaded600'
        $wrong = 'sha256:' + ('0' * 64)
        { Build "FROM busybox`nADD --checksum=$wrong $url /x" -Extra @{ ErrorAction = 'Stop' } } | Should -Throw -ErrorId 'ChecksumMismatch,Containers.Cmdlets.Build.BuildContainerImageCommand'
        { Build "FROM busybox`nADD http://127.0.0.1:$($script:port)/missing.txt /x" -Extra @{ ErrorAction = 'Stop' } } | Should -Throw -ErrorId 'AddUrlFailed,Containers.Cmdlets.Build.BuildContainerImageCommand'
        # same content: from the cache; changed content: the step runs again
        Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nADD $url /dl/`nRUN cat /dl/file.txt > /seen" -Network none -InformationVariable iv | Out-Null
        Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nADD $url /dl/`nRUN cat /dl/file.txt > /seen" -Network none -InformationVariable iv | Out-Null
        @($iv | Where-Object { $_.Tags -contains 'BuildStep' } | ForEach-Object MessageData | Where-Object Cached).Count | Should -Be 2
        Set-Content -LiteralPath "$($script:www)/file.txt" -Value 'changed' -NoNewline
        $img = Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nADD $url /dl/`nRUN cat /dl/file.txt > /seen" -Network none -InformationVariable iv
        @($iv | Where-Object { $_.Tags -contains 'BuildStep' } | ForEach-Object MessageData | Where-Object Cached).Count | Should -Be 0
        Run $img.Id 'cat /seen' | Should -Be 'changed'
    }

    It 'makes the same trees and config as podman build --format docker for RUN --mount, ADD archives and ONBUILD' {
        if (-not (Test-Prerequisite (Test-Command podman) 'podman builds the same Dockerfiles for comparison')) { return }
        # what podman 4.3.1 (buildah 1.28) supports: cache, tmpfs, secret and bind mounts, ADD of a local archive,
        # ONBUILD triggers; podman leaves the mount points in the image (BuildKit and we remove them), so the
        # comparison lists what the steps made
        Set-Content -LiteralPath "$($script:ctx)/Parent.Dockerfile" -Value "FROM busybox`nONBUILD RUN echo from-trigger > /trig`nONBUILD COPY src/a.txt /trig-copy`nENV P=1"
        # podman keeps cache mounts outside its --root (buildah's cache directory): a fresh id each run
        $cacheId = 'cmp-' + [guid]::NewGuid().ToString('N').Substring(0, 12)
        Set-Content -LiteralPath "$($script:ctx)/Child.Dockerfile" -Value (@'
FROM parent:cmp
RUN --mount=type=cache,id=CACHEID,target=/var/cache/cmp echo x >> /var/cache/cmp/f && cat /var/cache/cmp/f > /cache-ran
RUN --mount=type=tmpfs,target=/scratch echo t > /scratch/f && cat /scratch/f > /tmpfs-ran
RUN --mount=type=secret,id=token cat /run/secrets/token > /secret-copy
RUN --mount=type=bind,source=src,target=/mnt/src cat /mnt/src/a.txt /mnt/src/sub/c.txt > /bound
ADD arch.tar.gz /x/
ADD --chmod=0640 notes.gz /notes.gz
CMD ["sh"]
'@).Replace('CACHEID', $cacheId)
        $list = 'cd / && for f in trig trig-copy cache-ran tmpfs-ran secret-copy bound notes.gz $(find x | sort); do stat -c "%n %F %a %u %g %s" "$f"; done; cat trig trig-copy cache-ran tmpfs-ran secret-copy bound; readlink x/pkg/link'
        $cfg = { param($c) "Env=$($c.Env -join ',') Cmd=$($c.Cmd -join ',') OnBuild=$(@($c.OnBuild).Count) User=$($c.User) WorkingDir=$($c.WorkingDir)" }
        Build-ContainerImage -Path $script:ctx -File "$($script:ctx)/Parent.Dockerfile" -Tag parent:cmp -Network none -Quiet | Out-Null
        $img = Build-ContainerImage -Path $script:ctx -File "$($script:ctx)/Child.Dockerfile" -Tag child:cmp -Network none -Quiet -Secret "id=token,src=$($script:secretFile)"
        $ours = Run 'child:cmp' $list
        $oursCfg = & $cfg $img.Config.Config
        $work = Join-Path $script:root 'podman'
        $p = Get-PodmanArgs $work
        Export-ContainerImage busybox:latest "$work.tar" -Format DockerArchive
        $out = & timeout 120 podman @p load -i "$work.tar" 2>&1
        $LASTEXITCODE | Should -Be 0 -Because "$out"
        try {
            $out = & timeout 300 podman @p build --format docker --pull=never --network none -t localhost/parent:cmp -f "$($script:ctx)/Parent.Dockerfile" $script:ctx 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $out = & timeout 300 podman @p build --format docker --pull=never --network none --secret "id=token,src=$($script:secretFile)" -t localhost/child:cmp -f "$($script:ctx)/Child.Dockerfile" $script:ctx 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $theirs = (& timeout 120 podman @p run --rm --network none localhost/child:cmp sh -c $list 2>&1) -join "`n"
            $ours | Should -BeExactly $theirs.TrimEnd()
            $theirsCfg = & $cfg ((& podman @p image inspect localhost/child:cmp | ConvertFrom-Json)[0].Config)
            $oursCfg | Should -BeExactly $theirsCfg
        }
        finally {
            & timeout 120 podman @p rmi -af *> $null
            & rm -rf --one-file-system $work (Get-PodmanRunRoot $work) 2>$null
        }
    }

    It 'gives the same image id for two builds of the same input with -SourceDateEpoch' {
        $df = "FROM busybox`nCOPY src/ /src/`nRUN echo built > /built && mkdir -p /d/e && touch /d/e/f`nWORKDIR /newdir`nCMD [`"true`"]"
        $a = Build $df -Extra @{ SourceDateEpoch = 1700000000; NoCache = $true }
        Start-Sleep -Milliseconds 1100
        $b = Build $df -Extra @{ SourceDateEpoch = 1700000000; NoCache = $true }
        $b.Id | Should -Be $a.Id
        @($b.LayerDiffIds) | Should -Be @($a.LayerDiffIds)
        $b.Config.Created.ToUniversalTime() | Should -Be ([DateTimeOffset]::FromUnixTimeSeconds(1700000000).UtcDateTime)
        Run $b.Id 'stat -c %Y /built /d/e/f /newdir' | Should -Be "1700000000`n1700000000`n1700000000"
        # without it the times are the build's: another id
        $c = Build $df -Extra @{ NoCache = $true }
        $c.Id | Should -Not -Be $a.Id
    }
}
