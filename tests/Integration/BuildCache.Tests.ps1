# The build cache: a rebuild of an unchanged Dockerfile takes every step from the cache (same image id, no
# container, no layer packed), a changed COPY source or build arg invalidates from its step on, the cache
# survives a new pwsh session, -NoCache executes every step, Remove-ContainerBuildCache / Clear-ContainerStore
# free it, Get-ContainerDiskUsage counts it, and Test-ContainerStore (-Repair) knows its records.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:root = New-TestStorageRoot 'build-cache'
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        Import-ContainerImage -RootFs -LiteralPath $rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
    }
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }

    function script:NewContext([string] $Name) {
        $ctx = Join-Path $script:root $Name
        New-Item -ItemType Directory -Path "$ctx/src" -Force | Out-Null
        # contents differ per context: a build in one context never hits another's COPY entries
        1..20 | ForEach-Object { Set-Content -LiteralPath "$ctx/src/f$_.txt" -Value "$Name file $_" -NoNewline }
        Set-Content -LiteralPath "$ctx/other.txt" -Value 'other' -NoNewline
        Set-Content -LiteralPath "$ctx/ignored.log" -Value 'log 1' -NoNewline
        Set-Content -LiteralPath "$ctx/.dockerignore" -Value '*.log'
        $ctx
    }
    # the steps of the last build (the BuildStep objects on the information stream) in $script:steps
    function script:Build([string] $Ctx, [string] $Dockerfile, [hashtable] $Extra = @{}) {
        $img = Build-ContainerImage -Path $Ctx -InlineDockerfile $Dockerfile -Network none -InformationVariable iv @Extra
        $script:steps = @($iv | Where-Object { $_.Tags -contains 'BuildStep' } | ForEach-Object MessageData)
        $img
    }
    function script:Cached { @($script:steps | Where-Object Cached | ForEach-Object { $_.Text.Split(' ')[0] + ' ' + $_.Number }) }
    function script:Executed { @($script:steps | Where-Object { -not $_.Cached } | ForEach-Object { $_.Text.Split(' ')[0] + ' ' + $_.Number }) }
    function script:Run([string] $Image, [string] $Script) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Command sh, -c, $Script
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.TrimEnd()
    }
    function script:CacheFiles { @(Get-ChildItem -LiteralPath (Join-Path $script:root 'buildcache') -Filter '*.json' -ErrorAction SilentlyContinue) }
    function script:LayerCount { @(Get-ChildItem -LiteralPath (Join-Path $script:root 'layers') -Directory -ErrorAction SilentlyContinue).Count }

    $script:df = @'
FROM busybox
ARG V=1
ENV APP=demo
COPY src/ /app/
RUN echo "v=$V" > /v && ls /app | wc -l > /count
COPY other.txt /other.txt
RUN cat /other.txt > /other.copy
WORKDIR /app
USER 1000
CMD ["cat", "/v"]
'@
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build cache' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'rebuilds an unchanged Dockerfile from the cache: same image id, every step cached, no container, no new layer' {
        $ctx = NewContext 'ctx-same'
        $a = Build $ctx $script:df -Extra @{ Tag = 'cache-same:1' }
        Executed | Should -Be @('FROM 1', 'ARG 2', 'ENV 3', 'COPY 4', 'RUN 5', 'COPY 6', 'RUN 7', 'WORKDIR 8', 'USER 9', 'CMD 10')
        $layers = LayerCount
        $since = [DateTime]::UtcNow
        # a file's times change, its content does not; an ignored file changes: neither is part of the key
        (Get-Item "$ctx/src/f3.txt").LastWriteTime = [DateTime]::Now.AddDays(-3)
        Set-Content -LiteralPath "$ctx/ignored.log" -Value 'log 2' -NoNewline
        $b = Build $ctx $script:df -Extra @{ Tag = 'cache-same:2' }
        $b.Id | Should -Be $a.Id
        Executed | Should -Be @('FROM 1')
        Cached | Should -Be @('ARG 2', 'ENV 3', 'COPY 4', 'RUN 5', 'COPY 6', 'RUN 7', 'WORKDIR 8', 'USER 9', 'CMD 10')
        LayerCount | Should -Be $layers
        @(Get-ContainerEvent -Since $since -Type Container).Count | Should -Be 0
        Run 'cache-same:2' 'cat /v /count' | Should -Be "v=1`n20"
    }

    It 'executes from a changed COPY source on, and takes the steps before it from the cache' {
        $ctx = NewContext 'ctx-copy'
        Build $ctx $script:df | Out-Null
        Set-Content -LiteralPath "$ctx/other.txt" -Value 'changed' -NoNewline
        $img = Build $ctx $script:df -Extra @{ Tag = 'cache-copy:1' }
        Cached | Should -Be @('ARG 2', 'ENV 3', 'COPY 4', 'RUN 5')
        Executed | Should -Be @('FROM 1', 'COPY 6', 'RUN 7', 'WORKDIR 8', 'USER 9', 'CMD 10')
        Run 'cache-copy:1' 'cat /other.copy' | Should -Be 'changed'
        # a changed mode is a changed source too
        & chmod 0600 "$ctx/src/f1.txt"
        Build $ctx $script:df | Out-Null
        Cached | Should -Be @('ARG 2', 'ENV 3')
        # a new file in a copied directory as well
        Set-Content -LiteralPath "$ctx/src/new.txt" -Value 'new' -NoNewline
        $img = Build $ctx $script:df -Extra @{ Tag = 'cache-copy:2' }
        Cached | Should -Be @('ARG 2', 'ENV 3')
        Run 'cache-copy:2' 'cat /count' | Should -Be '21'
    }

    It 'executes a RUN again when a build arg it sees changes, and reuses it when the value comes back' {
        $ctx = NewContext 'ctx-arg'
        Build $ctx $script:df | Out-Null
        $img = Build $ctx $script:df -Extra @{ BuildArg = @{ V = '2' }; Tag = 'cache-arg:2' }
        Cached | Should -Be @('ARG 2', 'ENV 3', 'COPY 4')
        Executed | Should -Contain 'RUN 5'
        Run 'cache-arg:2' 'cat /v' | Should -Be 'v=2'
        $back = Build $ctx $script:df -Extra @{ BuildArg = @{ V = '1' } }
        Executed | Should -Be @('FROM 1')
    }

    It 'keeps the cache for a new pwsh session' {
        $ctx = NewContext 'ctx-session'
        $dfFile = Join-Path $ctx 'Dockerfile'
        Set-Content -LiteralPath $dfFile -Value $script:df
        $a = Build-ContainerImage -Path $ctx -File $dfFile -Network none
        $script:cmd = @"
Import-Module '$($script:ModulePath)'
`$img = Build-ContainerImage -StorageRoot '$($script:root)' -Path '$ctx' -File '$dfFile' -Network none -InformationVariable iv
`$steps = @(`$iv | Where-Object { `$_.Tags -contains 'BuildStep' } | ForEach-Object MessageData)
"`$(`$img.Id) `$(@(`$steps | Where-Object Cached).Count) `$(`$steps.Count)"
"@
        # the pwsh this test runs in; under `dotnet pwsh` that is `dotnet .../pwsh.dll` (as the crash suite starts it)
        $exe = (Get-Process -Id $PID).Path
        $self = [IO.File]::ReadAllText("/proc/$PID/cmdline").Split([char]0)
        $pre = @(if ((Split-Path $exe -Leaf) -like 'dotnet*') { if ($self.Count -gt 1 -and $self[1] -like '*pwsh.dll') { $self[1] } else { 'pwsh' } })
        $out = & $exe @pre -NoProfile -NonInteractive -Command $script:cmd
        $LASTEXITCODE | Should -Be 0
        "$out".Trim() | Should -Be "$($a.Id) 9 10"
    }

    It 'executes every step with -NoCache, and the result still feeds the cache' {
        $ctx = NewContext 'ctx-nocache'
        Build $ctx $script:df | Out-Null
        Build $ctx $script:df -Extra @{ NoCache = $true } | Out-Null
        Cached | Should -BeNullOrEmpty
        Build $ctx $script:df | Out-Null
        Executed | Should -Be @('FROM 1')
    }

    It 'counts the cache in Get-ContainerDiskUsage, and Remove-ContainerBuildCache frees the dangling entries (-WhatIf removes nothing)' {
        $ctx = NewContext 'ctx-prune'
        $img = Build $ctx "FROM busybox`nRUN dd if=/dev/zero of=/big bs=1024 count=512 2>/dev/null`nCMD [`"true`"]" -Extra @{ Tag = 'cache-prune:1' }
        $row = Get-ContainerDiskUsage -Kind BuildCache
        $row.Count | Should -BeGreaterThan 0
        $row.Size | Should -BeGreaterOrEqual 524288
        # the image is built on its entries: nothing dangling, nothing to free
        @(Remove-ContainerBuildCache -Confirm:$false | Where-Object { $_.Name -like '*dd if=*' }) | Should -BeNullOrEmpty
        Remove-ContainerImage cache-prune:1 -Force | Out-Null
        $before = @(CacheFiles).Count
        $layers = LayerCount
        Remove-ContainerBuildCache -WhatIf | Should -BeNullOrEmpty
        @(CacheFiles).Count | Should -Be $before
        # an age filter that no entry meets keeps them
        @(Remove-ContainerBuildCache -Filter 'until=1h' -Confirm:$false) | Should -BeNullOrEmpty
        $removed = @(Remove-ContainerBuildCache -Confirm:$false)
        @($removed | Where-Object { $_.Name -like '*dd if=*' }).Count | Should -Be 1
        ($removed | Measure-Object ReclaimedBytes -Sum).Sum | Should -BeGreaterOrEqual 524288
        $removed[0].Kind | Should -Be 'BuildCache'
        LayerCount | Should -BeLessThan $layers
        @(CacheFiles).Count | Should -Be ($before - $removed.Count)
        # the next build of it executes the RUN again
        Build $ctx "FROM busybox`nRUN dd if=/dev/zero of=/big bs=1024 count=512 2>/dev/null`nCMD [`"true`"]" | Out-Null
        Executed | Should -Contain 'RUN 2'
        (Get-StoreErrors $script:root).Count | Should -Be 0
    }

    It 'removes every entry with -All, and Clear-ContainerStore -Kind BuildCache -All as well' {
        $ctx = NewContext 'ctx-all'
        Build $ctx $script:df -Extra @{ Tag = 'cache-all:1' } | Out-Null
        { Remove-ContainerBuildCache -Filter 'bogus=1' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidBuildCacheFilter,Containers.Cmdlets.Store.RemoveContainerBuildCacheCommand'
        @(Remove-ContainerBuildCache -All -Confirm:$false).Count | Should -BeGreaterThan 0
        @(CacheFiles).Count | Should -Be 0
        # the image keeps its layers and runs
        Run 'cache-all:1' 'cat /v' | Should -Be 'v=1'
        Build $ctx $script:df | Out-Null
        @(CacheFiles).Count | Should -BeGreaterThan 0
        $r = @(Clear-ContainerStore -Kind BuildCache -All -Confirm:$false)
        $r.Count | Should -BeGreaterThan 0
        @($r | Where-Object Kind -ne 'BuildCache') | Should -BeNullOrEmpty
        @(CacheFiles).Count | Should -Be 0
        (Get-StoreErrors $script:root).Count | Should -Be 0
    }

    It 'reports a corrupt and a broken entry in Test-ContainerStore; -Repair sets them aside without touching an image' {
        $ctx = NewContext 'ctx-check'
        $img = Build $ctx $script:df -Extra @{ Tag = 'cache-check:1' }
        $files = @(CacheFiles | Sort-Object Name)
        $files.Count | Should -BeGreaterThan 1
        # one entry garbled, one naming a layer that is not in the store
        Set-Content -LiteralPath $files[0].FullName -Value '{"key": "sha256:' -NoNewline
        $e = Get-Content -Raw -LiteralPath $files[1].FullName | ConvertFrom-Json
        $fake = 'sha256:' + ('ab' * 32)
        $cfg = $e.config | ConvertFrom-Json
        $cfg.rootfs.diff_ids += $fake
        $e.config = $cfg | ConvertTo-Json -Depth 20 -Compress
        $e.layers += [pscustomobject]@{ mediaType = 'application/vnd.oci.image.layer.v1.tar'; digest = $fake; size = 1 }
        Set-Content -LiteralPath $files[1].FullName -Value ($e | ConvertTo-Json -Depth 20 -Compress) -NoNewline
        $found = @(Test-ContainerStore)
        ($found | Where-Object Kind -eq 'BuildCacheRecordCorrupt').Target | Should -Be $files[0].FullName
        ($found | Where-Object Kind -eq 'BuildCacheEntryBroken').Target | Should -Be $files[1].FullName
        # the corrupt entry does not keep collection from running (it is no image's only reference)
        @($found | Where-Object Kind -eq 'CollectionSkipped') | Should -BeNullOrEmpty
        $layers = @($img.LayerDiffIds)
        $fixed = @(Test-ContainerStore -Repair)
        @($fixed | Where-Object { $_.Kind -like 'BuildCache*' -and -not $_.Repaired }) | Should -BeNullOrEmpty
        Test-Path -LiteralPath $files[0].FullName | Should -BeFalse
        @(Get-ChildItem -LiteralPath $files[0].DirectoryName -Filter "$($files[0].Name).corrupt-*").Count | Should -Be 1
        Test-Path -LiteralPath $files[1].FullName | Should -BeFalse
        foreach ($l in $layers) { Test-Path -LiteralPath (Join-Path $script:root "layers/$($l.Substring(7))/diff") | Should -BeTrue }
        Run 'cache-check:1' 'cat /v /other.copy' | Should -Be "v=1`nother"
        @(Test-ContainerStore | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty
        # the next build redoes what the two entries held and is whole again
        $again = Build $ctx $script:df
        Run $again.Id 'cat /v' | Should -Be 'v=1'
    }
}
