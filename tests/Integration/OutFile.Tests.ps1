# -OutFile keeps output exact: the file holds the bytes the process wrote to stdout, as `docker run img cmd > out`
# and `podman run ... > out` do (no newline added, no U+FFFD for bytes that are not UTF-8), for a run
# (Invoke-ContainerImage) and an exec (Invoke-ContainerCommand). Stderr stays text in the result.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'outfile'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:work = Join-Path $script:root 'work'
    New-Item -ItemType Directory -Path $script:work | Out-Null
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        foreach ($a in 'md5sum', 'printf', 'dd') { if (-not (Test-Path "$rootfs/bin/$a")) { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$a" -Target busybox | Out-Null } }
        & tar -C $rootfs -cf "$script:root/busybox.tar" .
        $null = Import-ContainerImage -RootFs -LiteralPath "$script:root/busybox.tar" -Name localhost/outfile:test
    }
    function script:Bytes([string] $Path) { , [IO.File]::ReadAllBytes($Path) }
    function script:Hex([byte[]] $b) { if ($null -eq $b) { throw "no bytes" }; [Convert]::ToHexString($b) }
    # what podman writes for the same command with its stdout redirected to a file
    function script:Podman([string] $Script, [string] $Out) {
        & bash -c "podman run --rm --network none localhost/busybox:test sh -c '$Script' > '$Out'"
        if ($LASTEXITCODE -ne 0) { throw "podman run failed ($LASTEXITCODE)" }
    }
}
AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $script:root
}

Describe 'Invoke-ContainerImage -OutFile' {
    It 'writes <Label> byte for byte, as podman run > file does' -ForEach @(
        @{ Label = 'no final newline'; Script = 'printf abc'; Hex = '616263' }
        @{ Label = 'bytes that are not UTF-8'; Script = 'printf "\377\376\200\n"'; Hex = 'FFFE800A' }
        @{ Label = 'CR LF and an empty last line'; Script = 'printf "a\r\nb\n\n"'; Hex = '610D0A620A0A' }
        @{ Label = 'nothing'; Script = 'true'; Hex = '' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:work "run-$([guid]::NewGuid().ToString('N')).out"
        $r = Invoke-ContainerImage localhost/outfile:test -Network none -Command sh, -c, $Script -OutFile $out -Remove -Quiet
        $r.ExitCode | Should -Be 0
        $r.Output | Should -BeExactly ''
        Hex (Bytes $out) | Should -BeExactly $Hex
        if (Test-Prerequisite -Condition (Test-Command podman) -Because 'podman is not installed') {
            Podman $Script "$out.podman"
            Hex (Bytes $out) | Should -BeExactly (Hex (Bytes "$out.podman"))
        }
    }

    It 'copies a binary file exactly (cat /bin/busybox), the same bytes as podman''s' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:work 'busybox.bin'
        $r = Invoke-ContainerImage localhost/outfile:test -Network none -Command cat, /bin/busybox -OutFile $out -Remove -Quiet
        $r.ExitCode | Should -Be 0
        (Get-FileHash $out).Hash | Should -BeExactly (Get-FileHash /bin/busybox).Hash
        (Get-Item $out).Length | Should -Be (Get-Item /bin/busybox).Length
        if (Test-Prerequisite -Condition (Test-Command podman) -Because 'podman is not installed') {
            Podman 'cat /bin/busybox' "$out.podman"
            (Get-FileHash $out).Hash | Should -BeExactly (Get-FileHash "$out.podman").Hash
        }
    }

    It 'keeps stderr as text in the result and shows only it live; stdout is not shown' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:work 'mixed.out'
        $live = Invoke-ContainerImage localhost/outfile:test -Network none -Command sh, -c, 'echo to-out; echo to-err >&2; printf tail' -OutFile $out -Remove 6>&1
        $r = @($live | Where-Object { $_ -is [Containers.Engine.Model.ContainerProcessResult] })[0]
        $shown = @($live | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$($_.MessageData)" })
        [Text.Encoding]::UTF8.GetString((Bytes $out)) | Should -BeExactly "to-out`ntail"
        $r.Output | Should -BeExactly ''
        $r.Error | Should -BeExactly "to-err`n"
        $shown | Should -Contain 'to-err'
        $shown | Should -Not -Contain 'to-out'
    }

    It 'writes a large output whole (4 MiB, records split across the log''s chunks)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:work 'large.out'
        $r = Invoke-ContainerImage localhost/outfile:test -Network none -Command sh, -c, 'dd if=/dev/urandom of=/tmp/x bs=64k count=64 2>/dev/null; cat /tmp/x; md5sum /tmp/x >&2' -OutFile $out -Remove -Quiet
        $r.ExitCode | Should -Be 0
        (Get-Item $out).Length | Should -Be (4MB)
        $md5 = ($r.Error -split '\s+')[0]
        (Get-FileHash $out -Algorithm MD5).Hash.ToLowerInvariant() | Should -BeExactly $md5
    }

    It 'refuses -OutFile with -Detach (ConflictingOutput) and creates nothing' {
        $out = Join-Path $script:work 'detached.out'
        { Invoke-ContainerImage localhost/outfile:test -Detach -Command true -OutFile $out } |
            Should -Throw -ErrorId 'ConflictingOutput,Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
        Test-Path $out | Should -BeFalse
    }
}

Describe 'Invoke-ContainerCommand -OutFile' {
    BeforeAll {
        if ($script:IsRoot) { $null = New-Container -Image localhost/outfile:test -Name outfile-exec -Network none -Command sleep, 600 | Start-Container }
    }
    It 'writes <Label> byte for byte' -ForEach @(
        @{ Label = 'no final newline'; Script = 'printf abc'; Hex = '616263' }
        @{ Label = 'bytes that are not UTF-8'; Script = 'printf "\377\376\200\n"'; Hex = 'FFFE800A' }
        @{ Label = 'nothing'; Script = 'true'; Hex = '' }
    ) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:work "exec-$([guid]::NewGuid().ToString('N')).out"
        $r = Invoke-ContainerCommand outfile-exec -Command sh, -c, $Script -OutFile $out -Quiet
        $r.ExitCode | Should -Be 0
        $r.Output | Should -BeExactly ''
        Hex (Bytes $out) | Should -BeExactly $Hex
    }
    It 'copies a binary file exactly, live or quiet, and keeps stderr as text' -ForEach @(@{ Quiet = $true }, @{ Quiet = $false }) {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:work "exec-busybox-$Quiet.bin"
        $r = Invoke-ContainerCommand outfile-exec -Command sh, -c, 'cat /bin/busybox; echo done >&2' -OutFile $out -Quiet:$Quiet 6>$null
        $r.ExitCode | Should -Be 0
        (Get-FileHash $out).Hash | Should -BeExactly (Get-FileHash /bin/busybox).Hash
        $r.Error | Should -BeExactly "done`n"
    }
    It 'refuses -OutFile with -Detach (ConflictingOutput)' {
        { Invoke-ContainerCommand outfile-exec -Detach -Command true -OutFile (Join-Path $script:work 'd.out') } |
            Should -Throw -ErrorId 'ConflictingOutput,Containers.Cmdlets.Runtime.InvokeContainerCommandCommand'
    }
}
