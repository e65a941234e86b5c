# Logs: streams kept apart and in order, timestamps, -Tail, -Follow until the end.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'logs'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Get-ContainerLog' {
    BeforeAll {
        if ($script:IsRoot) {
            $null = Invoke-ContainerImage -RootFs $script:rootfs -Name talker -Detach -Command sh, -c, 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf partial'
            $null = Wait-Container talker -Timeout 30
        }
    }
    It 'keeps stdout and stderr apart, each in order' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-ContainerLog talker -Stream Stdout | Select-Object -First 3 | Should -Be @('out1', 'out2', 'out3')
        Get-ContainerLog talker -Stream Stderr | Should -Be @('err1', 'err2', 'err3')
        $objs = @(Get-ContainerLog talker -AsObject)
        ($objs | Where-Object Stream -eq 'stderr').Count | Should -Be 3
        $objs | ForEach-Object { $_.Timestamp | Should -BeOfType [datetime] }
        for ($i = 1; $i -lt $objs.Count; $i++) { $objs[$i].Timestamp | Should -BeGreaterOrEqual $objs[$i - 1].Timestamp }
    }
    It 'prefixes timestamps with -Timestamps and honours -Tail and -Since/-Until' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Get-ContainerLog talker -Timestamps -Stream Stderr | Select-Object -First 1 | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z err1$'
        @(Get-ContainerLog talker -Tail 2).Count | Should -Be 2
        @(Get-ContainerLog talker -Since (Get-Date).AddMinutes(5)).Count | Should -Be 0
        @(Get-ContainerLog talker -Until (Get-Date).AddMinutes(-30)).Count | Should -Be 0
    }
    It 'follows until the container ends' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name ticker -Detach -Command sh, -c, 'for i in 1 2 3 4 5; do echo tick$i; sleep 0.2; done'
        $lines = @(Get-ContainerLog ticker -Follow)
        $lines | Should -Be @('tick1', 'tick2', 'tick3', 'tick4', 'tick5')
        (Get-Container ticker).Status | Should -Be 'Exited'
    }
    It 'fails for an unknown container' {
        { Get-ContainerLog nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,Containers.Cmdlets.Containers.GetContainerLogCommand'
    }
}
