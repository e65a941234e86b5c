# Standard input (docker exec -i / run -i): -InputObject from the pipeline and -InputFile feed one process's stdin,
# closed at the end. Real containers as root; one case compared with podman exec -i / run -i (the same busybox
# root file system imported there).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'stdin'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/md5sum" -Target busybox | Out-Null
    $script:tar = Join-Path $script:root 'rootfs.tar'
    & tar -C $script:rootfs -cf $script:tar . 2>&1 | Out-Null
    # -Quiet: the 4 MB round trips would otherwise print every line into the test log as it arrives
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root
        'Invoke-ContainerImage:Quiet' = $true; 'Invoke-ContainerCommand:Quiet' = $true }
    $script:img = 'stdin/bb:1'
    if ($script:IsRoot) {
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null
        $script:c = Invoke-ContainerImage $script:img -Name target -Network none -Detach -Init -Command sleep, 600
        Invoke-ContainerImage $script:img -Name second -Network none -Detach -Init -Command sleep, 600 | Out-Null
    }
    $script:podmanTag = "localhost/pscontainers-stdin:$PID"
    $script:podmanName = "pscontainers-stdin-$PID"
    $script:havePodman = (Test-Command 'podman') -and $script:IsRoot
    if ($script:havePodman) { & timeout 120 podman import --quiet $script:tar $script:podmanTag 2>&1 | Out-Null }
    # 4 MB of every byte value, and its md5 as md5sum prints it
    $script:big = [byte[]]::new(4MB)
    for ($i = 0; $i -lt $script:big.Length; $i++) { $script:big[$i] = $i % 251 }
    $script:bigMd5 = ([Security.Cryptography.MD5]::HashData($script:big) | ForEach-Object { $_.ToString('x2') }) -join ''
    $script:bigFile = Join-Path $script:root 'big.bin'
    [IO.File]::WriteAllBytes($script:bigFile, $script:big)
}
AfterAll {
    if ($script:havePodman) {
        & timeout 60 podman rm -f -t 0 $script:podmanName 2>&1 | Out-Null
        & timeout 60 podman rmi -f $script:podmanTag 2>&1 | Out-Null
    }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Invoke-ContainerCommand stdin' {
    It 'gives piped strings to one process as lines' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = 'a', 'b' | Invoke-ContainerCommand target -Command cat
        @($r).Count | Should -Be 1
        $r.Output | Should -BeExactly "a`nb`n"
        $r.ExitCode | Should -Be 0
    }
    It 'runs one process for the whole pipeline' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = 1..5 | Invoke-ContainerCommand target -Command sh, -c, 'echo pid $$; wc -l'
        @($r).Count | Should -Be 1
        ($r.Output -split "`n")[1].Trim() | Should -Be '5'
    }
    It 'writes byte[] byte for byte' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = , [byte[]](0, 1, 10, 13, 255) | Invoke-ContainerCommand target -Command od, -An, -tx1
        $r.Output.Trim() | Should -Be '00 01 0a 0d ff'
        $r = Invoke-ContainerCommand target -InputObject ([byte[]](65, 0, 66)) -Command od, -An, -tx1
        $r.Output.Trim() | Should -Be '41 00 42'
    }
    It 'writes 4 MB without deadlocking on the output' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # cat echoes it all back while the input is still being written
        $r = , $script:big | Invoke-ContainerCommand target -Command sh, -c, 'tee /tmp/big | md5sum >&2; cat /tmp/big'
        $r.Error.Trim() | Should -BeLike "$($script:bigMd5)*"
        $r.Output.Length | Should -BeGreaterThan 3MB
    }
    It 'reads -InputFile through the provider' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Push-Location $script:root
        try { $r = Invoke-ContainerCommand target -InputFile ./big.bin -Command md5sum }
        finally { Pop-Location }
        $r.Output | Should -BeLike "$($script:bigMd5)*"
    }
    It 'reports a missing -InputFile as an error' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerCommand target -InputFile (Join-Path $script:root 'nope') -Command cat -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound*'
    }
    It 'keeps the exit code' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = 'x' | Invoke-ContainerCommand target -Command sh, -c, 'read l; exit 7'
        $r.ExitCode | Should -Be 7
        # a process that exits without reading its input is no error
        $r = , $script:big | Invoke-ContainerCommand target -Command sh, -c, 'exit 3'
        $r.ExitCode | Should -Be 3
    }
    It 'gives an empty stdin without input' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerCommand target -Command wc, -c
        $r.Output.Trim() | Should -Be '0'
    }
    It 'runs once per container piped by property name, with an empty stdin' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Get-Container target, second | Invoke-ContainerCommand -Command sh, -c, 'hostname; wc -c'
        @($r).Count | Should -Be 2
        $r.ContainerName | Sort-Object | Should -Be @('second', 'target')
        $r | ForEach-Object { ($_.Output.Trim() -split "`n")[1].Trim() | Should -Be '0' }
    }
    It 'gives the output podman exec -i gives' {
        if (-not (Test-Prerequisite -Condition $script:havePodman -Because 'needs root and podman')) { return }
        & timeout 120 podman run -d --name $script:podmanName --network none $script:podmanTag sleep 600 2>&1 | Out-Null
        $p = & bash -c "printf 'b\na\nc\n' | timeout 60 podman exec -i $($script:podmanName) sh -c 'wc -l; sort'"
        $r = 'b', 'a', 'c' | Invoke-ContainerCommand target -Command sh, -c, 'wc -l; sort'
        ($r.Output.TrimEnd() -split "`n") | Should -Be @($p)
    }
}

Describe 'Invoke-ContainerImage stdin' {
    BeforeAll {
        if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name stdin/bb:2 -StorageRoot $script:root | Out-Null }
    }
    It 'gives piped strings to one container as lines' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = 'a', 'b' | Invoke-ContainerImage $script:img -Remove -Network none -Command cat
        @($r).Count | Should -Be 1
        $r.Output | Should -BeExactly "a`nb`n"
        $r.ExitCode | Should -Be 0
    }
    It 'runs one container per image piped by property name, with an empty stdin' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Get-ContainerImage $script:img, stdin/bb:2 | Invoke-ContainerImage -Remove -Network none -Command wc, -c
        @($r).Count | Should -Be 2
        @($r.ContainerId | Select-Object -Unique).Count | Should -Be 2
        $r | ForEach-Object { $_.Output.Trim() | Should -Be '0' }
    }
    It 'writes byte[] byte for byte, 4 MB without deadlock' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = , [byte[]](0, 1, 10, 13, 255) | Invoke-ContainerImage $script:img -Remove -Network none -Command od, -An, -tx1
        $r.Output.Trim() | Should -Be '00 01 0a 0d ff'
        $r = , $script:big | Invoke-ContainerImage $script:img -Remove -Network none -Command md5sum
        $r.Output | Should -BeLike "$($script:bigMd5)*"
    }
    It 'reads -InputFile through the provider' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Push-Location $script:root
        try { $r = Invoke-ContainerImage -RootFs $script:rootfs -InputFile ./big.bin -Remove -Network none -Command md5sum }
        finally { Pop-Location }
        $r.Output | Should -BeLike "$($script:bigMd5)*"
    }
    It 'keeps the exit code, also when the process does not read its input' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = 'x' | Invoke-ContainerImage $script:img -Remove -Network none -Command sh, -c, 'read l; echo "got $l"; exit 7'
        $r.ExitCode | Should -Be 7
        $r.Output.Trim() | Should -Be 'got x'
        $r = , $script:big | Invoke-ContainerImage $script:img -Remove -Network none -Command sh, -c, 'exit 3'
        $r.ExitCode | Should -Be 3
    }
    It 'gives an empty stdin without input, and a later start /dev/null' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerImage $script:img -Remove -Network none -Command wc, -c
        $r.Output.Trim() | Should -Be '0'
        $r = 'hello' | Invoke-ContainerImage $script:img -Name again -Network none -Command sh, -c, 'echo "[$(cat)]"'
        $r.Output.Trim() | Should -Be '[hello]'
        Get-ChildItem -Recurse -Force $script:root -Filter stdin -ErrorAction SilentlyContinue | Where-Object { $_.FullName -notlike "$($script:rootfs)*" } |
            Should -BeNullOrEmpty -Because 'the FIFO is removed once both ends are open'
        Start-Container again | Out-Null
        Wait-Container again | Out-Null
        @(Get-ContainerLog again) | Should -Be @('[hello]', '[]') -Because 'the restart reads /dev/null'
        Remove-Container again -Force
    }
    It 'refuses input with -Detach' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        { 'a' | Invoke-ContainerImage $script:img -Detach -Network none -Command cat } | Should -Throw -ErrorId 'ConflictingInput*'
    }
    It 'gives the output podman run -i gives' {
        if (-not (Test-Prerequisite -Condition $script:havePodman -Because 'needs root and podman')) { return }
        $p = & bash -c "printf 'b\na\nc\n' | timeout 120 podman run --rm -i --network none $($script:podmanTag) sh -c 'wc -l; sort'"
        $r = 'b', 'a', 'c' | Invoke-ContainerImage $script:img -Remove -Network none -Command sh, -c, 'wc -l; sort'
        ($r.Output.TrimEnd() -split "`n") | Should -Be @($p)
    }
}
