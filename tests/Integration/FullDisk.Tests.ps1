# A storage root on a small loop-mounted ext4 that a container fills from inside: the engine can still stop and
# remove (removal and stop never need new space: the root's reserve is released first), the container that
# filled it keeps its exit code and its last log lines, and a write that finds no room is ErrorId StorageFull
# (ResourceUnavailable) naming the root. The test makes the file system and removes it (the loop device is
# found and detached by the file it made).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:base = New-TestStorageRoot 'fulldisk'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:base 'rootfs')
    $script:img = Join-Path $script:base 'disk.img'
    $script:mnt = Join-Path $script:base 'mnt'
    $script:root = Join-Path $script:mnt 'root'
    $script:mounted = $false
    if ($script:IsRoot -and (Test-Command mkfs.ext4) -and (Test-Command losetup)) {
        & truncate -s 96M $script:img
        # no blocks reserved for root: the container (root) can fill it to the last block
        & mkfs.ext4 -q -m 0 -F $script:img
        $script:loop = (& losetup --find --show $script:img | Out-String).Trim()
        $null = New-Item -ItemType Directory -Path $script:mnt
        & mount -t ext4 $script:loop $script:mnt
        $script:mounted = $LASTEXITCODE -eq 0
        if ($script:mounted) { $null = Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name full-bb:1 -StorageRoot $script:root }
    }
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    function script:AvailableKiB { [long]((& df -k --output=avail $script:mnt | Select-Object -Last 1).Trim()) }
}
AfterAll {
    if ($script:mounted) {
        Get-Container -All -StorageRoot $script:root -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $script:root -ErrorAction SilentlyContinue
        Get-ContainerNetwork -StorageRoot $script:root -ErrorAction SilentlyContinue | Where-Object Name -ne 'bridge' |
            Remove-ContainerNetwork -Force -StorageRoot $script:root -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
        & umount -R $script:mnt
    }
    # only the loop device of the file this test made
    if (Test-Path -LiteralPath $script:img) {
        foreach ($l in (& losetup -j $script:img -O NAME -n)) { if ($l.Trim()) { & losetup -d $l.Trim() } }
    }
    Remove-TestStorageRoot $script:base
}

Describe 'A storage root whose file system a container filled' {
    It 'still stops and removes containers, keeps the exit code and log, and reports StorageFull naming the root' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'containers and loop mounts need root')) { return }
        if (-not (Test-Prerequisite -Condition $script:mounted -Because 'needs mkfs.ext4, losetup and a free loop device')) { return }
        # a bridge network: its records are written by stop and removal (where a full disk failed before)
        $null = New-ContainerNetwork -Name fullnet -StorageRoot $script:root
        $sleeper = New-Container -Image full-bb:1 -Name sleeper -Network fullnet -Command sleep, 600 | Start-Container -PassThru
        # fill every block, then the last directory entries, then say so and exit 3
        $filler = New-Container -Image full-bb:1 -Name filler -Network fullnet -Command sh, -c, (
            'echo start; dd if=/dev/zero of=/fill bs=1M 2>/dev/null; dd if=/dev/zero of=/fill2 bs=1k 2>/dev/null; ' +
            'i=0; while touch /f$i 2>/dev/null; do i=$((i+1)); done; echo "filled after $i files"; echo last; exit 3')
        $filler | Start-Container
        $done = Wait-Container filler -Timeout 120
        AvailableKiB | Should -BeLessThan 64
        # what the container that filled the disk ended with is recorded, and its last lines are in the log
        $done.ExitCode | Should -Be 3
        $log = @(Get-ContainerLog filler)
        $log | Should -Contain 'last'
        ($log -like 'filled after *').Count | Should -Be 1

        # a write that finds no room: StorageFull, ResourceUnavailable, the root as target
        $err = $null
        $null = New-Container -Image full-bb:1 -Name wont -Network none -Command true -ErrorAction SilentlyContinue -ErrorVariable err
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'StorageFull,Containers.Cmdlets.Runtime.NewContainerCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $err[0].TargetObject | Should -BeExactly $script:root
        $err[0].Exception.Message | Should -BeLike "*$script:root*"

        # the way out: stop (bridge network: its record is rewritten) and remove still work on the full disk
        $stopped = Stop-Container sleeper -Timeout 1 -PassThru
        $stopped.Status | Should -Be 'Exited'
        $stopped.ExitCode | Should -Be 137
        Remove-Container filler
        Get-Container -All filler -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $freed = $false
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not $freed -and [DateTime]::UtcNow -lt $deadline) { $freed = (AvailableKiB) -gt 60000; if (-not $freed) { Start-Sleep -Milliseconds 200 } }
        $freed | Should -BeTrue
        # and with room again everything works as before
        $again = New-Container -Image full-bb:1 -Name after -Network fullnet -Command sh, -c, 'echo ok' | Start-Container -PassThru | Wait-Container -Timeout 60
        $again.ExitCode | Should -Be 0
        Get-ContainerLog after | Should -Be 'ok'
        Remove-Container after, sleeper
        Remove-ContainerNetwork fullnet -StorageRoot $script:root -Confirm:$false
    }
}
