# exec: joins the namespaces and cgroup of a running container; Enter-Container on a pty through tmux.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'exec'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) { $script:c = Invoke-ContainerImage -RootFs $script:rootfs -Name target -Hostname inside -Detach -Init -Command sleep, 600 }
}
AfterAll {
    if ($script:root) {
        Get-Container -All -StorageRoot $script:root | Remove-Container -Force -StorageRoot $script:root
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Invoke-ContainerCommand' {
    It 'runs inside the container''s namespaces and returns output and exit code' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerCommand target -Command sh, -c, 'hostname; ps -o comm | grep -c sleep; echo bad >&2; exit 5'
        $r.ExitCode | Should -Be 5
        ($r.Output.Trim() -split "`n") | Should -Be @('inside', '1')
        $r.Error.Trim() | Should -Be 'bad'
    }
    It 'joins the container''s cgroup' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerCommand target -Command cat, /proc/self/cgroup
        $r.Output | Should -Match '(?m)memory:/$' -Because 'the cgroup namespace is rooted at the container''s cgroup'
    }
    It 'honours -User, -WorkingDirectory and -Environment' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $r = Invoke-ContainerCommand target -User app -WorkingDirectory /tmp -Environment @{ GREETING = 'hi' } -Command sh, -c, 'id -u; pwd; echo $GREETING'
        ($r.Output.Trim() -split "`n") | Should -Be @('1000', '/tmp', 'hi')
    }
    It 'runs detached' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        Invoke-ContainerCommand target -Detach -Command sh, -c, 'echo done > /tmp/detached'
        $deadline = (Get-Date).AddSeconds(10)
        do { $r = Invoke-ContainerCommand target -Command cat, /tmp/detached } until ($r.ExitCode -eq 0 -or (Get-Date) -gt $deadline)
        $r.Output.Trim() | Should -Be 'done'
    }
    It 'fails with <Id>' -TestCases @(
        @{ Id = 'ContainerNotFound'; Name = 'nosuch' }
    ) {
        param($Id, $Name)
        { Invoke-ContainerCommand $Name -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$Id,Containers.Cmdlets.Containers.InvokeContainerCommandCommand"
    }
    It 'refuses a container that is not running' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'needs root')) { return }
        $null = New-Container -RootFs $script:rootfs -Name idle -Command true
        { Invoke-ContainerCommand idle -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotRunning,Containers.Cmdlets.Containers.InvokeContainerCommandCommand'
    }
}

Describe 'Enter-Container' {
    It 'gives an interactive shell on a terminal (tmux)' {
        if (-not (Test-Prerequisite -Condition ($script:IsRoot -and (Test-Command tmux)) -Because 'needs root and tmux')) { return }
        $session = "ct-enter-$PID"
        $pwsh = (Get-Process -Id $PID).Path
        $pre = if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { "$pwsh pwsh" } else { $pwsh }
        $cmd = "$pre -NoProfile -Command `"Import-Module '$script:ModulePath'; Enter-Container target -StorageRoot '$script:root'; 'LEFT-' + 'CONTAINER'; Start-Sleep 30`""
        & tmux new-session -d -s $session -x 120 -y 30 $cmd
        try {
            $deadline = (Get-Date).AddSeconds(30)
            do { Start-Sleep -Milliseconds 300; $screen = (& tmux capture-pane -p -t $session) -join "`n" } until ($screen -match '[#$] ' -or (Get-Date) -gt $deadline)
            & tmux send-keys -t $session 'echo "tty=$(tty) host=$(hostname)"; stty size' Enter
            $deadline = (Get-Date).AddSeconds(10)
            do { Start-Sleep -Milliseconds 200; $screen = (& tmux capture-pane -p -t $session) -join "`n" } until ($screen -match 'host=inside' -or (Get-Date) -gt $deadline)
            $screen | Should -Match 'tty=/dev/pts/\d+ host=inside'
            $screen | Should -Match '30 120'
            & tmux send-keys -t $session 'sleep 100' Enter
            Start-Sleep -Milliseconds 500
            & tmux send-keys -t $session C-c
            & tmux send-keys -t $session 'echo after-$((40+2))' Enter
            $deadline = (Get-Date).AddSeconds(10)
            do { Start-Sleep -Milliseconds 200; $screen = (& tmux capture-pane -p -t $session) -join "`n" } until ($screen -match 'after-42' -or (Get-Date) -gt $deadline)
            $screen | Should -Match 'after-42'
            & tmux send-keys -t $session 'exit' Enter
            $deadline = (Get-Date).AddSeconds(15)
            do { Start-Sleep -Milliseconds 200; $screen = (& tmux capture-pane -p -t $session) -join "`n" } until ($screen -match 'LEFT-CONTAINER' -or (Get-Date) -gt $deadline)
            $screen | Should -Match 'LEFT-CONTAINER'
        }
        finally { & tmux kill-session -t $session 2>$null }
    }
}
