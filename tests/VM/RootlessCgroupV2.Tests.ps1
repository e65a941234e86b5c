# Runs INSIDE the cgroup v2 VM (reported by tests/Integration/CgroupV2VM.Tests.ps1): rootless resource limits in a
# cgroup delegated to an ordinary uid. This pwsh is the guest's root: it delegates a subtree to the uid the way
# systemd's user@.service does (user.slice/user-UID.slice/user@UID.service chowned to the user, its cgroup.procs,
# cgroup.subtree_control and cgroup.threads writable, the controllers enabled down to it) and starts ONE pwsh as that
# uid (setpriv: the minbase guest has no useradd, newuidmap or subordinate ids, so the engine takes the single
# mapping) inside a leaf of it, as a login's scope would be. That pwsh runs every container of this file and prints
# what it saw as JSON; the Its check it, and the host-side view (/proc/<pid>/cgroup, what is left) here as root.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Uid = 4321                 # no passwd entry: setpriv needs none
    $script:UserHome = '/tmp/rl-4321'      # tmpfs in the guest
    $script:Cg = '/sys/fs/cgroup'
    $script:Delegated = "$script:Cg/user.slice/user-$script:Uid.slice/user@$script:Uid.service"
    $script:Leaf = "$script:Delegated/session.scope"
    $script:Result = $null
    $script:RunError = $null

    # the module (9p from the host work dir) readable and the helper executable for the user
    $moduleDir = Split-Path $script:ModulePath -Parent
    & chmod -R a+rX $moduleDir
    & chmod a+rx (Split-Path $moduleDir -Parent)

    # a busybox root file system of the user's (its files are root's inside: the user is uid 0 there)
    New-Item -ItemType Directory -Force -Path $script:UserHome | Out-Null
    $rootfs = "$script:UserHome/rootfs"
    $busybox = if (Test-Path /mnt/work/busybox) { '/mnt/work/busybox' } else { '/bin/busybox' }
    New-Item -ItemType Directory -Force -Path "$rootfs/bin", "$rootfs/tmp", "$rootfs/etc", "$rootfs/proc", "$rootfs/sys", "$rootfs/dev" | Out-Null
    Copy-Item -LiteralPath $busybox -Destination "$rootfs/bin/busybox"
    & chmod 755 "$rootfs/bin/busybox"
    foreach ($a in 'sh', 'dd', 'sleep', 'seq', 'echo', 'cat', 'head', 'true', 'id') {
        New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$a" -Target busybox | Out-Null
    }
    Set-Content -LiteralPath "$rootfs/etc/passwd" -Value 'root:x:0:0:root:/root:/bin/sh' -NoNewline
    & chown -R "$($script:Uid):$($script:Uid)" $script:UserHome

    # delegation as systemd makes it: controllers enabled from the root down to user@UID.service, which is the user's
    Set-Content -LiteralPath "$script:Cg/cgroup.subtree_control" -Value '+cpu +memory +pids' -NoNewline
    foreach ($d in "$script:Cg/user.slice", "$script:Cg/user.slice/user-$script:Uid.slice", $script:Delegated) {
        New-Item -ItemType Directory -Force -Path $d | Out-Null
    }
    Set-Content -LiteralPath "$script:Cg/user.slice/cgroup.subtree_control" -Value '+cpu +memory +pids' -NoNewline
    Set-Content -LiteralPath "$script:Cg/user.slice/user-$script:Uid.slice/cgroup.subtree_control" -Value '+cpu +memory +pids' -NoNewline
    New-Item -ItemType Directory -Force -Path $script:Leaf | Out-Null
    & chown "$($script:Uid):$($script:Uid)" $script:Delegated "$script:Delegated/cgroup.procs" "$script:Delegated/cgroup.subtree_control" "$script:Delegated/cgroup.threads"
    & chown -R "$($script:Uid):$($script:Uid)" $script:Leaf

    # what the user's pwsh does: every container of this file, one pwsh start (each costs ~10 s under TCG)
    $user = @'
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module /mnt/work/Containers/Containers.psd1
$rootfs = "$env:HOME/rootfs"
$o = [ordered]@{}
function Step([string] $Name, [scriptblock] $Block) {
    try { $o[$Name] = & $Block }
    catch { $o[$Name] = [pscustomobject]@{ Error = $_.FullyQualifiedErrorId; Message = $_.Exception.Message } }
}
Step Host { Get-ContainerHost | Select-Object Rootless, RootlessIdMapping, RootlessCgroup, UserNamespaceProblem }
Step Own { Get-Content /proc/self/cgroup }
Step Oom {
    $r = Invoke-ContainerImage -RootFs $rootfs -Network none -Remove -Memory 32MB -MemorySwap 32MB -Command sh, -c, 'dd if=/dev/zero of=/dev/null bs=96M count=1'
    [pscustomobject]@{ ExitCode = $r.ExitCode; OomKilled = $r.OomKilled; Error = $r.Error }
}
Step Visible {
    $r = Invoke-ContainerImage -RootFs $rootfs -Network none -Remove -Memory 64MB -PidsLimit 50 -Command sh, -c, 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /proc/self/cgroup; echo 1 > /sys/fs/cgroup/pids.max || echo refused'
    [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.Output; Error = $r.Error }
}
Step Pids {
    $r = Invoke-ContainerImage -RootFs $rootfs -Network none -Remove -PidsLimit 10 -Command sh, -c, 'for i in $(seq 40); do sleep 10 & echo "started $i"; done'
    [pscustomobject]@{ ExitCode = $r.ExitCode; Output = $r.Output; Error = $r.Error }
}
Step Detached {
    New-Container -RootFs $rootfs -Name rlv2 -Network none -Memory 48MB -Command sleep, 300 | Start-Container | Out-Null
    $c = Get-Container rlv2
    $stats = Measure-Container rlv2 | Select-Object -First 1
    # the root side reads /proc/<pid>/cgroup while it runs: hand over and wait for its go
    Set-Content -LiteralPath "$env:HOME/running" -Value $c.Pid
    $deadline = (Get-Date).AddSeconds(120)
    while (-not (Test-Path "$env:HOME/seen") -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
    Remove-Container rlv2 -Force
    [pscustomobject]@{ Pid = $c.Pid; MemoryLimit = $stats.MemoryLimitBytes }
}
# where nothing is delegated (a cgroup of root's above this one), refusal stays: the same search from another place
Step NotDelegated {
    $why = ''
    $found = [Containers.Engine.Cgroups.RootlessCgroups]::Find('/sys/fs/cgroup', '/user.slice/user-4321.slice', 4321, [ref] $why)
    [pscustomobject]@{ Found = $found; Why = $why }
}
Step Left { $d = "$env:XDG_DATA_HOME/pscontainers/containers"; if (Test-Path $d) { @(Get-ChildItem -Force -LiteralPath $d | ForEach-Object Name) } else { @() } }
'RESULT ' + (ConvertTo-Json -InputObject $o -Depth 5 -Compress)
'@
    Set-Content -LiteralPath "$script:UserHome/user.ps1" -Value $user
    & chown "$($script:Uid):$($script:Uid)" "$script:UserHome/user.ps1"

    # the user's pwsh, started inside the leaf (the shell moves itself there, then becomes the user)
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    $dotnet = (Get-Command dotnet -CommandType Application | Select-Object -First 1).Source
    $launch = "echo `$`$ > '$script:Leaf/cgroup.procs' && exec setpriv --reuid=$script:Uid --regid=$script:Uid --clear-groups " +
        "env -i HOME=$script:UserHome XDG_DATA_HOME=$script:UserHome/data PATH=/usr/local/bin:/usr/bin:/bin DOTNET_ROOT=$(Split-Path $dotnet) " +
        "DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 TERM=dumb $dotnet $pwshDll -NoProfile -NonInteractive -File $script:UserHome/user.ps1"
    $log = "$script:UserHome/pwsh.log"
    $psi = [Diagnostics.ProcessStartInfo]::new('/bin/sh')
    foreach ($a in '-c', "$launch >'$log' 2>&1") { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $proc = [Diagnostics.Process]::Start($psi)
    # while it runs: the detached container's cgroup as the host sees it
    $deadline = (Get-Date).AddSeconds(900)
    while (-not (Test-Path "$script:UserHome/running") -and -not $proc.HasExited -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 250 }
    if (Test-Path "$script:UserHome/running") {
        $script:DetachedPid = [int](Get-Content -LiteralPath "$script:UserHome/running")
        $script:DetachedCgroup = @(Get-Content -LiteralPath "/proc/$script:DetachedPid/cgroup" -ErrorAction SilentlyContinue)
        $script:DetachedStatus = @(Get-Content -LiteralPath "/proc/$script:DetachedPid/status" -ErrorAction SilentlyContinue | Where-Object { $_ -like 'Uid:*' })
        Set-Content -LiteralPath "$script:UserHome/seen" -Value 1
    }
    if (-not $proc.WaitForExit(900000)) { $proc.Kill() }
    $out = @(Get-Content -LiteralPath $log -ErrorAction SilentlyContinue)
    $line = $out | Where-Object { $_.StartsWith('RESULT ') } | Select-Object -Last 1
    if ($line) { $script:Result = $line.Substring(7) | ConvertFrom-Json }
    else { $script:RunError = "the user's pwsh printed no result: $($out -join "`n")" }
    Write-Host "rootless pwsh output:`n$($out -join "`n")"
}

AfterAll {
    # the user's processes were all started by this file (the uid is this file's own): ended by pid
    foreach ($p in Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$') {
        $st = Get-Content -LiteralPath "$($p.FullName)/status" -ErrorAction SilentlyContinue | Where-Object { $_ -like 'Uid:*' }
        if ($st -and (($st -split '\s+')[1] -eq "$script:Uid")) { & kill -9 ([int]$p.Name) 2>$null }
    }
    # the delegated tree, deepest first (each empty once its processes are gone)
    foreach ($d in $script:Leaf, $script:Delegated, "$script:Cg/user.slice/user-$script:Uid.slice", "$script:Cg/user.slice") {
        for ($i = 0; $i -lt 20 -and (Test-Path -LiteralPath $d); $i++) {
            try { [IO.Directory]::Delete($d) } catch { Start-Sleep -Milliseconds 100 }
        }
    }
}

Describe 'rootless containers on cgroup v2 with a delegated subtree' -Tag 'CgroupV2' {
    It 'runs the user''s session, which finds the delegated cgroup (the parent of its own) and the single mapping' {
        $script:RunError | Should -BeNullOrEmpty
        $script:Result.Host.Rootless | Should -BeTrue
        $script:Result.Host.RootlessIdMapping | Should -Be 'Single'
        $script:Result.Host.RootlessCgroup | Should -Be $script:Delegated
        $script:Result.Own | Should -Be "0::/user.slice/user-$script:Uid.slice/user@$script:Uid.service/session.scope"
    }

    It 'OOM-kills a rootless container allocating past -Memory (exit 137, OomKilled)' {
        $script:Result.Oom.ExitCode | Should -Be 137 -Because "$($script:Result.Oom.Error) $($script:Result.Oom.Message)"
        $script:Result.Oom.OomKilled | Should -BeTrue
    }

    It 'shows a rootless container its own cgroup with its limits (memory.max, pids.max), read-only' {
        $lines = @($script:Result.Visible.Output -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        $lines | Should -Be @('67108864', '50', '0::/', 'refused') -Because "$($script:Result.Visible.Error) $($script:Result.Visible.Message)"
    }

    It 'stops a rootless fork bomb with -PidsLimit' {
        $started = @($script:Result.Pids.Output -split "`n" | Where-Object { $_ -match '^started (\d+)$' } | ForEach-Object { [int]$Matches[1] })
        $started.Count | Should -BeGreaterThan 0 -Because "$($script:Result.Pids.Error) $($script:Result.Pids.Message)"
        ($started | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 10
        $script:Result.Pids.Error | Should -Match "can't fork"
    }

    It 'puts a detached rootless container below the delegated cgroup, as the user, and removes its cgroup' {
        $script:Result.Detached.Pid | Should -Be $script:DetachedPid
        $script:Result.Detached.MemoryLimit | Should -Be (48MB)
        $script:DetachedCgroup | Should -Match "^0::/user\.slice/user-$script:Uid\.slice/user@$script:Uid\.service/pscontainers-[^/]+/[0-9a-f]+$"
        ($script:DetachedStatus -replace '\s+', ' ') | Should -Be "Uid: $script:Uid $script:Uid $script:Uid $script:Uid"
        @(Get-ChildItem -Directory -LiteralPath $script:Delegated | ForEach-Object Name) | Should -Be @('session.scope') -Because 'the containers'' cgroups and their parent are removed'
        @($script:Result.Left) | Should -BeNullOrEmpty
    }

    It 'still refuses where the cgroup above is not the user''s (RootlessCgroupsNotDelegated''s reason)' {
        $script:Result.NotDelegated.Found | Should -BeNullOrEmpty
        $script:Result.NotDelegated.Why | Should -Match "the parent '/sys/fs/cgroup/user\.slice' of its cgroup is not delegated to uid 4321"
    }
}
