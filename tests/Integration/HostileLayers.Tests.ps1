# Hostile layers, through every way a layer gets in: Import-ContainerImage of a docker-archive, of an OCI
# archive and of an OCI layout, Import-ContainerImage -RootFs of a tar, and Request-ContainerImage from a
# registry this file serves on loopback. Each layer tries to write, delete, chmod, hard-link or re-time
# something outside the store, aimed at a canary tree next to it (files with known contents, modes, owners
# and times; a directory that must not be deleted). Every case must leave the canary exactly as it was,
# leave nothing in the root's tmp/, leave Test-ContainerStore with nothing to report, and either import
# (what is harmless: a '.' directory entry only sets the layer root's metadata) or fail with the refusal's
# own ErrorId. The devices cgroup must keep device nodes a layer brings from being opened in a container,
# and at the end the runtime still runs a container from a store that went through all of it.
BeforeDiscovery {
    # $C is the canary (absolute path), $T a token unique to the test: names that must never appear anywhere.
    $script:Cases = @(
        # --- the reported attacks: a link named '.' or './' replaced the staging directory --------------
        @{ Reported = $true; Case = "'.' -> / then tmp/pwned"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = '.'; Type = 'Symlink'; Link = '/' }, @{ Name = "tmp/pwned-$T"; Type = 'File'; Data = 'pwned' } } }
        @{ Reported = $true; Case = "'.' -> canary then a file"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = '.'; Type = 'Symlink'; Link = $C }, @{ Name = "pwned-$T"; Type = 'File'; Data = 'pwned' } } }
        @{ Reported = $true; Case = "'.' -> canary then dir and file 'keep' (rm -r of a host dir)"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = '.'; Type = 'Symlink'; Link = $C }, @{ Name = 'keep'; Type = 'Dir' }, @{ Name = 'keep'; Type = 'File'; Data = 'x' } } }
        @{ Reported = $true; Case = "'.' -> canary then dir entry 'secret' 0755 (chmod of a host file)"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = '.'; Type = 'Symlink'; Link = $C }, @{ Name = 'secret'; Type = 'Dir'; Mode = 493 } } }
        @{ Reported = $true; Case = "'./' -> / then tmp/pwned"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = './'; Type = 'Symlink'; Link = '/' }, @{ Name = "./tmp/pwned-$T"; Type = 'File'; Data = 'pwned' } } }
        @{ Reported = $true; Case = "'./' -> canary then dir and file 'keep'"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = './'; Type = 'Symlink'; Link = $C }, @{ Name = './keep/'; Type = 'Dir' }, @{ Name = './keep'; Type = 'File'; Data = 'x' } } }
        @{ Reported = $true; Case = "'./' -> canary then dir entry 'secret'"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = './'; Type = 'Symlink'; Link = $C }, @{ Name = './secret/'; Type = 'Dir'; Mode = 493 } } }
        @{ Reported = $true; Case = "'.' -> canary after ordinary entries"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = 'etc'; Type = 'Dir' }, @{ Name = 'etc/os-release'; Type = 'File'; Data = 'x' }, @{ Name = '.'; Type = 'Symlink'; Link = $C }, @{ Name = "pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Reported = $true; Case = "'./.' link"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = './.'; Type = 'Symlink'; Link = $C }, @{ Name = "pwned-$T"; Type = 'File' } } }
        @{ Reported = $true; Case = "an empty name (raw header) -> canary"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = ''; Type = 'Symlink'; Link = $C; Raw = $true }, @{ Name = "pwned-$T"; Type = 'File' } } }
        @{ Reported = $true; Case = "'.' -> relative '../../..'"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = '.'; Type = 'Symlink'; Link = '../../..' }, @{ Name = "pwned-$T"; Type = 'File' } } }
        # --- the layer root as anything but a directory ------------------------------------------------
        @{ Case = "'.' regular file"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = '.'; Type = 'File'; Data = 'x' } } }
        @{ Case = "'.' hard link to an earlier file"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = 'f'; Type = 'File'; Data = 'x' }, @{ Name = '.'; Type = 'HardLink'; Link = 'f' } } }
        @{ Case = "'./' hard link to the canary"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) @{ Name = './'; Type = 'HardLink'; Link = "$C/secret" } } }
        @{ Case = "'.' fifo"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) , @{ Name = '.'; Type = 'Fifo' } } }
        @{ Case = "'.' char device 1:3"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) , @{ Name = '.'; Type = 'CharDevice'; Major = 1; Minor = 3 } } }
        @{ Case = "'./' block device 8:0"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) , @{ Name = './'; Type = 'BlockDevice'; Major = 8; Minor = 0 } } }
        # --- '..' and absolute names -----------------------------------------------------------------
        @{ Case = "'../pwned'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = "../pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Case = "'../../../tmp/pwned'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = "../../../tmp/pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Case = "'a/../../pwned'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Dir' }, @{ Name = "a/../../pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Case = "'..' link to the canary"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = '..'; Type = 'Symlink'; Link = $C } } }
        @{ Case = "'..' directory entry 0777"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = '../'; Type = 'Dir'; Mode = 511 } } }
        @{ Case = "'a/..' (inside, still refused)"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Dir' }, @{ Name = 'a/..'; Type = 'Dir' } } }
        # absolute names are taken relative to the layer root (containerd, podman, docker): inside, never out
        @{ Case = "absolute '/tmp/pwned' (inside the layer)"; Expect = 'Imported'; Entries = { param($C, $T) , @{ Name = "/tmp/pwned-$T"; Type = 'File'; Data = 'x' } }
            Check = { param($Layer, $C) @(Get-ChildItem -LiteralPath "$Layer/tmp" -Filter 'pwned-*').Count | Should -Be 1 } }
        @{ Case = 'absolute into the canary (inside the layer)'; Expect = 'Imported'; Entries = { param($C, $T) , @{ Name = "$C/pwned-$T"; Type = 'File'; Data = 'x' } }
            Check = { param($Layer, $C) @(Get-ChildItem -LiteralPath "$Layer$C" -Filter 'pwned-*').Count | Should -Be 1 } }
        @{ Case = "absolute dir entry chmod of the canary's 'secret' (inside the layer)"; Expect = 'Imported'; Entries = { param($C, $T) , @{ Name = "$C/secret"; Type = 'Dir'; Mode = 511 } }
            Check = { param($Layer, $C) (& stat -c '%F %a' "$Layer$C/secret") | Should -BeExactly 'directory 777' } }
        @{ Case = "'/' link"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) , @{ Name = '/'; Type = 'Symlink'; Link = $C } } }
        @{ Case = "'//' link"; Expect = 'LayerRootNotDirectory'; Entries = { param($C, $T) , @{ Name = '//'; Type = 'Symlink'; Link = $C } } }
        @{ Case = "absolute '/../pwned'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = "/../pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Case = "absolute '//..//..$C/pwned'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = "//..//..$C/pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Case = "absolute '/a' -> canary then '/a/pwned'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = '/a'; Type = 'Symlink'; Link = $C }, @{ Name = "/a/pwned-$T"; Type = 'File' } } }
        # --- writing through a link the layer made ---------------------------------------------------
        @{ Case = "'a' -> /tmp then 'a/pwned'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = '/tmp' }, @{ Name = "a/pwned-$T"; Type = 'File'; Data = 'x' } } }
        @{ Case = "'a' -> canary then dir entry 'a/keep'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = 'a/keep'; Type = 'Dir'; Mode = 511 } } }
        @{ Case = "'a' -> canary then 'a/keep' file (would rm -r)"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = 'a/keep'; Type = 'File'; Data = 'x' } } }
        @{ Case = "'a' -> '../../..' then 'a/pwned'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = '../../..' }, @{ Name = "a/pwned-$T"; Type = 'File' } } }
        @{ Case = "'b' -> 'a' -> canary then 'b/pwned'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = 'b'; Type = 'Symlink'; Link = 'a' }, @{ Name = "b/pwned-$T"; Type = 'File' } } }
        @{ Case = "dir 'd' replaced by 'd' -> canary, then 'd/pwned'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'd'; Type = 'Dir' }, @{ Name = 'd/x'; Type = 'File' }, @{ Name = 'd'; Type = 'Symlink'; Link = $C }, @{ Name = "d/pwned-$T"; Type = 'File' } } }
        @{ Case = "'a' -> canary then whiteout 'a/.wh.secret'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = 'a/.wh.secret'; Type = 'File' } } }
        @{ Case = "'a' -> canary then opaque marker 'a/.wh..wh..opq'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = 'a/.wh..wh..opq'; Type = 'File' } } }
        @{ Case = "'a' -> canary then hard link 'a/x' to an earlier file"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 'f'; Type = 'File'; Data = 'x' }, @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = "a/pwned-$T"; Type = 'HardLink'; Link = 'f' } } }
        # --- hard links ------------------------------------------------------------------------------
        @{ Case = 'hard link to the canary (absolute)'; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) , @{ Name = 'h'; Type = 'HardLink'; Link = "$C/secret" } } }
        @{ Case = "absolute hard link '/h' to '/f', an earlier entry (inside the layer)"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = '/f'; Type = 'File'; Data = 'x' }, @{ Name = '/h'; Type = 'HardLink'; Link = '/f' } }
            Check = { param($Layer, $C) (& stat -c '%h %i' "$Layer/h") | Should -BeExactly (& stat -c '%h %i' "$Layer/f"); (& stat -c '%h' "$Layer/f") | Should -Be '2' } }
        @{ Case = "absolute hard link to '/../../etc/passwd'"; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) , @{ Name = 'h'; Type = 'HardLink'; Link = '/../../etc/passwd' } } }
        @{ Case = "absolute hard link through a link: '/a' -> canary, 'h' => '/a/secret'"; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) @{ Name = '/a'; Type = 'Symlink'; Link = $C }, @{ Name = 'h'; Type = 'HardLink'; Link = '/a/secret' } } }
        @{ Case = "hard link to '../../secret'"; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) , @{ Name = 'h'; Type = 'HardLink'; Link = '../../secret' } } }
        @{ Case = "hard link through a link: 'a' -> canary, 'h' => 'a/secret'"; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Symlink'; Link = $C }, @{ Name = 'h'; Type = 'HardLink'; Link = 'a/secret' } } }
        @{ Case = 'hard link to a name not in the layer'; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) , @{ Name = 'h'; Type = 'HardLink'; Link = 'etc/passwd' } } }
        @{ Case = 'hard link to a directory'; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) @{ Name = 'd'; Type = 'Dir' }, @{ Name = 'h'; Type = 'HardLink'; Link = 'd' } } }
        @{ Case = "hard link to '.'"; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) , @{ Name = 'h'; Type = 'HardLink'; Link = '.' } } }
        @{ Case = 'hard link to a file whose directory became a link'; Expect = 'LayerHardlinkEscapes'; Entries = { param($C, $T) @{ Name = 'd'; Type = 'Dir' }, @{ Name = 'd/secret'; Type = 'File' }, @{ Name = 'd'; Type = 'Symlink'; Link = $C }, @{ Name = 'h'; Type = 'HardLink'; Link = 'd/secret' } } }
        @{ Case = "hard link 'd' replacing the directory that holds its target 'd/f'"; Expect = 'LayerHardlinkTargetReplaced'; Entries = { param($C, $T) @{ Name = 'd/f'; Type = 'File'; Data = 'x' }, @{ Name = 'd'; Type = 'HardLink'; Link = 'd/f' } } }
        @{ Case = "hard link 'h' to link 's' -> canary, then 'h/pwned'"; Expect = 'LayerPathThroughSymlink'; Entries = { param($C, $T) @{ Name = 's'; Type = 'Symlink'; Link = $C }, @{ Name = 'h'; Type = 'HardLink'; Link = 's' }, @{ Name = "h/pwned-$T"; Type = 'File' } } }
        @{ Case = "hard link 'h' to link 's' -> canary/secret (links the link, not its target)"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = 's'; Type = 'Symlink'; Link = "$C/secret" }, @{ Name = 'h'; Type = 'HardLink'; Link = 's' } }
            Check = { param($Layer, $C) (Get-Item -LiteralPath "$Layer/h").LinkTarget | Should -BeExactly "$C/secret"; (& stat -c '%h' "$Layer/s") | Should -Be '2' } }
        # --- whiteouts -------------------------------------------------------------------------------
        @{ Case = "whiteout '.wh..'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = '.wh..'; Type = 'File' } } }
        @{ Case = "whiteout '.wh...'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = '.wh...'; Type = 'File' } } }
        @{ Case = "whiteout 'a/.wh..'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) @{ Name = 'a'; Type = 'Dir' }, @{ Name = 'a/.wh..'; Type = 'File' } } }
        @{ Case = "whiteout '.wh.' (no name)"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = '.wh.'; Type = 'File' } } }
        @{ Case = "whiteout '../.wh.secret'"; Expect = 'LayerPathTraversal'; Entries = { param($C, $T) , @{ Name = '../.wh.secret'; Type = 'File' } } }
        @{ Case = "absolute whiteout of the canary's 'secret' (inside the layer)"; Expect = 'Imported'; Entries = { param($C, $T) , @{ Name = "$C/.wh.secret"; Type = 'File' } }
            Check = { param($Layer, $C) (& stat -c '%F %t %T' "$Layer$C/secret") | Should -BeExactly 'character special file 0 0' } }
        @{ Case = "whiteout 'd/.wh.keep' after 'd' -> canary was replaced by a directory"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = 'd'; Type = 'Symlink'; Link = $C }, @{ Name = 'd'; Type = 'Dir' }, @{ Name = 'd/.wh.keep'; Type = 'File' } }
            Check = { param($Layer, $C) (& stat -c '%F %t %T' "$Layer/d/keep") | Should -BeExactly 'character special file 0 0'; (Get-Item -LiteralPath "$Layer/d").LinkTarget | Should -BeNullOrEmpty } }
        # --- directory times: a directory later replaced by a link must not be re-timed through it ---
        @{ Case = "'d/keep/' then 'd' -> canary (deferred directory times)"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = 'd'; Type = 'Dir' }, @{ Name = 'd/keep'; Type = 'Dir' }, @{ Name = 'd/keep/sub'; Type = 'Dir' }, @{ Name = 'd'; Type = 'Symlink'; Link = $C } }
            Check = { param($Layer, $C) (Get-Item -LiteralPath "$Layer/d").LinkTarget | Should -BeExactly $C } }
        @{ Case = "'d/keep/' then 'd' whited out"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = 'd'; Type = 'Dir' }, @{ Name = 'd/keep'; Type = 'Dir' }, @{ Name = '.wh.d'; Type = 'File' } }
            Check = { param($Layer, $C) (& stat -c '%F %t %T' "$Layer/d") | Should -BeExactly 'character special file 0 0' } }
        # --- harmless: a '.' directory entry only sets the layer root's metadata ---------------------
        @{ Case = "'.' directory 0700 1234:5678"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = '.'; Type = 'Dir'; Mode = 448; Uid = 1234; Gid = 5678 }, @{ Name = 'f'; Type = 'File'; Data = 'x' } }
            Check = { param($Layer, $C) (& stat -L -c '%a %u %g %Y' $Layer) | Should -BeExactly "700 1234 5678 $($script:LayerEpoch.ToUnixTimeSeconds())"; @(Get-ChildItem -Force -LiteralPath $Layer | ForEach-Object Name) | Should -Be @('f') } }
        @{ Case = "'./' directory 1777 after files"; Expect = 'Imported'; Entries = { param($C, $T) @{ Name = './f'; Type = 'File'; Data = 'x' }, @{ Name = './'; Type = 'Dir'; Mode = 1023 } }
            Check = { param($Layer, $C) (& stat -L -c '%a %u %g' $Layer) | Should -BeExactly '1777 0 0'; @(Get-ChildItem -Force -LiteralPath $Layer | ForEach-Object Name) | Should -Be @('f') } }
    )
    $script:Ways = @('docker-archive', 'oci-archive', 'oci-layout', 'rootfs-tar', 'registry')
    $script:WayCases = @(foreach ($w in $script:Ways) { @{ Way = $w; Cases = $script:Cases } }) +
        # what registries serve most: gzip layers (inflated on the way into the same unpacker), for the reported attacks
        @(@{ Way = 'registry-gzip'; Cases = @($script:Cases | Where-Object { $_.Reported }) })
}

BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/LayerTestHelpers.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:Work = New-TestStorageRoot 'hostile'
    $script:Canary = New-Canary "$script:Work/canary"
    $script:CanaryPrint = Get-TreeFingerprint $script:Canary
    $script:ImportCmd = 'Containers.Cmdlets.Images.ImportContainerImageCommand'
    $script:PullCmd = 'Containers.Cmdlets.Registry.RequestContainerImageCommand'
    $script:Reg = $null
    if ($script:IsRoot -and (Test-Path /usr/bin/docker-registry) -and (Test-Command skopeo)) {
        $script:Reg = Start-TestRegistry -Dir "$script:Work/registry" -Auth None
        $env:PSCONTAINERS_AUTH_FILE = "$script:Work/auth.json"
    }

    function script:Invoke-Hostile([string] $Way, [object[]] $Entries, [string] $Root) {
        # builds the hostile image for $Way around one layer and brings it into $Root; returns the outcome
        $n = [guid]::NewGuid().ToString('N').Substring(0, 10)
        $layer = Write-LayerTar "$script:Work/$n.layer.tar" $Entries
        switch ($Way) {
            'docker-archive' { Invoke-LayerImport (New-DockerArchive "$script:Work/$n.docker.tar" @($layer) -Tag "hostile-$($n):1") $Root }
            'oci-archive' { Invoke-LayerImport (New-OciArchive "$script:Work/$n.oci.tar" @($layer)) $Root }
            'oci-layout' { Invoke-LayerImport (New-OciLayout "$script:Work/$n.oci" @($layer)) $Root }
            'rootfs-tar' { Invoke-LayerImport $layer.Path $Root -RootFs -Name "hostile-$($n):1" }
            { $_ -like 'registry*' } {
                $layout = New-OciLayout "$script:Work/$n.oci" @($layer) -Gzip:($Way -eq 'registry-gzip')
                Copy-TestImage "oci:$($layout):1" "docker://$($script:Reg.Address)/hostile-$($n):1" $script:Reg
                try { Request-ContainerImage "$($script:Reg.Address)/hostile-$($n):1" -StorageRoot $Root -ErrorAction Stop | Out-Null; 'Imported' }
                catch { $_.FullyQualifiedErrorId }
            }
        }
    }

    function script:Assert-NothingEscaped([string] $Root, [string] $Token) {
        $now = Get-TreeFingerprint $script:Canary
        if ($now -ne $script:CanaryPrint) {
            $diff = Compare-Object ($script:CanaryPrint -split "`n") ($now -split "`n") | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
            # a fresh canary for the next case, then fail this one with what changed
            & rm -rf --one-file-system $script:Canary
            $script:Canary = New-Canary $script:Canary
            $script:CanaryPrint = Get-TreeFingerprint $script:Canary
            throw "the canary changed:`n$($diff -join "`n")"
        }
        foreach ($d in '/', '/tmp', '/var/tmp', $script:Work, (Split-Path $script:Work), $Root, "$Root/tmp") {
            Test-Path -LiteralPath "$d/pwned-$Token" | Should -BeFalse -Because "nothing may be written to $d"
        }
        Get-StoreTmpLeftovers $Root | Should -BeNullOrEmpty -Because "the refused or finished unpack must leave nothing in tmp/"
        Get-StoreFindings $Root | Should -BeNullOrEmpty -Because 'Test-ContainerStore must find nothing'
    }
}

AfterAll {
    if ($script:Reg) { Stop-TestRegistry $script:Reg; Remove-Item Env:PSCONTAINERS_AUTH_FILE -ErrorAction SilentlyContinue }
    if ($script:Work) { Remove-TestStorageRoot $script:Work }
}

Describe 'Hostile layers through <Way>' -ForEach $WayCases {
    BeforeEach { $script:R = New-TestStorageRoot 'hostile-root' }
    AfterEach { Remove-TestStorageRoot $script:R }

    It '<Case>: <Expect>' -TestCases $Cases {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'unpacking owners, devices and whiteouts needs root')) { return }
        if ($Way -like 'registry*' -and -not (Test-Prerequisite -Condition ($null -ne $script:Reg) -Because 'docker-registry and skopeo serve the hostile image')) { return }
        $token = [guid]::NewGuid().ToString('N').Substring(0, 12)
        $entries = @(& $Entries $script:Canary $token)
        $outcome = Invoke-Hostile $Way $entries $script:R
        $cmd = if ($Way -like 'registry*') { $script:PullCmd } else { $script:ImportCmd }
        $want = if ($Expect -eq 'Imported') { 'Imported' } else { "$Expect,$cmd" }
        # what escaped first (the canary's changes name the damage), then how the import ended
        Assert-NothingEscaped $script:R $token
        $outcome | Should -BeExactly $want
        if ($Expect -eq 'Imported') {
            @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 1
            $img = (Get-ContainerImage -StorageRoot $script:R)[0]
            $layer = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:R)).GetLayerPaths($img)[0]
            if ($Check) { & $Check $layer $script:Canary }
        }
        else {
            @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
            @(Get-ChildItem -LiteralPath "$script:R/layers" -ErrorAction SilentlyContinue).Count | Should -Be 0
        }
    }
}

Describe 'One store after every hostile import' {
    BeforeAll {
        $script:S = New-TestStorageRoot 'hostile-shared'
        if ($script:IsRoot) {
            # a busybox base layer made by tar, and a layer of device nodes over it: a char device the host can
            # open (kmsg), /dev/mem's, /dev/sda's numbers as a block and as a char device, the host disk's and loop0's,
            # and /dev/null's as the control (it must open: the overlay is not nodev, so a refusal is the cgroup)
            $rootfs = New-BusyboxRootFs "$script:Work/bb-rootfs"
            & tar --numeric-owner -C $rootfs -cf "$script:Work/bb.tar" .
            $base = [pscustomobject]@{ Path = "$script:Work/bb.tar"; DiffId = 'sha256:' + (Get-FileHash "$script:Work/bb.tar" -Algorithm SHA256).Hash.ToLowerInvariant() }
            $script:Disk = Get-ChildItem /sys/block -ErrorAction SilentlyContinue | Where-Object Name -NotMatch '^(loop|zram|ram|dm-)' | Select-Object -First 1
            $dmaj, $dmin = if ($script:Disk) { (Get-Content -LiteralPath "$($script:Disk.FullName)/dev").Trim() -split ':' } else { 8, 0 }
            $devs = Write-LayerTar "$script:Work/devs.tar" @(
                @{ Name = 'devs'; Type = 'Dir' }
                @{ Name = 'devs/kmsg'; Type = 'CharDevice'; Major = 1; Minor = 11; Mode = 438 }
                @{ Name = 'devs/mem'; Type = 'CharDevice'; Major = 1; Minor = 1; Mode = 438 }
                @{ Name = 'devs/sda'; Type = 'BlockDevice'; Major = 8; Minor = 0; Mode = 438 }
                @{ Name = 'devs/sdachar'; Type = 'CharDevice'; Major = 8; Minor = 0; Mode = 438 }
                @{ Name = 'devs/disk'; Type = 'BlockDevice'; Major = [int]$dmaj; Minor = [int]$dmin; Mode = 438 }
                @{ Name = 'devs/loop'; Type = 'BlockDevice'; Major = 7; Minor = 0; Mode = 438 }
                @{ Name = 'devs/null'; Type = 'CharDevice'; Major = 1; Minor = 3; Mode = 438 }
            )
            Invoke-LayerImport (New-DockerArchive "$script:Work/bbdevs.docker.tar" @($base, $devs) -Tag 'bbdevs:1' -Cmd @('sh')) $script:S |
                Should -BeExactly 'Imported'
        }
    }
    AfterAll { Remove-TestStorageRoot $script:S }

    It 'takes every hostile case, in one store that holds a working image, with the same outcomes' -TestCases @(@{ All = $Cases }) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $outcomes = foreach ($c in $All) {
            $token = [guid]::NewGuid().ToString('N').Substring(0, 12)
            $got = Invoke-Hostile 'docker-archive' @(& $c.Entries $script:Canary $token) $script:S
            $want = if ($c.Expect -eq 'Imported') { 'Imported' } else { "$($c.Expect),$script:ImportCmd" }
            if ($got -ne $want) { "$($c.Case): got $got, want $want" }
            Assert-NothingEscaped $script:S $token
        }
        $outcomes | Should -BeNullOrEmpty
    }

    It 'refuses, through the devices cgroup, to open the device nodes a layer brought (the null control opens)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # what the host itself can open of them (so a refusal inside is not the host's own)
        { [IO.File]::Open('/dev/kmsg', 'Open', 'Read').Dispose() } | Should -Not -Throw
        $n = 'devs-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        try {
            $r = Invoke-ContainerImage -Image bbdevs:1 -Name $n -Network none -StorageRoot $script:S -Command sh, -c, (
                'for d in kmsg mem sda sdachar disk loop null; do if (exec 3</devs/$d) 2>/tmp/e; then echo "$d=open"; else echo "$d=refused: $(cat /tmp/e)"; fi; done')
            $lines = @($r.Output -split "`n" | Where-Object { $_ })
            foreach ($d in 'kmsg', 'mem', 'sda', 'sdachar', 'disk', 'loop') {
                $line = @($lines | Where-Object { $_ -like "$d=*" })
                $line.Count | Should -Be 1 -Because "the script reports on /devs/$d once"
                $line[0] | Should -Match "^$d=refused: .*Operation not permitted" -Because "/devs/$d is not on the allow list"
            }
            $lines | Should -Contain 'null=open'
        }
        finally { Remove-Container $n -Force -StorageRoot $script:S -ErrorAction SilentlyContinue }
    }

    It 'still runs a container from that store, and the store checks clean' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $n = 'after-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        try {
            $r = Invoke-ContainerImage -Image bbdevs:1 -Name $n -Network none -StorageRoot $script:S -Command sh, -c, 'echo alive > /tmp/a && cat /tmp/a && ls /'
            $r.ExitCode | Should -Be 0
            $r.Output | Should -Match 'alive'
            $r.Output | Should -Match 'devs'
        }
        finally { Remove-Container $n -Force -StorageRoot $script:S -ErrorAction SilentlyContinue }
        Get-StoreFindings $script:S | Should -BeNullOrEmpty
        Get-StoreTmpLeftovers $script:S | Where-Object { $_ -notlike 'rm-*' } | Should -BeNullOrEmpty
        (Get-TreeFingerprint $script:Canary) | Should -BeExactly $script:CanaryPrint
    }
}

Describe 'Mount destinations under a link an image layer made' {
    # Not the unpacker's: the layer 'data -> <canary>' imports (a link may point anywhere), but the runtime's
    # mkdir/touch/mount of a -Volume or -Tmpfs destination under /data runs in the child before pivot_root, so
    # it followed the absolute link on the host (found by this file's author). Main resolves every destination in
    # the container's root (openat2 RESOLVE_IN_ROOT in the child): the canary must stay unchanged.
    BeforeAll {
        $script:M = New-TestStorageRoot 'hostile-mounts'
        if ($script:IsRoot) {
            $rootfs = New-BusyboxRootFs "$script:Work/bb-mounts"
            & tar --numeric-owner -C $rootfs -cf "$script:Work/bbm.tar" .
            $base = [pscustomobject]@{ Path = "$script:Work/bbm.tar"; DiffId = 'sha256:' + (Get-FileHash "$script:Work/bbm.tar" -Algorithm SHA256).Hash.ToLowerInvariant() }
            $link = Write-LayerTar "$script:Work/datalink.tar" @(@{ Name = 'data'; Type = 'Symlink'; Link = $script:Canary })
            Invoke-LayerImport (New-DockerArchive "$script:Work/datalink.docker.tar" @($base, $link) -Tag 'datalink:1' -Cmd @('sh')) $script:M |
                Should -BeExactly 'Imported'
            New-Item -ItemType File -Force -Path "$script:Work/bind-source" | Out-Null
        }
    }
    AfterAll { Remove-TestStorageRoot $script:M }

    It 'a <Kind> at /data/<Leaf> creates nothing in the canary' -TestCases @(
        @{ Kind = 'named volume'; Leaf = 'newdir'; Params = { @{ Volume = "hostilevol:/data/newdir" } } }
        @{ Kind = 'tmpfs'; Leaf = 'tmpfsdir'; Params = { @{ Tmpfs = '/data/tmpfsdir' } } }
        @{ Kind = 'bind-mounted file'; Leaf = 'bindfile'; Params = { @{ Volume = "$script:Work/bind-source:/data/bindfile" } } }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $n = 'mnt-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        $p = & $Params
        $outcome = try {
            $r = Invoke-ContainerImage -Image datalink:1 -Name $n -Network none -StorageRoot $script:M @p -Command sh, -c, 'ls -d /data/* 2>&1; echo ran' -ErrorAction Stop
            "ran: $($r.Output -replace "`n", ' ')"
        }
        catch { $_.FullyQualifiedErrorId }
        finally { Remove-Container $n -Force -StorageRoot $script:M -ErrorAction SilentlyContinue }
        $now = Get-TreeFingerprint $script:Canary
        if ($now -ne $script:CanaryPrint) {
            $diff = Compare-Object ($script:CanaryPrint -split "`n") ($now -split "`n") | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
            & rm -rf --one-file-system $script:Canary
            $script:Canary = New-Canary $script:Canary
            $script:CanaryPrint = Get-TreeFingerprint $script:Canary
            throw ("HOLE: the runtime made '$Leaf' in the host directory the image's /data link names " +
                "(outcome: $outcome; canary: $($diff -join ' | '))")
            return
        }
        $outcome | Should -Not -BeNullOrEmpty
    }

    It 'a container that plants /inner -> canary in its own layer and is started again with -Volume at /inner/x creates nothing in the canary' {
        # the same hole without a hostile image: the link is the container's own write, the restart follows it
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $n = 'plant-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        try {
            $ctr = New-Container -Image datalink:1 -Name $n -Network none -StorageRoot $script:M -Volume 'plantvol:/inner/x' -Command sh, -c, (
                "if [ -L /inner ]; then echo second; else mv /inner /inner.old && ln -s $script:Canary /inner && echo planted; fi")
            $ctr | Start-Container -StorageRoot $script:M
            Wait-Container $n -StorageRoot $script:M -Timeout 30 | Out-Null
            (Get-TreeFingerprint $script:Canary) | Should -BeExactly $script:CanaryPrint -Because 'the first start only plants the link'
            $second = try { Start-Container $n -StorageRoot $script:M -ErrorAction Stop; Wait-Container $n -StorageRoot $script:M -Timeout 30 | Out-Null; 'ran' }
            catch { $_.FullyQualifiedErrorId }
        }
        finally { Remove-Container $n -Force -StorageRoot $script:M -ErrorAction SilentlyContinue }
        $now = Get-TreeFingerprint $script:Canary
        if ($now -ne $script:CanaryPrint) {
            $diff = Compare-Object ($script:CanaryPrint -split "`n") ($now -split "`n") | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
            & rm -rf --one-file-system $script:Canary
            $script:Canary = New-Canary $script:Canary
            $script:CanaryPrint = Get-TreeFingerprint $script:Canary
            throw ("HOLE: the second start made 'x' in the host directory the container's own /inner link names " +
                "(second start: $second; canary: $($diff -join ' | '))")
            return
        }
        $second | Should -Not -BeNullOrEmpty
    }
}
