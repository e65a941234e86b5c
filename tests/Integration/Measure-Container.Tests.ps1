# Streaming stats (docker stats): Measure-Container -Follow samples per interval until stopped.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'stats'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Measure-Container -Follow' {
    BeforeAll {
        if ($script:IsRoot) {
            $null = Invoke-ContainerImage -RootFs $script:rootfs -Name st-a -Network none -Detach -Command sleep, 600
            $null = Invoke-ContainerImage -RootFs $script:rootfs -Name st-b -Network none -Detach -Command sleep, 600
        }
    }
    It 'writes one sample without -Follow' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        @(Measure-Container st-a).Count | Should -Be 1
    }
    It 'samples each container once per interval until the pipeline stops' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $s = @(Get-Container st-a, st-b | Measure-Container -Follow -Interval 0.3 | Select-Object -First 6)
        $sw.Stop()
        $s.Count | Should -Be 6
        $s | ForEach-Object { $_ | Should -BeOfType ([Containers.Engine.Model.ContainerStats]) }
        @($s | Where-Object ContainerName -eq st-a).Count | Should -Be 3
        @($s | Where-Object ContainerName -eq st-b).Count | Should -Be 3
        $sw.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.55   # two intervals after the first samples
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $s[0].Pids | Should -BeGreaterThan 0
    }
    It 'ends by itself once the container has stopped' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = Invoke-ContainerImage -RootFs $script:rootfs -Name st-short -Network none -Detach -Command sleep, 1
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $s = @(Measure-Container st-short -Follow -Interval 0.2)
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
        $s.Count | Should -BeGreaterOrEqual 2
        Remove-Container st-short
    }
    It 'stops at Ctrl+C (StopProcessing)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $job = Start-ThreadJob -ScriptBlock {
            param($mod, $root)
            Import-Module $mod
            Measure-Container st-a -Follow -Interval 0.2 -StorageRoot $root
        } -ArgumentList $script:ModulePath, $script:root
        try {
            Start-Sleep -Milliseconds 1500
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $job | Stop-Job
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 3
            @($job | Receive-Job).Count | Should -BeGreaterOrEqual 3
        }
        finally { $job | Remove-Job -Force }
    }
}
