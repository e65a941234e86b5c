# docker diff: Get-ContainerChange lists what a container added, changed and deleted, compared with podman diff.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'diff'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        & tar -C $script:rootfs -cf "$script:root/bb.tar" .
        $null = Import-ContainerImage -RootFs -LiteralPath "$script:root/bb.tar" -Name localhost/diffbb:1
        # a directory whose time is the image's to the second counts as unchanged (tar keeps whole seconds):
        # let the changes below happen in a later second than the image's files, as they would
        Start-Sleep -Milliseconds 1100
    }
    # added, deleted (a whiteout), a directory deleted and made again (opaque), changed content and mode,
    # a hard-linked file changed through its other name, nested new directories, a link to the host's root
    $script:changes = 'mkdir -p /newdir/sub && echo x > /newdir/sub/f && rm /bin/ls && echo hi > /root/.profile && ' +
        'rm -rf /var/www && mkdir /var/www && touch /var/www/n && ln -s /etc/passwd /lnk && chmod 700 /tmp && ' +
        'touch /bin/sh && mkdir -p /a/b/c && ln -s / /hostroot && mkdir /tmp/d && ln -s / /tmp/d/up'
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Get-ContainerChange' {
    It 'lists the same changes, in the same order, as podman diff' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition (Test-Command podman) -Because 'compares with podman')) { return }
        $r = Invoke-ContainerImage localhost/diffbb:1 -Name d1 -Network none -Command sh, -c, $script:changes
        $r.ExitCode | Should -Be 0
        $ours = @(Get-ContainerChange d1 | ForEach-Object ToString)

        $tag = "localhost/pscontainers-diff:$PID"
        $name = "pscontainers-diff-$PID"
        $null = & podman import "$script:root/bb.tar" $tag 2>&1
        try {
            Start-Sleep -Milliseconds 1100
            $null = & podman run --name $name --network none $tag sh -c $script:changes
            $LASTEXITCODE | Should -Be 0
            # podman lists /etc as changed: it makes its hosts, hostname and resolv.conf there (and hides those
            # files themselves); here they are in a layer of their own and /etc stays untouched
            $theirs = @(& podman diff $name | Where-Object { $_ -notmatch '^\w /(etc|run)(/|$)' })
        }
        finally {
            $null = & podman rm -f $name 2>&1
            $null = & podman rmi $tag 2>&1
        }
        $theirs.Count | Should -BeGreaterThan 10
        $ours | Should -Be $theirs
        $ours | Should -Contain 'D /bin/ls'
        $ours | Should -Contain 'D /var/www'
        $ours | Should -Contain 'A /hostroot'
        # links are listed, never followed: nothing of the host's root appears under them
        @($ours | Where-Object { $_ -like '* /hostroot/*' -or $_ -like '* /tmp/d/up/*' }) | Should -BeNullOrEmpty
        @($ours | Where-Object { $_ -match ' /etc' }) | Should -BeNullOrEmpty
    }

    It 'writes typed objects, filters by -Kind, and takes containers from the pipeline' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage localhost/diffbb:1 -Name d2 -Network none -Command sh, -c, 'rm /bin/ls; touch /made'
        $all = @(Get-Container d2 | Get-ContainerChange)
        $all | ForEach-Object { $_ | Should -BeOfType ([Containers.Engine.Model.ContainerChange]) }
        $all.ContainerName | Select-Object -Unique | Should -Be 'd2'
        $all | Where-Object Path -eq '/made' | ForEach-Object Kind | Should -Be ([Containers.Engine.Model.ContainerChangeKind]::Added)
        @(Get-ContainerChange d2 -Kind Deleted).Path | Should -Be @('/bin/ls')
        @(Get-ContainerChange d2 -Kind Added, Deleted).Count | Should -Be 2
        [int][Containers.Engine.Model.ContainerChangeKind]::Deleted | Should -Be 2   # docker's numbering
    }

    It 'lists nothing for a container that changed nothing, and reads a running one' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage localhost/diffbb:1 -Name d3 -Network none -Command true
        @(Get-ContainerChange d3) | Should -BeNullOrEmpty
        $null = Invoke-ContainerImage localhost/diffbb:1 -Name d4 -Network none -Detach -Command sh, -c, 'echo 1 > /running; sleep 600'
        $deadline = (Get-Date).AddSeconds(10)
        while (-not (Get-ContainerChange d4 | Where-Object Path -eq '/running') -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Get-ContainerChange d4 | Where-Object Path -eq '/running').Kind | Should -Be 'Added'
        Remove-Container d4 -Force
    }

    It 'fails with ContainerNotFound for an unknown container' {
        { Get-ContainerChange nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,Containers.Cmdlets.Runtime.GetContainerChangeCommand'
    }
}
