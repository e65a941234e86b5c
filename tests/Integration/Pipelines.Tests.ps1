# The PowerShell way: every object pipes into the cmdlets that take it (by property name), -WhatIf on a
# piped state-changing cmdlet changes nothing, wildcards on -Name, the predefined network survives a piped
# removal, and the name parameters complete with TabExpansion2. Real store and kernel, as root.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'pipes'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    & tar -C $script:rootfs -cf "$script:root/busybox.tar" .
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:img = Import-ContainerImage -RootFs -LiteralPath "$script:root/busybox.tar" -Name localhost/busybox:test
    function script:Names { @(Get-ContainerImage | ForEach-Object Reference | Sort-Object) }
    function script:Complete([string] $line) { (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText }
}
AfterAll {
    if ($script:root) {
        Get-Container -All | Remove-Container -Force -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Image objects pipe into the image cmdlets' {
    It 'Get-ContainerImage | New-Container creates a container of that image; -WhatIf creates none' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-ContainerImage localhost/busybox:test | New-Container -Name img-new-whatif -Command true -WhatIf
        Get-Container -All -Name img-new-whatif -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $c = Get-ContainerImage localhost/busybox:test | New-Container -Name img-new -Command true
        $c.Image | Should -BeExactly 'localhost/busybox:test'
        $c.ImageId | Should -BeExactly $script:img.Id
        Remove-Container img-new -Force
    }

    It 'Get-ContainerImage | Invoke-ContainerImage runs that image; -WhatIf runs nothing' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $before = @(Get-Container -All).Count
        Get-ContainerImage localhost/busybox:test | Invoke-ContainerImage -Command echo, piped -WhatIf | Should -BeNullOrEmpty
        @(Get-Container -All).Count | Should -Be $before
        $r = Get-ContainerImage localhost/busybox:test | Invoke-ContainerImage -Command echo, piped -Remove
        $r.Output.Trim() | Should -BeExactly 'piped'
        $r.ExitCode | Should -Be 0
    }

    It 'an untagged image pipes by its id' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        # an untagged image: a commit without a name (of a container that never ran, so an empty layer)
        $null = New-Container -Image localhost/busybox:test -Name img-commit -Command true
        $u = Get-Container img-commit | New-ContainerImage
        $row = Get-ContainerImage -Dangling | Where-Object Id -eq $u.Id
        $row.Reference | Should -BeExactly $u.Id
        $row.Repository | Should -BeExactly '<none>'
        ($row | Invoke-ContainerImage -Command echo, untagged -Remove).Output.Trim() | Should -BeExactly 'untagged'
        Remove-Container img-commit -Force
        $row | Remove-ContainerImage
        Get-ContainerImage -Dangling | Where-Object Id -eq $u.Id | Should -BeNullOrEmpty
    }

    It 'Get-ContainerImage | Add-ContainerImageTag tags that image; -WhatIf adds nothing' {
        Get-ContainerImage localhost/busybox:test | Add-ContainerImageTag -NewName localhost/busybox:whatif -WhatIf
        Names | Should -Not -Contain 'localhost/busybox:whatif'
        Get-ContainerImage localhost/busybox:test | Add-ContainerImageTag -NewName localhost/busybox:piped
        (Get-ContainerImage localhost/busybox:piped).Id | Should -BeExactly $script:img.Id
    }

    It 'Get-ContainerImage | Remove-ContainerImage removes the piped row''s tag only; -WhatIf removes nothing' {
        Add-ContainerImageTag localhost/busybox:test localhost/busybox:rm1, localhost/busybox:rm2
        $before = Names
        Get-ContainerImage 'localhost/busybox:rm*' | Remove-ContainerImage -WhatIf
        Names | Should -Be $before
        Get-ContainerImage localhost/busybox:rm1 | Remove-ContainerImage
        Names | Should -Not -Contain 'localhost/busybox:rm1'
        Names | Should -Contain 'localhost/busybox:rm2'
        Get-ContainerImage -Id $script:img.Id | Should -Not -BeNullOrEmpty
        Remove-ContainerImage localhost/busybox:rm2
    }

    It 'Get-ContainerImage | Export-ContainerImage writes that image; -WhatIf writes no file' {
        $path = Join-Path $script:root 'piped.tar'
        Get-ContainerImage localhost/busybox:test | Export-ContainerImage -Path $path -WhatIf
        Test-Path $path | Should -BeFalse
        $f = Get-ContainerImage localhost/busybox:test | Export-ContainerImage -Path $path -PassThru
        $f.FullName | Should -Be $path
        $manifest = (& tar -xOf $path manifest.json) | ConvertFrom-Json
        $manifest[0].RepoTags | Should -Contain 'localhost/busybox:test'
        # two rows (tags) of one image are that image once in the archive
        Add-ContainerImageTag localhost/busybox:test localhost/busybox:second
        Get-ContainerImage 'localhost/busybox:*' | Export-ContainerImage -Path $path -Force
        @((& tar -xOf $path manifest.json) | ConvertFrom-Json).Count | Should -Be 1
        Remove-ContainerImage localhost/busybox:second
    }

    It 'Get-ContainerImage | Get-ContainerImageHistory gives that image''s history' {
        $h = @(Get-ContainerImage localhost/busybox:test | Get-ContainerImageHistory)
        $h.Count | Should -BeGreaterThan 0
        $h[0].ImageId | Should -BeExactly $script:img.Id
    }
}

Describe 'Image objects pipe into Publish-ContainerImage' {
    BeforeAll {
        . $PSScriptRoot/../Registry/RegistryTest.ps1
        $script:reg = Start-TestRegistry -Dir "$script:root/registry" -Auth None
        $env:PSCONTAINERS_AUTH_FILE = "$script:root/auth.json"
        $script:dest = "$($script:reg.Address)/pipes/busybox:1"
        Add-ContainerImageTag localhost/busybox:test $script:dest
    }
    AfterAll {
        Stop-TestRegistry $script:reg
        Remove-Item Env:PSCONTAINERS_AUTH_FILE -ErrorAction SilentlyContinue
        Remove-ContainerImage $script:dest -ErrorAction SilentlyContinue
    }

    It 'pushes the piped row''s tag; -WhatIf pushes nothing' {
        Get-ContainerImage $script:dest | Publish-ContainerImage -WhatIf
        { Get-ContainerImageTag "$($script:reg.Address)/pipes/busybox" -ErrorAction Stop } |
            Should -Throw -ErrorId 'RepositoryNotFound,Containers.Cmdlets.Registry.GetContainerImageTagCommand'
        $p = Get-ContainerImage $script:dest | Publish-ContainerImage
        $p.Digest | Should -Match '^sha256:'
        (Get-ContainerImageTag "$($script:reg.Address)/pipes/busybox").Tag | Should -Contain '1'
    }
}

Describe 'Container objects pipe into the container cmdlets' {
    BeforeAll {
        if ($script:IsRoot) {
            $script:c = New-Container -Image localhost/busybox:test -Name pipe-c -Command sh, -c, 'echo hello-log; sleep 60'
        }
    }
    AfterAll { Remove-Container pipe-c, pipe-c2 -Force -ErrorAction SilentlyContinue }

    It 'Start-Container: -WhatIf leaves it created, then starts it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container pipe-c | Start-Container -WhatIf
        (Get-Container pipe-c).Status | Should -Be 'Created'
        Get-Container pipe-c | Start-Container
        (Get-Container pipe-c).Status | Should -Be 'Running'
    }

    It 'Get-ContainerProcess, Measure-Container, Get-ContainerLog, Invoke-ContainerCommand take the piped container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        (Get-Container pipe-c | Get-ContainerProcess).Command | Should -Contain 'sleep 60'
        (Get-Container pipe-c | Measure-Container).ContainerName | Should -BeExactly 'pipe-c'
        $deadline = [datetime]::UtcNow.AddSeconds(5)
        while (-not ((Get-Container pipe-c | Get-ContainerLog) -match 'hello-log') -and [datetime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Get-Container pipe-c | Get-ContainerLog) -join "`n" | Should -Match 'hello-log'
        (Get-Container pipe-c | Invoke-ContainerCommand -Command echo, inside).Output.Trim() | Should -BeExactly 'inside'
    }

    It 'Suspend-/Resume-Container: -WhatIf changes nothing' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container pipe-c | Suspend-Container -WhatIf
        (Get-Container pipe-c).Status | Should -Be 'Running'
        Get-Container pipe-c | Suspend-Container
        (Get-Container pipe-c).Status | Should -Be 'Paused'
        Get-Container pipe-c | Resume-Container -WhatIf
        (Get-Container pipe-c).Status | Should -Be 'Paused'
        Get-Container pipe-c | Resume-Container
        (Get-Container pipe-c).Status | Should -Be 'Running'
    }

    It 'Restart-Container: -WhatIf keeps the process' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $pid1 = (Get-Container pipe-c).Pid
        Get-Container pipe-c | Restart-Container -WhatIf
        (Get-Container pipe-c).Pid | Should -Be $pid1
    }

    It 'Copy-ContainerItem and Export-Container take the piped container; -WhatIf writes nothing' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $out = Join-Path $script:root 'copied-passwd'
        Get-Container pipe-c | Copy-ContainerItem -Path /etc/passwd -Destination $out -WhatIf
        Test-Path $out | Should -BeFalse
        Get-Container pipe-c | Copy-ContainerItem -Path /etc/passwd -Destination $out
        Get-Content $out -Raw | Should -Match '^root:'
        $tar = Join-Path $script:root 'exported.tar'
        Get-Container pipe-c | Export-Container -Path $tar -WhatIf
        Test-Path $tar | Should -BeFalse
        Get-Container pipe-c | Export-Container -Path $tar
        (& tar -tf $tar) | Should -Contain 'bin/busybox'
    }

    It 'New-ContainerImage commits the piped container; -WhatIf makes no image' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container pipe-c | New-ContainerImage -Name localhost/committed:whatif -WhatIf
        Names | Should -Not -Contain 'localhost/committed:whatif'
        $i = Get-Container pipe-c | New-ContainerImage -Name localhost/committed:1
        $i.RepoTags | Should -Contain 'localhost/committed:1'
        Remove-ContainerImage localhost/committed:1
    }

    It 'Stop-Container: -WhatIf keeps it running; Wait-Container gets its exit' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container pipe-c | Stop-Container -WhatIf
        (Get-Container pipe-c).Status | Should -Be 'Running'
        Get-Container pipe-c | Stop-Container -Timeout 1
        (Get-Container pipe-c | Wait-Container).Status | Should -Be 'Exited'
    }

    It 'Rename-Container: -WhatIf keeps the name' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container pipe-c | Rename-Container -NewName pipe-c2 -WhatIf
        (Get-Container -All pipe-c).Name | Should -BeExactly 'pipe-c'
        Get-Container pipe-c | Rename-Container -NewName pipe-c2
        (Get-Container -All pipe-c2).Id | Should -BeExactly $script:c.Id
    }

    It 'Remove-Container: -WhatIf keeps it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container -All pipe-c2 | Remove-Container -WhatIf
        Get-Container -All pipe-c2 | Should -Not -BeNullOrEmpty
        Get-Container -All pipe-c2 | Remove-Container
        Get-Container -All pipe-c2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Network objects pipe into the network cmdlets' {
    BeforeAll {
        if ($script:IsRoot) {
            New-ContainerNetwork pipe-a | Out-Null
            New-ContainerNetwork pipe-b | Out-Null
            New-Container -RootFs $script:rootfs -Name pipe-n -Network pipe-a -Command sleep, 60 | Start-Container
        }
    }
    AfterAll {
        Remove-Container pipe-n -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork | Remove-ContainerNetwork -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'Get-ContainerNetwork | Connect-ContainerNetwork -Container connects; -WhatIf does not' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-ContainerNetwork pipe-b | Connect-ContainerNetwork -Container pipe-n -WhatIf
        (Get-ContainerNetwork pipe-b).Containers.ContainerName | Should -Not -Contain 'pipe-n'
        $n = Get-ContainerNetwork pipe-b | Connect-ContainerNetwork -Container pipe-n -PassThru
        $n.Name | Should -BeExactly 'pipe-b'
        (Get-ContainerNetwork pipe-b).Containers.ContainerName | Should -Contain 'pipe-n'
    }

    It 'Get-ContainerNetwork | Disconnect-ContainerNetwork -Container disconnects; -WhatIf does not' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-ContainerNetwork pipe-b | Disconnect-ContainerNetwork -Container pipe-n -WhatIf
        (Get-ContainerNetwork pipe-b).Containers.ContainerName | Should -Contain 'pipe-n'
        Get-ContainerNetwork pipe-b | Disconnect-ContainerNetwork -Container pipe-n
        (Get-ContainerNetwork pipe-b).Containers.ContainerName | Should -Not -Contain 'pipe-n'
    }

    It 'Get-Container | Connect-/Disconnect-ContainerNetwork -Network takes the piped container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-Container pipe-n | Connect-ContainerNetwork -Network pipe-b
        (Get-ContainerNetwork pipe-b).Containers.ContainerName | Should -Contain 'pipe-n'
        Get-Container pipe-n | Disconnect-ContainerNetwork -Network pipe-b
        (Get-ContainerNetwork pipe-b).Containers.ContainerName | Should -Not -Contain 'pipe-n'
    }

    It 'Get-ContainerHost counts the networks' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        (Get-ContainerHost).NetworkCount | Should -Be @(Get-ContainerNetwork).Count
        @(Get-ContainerNetwork).Count | Should -BeGreaterOrEqual 2
    }

    It 'Get-ContainerNetwork -Name: a wildcard matching nothing writes nothing; a literal name NetworkNotFound' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        @(Get-ContainerNetwork 'pipe-*').Name | Sort-Object | Should -Be @('pipe-a', 'pipe-b')
        Get-ContainerNetwork 'nothing-*' -ErrorVariable ev | Should -BeNullOrEmpty
        $ev | Should -BeNullOrEmpty
        { Get-ContainerNetwork nothing -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkNotFound,Containers.Cmdlets.Networks.GetContainerNetworkCommand'
    }

    It 'Get-ContainerNetwork | Remove-ContainerNetwork: -WhatIf keeps all; then removes all but the predefined bridge, with an error for it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Remove-Container pipe-n -Force
        $null = New-Container -RootFs $script:rootfs -Name pipe-bridge -Command true   # makes the default network
        Remove-Container pipe-bridge -Force
        $before = @(Get-ContainerNetwork).Name | Sort-Object
        $before | Should -Contain 'bridge'
        Get-ContainerNetwork | Remove-ContainerNetwork -WhatIf -ErrorAction SilentlyContinue
        @(Get-ContainerNetwork).Name | Sort-Object | Should -Be $before
        Get-ContainerNetwork | Remove-ContainerNetwork -Confirm:$false -ErrorVariable ev -ErrorAction SilentlyContinue
        @(Get-ContainerNetwork).Name | Should -Be @('bridge')
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'PredefinedNetworkNotRemoved,Containers.Cmdlets.Networks.RemoveContainerNetworkCommand'
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $ev[0].TargetObject | Should -BeExactly 'bridge'
    }
}

Describe 'Volume objects pipe into the volume cmdlets' {
    It 'Get-ContainerVolume | Remove-ContainerVolume: -WhatIf keeps it, then removes it' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        New-ContainerVolume pipe-v1, pipe-v2 | Out-Null
        Get-ContainerVolume 'pipe-v*' | Remove-ContainerVolume -WhatIf
        @(Get-ContainerVolume 'pipe-v*').Count | Should -Be 2
        Get-ContainerVolume 'pipe-v*' | Remove-ContainerVolume -Confirm:$false
        Get-ContainerVolume 'pipe-v*' | Should -BeNullOrEmpty
    }

    It 'Get-ContainerVolume -Name: a wildcard matching nothing writes nothing; a literal name VolumeNotFound' {
        Get-ContainerVolume 'nothing-*' -ErrorVariable ev | Should -BeNullOrEmpty
        $ev | Should -BeNullOrEmpty
        { Get-ContainerVolume nothing -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeNotFound,Containers.Cmdlets.Volumes.GetContainerVolumeCommand'
    }
}

Describe 'Argument completers (TabExpansion2)' {
    BeforeAll {
        New-ContainerVolume pipe-vol | Out-Null
        if ($script:IsRoot) { New-ContainerNetwork pipe-net | Out-Null }
        $script:sr = "-StorageRoot $script:root"
    }
    AfterAll {
        Remove-ContainerVolume pipe-vol -ErrorAction SilentlyContinue
        Remove-ContainerNetwork pipe-net -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'completes image names for -Image of <Command>' -TestCases @(
        @{ Command = 'New-Container' }, @{ Command = 'Invoke-ContainerImage' }
    ) {
        Complete "$Command $script:sr -Image localhost/bu" | Should -Contain 'localhost/busybox:test'
    }

    It 'completes network names (and none/host) for -Network of New-Container' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Complete "New-Container $script:sr -Network pipe-" | Should -Be @('pipe-net')
        Complete "New-Container $script:sr -Network no" | Should -Be @('none')
        Complete "Connect-ContainerNetwork $script:sr -Network pipe-" | Should -Be @('pipe-net')
        Complete "Connect-ContainerNetwork $script:sr -Network no" | Should -BeNullOrEmpty
    }

    It 'completes volume names for <Line>' -TestCases @(
        @{ Line = 'New-Container -Volume pipe-' }, @{ Line = 'Invoke-ContainerImage -Volume pipe-' },
        @{ Line = 'Remove-ContainerVolume -Name pipe-' }, @{ Line = 'Get-ContainerVolume pipe-' }
    ) {
        $cmd, $rest = $Line -split ' ', 2
        Complete "$cmd $script:sr $rest" | Should -Be @('pipe-vol')
    }

    It 'offers no volume past the name part of a -Volume spec' {
        Complete "New-Container $script:sr -Volume pipe-vol:/d" | Should -BeNullOrEmpty
    }

    It 'completes restart policies' {
        Complete 'New-Container -RestartPolicy ' | Should -Be @('no', 'always', 'unless-stopped', 'on-failure')
        Complete 'New-Container -RestartPolicy un' | Should -Be @('unless-stopped')
    }

    It 'completes signal names for <Line>' -TestCases @(
        @{ Line = 'Stop-Container -Signal SIGTE'; Want = 'SIGTERM' }, @{ Line = 'Stop-Container -Signal KI'; Want = 'SIGKILL' },
        @{ Line = 'New-Container -StopSignal SIGQ'; Want = 'SIGQUIT' }
    ) {
        Complete $Line | Should -Be @($Want)
    }

    It 'completes capability names for <Line>' -TestCases @(
        @{ Line = 'New-Container -CapabilityAdd NET_A'; Want = 'NET_ADMIN' }, @{ Line = 'Invoke-ContainerImage -CapabilityDrop CAP_SYS_PT'; Want = 'CAP_SYS_PTRACE' },
        @{ Line = 'New-Container -CapabilityDrop AL'; Want = 'ALL' }
    ) {
        Complete $Line | Should -Be @($Want)
    }
}
