# How a rootless run finds the cgroup v2 subtree delegated to it (Cgroups/RootlessCgroups.cs), against FAKE cgroupfs
# trees made here: the parent of the process's own cgroup, owned by the user with its cgroup.procs and
# cgroup.subtree_control, offering memory or pids. The real kernel case runs in the cgroup v2 VM
# (tests/VM/RootlessCgroupV2.Tests.ps1).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    $script:Me = [uint32](& id -u)

    # root/user.slice/user-1.slice/user@1.service/session.scope, as systemd lays it out; every file is this process's
    function New-DelegatedTree([string] $Offered = 'cpu memory pids') {
        $root = Join-Path $TestDrive ('v2-' + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        $svc = "$root/user.slice/user-1.slice/user@1.service"
        New-Item -ItemType Directory -Path "$svc/session.scope" | Out-Null
        Set-Content -LiteralPath "$root/cgroup.controllers" -Value 'cpuset cpu io memory pids' -NoNewline
        foreach ($f in 'cgroup.procs', 'cgroup.subtree_control') { Set-Content -LiteralPath "$svc/$f" -Value '' -NoNewline }
        Set-Content -LiteralPath "$svc/cgroup.controllers" -Value $Offered -NoNewline
        $root
    }
    function Find([string] $Root, [string] $Own, [uint32] $Uid = $script:Me) {
        $why = ''
        $found = [Containers.Engine.Cgroups.RootlessCgroups]::Find($Root, $Own, $Uid, [ref] $why)
        [pscustomobject]@{ Found = $found; Why = $why }
    }
}

Describe 'RootlessCgroups.Find' {
    It 'takes the parent of its own cgroup when the user owns it and it offers memory or pids' {
        $root = New-DelegatedTree
        $r = Find $root '/user.slice/user-1.slice/user@1.service/session.scope'
        $r.Found | Should -Be "$root/user.slice/user-1.slice/user@1.service"
        $r.Why | Should -BeNullOrEmpty
    }

    It 'refuses a parent another uid owns, naming it' {
        $root = New-DelegatedTree
        $r = Find $root '/user.slice/user-1.slice/user@1.service/session.scope' -Uid ($script:Me + 4242)
        $r.Found | Should -BeNullOrEmpty
        $r.Why | Should -Match "the parent '.*user@1\.service' of its cgroup is not delegated to uid $($script:Me + 4242)"
    }

    It 'refuses a delegated parent that offers neither memory nor pids' {
        $root = New-DelegatedTree -Offered 'cpu io'
        $r = Find $root '/user.slice/user-1.slice/user@1.service/session.scope'
        $r.Found | Should -BeNullOrEmpty
        $r.Why | Should -Match "offers neither the memory nor the pids controller \(its cgroup.controllers: 'cpu io'\)"
    }

    It 'refuses the root cgroup, a cgroup right below it, a parent whose cgroup files are missing, and cgroup v1' {
        $root = New-DelegatedTree
        (Find $root '/').Why | Should -Match 'root cgroup'
        (Find $root '/user.slice').Why | Should -Match 'directly below the root'
        (Find $root '/user.slice/user-1.slice/x').Why | Should -Match 'cgroup.procs is not its own'
        (Find $root '/a/../b').Why | Should -Match 'not a plain path'
        $v1 = Join-Path $TestDrive 'v1'
        New-Item -ItemType Directory -Path "$v1/memory" | Out-Null
        (Find $v1 '/user.slice/user-1.slice/user@1.service/session.scope').Why | Should -Match 'cgroup v1'
    }
}
