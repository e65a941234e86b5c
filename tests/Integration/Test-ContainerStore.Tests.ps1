# Test-ContainerStore and the store's safety: malicious layers are refused with nothing written outside,
# a kill -9 in the middle of an import leaves a consistent store, corruption is reported, -Repair cleans.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/ImageTestHelpers.ps1
    $script:Work = New-TestStorageRoot 'store-work'
    $script:Outside = "$script:Work/outside"
    New-Item -ItemType Directory $script:Outside | Out-Null
}
AfterAll { Remove-TestStorageRoot $script:Work }

Describe 'Malicious layers' {
    BeforeAll { $script:R = New-TestStorageRoot }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'refuses <Case> with <ErrorId> and writes nothing outside' -TestCases @(
        @{ Case = 'a ../ path'; ErrorId = 'LayerPathTraversal'; Entries = { @(@{ Name = 'etc/'; Type = 'Dir' }, @{ Name = "../../../../../../../..$script:Outside/pwned"; Data = 'x' }) } }
        @{ Case = 'a nested ../ path'; ErrorId = 'LayerPathTraversal'; Entries = { @(@{ Name = 'a/b/../../../pwned'; Data = 'x' }) } }
        @{ Case = "an absolute path with '..' (absolute names are inside the layer)"; ErrorId = 'LayerPathTraversal'; Entries = { @(@{ Name = "/..$script:Outside/pwned"; Data = 'x' }) } }
        @{ Case = 'a write through a symlink'; ErrorId = 'LayerPathThroughSymlink'; Entries = { @(@{ Name = 'link'; Type = 'Symlink'; Link = $script:Outside }, @{ Name = 'link/pwned'; Data = 'x' }) } }
        @{ Case = 'a write through a relative symlink'; ErrorId = 'LayerPathThroughSymlink'; Entries = { @(@{ Name = 'up'; Type = 'Symlink'; Link = '../../../../../../../..' }, @{ Name = "up$script:Outside/pwned"; Data = 'x' }) } }
        @{ Case = 'a hard link to ../'; ErrorId = 'LayerHardlinkEscapes'; Entries = { @(@{ Name = 'h'; Type = 'HardLink'; Link = '../../../../../../../../etc/passwd' }) } }
        @{ Case = 'a hard link to an absolute path'; ErrorId = 'LayerHardlinkEscapes'; Entries = { @(@{ Name = 'h'; Type = 'HardLink'; Link = '/etc/passwd' }) } }
        @{ Case = 'a hard link to a file not in the layer'; ErrorId = 'LayerHardlinkEscapes'; Entries = { @(@{ Name = 'h'; Type = 'HardLink'; Link = 'etc/passwd' }) } }
        @{ Case = 'a hard link through a symlink'; ErrorId = 'LayerHardlinkEscapes'; Entries = { @(@{ Name = 'e'; Type = 'Symlink'; Link = '/etc' }, @{ Name = 'h'; Type = 'HardLink'; Link = 'e/passwd' }) } }
    ) {
        $tar = New-LayerTar -Path "$script:Work/evil-$([guid]::NewGuid().ToString('N').Substring(0,6)).tar" -Entries (& $Entries)
        { Import-ContainerImage -RootFs -LiteralPath $tar -Name evil:1 -StorageRoot $script:R -ErrorAction Stop } |
            Should -Throw -ErrorId "$ErrorId,Containers.Cmdlets.Images.ImportContainerImageCommand"
        @(Get-ChildItem $script:Outside -Force).Count | Should -Be 0
        @(Get-ChildItem $script:R -Recurse -Force -Filter pwned).Count | Should -Be 0
        @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
        @(Get-ChildItem "$script:R/tmp" -Force).Count | Should -Be 0
        @(Get-ChildItem "$script:R/layers" -Force).Count | Should -Be 0
        (Get-StoreErrors $script:R).Count | Should -Be 0
    }

    It 'fails with LayerEntryWriteFailed naming the entry when the kernel refuses one, and keeps nothing' {
        # the file system work runs on a writer thread: its failure must surface, stop the rest and clean up
        $entries = @(@{ Name = 'many/'; Type = 'Dir' }) + @(1..300 | ForEach-Object { @{ Name = "many/f$_"; Data = "file $_" } }) +
            @(@{ Name = 'many/bad'; Data = 'x'; Xattrs = @{ 'nonamespace' = 'v' } }) +
            @(1..50 | ForEach-Object { @{ Name = "after/f$_"; Data = "after $_" } })
        $tar = New-LayerTar -Path "$script:Work/badxattr.tar" -Entries $entries
        $err = $null
        try { Import-ContainerImage -RootFs -LiteralPath $tar -Name badx:1 -StorageRoot $script:R -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeExactly 'LayerEntryWriteFailed,Containers.Cmdlets.Images.ImportContainerImageCommand'
        $err.TargetObject | Should -BeExactly 'many/bad'
        @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
        @(Get-ChildItem "$script:R/tmp" -Force).Count | Should -Be 0
        @(Get-ChildItem "$script:R/layers" -Force).Count | Should -Be 0
        (Get-StoreErrors $script:R).Count | Should -Be 0
    }

    It 'refuses a truncated gzip layer with LayerCorrupt' {
        $entries = @(@{ Name = 'bin/'; Type = 'Dir' }, @{ Name = 'bin/big'; Data = ([string]::new('a', 200000) + [guid]::NewGuid()) }, @{ Name = 'bin/last'; Data = 'end' })
        $gz = New-LayerTar -Path "$script:Work/ok.tgz" -Entries $entries -Gzip
        foreach ($cut in 40, 8) {
            $bytes = [IO.File]::ReadAllBytes($gz)
            [IO.File]::WriteAllBytes("$script:Work/trunc.tgz", $bytes[0..($bytes.Length - $cut - 1)])
            { Import-ContainerImage -RootFs -LiteralPath "$script:Work/trunc.tgz" -Name trunc:1 -StorageRoot $script:R -ErrorAction Stop } |
                Should -Throw -ErrorId 'LayerCorrupt,Containers.Cmdlets.Images.ImportContainerImageCommand' -Because "cut $cut bytes"
        }
        @(Get-ContainerImage -StorageRoot $script:R).Count | Should -Be 0
        (Get-StoreErrors $script:R).Count | Should -Be 0
        # the intact one imports
        (Import-ContainerImage -RootFs -LiteralPath $gz -Name intact:1 -StorageRoot $script:R).RepoTags | Should -Be @('intact:1')
    }

    It 'keeps modes, owners, xattrs, devices, hard links and whiteouts of a crafted layer' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'ownership and device nodes need root')) { return }
        $r2 = New-TestStorageRoot
        try {
            $tar = New-LayerTar -Path "$script:Work/rich.tar" -Entries @(
                @{ Name = 'd/'; Type = 'Dir'; Mode = 0x1ed -bor 0x200; Uid = 1000; Gid = 1001 }
                @{ Name = 'd/f'; Data = 'content'; Mode = 0x9ed; Uid = 7; Gid = 8; Xattrs = @{ 'user.test' = 'v1' } }
                @{ Name = 'd/hl'; Type = 'HardLink'; Link = 'd/f' }
                @{ Name = 'd/null'; Type = 'CharDevice'; Major = 1; Minor = 3; Mode = 0x1b6 }
                @{ Name = 'd/.wh.gone'; Data = '' }
                @{ Name = 'o/'; Type = 'Dir' }
                @{ Name = 'o/.wh..wh..opq'; Data = '' }
                @{ Name = 's'; Type = 'Symlink'; Link = '/d/f' })
            $img = Import-ContainerImage -RootFs -LiteralPath $tar -Name rich:1 -StorageRoot $r2
            $l = ([Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($r2)).GetLayerPaths($img))[0]
            (& stat -c '%a %u %g' "$l/d") | Should -BeExactly '1755 1000 1001'
            (& stat -c '%a %u %g %h %Y' "$l/d/f") | Should -BeExactly "4755 7 8 2 $([DateTimeOffset]::new(2020,1,2,3,4,5,[TimeSpan]::Zero).ToUnixTimeSeconds())"
            (& stat -c '%i' "$l/d/hl") | Should -BeExactly (& stat -c '%i' "$l/d/f")
            (& getfattr --only-values -n user.test "$l/d/f" 2>$null) | Should -BeExactly 'v1'
            (& stat -c '%F %t %T' "$l/d/null") | Should -BeExactly 'character special file 1 3'
            (& stat -c '%F %t %T' "$l/d/gone") | Should -BeExactly 'character special file 0 0'
            (& getfattr --only-values -n trusted.overlay.opaque "$l/o" 2>$null) | Should -BeExactly 'y'
            Test-Path "$l/o/.wh..wh..opq" | Should -BeFalse
            (Get-Item "$l/s").LinkTarget | Should -BeExactly '/d/f'
        }
        finally { Remove-TestStorageRoot $r2 }
    }
}

Describe 'Test-ContainerStore' {
    BeforeEach {
        $script:R = New-TestStorageRoot
        New-Item -ItemType Directory "$script:Work/fs" -Force | Out-Null
        Set-Content "$script:Work/fs/file" ([guid]::NewGuid())
        $script:Img = Import-ContainerImage -RootFs -LiteralPath "$script:Work/fs" -Name t:1 -StorageRoot $script:R
    }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'finds nothing wrong in a fresh store (-Quiet says $true)' {
        @(Test-ContainerStore -StorageRoot $script:R).Count | Should -Be 0
        Test-ContainerStore -Quiet -StorageRoot $script:R | Should -BeTrue
    }

    It 'reports a corrupt blob and a missing layer as errors' {
        $blob = "$script:R/blobs/sha256/$($script:Img.Layers[0].BlobDigest.Substring(7))"
        [IO.File]::AppendAllText($blob, 'tampered')
        & rm -rf "$script:R/layers/$($script:Img.LayerDiffIds[0].Substring(7))"
        $p = @(Test-ContainerStore -StorageRoot $script:R)
        $p.Kind | Should -Contain 'BlobCorrupt'
        $p.Kind | Should -Contain 'LayerMissing'
        ($p | Where-Object Kind -eq 'BlobCorrupt').Severity | Should -BeExactly 'Error'
        Test-ContainerStore -Quiet -StorageRoot $script:R | Should -BeFalse
    }

    It 'reports garbage and -Repair removes it; -WhatIf does not' {
        Set-Content "$script:R/blobs/sha256/$('0' * 64)" 'orphan'
        New-Item -ItemType Directory "$script:R/tmp/layer-leftover/diff" -Force | Out-Null
        $p = @(Test-ContainerStore -StorageRoot $script:R)
        $p.Kind | Should -Contain 'BlobCorrupt'
        $p.Kind | Should -Contain 'BlobUnreferenced'
        $p.Kind | Should -Contain 'TempLeftover'
        Test-ContainerStore -Repair -WhatIf -StorageRoot $script:R | Out-Null
        Test-Path "$script:R/tmp/layer-leftover" | Should -BeTrue
        $fixed = @(Test-ContainerStore -Repair -StorageRoot $script:R)
        @($fixed | Where-Object Kind -eq 'TempLeftover').Repaired | Should -Be @($true)
        Test-Path "$script:R/tmp/layer-leftover" | Should -BeFalse
        @(Test-ContainerStore -StorageRoot $script:R).Count | Should -Be 0
        Get-ContainerImage t:1 -StorageRoot $script:R | Should -Not -BeNullOrEmpty
    }

    It 'removes the short link of a layer killed before its link file was written, with the layer (-Repair and Remove-ContainerImage)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # a container's start makes the layer's short link (l/<id>) and then its "link" file; kill -9 between the two
        # leaves a link no record names (seen in the crash suite)
        $bb = New-BusyboxRootFs "$script:Work/bbfs-short"
        $one = Import-ContainerImage -RootFs -LiteralPath $bb -Name t:short -StorageRoot $script:R
        Invoke-ContainerImage t:short -Remove -Network none -Command true -StorageRoot $script:R | Out-Null
        $hex = $one.LayerDiffIds[0].Substring(7)
        $short = (Get-Content -Raw "$script:R/layers/$hex/link").Trim()
        (Get-Item "$script:R/l/$short").LinkTarget | Should -Be "../layers/$hex/diff"
        Remove-Item "$script:R/layers/$hex/link"
        # the image goes without the engine: its layer is garbage
        Remove-Item "$script:R/images/$($one.ManifestDigest.Substring(7)).json"
        $fixed = @(Test-ContainerStore -Repair -StorageRoot $script:R)
        @($fixed | Where-Object Kind -eq 'LayerUnreferenced').Repaired | Should -Be @($true)
        Test-Path "$script:R/l/$short" | Should -BeFalse
        @(Test-ContainerStore -StorageRoot $script:R) | Should -BeNullOrEmpty
        # the same through Remove-ContainerImage
        $img = Import-ContainerImage -RootFs -LiteralPath $bb -Name t:2 -StorageRoot $script:R
        Invoke-ContainerImage t:2 -Remove -Network none -Command true -StorageRoot $script:R | Out-Null
        $hex = $img.LayerDiffIds[0].Substring(7)
        $short = (Get-Content -Raw "$script:R/layers/$hex/link").Trim()
        Remove-Item "$script:R/layers/$hex/link"
        Remove-ContainerImage t:2 -StorageRoot $script:R
        Test-Path "$script:R/l/$short" | Should -BeFalse
        @(Test-ContainerStore -StorageRoot $script:R) | Should -BeNullOrEmpty
    }

    It 'leaves a consistent store after kill -9 in the middle of an import' {
        $src = '/tmp/anchors/images/debian-bookworm.docker.tar'
        if (-not (Test-Path $src)) {
            $deb = Get-DebianRootFs
            if (-not (Test-Prerequisite -Condition ($null -ne $deb) -Because 'a large import (Debian rootfs) to interrupt')) { return }
            $src = "$script:Work/debian.tar"
            if (-not (Test-Path $src)) { & tar -C $deb -cf $src . }
        }
        $rootfsArg = if ($src -like '*docker.tar') { '' } else { '-RootFs -Name deb:1' }
        $cmd = "Import-Module '$script:ModulePath'; Import-ContainerImage -LiteralPath '$src' $rootfsArg -StorageRoot '$script:R' | Out-Null"
        $psi = [Diagnostics.ProcessStartInfo]::new((Get-Process -Id $PID).Path)
        foreach ($a in @([Environment]::GetCommandLineArgs()[0], '-NoProfile', '-NonInteractive', '-Command', $cmd)) { $psi.ArgumentList.Add($a) }
        $proc = [Diagnostics.Process]::Start($psi)
        try {
            # wait until the import is writing a layer, then kill it hard
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ([DateTime]::UtcNow -lt $deadline -and -not $proc.HasExited) {
                $t = @(Get-ChildItem "$script:R/tmp" -Directory -Filter 'layer-*' -ErrorAction SilentlyContinue)
                if ($t.Count -gt 0 -and @(Get-ChildItem $t[0].FullName -Recurse -ErrorAction SilentlyContinue | Select-Object -First 200).Count -ge 200) { break }
                Start-Sleep -Milliseconds 20
            }
            $proc.HasExited | Should -BeFalse -Because 'the import must still be running when it is killed'
            & kill -9 $proc.Id
            $proc.WaitForExit()
        }
        finally { if (-not $proc.HasExited) { & kill -9 $proc.Id; $proc.WaitForExit() } }
        (Get-StoreErrors $script:R).Count | Should -Be 0
        (Get-ContainerImage t:1 -StorageRoot $script:R).Id | Should -BeExactly $script:Img.Id
        Test-ContainerStore -Repair -StorageRoot $script:R | Out-Null
        @(Test-ContainerStore -StorageRoot $script:R).Count | Should -Be 0
    }
}
