# Runs INSIDE the cgroup v2 VM (reported by tests/Integration/CgroupV2VM.Tests.ps1): whole containers under
# cgroup v2 limits, through the cmdlets. The root file system is made from the busybox the host copied into
# the work dir and run with -RootFs (an image import would add a minute of JIT under emulation).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    # until the runtime's switch from its temporary v1-only cgroup stub to CgroupManagers reaches this build
    $script:Wired = -not [Containers.Engine.State.StorageRoot].Assembly.GetType('Containers.Engine.Runtime.CgroupStubV1')
    $script:RootPath = New-TestStorageRoot 'cgv2ctr'
    $busybox = if (Test-Path /mnt/work/busybox) { '/mnt/work/busybox' } else { '/bin/busybox' }
    $rootfs = Join-Path $script:RootPath 'tmp/rootfs'
    New-Item -ItemType Directory -Force -Path "$rootfs/bin", "$rootfs/tmp", "$rootfs/etc" | Out-Null
    Copy-Item -LiteralPath $busybox -Destination "$rootfs/bin/busybox"
    & chmod 755 "$rootfs/bin/busybox"
    foreach ($a in 'sh', 'dd', 'sleep', 'seq', 'echo', 'cat', 'head', 'mknod', 'true') {
        New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$a" -Target busybox | Out-Null
    }
    Set-Content -LiteralPath "$rootfs/etc/passwd" -Value 'root:x:0:0:root:/root:/bin/sh' -NoNewline
    $script:RootFs = $rootfs
    $script:ScopeId = [Containers.Engine.State.StorageRoot]::DeriveScopeId($script:RootPath)
}

AfterAll {
    Get-Container -All -StorageRoot $script:RootPath -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $script:RootPath -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $script:RootPath
}

Describe 'containers on cgroup v2' -Tag 'CgroupV2' {
    It 'OOM-kills a container allocating past -Memory (exit 137, OomKilled)' {
        if (-not $script:Wired) { Set-ItResult -Skipped -Because 'the runtime in this build still uses its v1-only cgroup stub'; return }
        $r = Invoke-ContainerImage -RootFs $script:RootFs -Command sh, -c, 'dd if=/dev/zero of=/dev/null bs=96M count=1' -Memory 32MB -MemorySwap 32MB -Network none -Remove -StorageRoot $script:RootPath
        $r.ExitCode | Should -Be 137
        $r.OomKilled | Should -BeTrue
    }

    It 'shows the container''s own cgroup read-only at /sys/fs/cgroup, with its limits (memory.max, pids.max)' {
        if (-not $script:Wired) { Set-ItResult -Skipped -Because 'the runtime in this build still uses its v1-only cgroup stub'; return }
        $r = Invoke-ContainerImage -RootFs $script:RootFs -StorageRoot $script:RootPath -Remove -Memory 64MB -PidsLimit 50 -Command sh, -c, 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; echo 1 > /sys/fs/cgroup/pids.max || echo refused'
        ($r.Output.Trim() -split "`n") | Should -Be @('67108864', '50', 'refused')
    }

    It 'stops a fork bomb with -PidsLimit' {
        if (-not $script:Wired) { Set-ItResult -Skipped -Because 'the runtime in this build still uses its v1-only cgroup stub'; return }
        $r = Invoke-ContainerImage -RootFs $script:RootFs -Command sh, -c, 'for i in $(seq 40); do sleep 10 & echo "started $i"; done' -PidsLimit 10 -Network none -Remove -StorageRoot $script:RootPath
        $started = @($r.Output -split "`n" | Where-Object { $_ -match '^started (\d+)$' } | ForEach-Object { [int]$Matches[1] })
        ($started | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 10
        $r.Error | Should -Match "can't fork"
    }

    It 'lets a container make a block device node but not open it (BPF device filter)' {
        if (-not $script:Wired) { Set-ItResult -Skipped -Because 'the runtime in this build still uses its v1-only cgroup stub'; return }
        $r = Invoke-ContainerImage -RootFs $script:RootFs -Command sh, -c, 'mknod /tmp/d b 7 0 && echo mknod=ok; head -c 1 /tmp/d >/dev/null; echo x >/dev/null && echo null=ok' -Network none -Remove -StorageRoot $script:RootPath
        $r.Output | Should -Match 'mknod=ok'
        $r.Output | Should -Match 'null=ok'
        $r.Error | Should -Match 'Operation not permitted'
    }

    It 'leaves no cgroup behind after the containers are removed' {
        if (-not $script:Wired) { Set-ItResult -Skipped -Because 'the runtime in this build still uses its v1-only cgroup stub'; return }
        Test-Path "/sys/fs/cgroup/pscontainers-$script:ScopeId" | Should -BeFalse
    }
}
