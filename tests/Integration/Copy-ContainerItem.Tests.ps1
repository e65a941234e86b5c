# Copy-ContainerItem (docker cp semantics): container paths resolve inside the container's root, links in the
# container never lead to the host. Every test that could leak has a host canary: a directory at a host path the
# container's links name, holding a file with unique content; the tests assert it is never read, written or added to.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'copy'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    foreach ($a in 'readlink', 'chown', 'ls') { New-Item -ItemType SymbolicLink -Force -Path "$script:rootfs/bin/$a" -Target busybox | Out-Null }
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:work = Join-Path $script:root 'work'
    New-Item -ItemType Directory -Force $script:work | Out-Null
    # the host side an escaping link would reach
    $script:canaryText = 'host-canary-' + [Guid]::NewGuid().ToString('N')
    $script:canary = Join-Path $script:root 'canary'
    New-Item -ItemType Directory -Force $script:canary | Out-Null
    [IO.File]::WriteAllText("$script:canary/secret", $script:canaryText)
    [IO.File]::WriteAllText("$script:canary/shadow", $script:canaryText)
    $script:hostShadow = (Get-FileHash /etc/shadow).Hash

    # what a hostile container makes: links to the root, to /etc, relative ones climbing out, links to the canary's host path
    $script:setup = @"
echo container-shadow > /etc/shadow
ln -s /etc /out; ln -s / /outroot; ln -s ../../../../../etc /outrel; ln -s $script:canary /tohost
ln -s /etc/shadow /lnk; ln -s /proc/self/root/etc /magic
ln -s loop2 /loop1; ln -s loop1 /loop2
mkdir -p /tree/sub; echo a > /tree/sub/f; ln -s /etc/shadow /tree/abs; ln -s ../../../.. /tree/sub/up; ln -s $script:canary /tree/hostlink
echo owned > /owned; chown 1000:1000 /owned; chmod 640 /owned
"@
    $null = Invoke-ContainerImage -RootFs $script:rootfs -Name cprun -Detach -Init -Command sleep, 600
    $null = Invoke-ContainerCommand cprun -Command sh, -c, $script:setup
    $null = Invoke-ContainerImage -RootFs $script:rootfs -Name cpstop -Command sh, -c, $script:setup
    $null = Wait-Container cpstop -Timeout 30
    $script:CpErr = ',Containers.Cmdlets.Runtime.CopyContainerItemCommand'

    function Assert-CanaryIntact {
        @(Get-ChildItem -Force $script:canary | ForEach-Object Name | Sort-Object) | Should -Be @('secret', 'shadow')
        [IO.File]::ReadAllText("$script:canary/secret") | Should -BeExactly $script:canaryText
        [IO.File]::ReadAllText("$script:canary/shadow") | Should -BeExactly $script:canaryText
        (Get-FileHash /etc/shadow).Hash | Should -Be $script:hostShadow
    }
    function New-WorkDir([string] $Name) {
        $d = Join-Path $script:work ($Name + '-' + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Force $d | Out-Null
        $d
    }
    # what a container path holds, read back through the container itself (running) or its writable layer (stopped)
    function Get-InContainer([string] $Container, [string] $Path, [switch] $Link) {
        $tmp = New-WorkDir 'back'
        Copy-ContainerItem $Container $Path "$tmp/x"
        if ($Link) { (Get-Item "$tmp/x").LinkTarget } else { [IO.File]::ReadAllText("$tmp/x") }
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Copy-ContainerItem basics' {
    It 'copies out of and into a running container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'basic'
        Copy-ContainerItem cprun /etc/passwd "$d/p.txt"
        (Get-Content "$d/p.txt")[0] | Should -Be 'root:x:0:0:root:/root:/bin/sh'
        Set-Content "$d/in.txt" 'pushed'
        Copy-ContainerItem cprun "$d/in.txt" /tmp/ -ToContainer
        (Invoke-ContainerCommand cprun -Command cat, /tmp/in.txt).Output.Trim() | Should -Be 'pushed'
    }
    It 'copies into a stopped container''s writable layer, making missing parents inside' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = New-Container -RootFs $script:rootfs -Name cpnew -Command cat, /new/dir/pushed.txt
        $d = New-WorkDir 'stopped'
        Set-Content "$d/pushed.txt" 'offline'
        Copy-ContainerItem cpnew "$d/pushed.txt" /new/dir/pushed.txt -ToContainer
        Start-Container cpnew
        $null = Wait-Container cpnew -Timeout 30
        Get-ContainerLog cpnew | Should -Be 'offline'
    }
    It 'copies a directory''s contents with SRC/. and into an existing directory by name' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'contents'
        Copy-ContainerItem cprun /tree/. "$d/flat"
        Test-Path "$d/flat/sub/f" | Should -BeTrue
        Copy-ContainerItem cprun /tree $d
        Test-Path "$d/tree/sub/f" | Should -BeTrue
    }
    It 'keeps the owner and mode in the container when copying out' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'owner'
        Copy-ContainerItem cprun /owned "$d/owned"
        (& stat -c '%u:%g %a' "$d/owned") | Should -Be '1000:1000 640'
    }
    It 'gives copied-in files the container user''s owner (podman cp), keeping modes: <Name>' -TestCases @(
        @{ Name = 'root user'; User = $null; Expect = '0:0' }
        @{ Name = 'uid:gid user'; User = '1000:1000'; Expect = '1000:1000' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $n = 'cpown' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        # the host's user namespace: this reads the owners in the writable layer on the host, which a user namespace
        # shifts into its range (UserNamespace.Tests.ps1 covers copies under Auto)
        $p = @{ RootFs = $script:rootfs; Name = $n; Command = 'true'; UserNamespace = 'Host' }
        if ($User) { $p.User = $User }
        $null = New-Container @p
        $d = New-WorkDir 'own'
        Set-Content "$d/f" 'x'; & chown 1234:4321 "$d/f"; & chmod 0604 "$d/f"
        New-Item -ItemType Directory "$d/dir" | Out-Null; & chown 1234:4321 "$d/dir"
        Copy-ContainerItem $n "$d/f" /f -ToContainer
        Copy-ContainerItem $n "$d/dir" /dir -ToContainer
        $upper = Join-Path $script:root "containers/$((Get-Container $n).Id)/upper"
        (& stat -c '%u:%g %a' "$upper/f") | Should -Be "$Expect 604"
        (& stat -c '%u:%g' "$upper/dir") | Should -Be $Expect
    }
    It 'changes nothing with -WhatIf' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'whatif'
        Copy-ContainerItem cprun /etc/passwd "$d/never" -WhatIf
        Test-Path "$d/never" | Should -BeFalse
    }
}

Describe 'Copy-ContainerItem matches podman cp' {
    It 'gives copied-in files the same owner, modes and link handling as podman cp (<Name>)' -TestCases @(
        @{ Name = 'no user'; User = $null }
        @{ Name = 'user 1000:1000'; User = '1000:1000' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition (Test-Command podman) -Because 'needs podman')) { return }
        . $PSScriptRoot/ImageTestHelpers.ps1
        $d = New-WorkDir 'podman'
        New-Item -ItemType Directory "$d/src/sub" | Out-Null
        Set-Content "$d/src/f" 'f'; Set-Content "$d/src/sub/g" 'g'
        New-Item -ItemType SymbolicLink -Path "$d/src/lnk" -Target /etc | Out-Null
        & chown -hR 1234:4321 "$d/src"; & chmod 0640 "$d/src/f"; & chmod 0750 "$d/src/sub"
        function Get-Tree([string] $Dir) {
            Get-ChildItem -Recurse -Force $Dir | Sort-Object FullName | ForEach-Object {
                "$($_.FullName.Substring($Dir.Length)) " + (& stat -c '%u:%g %a %F' $_.FullName)
            }
        }
        # podman: a created (never started) container of an image made from the same root file system
        $pm = Get-PodmanArgs "$d/pm"
        & tar -C $script:rootfs -cf "$d/rootfs.tar" .
        $null = & podman @pm import "$d/rootfs.tar" localhost/cpcmp:1 2>&1
        $userArgs = if ($User) { @('--user', $User) } else { @() }
        $null = & podman @pm create --name cpcmp @userArgs localhost/cpcmp:1 true 2>&1
        & podman @pm cp "$d/src" cpcmp:/tmp/src 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        $mnt = (& podman @pm mount cpcmp).Trim()
        try { $theirs = Get-Tree "$mnt/tmp/src" } finally { & podman @pm umount cpcmp *> $null; & podman @pm rm -f cpcmp *> $null; Remove-PodmanStore "$d/pm" }
        # ours
        $n = 'cpcmp' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        # the host's user namespace, as podman's default: the writable layer is compared on the host (ids unshifted)
        $p = @{ RootFs = $script:rootfs; Name = $n; Command = 'true'; UserNamespace = 'Host' }
        if ($User) { $p.User = $User }
        $null = New-Container @p
        Copy-ContainerItem $n "$d/src" /tmp/src -ToContainer
        $ours = Get-Tree (Join-Path $script:root "containers/$((Get-Container $n).Id)/upper/tmp/src")
        Remove-Container $n
        $theirs.Count | Should -Be 4
        $ours | Should -Be $theirs
    }
}

Describe 'Copy-ContainerItem resolves container links inside the container (<Container>)' -ForEach @(
    @{ Container = 'cprun' }
    @{ Container = 'cpstop' }
) {
    It 'reads the container''s file through <Path>' -TestCases @(
        @{ Path = '/out/shadow' }
        @{ Path = '/outroot/etc/shadow' }
        @{ Path = '/outrel/shadow' }
        @{ Path = '/../../etc/shadow' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'out'
        Copy-ContainerItem $Container $Path "$d/x"
        [IO.File]::ReadAllText("$d/x") | Should -BeExactly "container-shadow`n"
        Assert-CanaryIntact
    }
    It 'finds nothing through a link to a host path or a magic link (<Path>)' -TestCases @(
        @{ Path = '/tohost/secret' }
        @{ Path = '/magic/shadow' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'nf'
        { Copy-ContainerItem $Container $Path "$d/x" -ErrorAction Stop } | Should -Throw -ErrorId "ContainerPathNotFound$script:CpErr"
        Test-Path "$d/x" | Should -BeFalse
        Assert-CanaryIntact
    }
    It 'copies a link that is the last component as a link, and with -FollowLink what it names in the container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'lnk'
        Copy-ContainerItem $Container /lnk "$d/asLink"
        (Get-Item "$d/asLink").LinkTarget | Should -Be '/etc/shadow'
        Copy-ContainerItem $Container /lnk "$d/followed" -FollowLink
        (Get-Item "$d/followed").LinkTarget | Should -BeNullOrEmpty
        [IO.File]::ReadAllText("$d/followed") | Should -BeExactly "container-shadow`n"
        Copy-ContainerItem $Container /tohost "$d/tohost"
        (Get-Item "$d/tohost").LinkTarget | Should -Be $script:canary
        { Copy-ContainerItem $Container /tohost "$d/tohost2" -FollowLink -ErrorAction Stop } | Should -Throw -ErrorId "ContainerPathNotFound$script:CpErr"
        Assert-CanaryIntact
    }
    It 'copies links inside a copied tree as links' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'tree'
        Copy-ContainerItem $Container /tree "$d/t"
        [IO.File]::ReadAllText("$d/t/sub/f") | Should -BeExactly "a`n"
        (Get-Item "$d/t/abs").LinkTarget | Should -Be '/etc/shadow'
        (Get-Item "$d/t/sub/up").LinkTarget | Should -Be '../../../..'
        (Get-Item "$d/t/hostlink").LinkTarget | Should -Be $script:canary
        # through a link to a directory of the container: /outroot/tree is /tree
        Copy-ContainerItem $Container /outroot/tree "$d/t2"
        (Get-Item "$d/t2/abs").LinkTarget | Should -Be '/etc/shadow'
        Assert-CanaryIntact
    }
    It 'never writes through a link on the host side of a copy out' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # a previous copy left a link where the container now has a directory
        $d = New-WorkDir 'hosttrap'
        New-Item -ItemType Directory "$d/tree" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$d/tree/sub" -Target $script:canary | Out-Null
        Copy-ContainerItem $Container /tree $d
        (Get-Item "$d/tree/sub").LinkTarget | Should -BeNullOrEmpty
        Test-Path "$d/tree/sub/f" | Should -BeTrue
        Assert-CanaryIntact
    }
    It 'writes a destination through <Dest> inside the container' -TestCases @(
        @{ Dest = '/out/'; Lands = '/etc/' }
        @{ Dest = '/outroot/made/deep/'; Lands = '/made/deep/' }
        @{ Dest = '/outrel/'; Lands = '/etc/' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'in'
        $name = 'pwn-' + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        Set-Content "$d/$name" 'written'
        Copy-ContainerItem $Container "$d/$name" $Dest -ToContainer
        Get-InContainer $Container "$Lands$name" | Should -BeExactly "written`n"
        Test-Path "/etc/$name" | Should -BeFalse
        Test-Path "/made" | Should -BeFalse
        Assert-CanaryIntact
    }
    It 'replaces a link named as the destination instead of writing through it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'inlink'
        Set-Content "$d/f" 'replaced'
        Copy-ContainerItem $Container "$d/f" /tree/hostlink -ToContainer -ErrorAction Stop
        Get-InContainer $Container /tree/hostlink | Should -BeExactly "replaced`n"
        Assert-CanaryIntact
    }
    It 'copies host links inside a tree into the container as links' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'intree'
        New-Item -ItemType Directory "$d/src/sub" | Out-Null
        Set-Content "$d/src/sub/f" 'b'
        New-Item -ItemType SymbolicLink -Path "$d/src/tohost" -Target $script:canary | Out-Null
        New-Item -ItemType SymbolicLink -Path "$d/src/sub/passwd" -Target /etc/passwd | Out-Null
        New-Item -ItemType SymbolicLink -Path "$d/src/toetc" -Target /etc | Out-Null
        $name = 'in-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        Copy-ContainerItem $Container "$d/src" "/tmp/$name" -ToContainer
        Get-InContainer $Container "/tmp/$name/tohost" -Link | Should -Be $script:canary
        Get-InContainer $Container "/tmp/$name/sub/passwd" -Link | Should -Be '/etc/passwd'
        Get-InContainer $Container "/tmp/$name/sub/f" | Should -BeExactly "b`n"
        # through the copied links, the next copy lands in the container's /etc, or nowhere (the host path does
        # not exist in the container, and mkdir -p does not make a dangling link's target)
        $g = 'g-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        Set-Content "$d/$g" 'again'
        Copy-ContainerItem $Container "$d/$g" "/tmp/$name/toetc/" -ToContainer
        Get-InContainer $Container "/etc/$g" | Should -BeExactly "again`n"
        Test-Path "/etc/$g" | Should -BeFalse
        { Copy-ContainerItem $Container "$d/$g" "/tmp/$name/tohost/" -ToContainer -ErrorAction Stop } | Should -Throw -ErrorId "ContainerCopyFailed$script:CpErr"
        Assert-CanaryIntact
    }
}

Describe 'Copy-ContainerItem errors' {
    It 'fails with <Id> for <Why>' -TestCases @(
        @{ Why = 'a missing container path'; Id = 'ContainerPathNotFound'; Path = '/no/such/file'; In = $false; Follow = $false }
        @{ Why = 'a missing host path'; Id = 'PathNotFound'; Path = '/no/such/host/file'; In = $true; Follow = $false }
        @{ Why = 'a link loop followed'; Id = 'ContainerPathLinkLoop'; Path = '/loop1'; In = $false; Follow = $true }
        @{ Why = 'a file named as a directory'; Id = 'ContainerPathNotDirectory'; Path = '/etc/passwd/'; In = $false; Follow = $false }
        @{ Why = 'a directory copied onto a file'; Id = 'CopyDirectoryOntoFile'; Path = '/tree'; In = $false; Follow = $false; OntoFile = $true }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $d = New-WorkDir 'err'
        $dest = "$d/x"
        if ($OntoFile) { Set-Content $dest 'file' }
        if ($In) { { Copy-ContainerItem cprun $Path /tmp/ -ToContainer -FollowLink:$Follow -ErrorAction Stop } | Should -Throw -ErrorId "$Id$script:CpErr" }
        else { { Copy-ContainerItem cprun $Path $dest -FollowLink:$Follow -ErrorAction Stop } | Should -Throw -ErrorId "$Id$script:CpErr" }
    }
}

Describe 'Copy-ContainerItem while the container swaps a directory and a link' {
    It 'never reads or writes the host in 100 copies each way' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $loop = "while :; do rm -rf /swap; mkdir /swap; echo inside > /swap/secret; rm -rf /swap; ln -s $script:canary /swap; rm -rf /swap; ln -s / /swap; rm -rf /swap; ln -s ../../$script:canary /swap; done"
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name cpswap -Detach -Init -Command sh, -c, $loop
        $d = New-WorkDir 'swap'
        Set-Content "$d/payload" 'payload'
        $outs = 0; $ins = 0; $failed = @{}
        for ($i = 0; $i -lt 100; $i++) {
            try {
                Copy-ContainerItem cpswap /swap/secret "$d/out$i" -ErrorAction Stop -WarningAction SilentlyContinue
                [IO.File]::ReadAllText("$d/out$i") | Should -BeExactly "inside`n"
                $outs++
            }
            catch [Management.Automation.ActionPreferenceStopException], [Management.Automation.RuntimeException] {
                if ($_.FullyQualifiedErrorId -notmatch '^(ContainerPathNotFound|ContainerCopyFailed),') { throw }
                $failed[$_.FullyQualifiedErrorId] = 1 + $failed[$_.FullyQualifiedErrorId]
            }
            try {
                Copy-ContainerItem cpswap "$d/payload" "/swap/in$i" -ToContainer -ErrorAction Stop -WarningAction SilentlyContinue
                $ins++
            }
            catch {
                if ($_.FullyQualifiedErrorId -notmatch '^(ContainerPathNotFound|ContainerCopyFailed|CopyOntoDirectory),') { throw }
            }
            try { Copy-ContainerItem cpswap /swap "$d/tree$i" -ErrorAction Stop -WarningAction SilentlyContinue } catch { }
        }
        Remove-Container cpswap -Force
        Write-Host "swap: $outs copies out and $ins copies in succeeded; failures: $(($failed.GetEnumerator() | ForEach-Object { "$($_.Key) x$($_.Value)" }) -join ', ')"
        $outs + $ins | Should -BeGreaterThan 0
        # whatever was copied out is the container's (links stay links, pointing where the container said)
        Get-ChildItem -Recurse -File $d | Where-Object { $_.Name -like 'secret' -or $_.Name -like 'out*' } |
            ForEach-Object { [IO.File]::ReadAllText($_.FullName) | Should -BeExactly "inside`n" }
        Assert-CanaryIntact
    }
}

Describe 'Other host-side reads of a container''s files' {
    It 'looks USER up in the container''s /etc/passwd even when the container made it a link to a host file' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $fake = Join-Path $script:root 'fake-passwd'
        Set-Content $fake 'root:x:4242:4242:root:/root:/bin/sh'
        # first run: replace /etc/passwd with a link to the host file; second run: report the uid it runs as
        $cmd = "if [ -L /etc/passwd ]; then id -u; else rm /etc/passwd; ln -s $fake /etc/passwd; fi"
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name pwlink -User root -Command sh, -c, $cmd
        $null = Wait-Container pwlink -Timeout 30
        Start-Container pwlink
        $null = Wait-Container pwlink -Timeout 30
        @(Get-ContainerLog pwlink)[-1] | Should -Be '0'
    }
    It 'makes a <Kind> volume''s mount point inside the container even when the container made its parent a link to the host' -TestCases @(
        @{ Kind = 'directory' }
        @{ Kind = 'file' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        New-Item -ItemType SymbolicLink -Force -Path "$script:rootfs/bin/mv" -Target busybox | Out-Null
        $hostDir = New-WorkDir 'mnt-target'
        $src = New-WorkDir 'vol-src'
        if ($Kind -eq 'file') { $src = "$src/file"; Set-Content $src 'volume file' }
        $n = 'mntlink' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        # first run: the engine makes /data/sub; the container moves /data away and puts a link to a host directory there
        $cmd = "if [ -L /data ]; then echo second; else mv /data /data2 && ln -s $hostDir /data && echo first; fi"
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name $n -Volume "${src}:/data/sub" -Command sh, -c, $cmd
        $null = Wait-Container $n -Timeout 30
        # second start: the mkdir/touch and the bind mount of /data/sub resolve /data in the container (where the
        # host path does not exist), so the start fails, and nothing is made on the host
        { Start-Container $n -ErrorAction Stop } | Should -Throw
        @(Get-ChildItem -Force $hostDir).Count | Should -Be 0
        Remove-Container $n -Force
    }
}
