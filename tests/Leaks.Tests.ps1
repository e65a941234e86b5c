# Runs after the whole suite: the suite must leave the host as it found it. Anything a test storage root
# created (mounts, cgroups, interfaces, firewall tables, network namespaces, processes) is named after
# the root's scope id or lives under the run's test base, so it is recognisable here.
BeforeAll {
    . $PSScriptRoot/common.ps1
    $script:roots = @(Get-ChildItem -LiteralPath $script:TestBase -Directory -ErrorAction SilentlyContinue | ForEach-Object FullName)
    $script:scopes = @($script:roots | ForEach-Object { [Containers.Engine.State.StorageRoot]::DeriveScopeId($_) })
}

Describe 'Nothing leaks from the test suite' -Tag 'Leaks' {
    It 'leaves no mount under the test storage roots' {
        $mounts = @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($script:TestBase) })
        $mounts | Should -BeNullOrEmpty
    }
    It 'leaves no cgroup named after a test root' {
        $left = foreach ($s in $script:scopes) {
            Get-ChildItem -Path /sys/fs/cgroup -Directory -Recurse -Depth 2 -ErrorAction SilentlyContinue | Where-Object Name -match $s | ForEach-Object FullName
        }
        @($left) | Should -BeNullOrEmpty
    }
    It 'leaves no network interface named after a test root' {
        # a removed container's veth pair is deleted by the kernel with its namespace, after the removal returned
        # (deferred teardown, docs/NETWORKING.md): waited for, up to 30 s, not called a leak
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        do {
            $links = @(& ip -o link show | ForEach-Object { (($_ -split ': ')[1] -split '@')[0] })
            $left = @($links | Where-Object { $l = $_; $script:scopes | Where-Object { $l -like "*$_*" } })
            if ($left.Count -eq 0) { break }
            Start-Sleep -Milliseconds 200
        } while ([DateTime]::UtcNow -lt $deadline)
        $left | Should -BeNullOrEmpty
    }
    It 'leaves no firewall table or chain named after a test root' {
        $rules = ''
        if (Test-Command nft) { $rules += (& nft list ruleset 2>$null) -join "`n" }
        if (Test-Command iptables-save) { $rules += (& iptables-save 2>$null) -join "`n" }
        $left = @($script:scopes | Where-Object { $rules -match $_ })
        $left | Should -BeNullOrEmpty
    }
    It 'leaves no process started for a test root' {
        $left = @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | ForEach-Object {
                $cmd = (Get-Content -LiteralPath "$($_.FullName)/cmdline" -Raw -ErrorAction SilentlyContinue) -replace "`0", ' '
                if ($cmd -and $cmd.Contains($script:TestBase) -and [int]$_.Name -ne $PID) { "$($_.Name): $cmd" }
            })
        $left | Should -BeNullOrEmpty
    }
    AfterAll {
        if ($script:TestBase -and $script:TestBase.StartsWith('/var/tmp/containers-tests/')) { & rm -rf --one-file-system $script:TestBase 2>$null }
    }
}
