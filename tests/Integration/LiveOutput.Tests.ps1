# Attached runs show the container's output as it arrives (docker run without -d): each line is an information
# record (what Write-Host writes), while the result object stays the only pipeline output; Ctrl+C stops the
# container with its stop signal and keeps what it printed.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'liveout'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name liveout/bb:1 -StorageRoot $script:root | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }

    # runs a script in a fresh PowerShell instance with the module and this root, and returns its streams
    function script:Invoke-Isolated([string] $Script) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$($script:ModulePath)'; `$PSDefaultParameterValues = @{ 'Invoke-ContainerImage:StorageRoot' = '$($script:root)' }; $Script")
            $out = $ps.Invoke()
            [pscustomobject]@{ Output = @($out); Information = @($ps.Streams.Information); Errors = @($ps.Streams.Error) }
        }
        finally { $ps.Dispose() }
    }
    function script:Lines($records, [string] $Stream) {
        @($records | Where-Object { $_.Tags -contains $Stream } | ForEach-Object { $_.MessageData.Message })
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Live output of attached runs' {
    It 'writes each line as it arrives, well before the container ends' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage liveout/bb:1 -Remove -Command sh, -c, 'echo first; sleep 2; echo second' -InformationVariable iv -InformationAction SilentlyContinue
        $end = Get-Date
        $r.ExitCode | Should -Be 0
        $lines = Lines $iv 'stdout'
        $lines | Should -Be @('first', 'second')
        $first = $iv | Where-Object { $_.MessageData.Message -eq 'first' }
        $second = $iv | Where-Object { $_.MessageData.Message -eq 'second' }
        ($end - $first.TimeGenerated).TotalSeconds | Should -BeGreaterThan 1.5
        ($second.TimeGenerated - $first.TimeGenerated).TotalSeconds | Should -BeGreaterThan 1.5
    }

    It 'writes records as Write-Host does (HostInformationMessage, PSHOST), and the result is the only pipeline output' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $res = Invoke-Isolated "Invoke-ContainerImage liveout/bb:1 -Remove -Command sh, -c, 'echo out1; echo err1 >&2; echo out2'"
        $res.Errors | Should -BeNullOrEmpty
        $res.Output.Count | Should -Be 1
        $r = $res.Output[0]
        $r.PSObject.BaseObject.GetType().Name | Should -Be 'ContainerProcessResult'
        foreach ($i in $res.Information) {
            $i.MessageData | Should -BeOfType ([System.Management.Automation.HostInformationMessage])
            $i.MessageData.NoNewLine | Should -BeFalse
            $i.Tags | Should -Contain 'PSHOST'
        }
        Lines $res.Information 'stdout' | Should -Be @('out1', 'out2')
        Lines $res.Information 'stderr' | Should -Be @('err1')
        # what was streamed is the result's Output and Error
        ((Lines $res.Information 'stdout' | ForEach-Object { "$_`n" }) -join '') | Should -BeExactly $r.Output
        ((Lines $res.Information 'stderr' | ForEach-Object { "$_`n" }) -join '') | Should -BeExactly $r.Error
    }

    It 'streams many lines and a last line without a newline, all equal to the result' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage liveout/bb:1 -Remove -Command sh, -c, 'seq 1 2000; printf tail' -InformationVariable iv -InformationAction SilentlyContinue
        $lines = Lines $iv 'stdout'
        $lines.Count | Should -Be 2001
        $lines[-1] | Should -Be 'tail'
        (($lines | ForEach-Object { "$_`n" }) -join '') | Should -BeExactly $r.Output
    }

    It 'is silenced by <Case>, the result unchanged' -TestCases @(
        @{ Case = '-Quiet'; Extra = '-Quiet' }
        @{ Case = '-InformationAction Ignore'; Extra = '-InformationAction Ignore' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $res = Invoke-Isolated "Invoke-ContainerImage liveout/bb:1 -Remove -Command sh, -c, 'echo hello; echo oops >&2' $Extra"
        $res.Errors | Should -BeNullOrEmpty
        $res.Information | Should -BeNullOrEmpty
        $res.Output.Count | Should -Be 1
        $res.Output[0].Output | Should -BeExactly "hello`n"
        $res.Output[0].Error | Should -BeExactly "oops`n"
    }

    It 'is stream 6: 6>&1 merges the lines into the output, 6>$null drops them' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $all = @(Invoke-ContainerImage liveout/bb:1 -Remove -Command sh, -c, 'echo hello; echo oops >&2' 6>&1)
        $all.Count | Should -Be 3
        @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { $_.MessageData.Message }) | Should -Be @('hello', 'oops')
        $all[-1].Output | Should -BeExactly "hello`n"
        # (a hosted instance's Streams.Information records even a redirected Write-Host, so this checks the pipeline)
        $dropped = @(Invoke-ContainerImage liveout/bb:1 -Remove -Command sh, -c, 'echo hello' 6>$null)
        $dropped.Count | Should -Be 1
        $dropped[0].Output | Should -BeExactly "hello`n"
    }

    It '-Quiet writes nothing to -InformationVariable either' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerImage liveout/bb:1 -Remove -Quiet -Command echo, hi -InformationVariable iv
        $r.Output | Should -BeExactly "hi`n"
        $iv | Should -BeNullOrEmpty
    }
}

Describe 'Ctrl+C during an attached run' {
    BeforeAll {
        # stops the run once its first line arrived, as Ctrl+C does (StopProcessing); returns what was seen
        function script:Stop-AfterFirstLine([string] $Arguments) {
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript("Import-Module '$($script:ModulePath)'; Invoke-ContainerImage liveout/bb:1 -StorageRoot '$($script:root)' $Arguments")
                $async = $ps.BeginInvoke()
                $sw = [Diagnostics.Stopwatch]::StartNew()
                while ($ps.Streams.Information.Count -eq 0 -and -not $async.IsCompleted -and $sw.Elapsed.TotalSeconds -lt 20) { Start-Sleep -Milliseconds 20 }
                $sw.Restart()
                $ps.Stop()
                [pscustomobject]@{
                    Information = @($ps.Streams.Information); StopSeconds = $sw.Elapsed.TotalSeconds
                    State = $ps.InvocationStateInfo.State
                }
            }
            finally { $ps.Dispose() }
        }
        $script:trapScript = 'trap "echo got-term; exit 0" TERM; echo ready; while true; do sleep 0.1; done'
    }

    It 'stops the container with its stop signal and keeps the output it printed' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $name = 'ctrlc-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        $res = Stop-AfterFirstLine "-Name $name -Command sh, -c, '$($script:trapScript)'"
        $res.State | Should -Be 'Stopped'
        Lines $res.Information 'stdout' | Should -Contain 'ready'
        # SIGTERM reached the trap (SIGKILL would leave 137), well before the stop timeout
        $c = Get-Container $name
        $c.Status | Should -Be 'Exited'
        $c.ExitCode | Should -Be 0
        $res.StopSeconds | Should -BeLessThan 8
        $log = Get-ContainerLog $name
        $log | Should -Contain 'ready'
        $log | Should -Contain 'got-term'
        Remove-Container $name -Force
    }

    It 'still removes the container with -Remove' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $name = 'ctrlc-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        $res = Stop-AfterFirstLine "-Name $name -Remove -Command sh, -c, '$($script:trapScript)'"
        Lines $res.Information 'stdout' | Should -Contain 'ready'
        Get-Container -All | Where-Object Name -eq $name | Should -BeNullOrEmpty
    }

    It 'uses the container''s -StopSignal' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $name = 'ctrlc-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
        $res = Stop-AfterFirstLine "-Name $name -StopSignal SIGUSR1 -Command sh, -c, 'trap ""echo got-usr1; exit 3"" USR1; echo ready; while true; do sleep 0.1; done'"
        Lines $res.Information 'stdout' | Should -Contain 'ready'
        (Get-Container $name).ExitCode | Should -Be 3
        Get-ContainerLog $name | Should -Contain 'got-usr1'
        Remove-Container $name -Force
    }
}

Describe 'Live output of Invoke-ContainerCommand' {
    BeforeAll {
        if ($script:IsRoot) {
            $script:execName = 'exec-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
            Invoke-ContainerImage liveout/bb:1 -Name $script:execName -Detach -Command sleep, 300 | Out-Null
        }
    }
    AfterAll {
        if ($script:execName) { Remove-Container $script:execName -Force -ErrorAction SilentlyContinue }
    }

    It 'writes each line as it arrives, the result equal to the raw output' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerCommand $script:execName sh, -c, 'echo first; sleep 2; echo second; echo err >&2; printf tail' -InformationVariable iv -InformationAction SilentlyContinue
        $end = Get-Date
        $r.ExitCode | Should -Be 0
        Lines $iv 'stdout' | Should -Be @('first', 'second', 'tail')
        Lines $iv 'stderr' | Should -Be @('err')
        $r.Output | Should -BeExactly "first`nsecond`ntail"
        $r.Error | Should -BeExactly "err`n"
        $first = $iv | Where-Object { $_.MessageData.Message -eq 'first' }
        ($end - $first.TimeGenerated).TotalSeconds | Should -BeGreaterThan 1.5
        $iv | ForEach-Object { $_.Tags | Should -Contain 'PSHOST' }
    }

    It 'is silenced by -Quiet' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $r = Invoke-ContainerCommand $script:execName echo, hi -Quiet -InformationVariable iv
        $r.Output | Should -BeExactly "hi`n"
        $iv | Should -BeNullOrEmpty
    }
}
