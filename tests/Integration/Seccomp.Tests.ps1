# Seccomp in real containers: on by default with Docker's profile, -SecurityOption seccomp=<file>|unconfined,
# no-new-privileges, -Privileged; syscall probes from a static program of the test's own (seccomp/probe.c),
# each shown first to behave differently without a filter, and compared with podman under the same profile.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'seccomp'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:NewCmd = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:DefaultProfile = Join-Path $PSScriptRoot '../../src/Containers.Engine/Security/Seccomp/default.json'
    $script:haveGcc = (Test-Command gcc) -and (Test-Path /usr/lib/x86_64-linux-gnu/libc.a)
    if ($script:haveGcc) {
        & gcc -static -O2 -Wall -o "$script:rootfs/bin/probe" (Join-Path $PSScriptRoot 'seccomp/probe.c') 2>&1 | Write-Host
        if ($LASTEXITCODE -ne 0) { throw 'cannot build the seccomp probe' }
    }
    $script:ready = $script:IsRoot -and $script:haveGcc

    function script:Run([string] $sh, [hashtable] $extra = @{}) {
        Invoke-ContainerImage -RootFs $script:rootfs -Command sh, -c, $sh -Remove @extra
    }
    # probe name -> 'ok' or the errno, as printed by /bin/probe
    function script:ConvertFrom-Probe([string] $text) {
        $h = [ordered]@{}
        foreach ($l in ($text.Trim() -split "`n")) { $n, $v = $l.Trim() -split ' ', 2; $h[$n] = $v }
        $h
    }
    function script:Probe([hashtable] $extra = @{}) {
        $r = Invoke-ContainerImage -RootFs $script:rootfs -Command /bin/probe -Remove @extra
        $r.ExitCode | Should -Be 0
        ConvertFrom-Probe $r.Output
    }
    function script:SeccompMode([string] $text) { if ($text -match 'Seccomp:\s+(\d)') { [int]$Matches[1] } else { -1 } }
    function script:Write-Profile([string] $name, [scriptblock] $edit) {
        $p = Get-Content -Raw $script:DefaultProfile | ConvertFrom-Json
        & $edit $p
        $path = Join-Path $script:root $name
        $p | ConvertTo-Json -Depth 20 | Set-Content -LiteralPath $path
        $path
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        if ($script:pm -and (Test-Path $script:podmanRoot)) {
            & podman @script:pm rmi -a -f *>$null
            & rm -rf --one-file-system $script:podmanRun
        }
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Seccomp mode of container processes' {
    It 'is 2 (filter) by default for root' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        SeccompMode (Run 'grep Seccomp: /proc/self/status').Output | Should -Be 2
    }
    It 'is 2 for -User 1234 without no-new-privileges (loaded before the capabilities are dropped)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Run 'grep -E "Seccomp:|NoNewPrivs:" /proc/self/status; id -u' @{ User = '1234' }
        SeccompMode $r.Output | Should -Be 2
        $r.Output | Should -Match 'NoNewPrivs:\s+0'
        $r.Output | Should -Match '(?m)^1234$'
    }
    It 'is 2 with -NoNewPrivileges (loaded last, before execve)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Run 'grep -E "Seccomp:|NoNewPrivs:" /proc/self/status' @{ User = '1234'; NoNewPrivileges = $true }
        SeccompMode $r.Output | Should -Be 2
        $r.Output | Should -Match 'NoNewPrivs:\s+1'
    }
    It 'is 2 for the init and the command with -Init' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Run 'grep Seccomp: /proc/1/status; grep Seccomp: /proc/self/status' @{ Init = $true }
        ($r.Output.Trim() -split "`n" | ForEach-Object { SeccompMode $_ }) | Should -Be @(2, 2)
    }
    It 'is 0 with seccomp=unconfined and with -Privileged' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        SeccompMode (Run 'grep Seccomp: /proc/self/status' @{ SecurityOption = 'seccomp=unconfined' }).Output | Should -Be 0
        SeccompMode (Run 'grep Seccomp: /proc/self/status' @{ Privileged = $true }).Output | Should -Be 0
    }
    It 'is 2 with -Privileged when a profile is given explicitly (seccomp=builtin or a file), as with Docker' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        SeccompMode (Run 'grep Seccomp: /proc/self/status' @{ Privileged = $true; SecurityOption = 'seccomp=builtin' }).Output | Should -Be 2
        SeccompMode (Run 'grep Seccomp: /proc/self/status' @{ Privileged = $true; SecurityOption = "seccomp=$script:DefaultProfile" }).Output | Should -Be 2
        # with every capability, the profile opens mount and unshare
        (Run 'mount -t tmpfs none /tmp && echo mounted' @{ Privileged = $true; SecurityOption = 'seccomp=builtin' }).Output | Should -Match 'mounted'
    }
    It 'is 2 in processes run with Invoke-ContainerCommand, and 0 there when the container is unconfined' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Invoke-ContainerImage -RootFs $script:rootfs -Name sc-exec -Detach -Command sleep, 600 | Out-Null
        Invoke-ContainerImage -RootFs $script:rootfs -Name sc-exec-u -Detach -SecurityOption seccomp=unconfined -Command sleep, 600 | Out-Null
        try {
            SeccompMode (Invoke-ContainerCommand sc-exec -Command grep, Seccomp:, /proc/self/status).Output | Should -Be 2
            SeccompMode (Invoke-ContainerCommand sc-exec -User 1234 -Command grep, Seccomp:, /proc/self/status).Output | Should -Be 2
            SeccompMode (Invoke-ContainerCommand sc-exec-u -Command grep, Seccomp:, /proc/self/status).Output | Should -Be 0
        }
        finally { Remove-Container sc-exec, sc-exec-u -Force }
    }
    It 'keeps the compiled program under the storage root, for later sessions' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Run 'true'
        $caps = [Containers.Engine.Runtime.Capabilities]::Compute([string[]]@(), [string[]]@(), $false)
        $want = [Containers.Engine.Security.Seccomp.SeccompPrograms]::Get([NullString]::Value, $caps, [NullString]::Value)
        $files = @(Get-ChildItem (Join-Path $script:root 'runtime/seccomp') -Filter "*-$($caps.ToString('x'))-*.bpf")
        $files | Should -HaveCount 1
        [Convert]::ToBase64String([IO.File]::ReadAllBytes($files[0].FullName)) | Should -Be ([Convert]::ToBase64String($want))
    }
    It 'is shown on the container object' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $a = New-Container -RootFs $script:rootfs -Command true
        $b = New-Container -RootFs $script:rootfs -Command true -SecurityOption seccomp=unconfined, no-new-privileges
        $c = New-Container -RootFs $script:rootfs -Command true -Privileged
        try {
            $a.Seccomp | Should -Be 'default'
            $a.SecurityOptions | Should -HaveCount 0
            $b.Seccomp | Should -Be 'unconfined'
            $b.SecurityOptions | Should -Be @('seccomp=unconfined', 'no-new-privileges')
            $c.Seccomp | Should -Be 'unconfined'
        }
        finally { Remove-Container $a.Id, $b.Id, $c.Id -Force }
    }
}

Describe 'Docker''s default profile, probed' {
    BeforeAll {
        if ($script:ready) {
            $script:default = Probe
            $script:unconfined = Probe @{ SecurityOption = 'seccomp=unconfined' }
            $script:userDefault = Probe @{ User = '1234' }
            $script:userUnconfined = Probe @{ User = '1234'; SecurityOption = 'seccomp=unconfined' }
        }
    }
    # what Docker's profile gives a container with Docker's default capabilities (EPERM = 1, ENOSYS = 38)
    It '<probe> gives <expected> under the default profile and something else without a filter' -TestCases @(
        @{ probe = 'unshare-user'; expected = '1' }
        @{ probe = 'userns-mount'; expected = '1' }
        @{ probe = 'clone-newuser'; expected = '1' }
        @{ probe = 'clone3'; expected = '38' }
        @{ probe = 'add_key'; expected = '1' }
        @{ probe = 'keyctl'; expected = '1' }
        @{ probe = 'userfaultfd'; expected = '1' }
        @{ probe = 'perf_event_open'; expected = '1' }
        @{ probe = 'personality-bad'; expected = '1' }
        @{ probe = 'socket-alg'; expected = '1' }
        @{ probe = 'socket-vsock'; expected = '1' }
        @{ probe = 'io_uring_setup'; expected = '1' }
        @{ probe = 'i386-unshare-user'; expected = '1' }
    ) {
        param($probe, $expected)
        if (-not (Test-Prerequisite -Condition $script:ready -Because 'needs root, gcc and libc6-dev')) { return }
        $script:unconfined[$probe] | Should -Not -Be $expected -Because 'the probe must be able to fail: without a filter this kernel allows the call'
        $script:default[$probe] | Should -Be $expected
        $script:userUnconfined[$probe] | Should -Not -Be $expected
        $script:userDefault[$probe] | Should -Be $expected -Because '-User 1234 runs under the same filter'
    }
    It '<probe> is allowed under the default profile' -TestCases @(
        @{ probe = 'getpid' }, @{ probe = 'clone-plain' }, @{ probe = 'personality-ok' }, @{ probe = 'socket-inet' }, @{ probe = 'mkdir' }, @{ probe = 'i386-getpid' }
    ) {
        param($probe)
        if (-not (Test-Prerequisite -Condition $script:ready -Because 'needs root, gcc and libc6-dev')) { return }
        $script:default[$probe] | Should -Be 'ok'
    }
    It 'opens mount and unshare with CAP_SYS_ADMIN, as docker does' {
        if (-not (Test-Prerequisite -Condition $script:ready -Because 'needs root, gcc and libc6-dev')) { return }
        $p = Probe @{ CapabilityAdd = 'SYS_ADMIN' }
        $p['unshare-user'] | Should -Be 'ok'
        $p['userns-mount'] | Should -Be 'ok'
        $p['clone3'] | Should -Be '22' -Because 'clone3 is allowed with CAP_SYS_ADMIN, so the kernel answers EINVAL'
    }
}

Describe 'Compared with podman' {
    BeforeAll {
        $script:podmanReady = $script:ready -and (Test-Command podman)
        if ($script:podmanReady) {
            # podman's own storage under the test root (vfs: no overlay mounts to leak), network none
            $script:podmanRoot = Join-Path $script:root 'podman'
            # podman wants a run root path of at most 50 characters
            $script:podmanRun = '/tmp/csc-' + [Guid]::NewGuid().ToString('N').Substring(0, 8)
            $script:pm = @('--root', "$script:podmanRoot/storage", '--runroot', $script:podmanRun, '--storage-driver', 'vfs')
            $tarball = Join-Path $script:root 'probe-rootfs.tar'
            & tar -C $script:rootfs -cf $tarball .
            $out = & podman @script:pm import $tarball localhost/containers-seccomp-probe:test 2>&1
            if ($LASTEXITCODE -ne 0) { throw "podman import failed: $out" }
            function script:PodmanProbe([string[]] $opts = @()) {
                $out = & podman @script:pm run --rm --network none @opts localhost/containers-seccomp-probe:test /bin/probe 2>&1
                if ($LASTEXITCODE -ne 0) { throw "podman run failed: $out" }
                ConvertFrom-Probe ($out -join "`n")
            }
            $script:ours = Probe
        }
    }
    It 'gives the same result for every probe when podman runs Docker''s profile file' {
        if (-not (Test-Prerequisite -Condition $script:podmanReady -Because 'needs root, gcc, libc6-dev and podman')) { return }
        $theirs = PodmanProbe @('--security-opt', "seccomp=$((Resolve-Path $script:DefaultProfile).Path)")
        foreach ($k in $script:ours.Keys) { "$k $($theirs[$k])" | Should -Be "$k $($script:ours[$k])" }
    }
    It 'gives podman''s results for every probe when given podman''s own default profile file' {
        $podmanProfile = '/usr/share/containers/seccomp.json'
        if (-not (Test-Prerequisite -Condition ($script:podmanReady -and (Test-Path $podmanProfile)) -Because 'needs root, gcc, libc6-dev, podman and its seccomp.json')) { return }
        if (-not $script:podmanDefault) { $script:podmanDefault = PodmanProbe }
        $mine = Probe @{ SecurityOption = "seccomp=$podmanProfile" }
        foreach ($k in $script:podmanDefault.Keys) { "$k $($mine[$k])" | Should -Be "$k $($script:podmanDefault[$k])" }
    }
    It 'agrees with podman''s own default profile on <probe>' -TestCases @(
        @{ probe = 'userfaultfd' }, @{ probe = 'perf_event_open' }, @{ probe = 'getpid' }, @{ probe = 'socket-inet' }
    ) {
        param($probe)
        if (-not (Test-Prerequisite -Condition $script:podmanReady -Because 'needs root, gcc, libc6-dev and podman')) { return }
        # podman's profile (containers-common) is not Docker's: it answers ENOSYS where Docker answers EPERM and
        # allows unshare(CLONE_NEWUSER); these probes are where the two agree
        if (-not $script:podmanDefault) { $script:podmanDefault = PodmanProbe }
        $script:ours[$probe] | Should -Be $script:podmanDefault[$probe]
    }
}

Describe '-SecurityOption seccomp=<file>' {
    BeforeAll {
        if ($script:ready) {
            $script:noMkdir = Write-Profile 'no-mkdir.json' {
                param($p)
                foreach ($s in $p.syscalls) { $s.names = @($s.names | Where-Object { $_ -notin 'mkdir', 'mkdirat' }) }
            }
        }
    }
    It 'enforces the profile (Docker''s default minus mkdir: mkdir fails EPERM) with Seccomp 2' {
        if (-not (Test-Prerequisite -Condition $script:ready -Because 'needs root, gcc and libc6-dev')) { return }
        (Probe @{ SecurityOption = "seccomp=$script:noMkdir" })['mkdir'] | Should -Be '1'
        $r = Run 'mkdir /tmp/x; echo rc=$?; grep Seccomp: /proc/self/status' @{ SecurityOption = "seccomp=$script:noMkdir" }
        $r.Output | Should -Match 'rc=1'
        SeccompMode $r.Output | Should -Be 2
    }
    It 'keeps the profile read at creation, even if the file changes before a start' {
        if (-not (Test-Prerequisite -Condition $script:ready -Because 'needs root, gcc and libc6-dev')) { return }
        $copy = Join-Path $script:root 'changing.json'
        Copy-Item $script:noMkdir $copy
        $c = New-Container -RootFs $script:rootfs -Command /bin/probe, mkdir -SecurityOption "seccomp=$copy"
        try {
            $c.Seccomp | Should -Be $copy
            Set-Content -LiteralPath $copy -Value 'not json any more'
            Start-Container $c.Id
            Wait-Container $c.Id | Out-Null
            "$(Get-ContainerLog $c.Id)".Trim() | Should -Be 'mkdir 1'
        }
        finally { Remove-Container $c.Id -Force }
    }
    It 'fails a start cleanly when the profile blocks what the start needs (capset)' {
        if (-not (Test-Prerequisite -Condition $script:ready -Because 'needs root, gcc and libc6-dev')) { return }
        $blocksCapset = Write-Profile 'no-capset.json' {
            param($p)
            foreach ($s in $p.syscalls) { $s.names = @($s.names | Where-Object { $_ -ne 'capset' }) }
        }
        $c = New-Container -RootFs $script:rootfs -Command true -SecurityOption "seccomp=$blocksCapset"
        try {
            { Start-Container $c.Id -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerStartFailed,Containers.Cmdlets.Runtime.StartContainerCommand' -ExpectedMessage '*set the capabilities*'
            (Get-Container $c.Id).Status | Should -Not -Be 'Running'
            (Get-Container $c.Id).Pid | Should -BeNullOrEmpty
        }
        finally { Remove-Container $c.Id -Force }
    }
}

Describe '-SecurityOption no-new-privileges' {
    It 'sets no_new_privs as -NoNewPrivileges does (<option>)' -TestCases @(
        @{ option = 'no-new-privileges'; expected = 1 }
        @{ option = 'no-new-privileges=true'; expected = 1 }
        @{ option = 'no-new-privileges=false'; expected = 0 }
    ) {
        param($option, $expected)
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Run 'grep -E "NoNewPrivs:|Seccomp:" /proc/self/status' @{ SecurityOption = $option }
        $r.Output | Should -Match "NoNewPrivs:\s+$expected"
        SeccompMode $r.Output | Should -Be 2
        (Run 'grep NoNewPrivs: /proc/self/status' @{ NoNewPrivileges = $true }).Output | Should -Match 'NoNewPrivs:\s+1'
    }
}

Describe '-SecurityOption errors' {
    BeforeAll {
        $script:badJson = Join-Path $script:root 'bad.json'
        Set-Content -LiteralPath $script:badJson -Value '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ '
        $script:badAction = Join-Path $script:root 'bad-action.json'
        Set-Content -LiteralPath $script:badAction -Value '{ "defaultAction": "SCMP_ACT_EXPLODE" }'
        $script:missing = Join-Path $script:root 'missing.json'
    }
    It '<option> fails with <errorId>' -TestCases @(
        @{ option = 'apparmor=unconfined'; errorId = 'SecurityOptionUnsupported'; file = $null }
        @{ option = 'label=disable'; errorId = 'SecurityOptionUnsupported'; file = $null }
        @{ option = 'seccomp'; errorId = 'InvalidSecurityOption'; file = $null }
        @{ option = 'no-new-privileges=maybe'; errorId = 'InvalidSecurityOption'; file = $null }
        @{ option = 'systempaths=unconfined'; errorId = 'InvalidSecurityOption'; file = $null }
        @{ option = 'seccomp=<missing>'; errorId = 'SeccompProfileNotFound'; file = 'missing' }
        @{ option = 'seccomp=<badJson>'; errorId = 'SeccompProfileInvalid'; file = 'badJson' }
        @{ option = 'seccomp=<badAction>'; errorId = 'SeccompProfileInvalid'; file = 'badAction' }
    ) {
        param($option, $errorId, $file)
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $path = if ($file) { (Get-Variable -Scope Script -Name $file).Value }
        $opt = if ($file) { "seccomp=$path" } else { $option }
        $before = @(Get-Container -All).Count
        New-Container -RootFs $script:rootfs -Command true -SecurityOption $opt -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be "$errorId,$script:NewCmd"
        $err[0].CategoryInfo.Category | Should -Be $(if ($errorId -eq 'SeccompProfileNotFound') { 'ObjectNotFound' } else { 'InvalidArgument' })
        if ($file) {
            $err[0].TargetObject | Should -Be $path
            $err[0].Exception.Message | Should -BeLike "*$path*"
        }
        @(Get-Container -All).Count | Should -Be $before -Because 'nothing is created'
    }
}
