# Layer edge cases taken as containerd and podman take them: owners up to 2^32-2 (in PAX records and in
# GNU base-256 header fields, which System.Formats.Tar alone rejects with a bare OverflowException), an
# owner of 2^32-1 refused by name, and absolute entry names and hard-link targets placed inside the layer
# (the hostile variants of those are in HostileLayers.Tests.ps1).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Work = New-TestStorageRoot 'layeredge'
    $script:Cmd = 'Containers.Cmdlets.Images.ImportContainerImageCommand'
    New-Item -ItemType Directory -Force "$Work/src/d" | Out-Null
    [IO.File]::WriteAllText("$Work/src/d/f", 'big owner')
    function script:LayerOf([string] $Root, $Img) { "$Root/layers/$($Img.LayerDiffIds[0].Substring(7))/diff" }
}
AfterAll { Remove-TestStorageRoot $script:Work }

Describe 'Layer owners above 2^31-1' {
    BeforeEach { $script:R = New-TestStorageRoot 'layeredge-r' }
    AfterEach { Remove-TestStorageRoot $script:R }

    It 'imports uid 4294967294 / gid 4294967293 written as <Format> and sets them on every file' -TestCases @(
        @{ Format = 'posix' }   # PAX uid/gid records
        @{ Format = 'gnu' }     # GNU base-256 header fields
    ) {
        if (-not (Test-Prerequisite -Condition $IsRoot -Because 'chown to any id needs root')) { return }
        $tar = "$Work/big-$Format.tar"
        & tar "--format=$Format" --owner=4294967294 --group=4294967293 --numeric-owner -C "$Work/src" -cf $tar .
        $LASTEXITCODE | Should -Be 0
        $img = Import-ContainerImage -RootFs -LiteralPath $tar -Name "big:$Format" -StorageRoot $R
        $layer = LayerOf $R $img
        (& stat -c '%u %g' "$layer/d/f") | Should -BeExactly '4294967294 4294967293'
        (& stat -c '%u %g' "$layer/d") | Should -BeExactly '4294967294 4294967293'
        Get-Content -Raw "$layer/d/f" | Should -BeExactly 'big owner'
        # the layer's diffID is the digest of the tar as given (the id fix-up happens after hashing)
        $img.LayerDiffIds[0] | Should -Be ('sha256:' + (Get-FileHash -LiteralPath $tar -Algorithm SHA256).Hash.ToLowerInvariant())
        @(Test-ContainerStore -StorageRoot $R).Count | Should -Be 0
    }

    It 'matches what podman stores for the same tar' {
        if (-not (Test-Prerequisite -Condition ($IsRoot -and (Test-Command podman)) -Because 'podman is the reference')) { return }
        $tar = "$Work/big-pm.tar"
        & tar --format=posix --owner=4294967294 --group=4294967293 --numeric-owner -C "$Work/src" -cf $tar .
        $p = "/tmp/ctr-le-" + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        $pa = @('--root', "$p/root", '--runroot', "$p/run", '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
        try {
            & podman @pa import -q $tar localhost/bigowner:1 | Out-Null
            $LASTEXITCODE | Should -Be 0
            $dir = @(Get-ChildItem -Directory "$p/root/vfs/dir")[0].FullName
            $want = & stat -c '%u %g' "$dir/d/f"
            $want | Should -BeExactly '4294967294 4294967293'
        }
        finally {
            & podman @pa rmi -a -f 2>&1 | Out-Null
            & rm -rf --one-file-system $p
        }
        $img = Import-ContainerImage -RootFs -LiteralPath $tar -Name bigowner:1 -StorageRoot $R
        (& stat -c '%u %g' "$(LayerOf $R $img)/d/f") | Should -BeExactly $want
    }

    It 'refuses uid 4294967295 with LayerOwnerInvalid naming the entry, leaving nothing' {
        if (-not (Test-Prerequisite -Condition (Test-Command python3) -Because 'python3 writes the out-of-range PAX record')) { return }
        $tar = "$Work/max.tar"
        & python3 -c @"
import tarfile, io
with tarfile.open('$tar', 'w', format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo('etc/owned-by-minus-one'); ti.uid = 4294967295; ti.size = 1
    t.addfile(ti, io.BytesIO(b'x'))
"@
        $LASTEXITCODE | Should -Be 0
        { Import-ContainerImage -RootFs -LiteralPath $tar -Name max:1 -StorageRoot $R -ErrorAction Stop } |
            Should -Throw -ErrorId "LayerOwnerInvalid,$Cmd" -ExpectedMessage '*etc/owned-by-minus-one*4294967295*'
        @(Get-ChildItem "$R/layers" -ErrorAction SilentlyContinue).Count | Should -Be 0
        @(Test-ContainerStore -StorageRoot $R).Count | Should -Be 0
    }
}

Describe 'Binary xattrs' {
    BeforeAll { $script:R = New-TestStorageRoot 'layeredge-x' }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'keeps a security.capability value with bytes above 0x7f exactly (TarReader alone decodes it as UTF-8)' {
        if (-not (Test-Prerequisite -Condition ($IsRoot -and (Test-Command setcap) -and (Test-Command getfattr)) -Because 'setcap and getfattr make and read the capability')) { return }
        New-Item -ItemType Directory -Force "$Work/caps/bin" | Out-Null
        [IO.File]::WriteAllText("$Work/caps/bin/tool", 'tool')
        # cap_setfcap is bit 31: the permitted mask has the byte 0x80, which is no valid UTF-8 on its own
        & setcap 'cap_setfcap,cap_net_raw+ep' "$Work/caps/bin/tool"
        $want = (& getfattr --absolute-names -n security.capability -e hex "$Work/caps/bin/tool" | Select-String 'security.capability=').Line
        $want | Should -Match '80'
        & tar --xattrs --xattrs-include='*' --format=posix --numeric-owner -C "$Work/caps" -cf "$Work/caps.tar" .
        $img = Import-ContainerImage -RootFs -LiteralPath "$Work/caps.tar" -Name caps:1 -StorageRoot $R
        $got = (& getfattr --absolute-names -n security.capability -e hex "$(LayerOf $R $img)/bin/tool" | Select-String 'security.capability=').Line
        $got | Should -BeExactly $want
    }
}

Describe 'Absolute entry names' {
    BeforeAll {
        . $PSScriptRoot/LayerTestHelpers.ps1
        $script:R = New-TestStorageRoot 'layeredge-abs'
    }
    AfterAll { Remove-TestStorageRoot $script:R }

    It 'places /abs/file and a hard link to /abs/file inside the layer, as podman does' {
        $t = Write-LayerTar "$Work/abs.tar" @(
            @{ Name = '/abs'; Type = 'Dir' }
            @{ Name = '/abs/file'; Type = 'File'; Data = 'absolute' }
            @{ Name = '/abs/hl'; Type = 'HardLink'; Link = '/abs/file' }
            @{ Name = 'rel-hl'; Type = 'HardLink'; Link = '/abs/file' })
        $img = Import-ContainerImage -RootFs -LiteralPath $t.Path -Name abs:1 -StorageRoot $R
        $layer = LayerOf $R $img
        Get-Content -Raw "$layer/abs/file" | Should -BeExactly 'absolute'
        (& stat -c '%h' "$layer/abs/file") | Should -Be '3'
        (& stat -c '%i' "$layer/abs/hl") | Should -Be (& stat -c '%i' "$layer/abs/file")
        (& stat -c '%i' "$layer/rel-hl") | Should -Be (& stat -c '%i' "$layer/abs/file")
        Test-Path /abs/file | Should -BeFalse
        $c = New-Container -Image abs:1 -Network none -Command /abs/file -StorageRoot $R -ErrorAction SilentlyContinue
        @(Test-ContainerStore -StorageRoot $R).Count | Should -Be 0
    }
}
