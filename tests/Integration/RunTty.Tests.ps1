# docker run -it / -t / -dit and docker attach: Invoke-ContainerImage -Interactive -Tty and Connect-Container.
# What needs a terminal runs in a child pwsh on a pseudo-terminal the test allocates (tests/pty-run.py): it waits
# for the container shell's prompt, types one line, waits for the answer. Real containers as root.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'runtty'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    New-Item -ItemType SymbolicLink -Force -Path "$($script:rootfs)/bin/tty" -Target busybox | Out-Null
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'runtty/bb:1'
    if ($script:IsRoot) { Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -StorageRoot $script:root | Out-Null }
    $script:haveTerminal = (Test-Command python3)

    # runs $Code in a child pwsh on a pseudo-terminal: waits for the prompt, types $Line, waits for $Answer
    function Invoke-OnTerminal([string] $Code, [string] $Line, [string] $Answer, [string] $Prompt = '/ # ') {
        $file = Join-Path $script:root ("tty-" + [guid]::NewGuid().ToString('N') + '.ps1')
        @(
            '$ErrorActionPreference = "Stop"'
            "Import-Module '$($script:ModulePath)'"
            "`$PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = '$($script:root)'; 'Invoke-ContainerImage:StorageRoot' = '$($script:root)' }"
            $Code
        ) | Set-Content -LiteralPath $file
        $pwsh = (Get-Process -Id $PID).Path
        $argv = @($pwsh) + $(if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { @('pwsh') } else { @() }) + @('-NoProfile', '-File', $file)
        $repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
        (& python3 (Join-Path $PSScriptRoot '../pty-run.py') $Prompt $Line $Answer 90 $repo -- @argv) -join "`n"
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Invoke-ContainerImage -Interactive -Tty' {
    It 'gives the first process a terminal from the container''s devpts, relays the console and returns the exit code' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition $script:haveTerminal -Because 'python3 (for a pseudo-terminal) is not installed')) { return }
        $out = Invoke-OnTerminal "`$r = Invoke-ContainerImage $($script:img) -Interactive -Tty -Remove -Network none -Name it1 -Command sh; 'RESULT=' + `$r.ExitCode + '/' + `$r.GetType().Name" `
            'echo answer-$((6*7)); tty; exit 3' 'answer-42\s+/dev/pts/\d'
        $out | Should -Match 'PTY-STAGE=2 PTY-EXIT=0' -Because $out
        # the shell's arithmetic (not the typed echo), its terminal, and the exit code in the result
        $out | Should -Match 'answer-42\r?\n/dev/pts/0'
        $out | Should -Match 'RESULT=3/ContainerProcessResult'
        # -Remove removed it
        Get-Container -All -Name it1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'detaches on Ctrl+P Ctrl+Q, leaving the container running, and Connect-Container attaches again' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition $script:haveTerminal -Because 'python3 (for a pseudo-terminal) is not installed')) { return }
        $code = "`$r = Invoke-ContainerImage $($script:img) -Interactive -Tty -Network none -Name it2 -Command sh; 'RESULT=' + (`$null -eq `$r) + ' STATUS=' + (Get-Container it2).Status"
        $out = Invoke-OnTerminal $code "$([char]0x10)$([char]0x11)" 'STATUS=\w+'
        $out | Should -Match 'PTY-STAGE=2' -Because $out
        $out | Should -Match 'RESULT=True STATUS=Running'
        (Get-Container it2).Status | Should -Be 'Running'
        # attach again: the same shell on the same terminal
        $out = Invoke-OnTerminal "'ATTACHING'; `$r = Connect-Container it2; 'RESULT=' + `$r.ExitCode" 'echo again-$((6*7)); tty; exit 4' 'RESULT=\d+' -Prompt 'ATTACHING'
        $out | Should -Match 'again-42\r?\n/dev/pts/0' -Because $out
        $out | Should -Match 'RESULT=4'
        (Get-Container it2).Status | Should -Be 'Exited'
        (Get-Container it2).ExitCode | Should -Be 4
        Remove-Container it2
    }

    It 'with -Tty alone relays the output from a terminal, without the console''s input' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        if (-not (Test-Prerequisite -Condition $script:haveTerminal -Because 'python3 (for a pseudo-terminal) is not installed')) { return }
        $out = Invoke-OnTerminal "`$r = Invoke-ContainerImage $($script:img) -Tty -Remove -Network none -Command sh, -c, 'sleep 1; tty; test -t 0 && echo stdin-is-tty; read -t 2 x; echo read=`$?; exit 2'; 'RESULT=' + `$r.ExitCode" `
            'typed' 'RESULT=\d+' -Prompt '.'
        # one line each: the container's terminal made the line ends, the console adds no second carriage return
        $out | Should -Match '/dev/pts/0\r?\nstdin-is-tty\r?\n' -Because $out
        # docker run -t without -i: nothing typed reaches it; its terminal's input stays empty (read waits, then ends at the exit)
        $out | Should -Not -Match 'read=0'
        $out | Should -Match 'RESULT=2'
    }

    It 'logs what the terminal showed (Get-ContainerLog)' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Tty -Network none -Command sh, -c, 'tty; echo logged-$((6*7))'
        Wait-Container $c.Name -Condition Exited | Out-Null
        $log = (Get-ContainerLog $c.Name) -join "`n"
        $log | Should -Match '/dev/pts/0'
        $log | Should -Match 'logged-42'
        (Get-Container $c.Name).Tty | Should -BeTrue
        Remove-Container $c.Name
    }

    It 'refuses pipeline input and -OutFile with -Tty, and -Interactive -Detach without -Tty' {
        $e = { 'x' | Invoke-ContainerImage $script:img -Tty -Interactive -Command cat } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'ConflictingInput*'
        $e = { Invoke-ContainerImage $script:img -Tty -OutFile (Join-Path $script:root 'o') -Command true } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'ConflictingOutput*'
        $e = { Invoke-ContainerImage $script:img -Detach -Interactive -Command true } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'ConflictingOptions*'
        Get-Container -All | Should -BeNullOrEmpty
    }
}

Describe 'Connect-Container' {
    It 'streams the output of a container without a terminal live until it exits and returns its exit code' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Network none -Command sh, -c, 'echo before; sleep 2; for i in 1 2 3; do echo line-$i; sleep 0.2; done; echo oops >&2; exit 5'
        Start-Sleep -Milliseconds 800
        $r = Connect-Container $c.Name 6>&1 | Tee-Object -Variable all | Where-Object { $_ -is [Containers.Engine.Model.ContainerProcessResult] }
        $r.ExitCode | Should -Be 5
        # from now: what it printed before the attach is Get-ContainerLog's, not the attachment's
        $r.Output | Should -BeExactly "line-1`nline-2`nline-3`n"
        $r.Error | Should -BeExactly "oops`n"
        # live, on the information stream
        @($all | Where-Object { $_ -is [System.Management.Automation.InformationRecord] } | ForEach-Object { "$_" }) -join ',' | Should -Match 'line-1,line-2,line-3'
        Remove-Container $c.Name
    }

    It 'fails with ContainerNotRunning for a container that has exited' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Network none -Command true
        Wait-Container $c.Name -Condition Exited | Out-Null
        Connect-Container $c.Name -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        Remove-Container $c.Name
    }
}
