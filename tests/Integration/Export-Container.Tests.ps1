# Export-Container (flat tar of the container's file system). Copy-ContainerItem has Copy-ContainerItem.Tests.ps1.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'files'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:work = Join-Path $script:root 'work'
    New-Item -ItemType Directory -Force $script:work | Out-Null
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Export-Container' {
    It 'writes the image files with the container''s changes applied' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name exp -Command sh, -c, 'echo changed > /etc/added; rm /bin/ls'
        $null = Wait-Container exp -Timeout 30
        $tar = Join-Path $script:work 'exp.tar'
        $f = Export-Container exp $tar
        $f.FullName | Should -Be $tar
        $list = & tar -tf $tar
        $list | Should -Contain 'etc/added'
        $list | Should -Contain 'bin/busybox'
        $list | Should -Not -Contain 'bin/ls'
        (& tar -xOf $tar etc/added) | Should -Be 'changed'
        (Get-Content /proc/self/mountinfo) -match 'export' | Where-Object { $_ -match [regex]::Escape($script:root) } | Should -BeNullOrEmpty
    }
    It 'changes nothing with -WhatIf' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Export-Container exp (Join-Path $script:work 'never.tar') -WhatIf
        Test-Path (Join-Path $script:work 'never.tar') | Should -BeFalse
    }
}

Describe 'Export-Container of a running container whose files change' {
    It 'succeeds 60 times in a row, reading nothing outside the container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $canaryText = 'host-canary-' + [Guid]::NewGuid().ToString('N')
        $canary = Join-Path $script:root 'canary'
        New-Item -ItemType Directory -Force $canary | Out-Null
        [IO.File]::WriteAllText("$canary/secret", $canaryText)
        # files and directories come and go, a directory turns into links out (to the host path, to /), a file grows and shrinks
        $loop = "mkdir -p /churn; while :; do mkdir -p /churn/d/e; for i in 1 2 3 4 5 6 7 8; do echo `$i > /churn/d/f`$i; echo `$i > /churn/d/e/g`$i; done; " +
            "head -c 100000 /bin/busybox > /churn/grow; rm -rf /churn/d; ln -s $canary /churn/d; : > /churn/grow; rm -f /churn/d; ln -s / /churn/d; rm -f /churn/d; done"
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name churn -Detach -Init -Command sh, -c, $loop
        try {
            $warned = 0
            for ($i = 0; $i -lt 60; $i++) {
                $tar = Join-Path $script:work "churn$i.tar"
                $f = Export-Container churn $tar -ErrorAction Stop -WarningVariable w -WarningAction SilentlyContinue
                if ($w) { $warned++ }
                $f.FullName | Should -Be $tar
                $list = & tar -tf $tar
                $LASTEXITCODE | Should -Be 0
                $list | Should -Contain 'bin/busybox'
                [IO.File]::ReadAllText($tar).Contains($canaryText) | Should -BeFalse
                Remove-Item $tar
            }
            Write-Host "churn: $warned of 60 exports left out files that vanished"
        }
        finally { Remove-Container churn -Force }
        @(Get-ChildItem $canary | ForEach-Object Name) | Should -Be @('secret')
        [IO.File]::ReadAllText("$canary/secret") | Should -BeExactly $canaryText
    }
    It 'keeps hard links and the links of the container as they are' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name expl -Command sh, -c, 'echo h > /h1; ln /h1 /h2; ln -s /etc /out'
        $null = Wait-Container expl -Timeout 30
        $tar = Join-Path $script:work 'expl.tar'
        $null = Export-Container expl $tar
        $v = & tar -tvf $tar
        ($v | Where-Object { $_ -match ' h2 link to h1$' }) | Should -Not -BeNullOrEmpty
        ($v | Where-Object { $_ -match ' out -> /etc$' }) | Should -Not -BeNullOrEmpty
    }
}


Describe 'New-ContainerImage -Container (commit) packs the writable layer by descriptor' {
    It 'keeps the container''s links as links, never the host files they name' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $canaryText = 'host-canary-' + [Guid]::NewGuid().ToString('N')
        $canary = Join-Path $script:root 'commit-canary'
        New-Item -ItemType Directory -Force $canary | Out-Null
        [IO.File]::WriteAllText("$canary/secret", $canaryText)
        New-Item -ItemType SymbolicLink -Force -Path "$script:rootfs/bin/readlink" -Target busybox | Out-Null
        $null = Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name exp-bb:1
        $null = Invoke-ContainerImage exp-bb:1 -Name commit-links -Detach -Init -Command sh, -c, "ln -s $canary /tohost; ln -s /etc /out; mkdir /d; ln -s $canary/secret /d/s; rm /bin/ls; sleep 600"
        Start-Sleep -Milliseconds 500
        $img = New-ContainerImage -Container commit-links -Name exp-bb:2
        Remove-Container commit-links -Force
        $r = Invoke-ContainerImage exp-bb:2 -Remove -Command sh, -c, 'readlink /tohost; readlink /out; readlink /d/s; ls /bin/ls 2>&1'
        $r.Output | Should -Match "(?m)^$([regex]::Escape($canary))$"
        $r.Output | Should -Match '(?m)^/etc$'
        $r.Output | Should -Match "(?m)^$([regex]::Escape("$canary/secret"))$"
        $r.Output | Should -Match 'No such file'
        # nothing of the host file made it into the store
        $hits = @(Get-ChildItem -Recurse -File (Join-Path $script:root 'layers') | Where-Object { $_.Length -eq $canaryText.Length -and [IO.File]::ReadAllText($_.FullName) -eq $canaryText })
        $hits.Count | Should -Be 0
        Remove-ContainerImage exp-bb:2, exp-bb:1 -ErrorAction SilentlyContinue
    }
}
