# Build-ContainerImage's progress and output (issue 12, item 1): Write-Progress with step n/m and the instruction,
# each RUN's output on the information stream as it arrives (a RUN that waits until the test has seen its first
# line proves it), -Quiet silences both; and base tracking of an image whose FROM is a build stage records the
# stage's base.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'build-gaps-progress'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        Import-ContainerImage -RootFs -LiteralPath $rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
    }
    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path $script:ctx | Out-Null
    # a build in its own runspace, so the test can watch its streams while it runs
    function script:Start-Build([string] $Dockerfile, [hashtable] $Extra = @{}) {
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
                param($Module, $Root, $Ctx, $Df, $Extra)
                Import-Module $Module
                $ProgressPreference = 'Continue'
                Build-ContainerImage -Path $Ctx -InlineDockerfile $Df -Network none -StorageRoot $Root @Extra
            }).AddArgument($script:ModulePath).AddArgument($script:root).AddArgument($script:ctx).AddArgument($Dockerfile).AddArgument($Extra)
        [pscustomobject]@{ PS = $ps; Handle = $ps.BeginInvoke() }
    }
    function script:Wait-Build($B) { $B.PS.EndInvoke($B.Handle) }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage progress and output' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'writes each RUN line to the information stream as it arrives, not when the step ends' {
        $id = 'live-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        # the cache mount's directory on the host: the test drops the go file there once it saw the RUN's first line
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($id))).ToLowerInvariant()
        $go = Join-Path $script:root "buildcache-mounts/$hash/data/go"
        $df = "FROM busybox`nRUN --mount=type=cache,id=$id,target=/c echo waiting-for-go; i=0; while [ ! -e /c/go ]; do i=`$((i+1)); [ `$i -gt 300 ] && exit 9; sleep 0.2; done; echo got-go"
        $b = Start-Build $df @{ NoCache = $true; Tag = 'live:1' }
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(120)
            while (-not (@($b.PS.Streams.Information | ForEach-Object { "$($_.MessageData)" }) -contains 'waiting-for-go')) {
                if ($b.Handle.IsCompleted -or [DateTime]::UtcNow -gt $deadline) { break }
                Start-Sleep -Milliseconds 100
            }
            # the line came while the RUN still waits
            $b.Handle.IsCompleted | Should -BeFalse
            @($b.PS.Streams.Information | ForEach-Object { "$($_.MessageData)" }) | Should -Contain 'waiting-for-go'
            New-Item -ItemType File -Path $go | Out-Null
            $img = Wait-Build $b
            $b.PS.Streams.Error | Should -BeNullOrEmpty
            @($img).Count | Should -Be 1
            @($b.PS.Streams.Information | ForEach-Object { "$($_.MessageData)" }) | Should -Contain 'got-go'
        }
        finally { $b.PS.Dispose() }
    }

    It 'draws Write-Progress with step n/m and the instruction; -Quiet draws none and writes no output' {
        $b = Start-Build "FROM busybox`nENV A=1`nRUN echo loud" @{ NoCache = $true }
        try {
            $null = Wait-Build $b
            $status = @($b.PS.Streams.Progress | Where-Object Activity -EQ 'Build-ContainerImage' | ForEach-Object StatusDescription)
            $status | Should -Contain 'Step 1/3: FROM busybox'
            $status | Should -Contain 'Step 2/3: ENV A=1'
            $status | Should -Contain 'Step 3/3: RUN echo loud'
            @($b.PS.Streams.Information | ForEach-Object { "$($_.MessageData)" }) | Should -Contain 'loud'
        }
        finally { $b.PS.Dispose() }
        $q = Start-Build "FROM busybox`nENV A=1`nRUN echo loud" @{ NoCache = $true; Quiet = $true }
        try {
            $img = Wait-Build $q
            @($img).Count | Should -Be 1
            @($q.PS.Streams.Progress) | Should -BeNullOrEmpty
            @($q.PS.Streams.Information) | Should -BeNullOrEmpty
        }
        finally { $q.PS.Dispose() }
    }

    It 'names the stage in the progress of a build of several stages' {
        $b = Start-Build "FROM busybox AS first`nRUN echo one > /one`nFROM busybox`nCOPY --from=first /one /" @{ NoCache = $true }
        try {
            $null = Wait-Build $b
            $status = @($b.PS.Streams.Progress | Where-Object Activity -EQ 'Build-ContainerImage' | ForEach-Object StatusDescription)
            @($status | Where-Object { $_ -like 'Step */4: `[first`] RUN echo one > /one' }).Count | Should -Be 1
            @($status | Where-Object { $_ -like 'Step */4: `[stage-1`] COPY --from=first /one /' }).Count | Should -Be 1
        }
        finally { $b.PS.Dispose() }
    }

    It 'records the base of the stage an image is built FROM (the stage''s own base)' {
        $img = Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox AS b`nRUN echo x > /x`nFROM b`nLABEL on=stage" -Network none -Quiet -Tag fromstage:1
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        $m = [Text.Encoding]::UTF8.GetString($store.ReadManifest($img)) | ConvertFrom-Json
        $m.annotations.'org.opencontainers.image.base.name' | Should -Be 'busybox'
        $m.annotations.'org.opencontainers.image.base.digest' | Should -Be (Get-ContainerImage busybox:latest).ManifestDigest
        # and it is outdated once busybox moves
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs2')
        Set-Content -LiteralPath "$rootfs/etc/fix" -Value 'fixed'
        Import-ContainerImage -RootFs -LiteralPath $rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
        @(Get-ContainerImage -Outdated | ForEach-Object Reference) | Should -Contain 'fromstage:1'
    }
}
