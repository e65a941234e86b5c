# Binary xattr values through every path a layer takes: import (the unpacker), Export-Container and commit
# (the packer), and a run. security.capability set by setcap cap_setuid has a byte above 0x7f (0x80, the
# setuid bit), and user.bin holds every byte 0x00..0xff (NUL and newline included): values that are not UTF-8
# text and that a string-typed PAX writer or reader changes. The tars' xattrs are read here from the PAX
# records' bytes themselves (TarReader would decode them as UTF-8 strings), and compared with podman export.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:R = New-TestStorageRoot 'xattrbin'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R; 'Invoke-ContainerImage:StorageRoot' = $script:R }
    $script:AllHex = -join (0..255 | ForEach-Object { '{0:x2}' -f $_ })

    # entry path -> "name=hex;name=hex" (sorted) for every entry with SCHILY.xattr.* records, parsed from the bytes
    function script:TarXattrs([string] $Path) {
        $b = [IO.File]::ReadAllBytes($Path)
        if ($b.Length -gt 2 -and $b[0] -eq 0x1f -and $b[1] -eq 0x8b) {
            $ms = [IO.MemoryStream]::new()
            $gz = [IO.Compression.GZipStream]::new([IO.MemoryStream]::new($b), [IO.Compression.CompressionMode]::Decompress)
            $gz.CopyTo($ms); $gz.Dispose(); $b = $ms.ToArray()
        }
        function Str([int] $at, [int] $len) {
            $end = [Array]::IndexOf($b, [byte]0, $at, $len); if ($end -lt 0) { $end = $at + $len }
            [Text.Encoding]::UTF8.GetString($b, $at, $end - $at)
        }
        function Num([int] $at, [int] $len) { $s = (Str $at $len).Trim(); if ($s) { [Convert]::ToInt64($s, 8) } else { 0 } }
        $out = @{}
        $pos = 0; $x = $null; $paxPath = $null; $long = $null
        while ($pos + 512 -le $b.Length) {
            if ([Array]::TrueForAll([byte[]]$b[$pos..($pos + 511)], [Predicate[byte]] { param($v) $v -eq 0 })) { break }
            $type = [char]$b[$pos + 156]
            $size = Num ($pos + 124) 12
            $data = $pos + 512
            $next = $data + [long][Math]::Ceiling($size / 512) * 512
            if ($type -eq 'x') {
                $x = [Collections.Generic.List[string]]::new(); $p = $data; $end = $data + $size
                while ($p -lt $end) {
                    $sp = [Array]::IndexOf($b, [byte]32, $p)
                    $len = [int][Text.Encoding]::ASCII.GetString($b, $p, $sp - $p)
                    $eq = [Array]::IndexOf($b, [byte]61, $sp)
                    $key = [Text.Encoding]::UTF8.GetString($b, $sp + 1, $eq - $sp - 1)
                    $vlen = $p + $len - 1 - ($eq + 1)
                    if ($key -eq 'path') { $paxPath = [Text.Encoding]::UTF8.GetString($b, $eq + 1, $vlen) }
                    elseif ($key.StartsWith('SCHILY.xattr.')) {
                        $x.Add($key.Substring(13) + '=' + [Convert]::ToHexStringLower($b, $eq + 1, $vlen))
                    }
                    $p += $len
                }
            }
            elseif ($type -eq 'L') { $long = Str $data $size }
            elseif ($type -ne 'g') {
                $name = Str $pos 100
                if ([Text.Encoding]::ASCII.GetString($b, $pos + 257, 5) -eq 'ustar') { $pre = Str ($pos + 345) 155; if ($pre) { $name = "$pre/$name" } }
                if ($long) { $name = $long }
                if ($paxPath) { $name = $paxPath }
                $name = $name -replace '^(\./)+', '' -replace '/+$', ''
                if ($x -and $x.Count -gt 0) { $out[$name] = (@($x | Sort-Object) -join ';') }
                if ($type -in '1', '2', '3', '4', '5', '6') { $next = $data }
                $x = $null; $paxPath = $null; $long = $null
            }
            $pos = $next
        }
        $out
    }
    function script:Fattr([string] $File, [string] $Name) {
        $o = & getfattr --absolute-names -e hex -n $Name $File 2>$null
        (@($o | Where-Object { $_ -like "$Name=0x*" })[0] -replace "^$([regex]::Escape($Name))=0x", '')
    }
    # what the container's process has in effect: a script of shell built-ins only (no exec after /data/sh)
    $script:CapEffScript = 'while read k v; do [ "$k" = CapEff: ] && echo $v; done < /proc/self/status; :'

    $script:Ready = $IsRoot -and (Test-Command setcap) -and (Test-Command setfattr) -and (Test-Command getfattr)
    if ($script:Ready) {
        $fs = New-BusyboxRootFs "$R/rootfs"
        New-Item -ItemType Directory "$fs/data/dir" -Force | Out-Null
        # a busybox named sh: as /data/sh it runs the shell, with the file capability
        Copy-Item /bin/busybox "$fs/data/sh"
        & setcap cap_setuid+ep "$fs/data/sh"
        [IO.File]::WriteAllText("$fs/data/bin", 'binary xattr')
        & setfattr -n user.bin -v "0x$AllHex" "$fs/data/bin"
        & setfattr -n user.bin -v "0x$AllHex" "$fs/data/dir"
        $script:CapHex = Fattr "$fs/data/sh" security.capability
        & tar --xattrs --xattrs-include='*' --numeric-owner -C $fs -cf "$R/rootfs.tar" .
        Import-ContainerImage -RootFs -LiteralPath "$R/rootfs.tar" -Name xattrbin/bb:1 -StorageRoot $R | Out-Null
    }
}
AfterAll {
    Get-Container -All -StorageRoot $R -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $R -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $R
}

Describe 'Binary xattr values' {
    It 'the source tar holds them as raw bytes (the case is real)' {
        if (-not (Test-Prerequisite -Condition $Ready -Because 'root, setcap (libcap2-bin) and setfattr/getfattr (attr) make the values')) { return }
        $CapHex | Should -Match '^0[12]0000'
        # cap_setuid is bit 7: the byte 0x80, which is not UTF-8 on its own
        $CapHex.Substring(8, 2) | Should -Be '80'
        (Fattr "$R/rootfs/data/bin" user.bin) | Should -Be $AllHex
        $x = TarXattrs "$R/rootfs.tar"
        $x['data/sh'] | Should -Be "security.capability=$CapHex"
        $x['data/bin'] | Should -Be "user.bin=$AllHex"
    }

    It 'import restores them on disk byte for byte (getfattr -e hex)' {
        if (-not (Test-Prerequisite -Condition $Ready -Because 'root, setcap and attr')) { return }
        $img = Get-ContainerImage xattrbin/bb:1 -StorageRoot $R
        $diff = "$R/layers/$($img.LayerDiffIds[0].Substring(7))/diff"
        Fattr "$diff/data/sh" security.capability | Should -Be $CapHex
        Fattr "$diff/data/bin" user.bin | Should -Be $AllHex
        Fattr "$diff/data/dir" user.bin | Should -Be $AllHex
    }

    It 'Export-Container writes the same xattr bytes as podman export of the same image' {
        if (-not (Test-Prerequisite -Condition ($Ready -and (Test-Command podman)) -Because 'podman export is the reference')) { return }
        New-Container xattrbin/bb:1 -Name xattr-exp -Network none -Command true | Out-Null
        Export-Container xattr-exp "$R/ours.tar"
        $p = "/tmp/ctr-xb-" + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        $pa = @('--root', "$p/root", '--runroot', "$p/run", '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
        try {
            & podman @pa import -q "$R/rootfs.tar" localhost/xattrbin:1 | Out-Null
            $LASTEXITCODE | Should -Be 0
            & podman @pa create --name xe --network none localhost/xattrbin:1 true | Out-Null
            $LASTEXITCODE | Should -Be 0
            & podman @pa export -o "$R/podman.tar" xe
            $LASTEXITCODE | Should -Be 0
        }
        finally {
            & podman @pa rm -af 2>&1 | Out-Null
            & podman @pa rmi -af 2>&1 | Out-Null
            & rm -rf --one-file-system $p
        }
        $ours = TarXattrs "$R/ours.tar"
        $theirs = TarXattrs "$R/podman.tar"
        $theirs['data/sh'] | Should -Be "security.capability=$CapHex"
        $theirs['data/bin'] | Should -Be "user.bin=$AllHex"
        $keep = { param($k) $k -notmatch '^run(/|$)' -and $k -notmatch '^etc/(resolv\.conf|hosts|hostname)$' }
        $o = @($ours.Keys | Where-Object { & $keep $_ } | Sort-Object | ForEach-Object { "$_ $($ours[$_])" })
        $t = @($theirs.Keys | Where-Object { & $keep $_ } | Sort-Object | ForEach-Object { "$_ $($theirs[$_])" })
        Compare-Object $o $t | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" } | Should -BeNullOrEmpty
        # and our export imports back with the same bytes on disk (the unpacker reads our writer's records)
        $back = Import-ContainerImage -RootFs -LiteralPath "$R/ours.tar" -Name xattrbin/back:1 -StorageRoot $R
        $diff = "$R/layers/$($back.LayerDiffIds[0].Substring(7))/diff"
        Fattr "$diff/data/sh" security.capability | Should -Be $CapHex
        Fattr "$diff/data/bin" user.bin | Should -Be $AllHex
    }

    It 'commit: the new image''s layer holds them byte for byte' {
        if (-not (Test-Prerequisite -Condition $Ready -Because 'root, setcap and attr')) { return }
        # touch copies the files up into the writable layer with their xattrs (a time change keeps file capabilities)
        $run = Invoke-ContainerImage xattrbin/bb:1 -Name xattr-commit -Network none -Command touch, /data/sh, /data/bin, /data/dir
        $run.ExitCode | Should -Be 0
        $img = New-ContainerImage -Container xattr-commit -Name xattrbin/bb:2
        $top = @($img.Layers)[-1]
        $x = TarXattrs "$R/blobs/sha256/$($top.BlobDigest.Substring(7))"
        $x['data/sh'] | Should -Be "security.capability=$CapHex"
        $x['data/bin'] | Should -Be "user.bin=$AllHex"
        $x['data/dir'] | Should -Be "user.bin=$AllHex"
        # the committed image runs with the capability
        $ran = Invoke-ContainerImage xattrbin/bb:2 -Remove -Network none -User 1000 -Command /data/sh, -c, $CapEffScript
        $ran.Output.Trim() | Should -Be '0000000000000080'
    }

    It 'build: the layer a RUN makes holds them byte for byte' {
        if (-not (Test-Prerequisite -Condition $Ready -Because 'root, setcap and attr')) { return }
        New-Item -ItemType Directory "$R/ctx" -Force | Out-Null
        $img = Build-ContainerImage -Path "$R/ctx" -InlineDockerfile 'FROM xattrbin/bb:1', 'RUN touch /data/sh /data/bin /data/dir' -Tag xattrbin/built:1 -Network none -StorageRoot $R
        $top = @($img.Layers)[-1]
        $x = TarXattrs "$R/blobs/sha256/$($top.BlobDigest.Substring(7))"
        $x['data/sh'] | Should -Be "security.capability=$CapHex"
        $x['data/bin'] | Should -Be "user.bin=$AllHex"
        $x['data/dir'] | Should -Be "user.bin=$AllHex"
    }

    It 'the capability works in a run: a non-root user gets cap_setuid from the file, not from /bin/sh' {
        if (-not (Test-Prerequisite -Condition $Ready -Because 'root, setcap and attr')) { return }
        $with = Invoke-ContainerImage xattrbin/bb:1 -Remove -Network none -User 1000 -Command /data/sh, -c, "id -u; $CapEffScript"
        $with.ExitCode | Should -Be 0
        ($with.Output.Trim() -split "`n" | ForEach-Object Trim) | Should -Be @('1000', '0000000000000080')
        $without = Invoke-ContainerImage xattrbin/bb:1 -Remove -Network none -User 1000 -Command /bin/sh, -c, $CapEffScript
        $without.Output.Trim() | Should -Be '0000000000000000'
    }
}
