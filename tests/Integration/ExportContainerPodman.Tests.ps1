# Export-Container against podman export of a container made from the same image with the same changes:
# the same paths, types, hard-link targets and xattrs (security.capability and user.* from the image,
# hard links from the image and made in the container). Only what each engine mounts for the run differs
# (/run/.containerenv, /etc/resolv.conf, /etc/hosts, /etc/hostname), and is left out of the comparison.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:R = New-TestStorageRoot 'exportpm'
    # every entry as "path type link xattrs" (xattr values as hex of what the PAX record holds)
    function script:TarListing([string] $Tar) {
        $fs = [IO.File]::OpenRead($Tar)
        try {
            $r = [System.Formats.Tar.TarReader]::new($fs)
            while ($null -ne ($e = $r.GetNextEntry())) {
                $n = $e.Name -replace '^(\./)+', '' -replace '/+$', ''
                if ($n -eq '' -or $n -eq '.') { continue }
                if ($n -match '^run(/|$)' -or $n -match '^etc/(resolv\.conf|hosts|hostname)$') { continue }
                $t = switch ("$($e.EntryType)") { 'Directory' { 'd' } 'SymbolicLink' { 'l' } 'HardLink' { 'h' } 'CharacterDevice' { 'c' } 'BlockDevice' { 'b' } 'Fifo' { 'p' } default { 'f' } }
                $link = if ($t -eq 'h') { $e.LinkName -replace '^(\./)+', '' } elseif ($t -eq 'l') { $e.LinkName } else { '' }
                $x = if ($e -is [System.Formats.Tar.PaxTarEntry]) {
                    @($e.ExtendedAttributes.GetEnumerator() | Where-Object Key -like 'SCHILY.xattr.*' | Sort-Object Key |
                        ForEach-Object { "$($_.Key.Substring(13))=$([Convert]::ToHexStringLower([Text.Encoding]::UTF8.GetBytes($_.Value)))" }) -join ','
                } else { '' }
                "$n $t $link $x"
            }
        }
        finally { $fs.Dispose() }
    }
}
AfterAll { Remove-TestStorageRoot $script:R }

Describe 'Export-Container compared with podman export' {
    It 'has the same paths, types, hard links and xattrs' {
        if (-not (Test-Prerequisite -Condition ($IsRoot -and (Test-Command podman) -and (Test-Command setcap) -and (Test-Command setfattr)) -Because 'podman, setcap and setfattr make the reference')) { return }
        $fs = New-BusyboxRootFs "$R/rootfs"
        New-Item -ItemType Directory "$fs/data" | Out-Null
        [IO.File]::WriteAllText("$fs/data/a", 'a')
        & ln "$fs/data/a" "$fs/data/b"
        Copy-Item "$fs/bin/busybox" "$fs/data/ping"
        & setcap cap_net_raw+ep "$fs/data/ping"
        & setfattr -n user.note -v hello "$fs/data/a"
        & tar --xattrs --xattrs-include='*' --numeric-owner -C $fs -cf "$R/rootfs.tar" .
        $LASTEXITCODE | Should -Be 0
        $cmd = 'echo n > /new; ln /new /new2; ln /data/a /data/c; rm /data/b'

        Import-ContainerImage -RootFs -LiteralPath "$R/rootfs.tar" -Name expx:1 -StorageRoot $R | Out-Null
        $run = Invoke-ContainerImage expx:1 -Name e1 -Network none -Command sh, -c, $cmd -StorageRoot $R
        $run.ExitCode | Should -Be 0
        Export-Container e1 "$R/ours.tar" -StorageRoot $R

        $p = "/tmp/ctr-ex-" + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        $pa = @('--root', "$p/root", '--runroot', "$p/run", '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
        try {
            & podman @pa import -q "$R/rootfs.tar" localhost/expx:1 | Out-Null
            & podman @pa run --name e1 --network none localhost/expx:1 sh -c $cmd
            $LASTEXITCODE | Should -Be 0
            & podman @pa export -o "$R/podman.tar" e1
            $LASTEXITCODE | Should -Be 0
        }
        finally {
            & podman @pa rm -af 2>&1 | Out-Null
            & podman @pa rmi -af 2>&1 | Out-Null
            & rm -rf --one-file-system $p
        }
        $ours = @(TarListing "$R/ours.tar" | Sort-Object)
        $theirs = @(TarListing "$R/podman.tar" | Sort-Object)
        # the cases the comparison is about are there at all
        $theirs | Should -Contain 'data/c h data/a user.note=68656c6c6f'
        $theirs | Should -Contain 'new2 h new '
        @($theirs | Where-Object { $_ -like 'data/ping f  security.capability=*' }).Count | Should -Be 1
        Compare-Object $ours $theirs | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" } | Should -BeNullOrEmpty
    }
}
