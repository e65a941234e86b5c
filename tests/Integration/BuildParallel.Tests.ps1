# Build-ContainerImage runs the stages the target needs that do not depend on each other at the same time (as
# BuildKit; the classic builder does not). Proven without timing: two stages whose RUNs wait for each other through
# a shared cache mount pass only when they run at the same time. The output of parallel steps carries its stage,
# and the failure of one stage cancels the others and leaves nothing behind.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'build-gaps-parallel'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        Import-ContainerImage -RootFs -LiteralPath $rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
    }
    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path $script:ctx | Out-Null
    # a RUN that writes its marker into the shared cache directory and waits (at most ~60 s) for the other's
    function script:Rendezvous([string] $Me, [string] $Other, [string] $Id) {
        "RUN --mount=type=cache,id=$Id,target=/c,sharing=shared echo $Me-running && touch /c/$Me && i=0; while [ ! -e /c/$Other ]; do i=`$((i+1)); if [ `$i -gt 300 ]; then echo $Me-gave-up; exit 7; fi; sleep 0.2; done; echo $Me-met-$Other > /$Me.txt"
    }
    function script:Cat([string] $Image, [string] $Script) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Command sh, -c, $Script -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.TrimEnd()
    }
    function script:Leftovers {
        [pscustomobject]@{
            Containers = @(Get-Container -All).Count
            Images     = @(Get-ContainerImage).Count
            # a removed container's directory waits in tmp/rm-* for the runtime's background delete: not the build's
            Tmp        = @(Get-ChildItem -LiteralPath (Join-Path $script:root 'tmp') -ErrorAction SilentlyContinue | Where-Object Name -NotLike 'rm-*').Count
            Mounts     = @(Get-Content /proc/self/mountinfo | Where-Object { $_.Contains($script:root) }).Count
        }
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage: independent stages in parallel' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'runs two independent stages at the same time (each RUN waits for the other''s marker)' {
        $id = 'meet-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $df = @(
            'FROM busybox AS a', (Rendezvous 'a' 'b' $id),
            'FROM busybox AS b', (Rendezvous 'b' 'a' $id),
            'FROM busybox', 'COPY --from=a /a.txt /', 'COPY --from=b /b.txt /'
        ) -join "`n"
        $img = Build-ContainerImage -Path $script:ctx -InlineDockerfile $df -Network none -Tag met:1 -InformationVariable iv -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -BeNullOrEmpty
        $img | Should -Not -BeNullOrEmpty
        Cat 'met:1' 'cat /a.txt /b.txt' | Should -Be "a-met-b`nb-met-a"
        # each output line says which stage printed it
        $lines = @($iv | Where-Object { $_.Tags -contains 'PSHOST' } | ForEach-Object { "$($_.MessageData)" })
        $lines | Should -Contain '[a] a-running'
        $lines | Should -Contain '[b] b-running'
        # every step is numbered once, and carries its stage
        $steps = @($iv | Where-Object { $_.Tags -contains 'BuildStep' } | ForEach-Object MessageData)
        $steps.Count | Should -Be 7
        @($steps.Number | Sort-Object) | Should -Be @(1..7)
        @($steps | Where-Object Stage -EQ 'a').Count | Should -Be 2
        @($steps | Where-Object Stage -EQ 'b').Count | Should -Be 2
        @($steps | Where-Object Stage -EQ 'stage-2').Count | Should -Be 3
    }

    It 'runs a stage that uses another after it (FROM a stage, COPY --from) and skips a stage the target does not need' {
        # a diamond: left and right both FROM base (at the same time), the last stage copies from all three
        $df = "FROM busybox AS base`nRUN echo base > /base.txt`nFROM base AS left`nRUN cat /base.txt > /left.txt; echo l >> /left.txt`nFROM base AS right`nRUN cat /base.txt > /right.txt; echo r >> /right.txt`nFROM busybox AS unused`nRUN exit 9`nFROM busybox`nCOPY --from=left /left.txt /`nCOPY --from=right /right.txt /`nCOPY --from=base /base.txt /"
        $img = Build-ContainerImage -Path $script:ctx -InlineDockerfile $df -Network none -Tag chain:1 -Quiet -NoCache -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -BeNullOrEmpty
        Cat 'chain:1' 'cat /left.txt /right.txt /base.txt' | Should -Be "base`nl`nbase`nr`nbase"
        # the same build again comes from the cache: same image
        (Build-ContainerImage -Path $script:ctx -InlineDockerfile $df -Network none -Tag chain:2 -Quiet).Id | Should -Be $img.Id
    }

    It 'cancels the other stages when one fails, reports the failing one, and leaves nothing behind' {
        $id = 'cancel-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $before = Leftovers
        # a fails once b is running; b would run ~60 s more and then leave a marker in the cache directory
        $df = @(
            'FROM busybox AS a',
            "RUN --mount=type=cache,id=$id,target=/c i=0; while [ ! -e /c/b-started ]; do i=`$((i+1)); [ `$i -gt 300 ] && exit 8; sleep 0.2; done; exit 3",
            'FROM busybox AS b',
            "RUN --mount=type=cache,id=$id,target=/c touch /c/b-started; i=0; while [ `$i -lt 300 ]; do sleep 0.2; i=`$((i+1)); done; touch /c/b-finished",
            'FROM busybox', 'COPY --from=a / /a', 'COPY --from=b / /b'
        ) -join "`n"
        $null = Build-ContainerImage -Path $script:ctx -InlineDockerfile $df -Network none -Tag cancelled:1 -Quiet -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev.Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'BuildStepFailed*'
        $ev[0].Exception.Message | Should -Match 'line 2'
        $ev[0].Exception.Message | Should -Match 'exit code 3'
        Get-ContainerImage cancelled:1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $after = Leftovers
        $after.Containers | Should -Be $before.Containers
        $after.Images | Should -Be $before.Images
        $after.Tmp | Should -Be 0
        $after.Mounts | Should -Be $before.Mounts
        # b was stopped: it started, and never finished
        $null = Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nRUN --mount=type=cache,id=$id,target=/c ls /c > /list" -Network none -Tag cancelled:list -Quiet -NoCache
        Cat 'cancelled:list' 'cat /list' | Should -Be 'b-started'
    }
}
