# Twenty containers set up at once from two pwsh processes on one network get twenty distinct addresses.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/NetworkTestHelpers.ps1
    if ($script:IsRoot) { Initialize-NetTest }
}

AfterAll {
    if ($script:IsRoot -and $script:NetRoot) {
        foreach ($i in 1..20) {
            $ctx = New-NetContext "c$i" @('crowd')
            try { $script:Provider.Teardown($ctx) } catch { }
            & ip netns del "t$($script:Scope)c$i" 2>$null
        }
        Clear-NetTest
    }
}

Describe 'Concurrent address allocation' -Tag 'Network' {
    It 'hands out twenty distinct addresses to twenty containers started at once from two processes' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'networks need root')) { return }
        New-ContainerNetwork -Name crowd -StorageRoot $script:NetRoot | Out-Null
        foreach ($i in 1..20) { & ip netns add "t$($script:Scope)c$i" }
        $worker = {
            param($ModulePath, $RootPath, $Scope, $From, $To)
            Import-Module $ModulePath
            Add-Type -Path (Join-Path (Split-Path $ModulePath) 'Containers.Engine.dll')
            $root = [Containers.Engine.State.StorageRoot]::Resolve($RootPath)
            $From..$To | ForEach-Object -ThrottleLimit 10 -Parallel {
                $p = [Containers.Engine.Networking.BridgeNetworkProvider]::new($using:root)
                $ctx = [Containers.Engine.Networking.ContainerNetworkContext]@{
                    ContainerId = "c$_-$using:Scope"; ContainerName = "c$_"; Hostname = "c$_"; NetNsPath = "/run/netns/t$($using:Scope)c$_"
                    StateDirectory = $using:RootPath
                    Networks = [Containers.Engine.Networking.NetworkRequest[]]@([Containers.Engine.Networking.NetworkRequest]::new('crowd', [string[]]@(), $null, $null))
                    Ports = [Containers.Engine.Networking.PortRequest[]]@()
                }
                $p.Setup($ctx, [Threading.CancellationToken]::None).Endpoints[0].IPv4Address
            }
        }
        $pwsh = [Environment]::ProcessPath
        $prefix = @(); if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { $prefix = @('pwsh') }
        $enc = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes("& { $worker } @args"))
        $jobs = foreach ($range in @(@(1, 10), @(11, 20))) {
            $argList = $prefix + @('-NoProfile', '-NonInteractive', '-Command', "& ([scriptblock]::Create([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('$([Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($worker.ToString())))')))) '$script:ModulePath' '$script:NetRoot' '$script:Scope' $($range[0]) $($range[1])")
            Start-Process -FilePath $pwsh -ArgumentList $argList -PassThru -RedirectStandardOutput "$script:NetRoot/out-$($range[0]).txt" -RedirectStandardError "$script:NetRoot/err-$($range[0]).txt"
        }
        $jobs | Wait-Process -Timeout 120
        $reported = @(Get-Content "$script:NetRoot/out-1.txt", "$script:NetRoot/out-11.txt" | Where-Object { $_ -match '^\d+\.\d+\.\d+\.\d+$' })
        $errors = (Get-Content "$script:NetRoot/err-1.txt", "$script:NetRoot/err-11.txt" -Raw -ErrorAction SilentlyContinue) -join ''
        $errors | Should -BeNullOrEmpty
        $reported.Count | Should -Be 20
        @($reported | Sort-Object -Unique).Count | Should -Be 20
        $net = Get-ContainerNetwork crowd -StorageRoot $script:NetRoot
        @($net.Containers).Count | Should -Be 20
        @($net.Containers.IPv4Address | Sort-Object -Unique).Count | Should -Be 20
        # And the kernel agrees: each namespace has the address it was given.
        foreach ($c in $net.Containers) {
            (Invoke-InNs $c.ContainerName @('ip', '-o', '-4', 'addr', 'show', 'eth0')).Output | Should -Match ([regex]::Escape($c.IPv4Address + '/'))
        }
    }
}
