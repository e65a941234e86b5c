# docker --log-opt max-size/max-file: the monitor rotates the log; Get-ContainerLog and attached runs read across rotations.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'logrot'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    # 4 batches of 100 lines (about 4.5 KB each), apart enough for a reader that polls to see each rotation
    $script:batches = 'i=0; while [ $i -lt 400 ]; do echo line$i; i=$((i+1)); if [ $((i % 100)) -eq 0 ]; then sleep 0.4; fi; done'
    function script:LogFiles([string] $name) {
        $id = (Get-Container $name -All).Id
        @(Get-ChildItem (Join-Path $script:root "containers/$id") -Filter 'ctr.log*' | Sort-Object Name)
    }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Log rotation' {
    It 'keeps -LogMaxFiles files of about -LogMaxSize each, and reads them in order' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerImage -RootFs $script:rootfs -Name rot3 -Network none -Quiet -LogMaxSize 4KB -LogMaxFiles 3 -Command sh, -c, $script:batches
        $r.ExitCode | Should -Be 0
        # the attached run followed the log across its rotations
        @($r.Output -split "`n" | Where-Object { $_ }) | Should -Be @(0..399 | ForEach-Object { "line$_" })
        $files = LogFiles rot3
        $files.Name | Should -Be @('ctr.log', 'ctr.log.1', 'ctr.log.2')
        $files | ForEach-Object { $_.Length | Should -BeLessOrEqual (4KB + 100) }
        $lines = @(Get-ContainerLog rot3)
        $lines.Count | Should -BeLessThan 400              # the oldest went with the file beyond max-file
        $lines.Count | Should -BeGreaterThan 150
        $lines[-1] | Should -Be 'line399'
        $first = [int]($lines[0] -replace 'line', '')
        $lines | Should -Be @($first..399 | ForEach-Object { "line$_" })
        @(Get-ContainerLog rot3 -Tail 5) | Should -Be @(395..399 | ForEach-Object { "line$_" })
    }

    It 'follows a detached container''s log across rotations' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name rotf -Network none -Detach -LogMaxSize 4KB -LogMaxFiles 2 -Command sh, -c, "sleep 0.5; $script:batches"
        $lines = @(Get-ContainerLog rotf -Follow)
        $lines | Should -Be @(0..399 | ForEach-Object { "line$_" })
        (LogFiles rotf).Name | Should -Be @('ctr.log', 'ctr.log.1')
    }

    It 'empties the one file with -LogMaxFiles 1 (the default)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name rot1 -Network none -Quiet -LogMaxSize 4KB -Command sh, -c, $script:batches
        $files = LogFiles rot1
        $files.Name | Should -Be @('ctr.log')
        $files[0].Length | Should -BeLessOrEqual (4KB + 100)
        (Get-ContainerLog rot1 -Tail 1) | Should -Be 'line399'
    }

    It 'keeps the whole log without -LogMaxSize' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name rot0 -Network none -Quiet -Command sh, -c, $script:batches
        (LogFiles rot0).Name | Should -Be @('ctr.log')
        @(Get-ContainerLog rot0).Count | Should -Be 400
    }

    It 'refuses -LogMaxFiles without -LogMaxSize' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        { New-Container -RootFs $script:rootfs -Name rotbad -Network none -LogMaxFiles 3 -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'LogMaxFilesWithoutMaxSize,Containers.Cmdlets.Runtime.NewContainerCommand'
    }
}
