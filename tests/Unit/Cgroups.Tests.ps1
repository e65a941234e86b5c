# The cgroup managers' logic against FAKE cgroupfs trees made here (no root, no kernel): which files get
# which values, delegation through subtree_control, the shares->weight map, device rules (v1 lines and
# the v2 eBPF program, run through its reference interpreter) and stats parsing.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')

    function New-FakeV2Tree([string] $Controllers = 'cpuset cpu io memory hugetlb pids') {
        $root = Join-Path $TestDrive ('v2-' + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Path $root | Out-Null
        Set-Content -LiteralPath "$root/cgroup.controllers" -Value $Controllers -NoNewline
        Set-Content -LiteralPath "$root/cgroup.subtree_control" -Value '' -NoNewline
        $root
    }
    function New-FakeV1Tree {
        $root = Join-Path $TestDrive ('v1-' + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        foreach ($c in 'blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'systemd', 'unified') {
            New-Item -ItemType Directory -Path "$root/$c" | Out-Null
        }
        Set-Content -LiteralPath "$root/cpuset/cpuset.cpus" -Value '0-1' -NoNewline
        Set-Content -LiteralPath "$root/cpuset/cpuset.mems" -Value '0' -NoNewline
        $root
    }
    function New-Resources([hashtable] $Set = @{}) {
        $r = [Containers.Engine.Cgroups.CgroupResources]::new()
        foreach ($k in $Set.Keys) { $r.$k = $Set[$k] }
        $r
    }
    function Get-EngineErrorId([scriptblock] $Action) {
        try { & $Action; return 'NoError' }
        catch {
            $e = $_.Exception
            while ($e -and $e -isnot [Containers.Engine.Errors.ContainersException]) { $e = $e.InnerException }
            if ($e) { return $e.ErrorId } else { return $_.Exception.GetType().Name }
        }
    }
    function Read-Fake([string] $Path) { (Get-Content -LiteralPath $Path -Raw).Trim() }
    $script:Managers = [Containers.Engine.Cgroups.CgroupManagers]
}

Describe 'Cgroup version detection and naming' -Tag 'Unit' {
    It 'detects <Expected> from the tree' -TestCases @(
        @{ Kind = 'v2'; Expected = 'V2' }
        @{ Kind = 'v1'; Expected = 'V1' }
    ) {
        $root = if ($Kind -eq 'v2') { New-FakeV2Tree } else { New-FakeV1Tree }
        $Managers::Detect($root) | Should -Be $Expected
        $m = $Managers::Create($root, 'a1b2c3', 'ctr1')
        $m.GetType().Name | Should -Be "Cgroup$($Expected)Manager"
        $m.RelativePath | Should -Be 'pscontainers-a1b2c3/ctr1'
    }
    It 'rejects the container name <Name>' -TestCases @(
        @{ Name = '../escape' }, @{ Name = '..' }, @{ Name = 'a/b' }, @{ Name = '' }
    ) {
        $root = New-FakeV2Tree
        Get-EngineErrorId { $Managers::Create($root, 'a1b2c3', $Name) } | Should -Be 'CgroupNameInvalid'
    }
    It 'names the parent after the storage root''s scope id' {
        $Managers::ParentName('0a0b0c') | Should -Be 'pscontainers-0a0b0c'
    }
}

Describe 'cgroup v2 manager on a fake tree' -Tag 'Unit' {
    BeforeEach {
        $root = New-FakeV2Tree 'cpuset cpu io memory pids rdma'
        $m = $Managers::Create($root, 'abc123', 'c1')
        $dir = "$root/pscontainers-abc123/c1"
    }
    It 'writes each limit to its file' {
        $m.Create((New-Resources @{ MemoryBytes = 64MB; Cpus = 0.5; CpuShares = 512; PidsLimit = 20; CpusetCpus = '0'; CpusetMems = '0' }))
        Read-Fake "$dir/memory.max" | Should -Be '67108864'
        Read-Fake "$dir/cpu.max" | Should -Be '50000 100000'
        Read-Fake "$dir/cpu.weight" | Should -Be '20'
        Read-Fake "$dir/pids.max" | Should -Be '20'
        Read-Fake "$dir/cpuset.cpus" | Should -Be '0'
        Read-Fake "$dir/cpuset.mems" | Should -Be '0'
        Test-Path "$dir/memory.swap.max" | Should -BeFalse -Because 'no swap accounting file, so no swap limit'
    }
    It 'delegates the wanted controllers the kernel offers through the root and the parent' {
        $m.Create((New-Resources))
        Read-Fake "$root/cgroup.subtree_control" | Should -Be 'cpuset cpu io memory pids'
        Read-Fake "$root/pscontainers-abc123/cgroup.subtree_control" | Should -Be 'cpuset cpu io memory pids'
    }
    It 'keeps controllers already enabled and adds only the missing ones' {
        Set-Content -LiteralPath "$root/cgroup.subtree_control" -Value 'memory rdma' -NoNewline
        $m.Create((New-Resources))
        Read-Fake "$root/cgroup.subtree_control" | Should -Be 'memory rdma cpuset cpu io pids'
    }
    It 'sets swap.max to memory+swap minus memory (<Swap> -> <Expected>)' -TestCases @(
        @{ Swap = $null; Expected = '67108864' }   # Docker's default: memory+swap = 2x memory
        @{ Swap = 100MB; Expected = '37748736' }
        @{ Swap = -1; Expected = 'max' }
    ) {
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        Set-Content -LiteralPath "$dir/memory.swap.max" -Value 'max' -NoNewline
        $r = New-Resources @{ MemoryBytes = 64MB }
        if ($null -ne $Swap) { $r.MemorySwapBytes = $Swap }
        $m.Create($r)
        Read-Fake "$dir/memory.swap.max" | Should -Be $Expected
    }
    It 'writes "max" for an unlimited pids limit (<Limit>)' -TestCases @(@{ Limit = 0 }, @{ Limit = -1 }) {
        $m.Create((New-Resources @{ PidsLimit = $Limit }))
        Read-Fake "$dir/pids.max" | Should -Be 'max'
    }
    It 'sets only the period when only the period is given' {
        $m.Create((New-Resources @{ CpuPeriodMicroseconds = 50000 }))
        Read-Fake "$dir/cpu.max" | Should -Be 'max 50000'
    }
    It 'updates live limits without touching others' {
        $m.Create((New-Resources @{ MemoryBytes = 64MB; PidsLimit = 5 }))
        $m.Update((New-Resources @{ PidsLimit = 50 }))
        Read-Fake "$dir/pids.max" | Should -Be '50'
        Read-Fake "$dir/memory.max" | Should -Be '67108864'
    }
    It 'names the join file and the OOM counter' {
        $m.ProcsFiles | Should -Be @("$dir/cgroup.procs")
        $m.OomKillCounter.Item1 | Should -Be "$dir/memory.events"
        $m.OomKillCounter.Item2 | Should -Be 'oom_kill'
    }
    It 'joins a pid by writing it to cgroup.procs' {
        $m.Create((New-Resources))
        $m.Join(4242)
        Read-Fake "$dir/cgroup.procs" | Should -Be '4242'
        $m.Pids() | Should -Be @(4242)
    }
    It 'freezes through cgroup.freeze and reads the state from cgroup.events' {
        $m.Create((New-Resources))
        Set-Content -LiteralPath "$dir/cgroup.events" -Value "populated 1`nfrozen 1" -NoNewline
        $m.Freeze()
        Read-Fake "$dir/cgroup.freeze" | Should -Be '1'
        $m.IsFrozen | Should -BeTrue
        Set-Content -LiteralPath "$dir/cgroup.events" -Value "populated 1`nfrozen 0" -NoNewline
        $m.Thaw()
        Read-Fake "$dir/cgroup.freeze" | Should -Be '0'
        $m.IsFrozen | Should -BeFalse
    }
    It 'reports a freeze that never completes as CgroupFreezeTimeout and thaws again' {
        $m.Create((New-Resources))
        Set-Content -LiteralPath "$dir/cgroup.events" -Value "populated 1`nfrozen 0" -NoNewline
        $m.FreezeTimeout = [TimeSpan]::FromMilliseconds(100)
        Get-EngineErrorId { $m.Freeze() } | Should -Be 'CgroupFreezeTimeout'
        Read-Fake "$dir/cgroup.freeze" | Should -Be '0'
    }
    It 'parses the stats files' {
        $m.Create((New-Resources))
        Set-Content -LiteralPath "$dir/cpu.stat" -Value "usage_usec 2500000`nuser_usec 2000000`nsystem_usec 500000`nnr_periods 40`nnr_throttled 12`nthrottled_usec 750000"
        Set-Content -LiteralPath "$dir/memory.current" -Value '1048576'
        Set-Content -LiteralPath "$dir/memory.max" -Value 'max'
        Set-Content -LiteralPath "$dir/memory.peak" -Value '2097152'
        Set-Content -LiteralPath "$dir/memory.events" -Value "low 0`nhigh 0`nmax 4`noom 2`noom_kill 2`noom_group_kill 0"
        Set-Content -LiteralPath "$dir/pids.current" -Value '3'
        Set-Content -LiteralPath "$dir/pids.max" -Value '10'
        $s = $m.Stats()
        $s.CpuTime | Should -Be ([TimeSpan]::FromSeconds(2.5))
        $s.ThrottledPeriods | Should -Be 12
        $s.ThrottledTime | Should -Be ([TimeSpan]::FromMilliseconds(750))
        $s.MemoryBytes | Should -Be 1MB
        $s.MemoryLimitBytes | Should -Be -1
        $s.MemoryMaxUsageBytes | Should -Be 2MB
        $s.OomKills | Should -Be 2
        $s.Pids | Should -Be 3
        $s.PidsLimit | Should -Be 10
    }
    It 'removes the cgroup and the shared parent with its last child' {
        $m.Create((New-Resources))
        $other = $Managers::Create($root, 'abc123', 'c2')
        $other.Create((New-Resources))
        $m.Destroy()
        $m.Exists | Should -BeFalse
        Test-Path "$root/pscontainers-abc123" | Should -BeTrue -Because 'c2 still lives there'
        $other.Destroy()
        Test-Path "$root/pscontainers-abc123" | Should -BeFalse
        { $other.Destroy() } | Should -Not -Throw -Because 'Destroy is idempotent'
    }
    It 'refuses <Case> with <ErrorId> and leaves no cgroup behind' -TestCases @(
        @{ Case = 'memory below 6 MiB'; Set = @{ MemoryBytes = 1MB }; ErrorId = 'CgroupMemoryTooLow' }
        @{ Case = 'swap below memory'; Set = @{ MemoryBytes = 64MB; MemorySwapBytes = 32MB }; ErrorId = 'CgroupSwapBelowMemory' }
        @{ Case = 'swap without memory'; Set = @{ MemorySwapBytes = 64MB }; ErrorId = 'CgroupSwapWithoutMemory' }
        @{ Case = 'zero CPUs'; Set = @{ Cpus = 0.0 }; ErrorId = 'CgroupCpusOutOfRange' }
        @{ Case = 'more CPUs than the host'; Set = @{ Cpus = 100000.0 }; ErrorId = 'CgroupCpusOutOfRange' }
        @{ Case = 'a period out of range'; Set = @{ CpuPeriodMicroseconds = 10 }; ErrorId = 'CgroupCpuPeriodOutOfRange' }
    ) {
        Get-EngineErrorId { $m.Create((New-Resources $Set)) } | Should -Be $ErrorId
        Test-Path "$root/pscontainers-abc123" | Should -BeFalse
    }
    It 'refuses to update a cgroup that does not exist' {
        Get-EngineErrorId { $m.Update((New-Resources @{ PidsLimit = 3 })) } | Should -Be 'CgroupNotFound'
    }
}

Describe 'CPU shares to cgroup v2 weight' -Tag 'Unit' {
    It 'maps shares <Shares> to weight <Weight>' -TestCases @(
        @{ Shares = 2; Weight = 1 }
        @{ Shares = 1024; Weight = 39 }
        @{ Shares = 512; Weight = 20 }
        @{ Shares = 262144; Weight = 10000 }
        @{ Shares = 1; Weight = 1 }          # below Docker's range: clamped
        @{ Shares = 1000000; Weight = 10000 } # above: clamped
        @{ Shares = 0; Weight = 0 }          # unset
    ) {
        [Containers.Engine.Cgroups.V2.CpuV2]::SharesToWeight($Shares) | Should -Be $Weight
    }
}

Describe 'cgroup v2 device program' -Tag 'Unit' {
    BeforeAll {
        $script:defaultProgram = [Containers.Engine.Cgroups.V2.DeviceProgram]::Build([Containers.Engine.Cgroups.DefaultDevices]::For((New-Resources)))
    }
    It '<Verdict> <Type> <Major>:<Minor> <Access> with Docker''s default rules' -TestCases @(
        @{ Type = 'c'; Major = 1; Minor = 3; Access = 'rw'; Verdict = 'allows' }    # /dev/null
        @{ Type = 'c'; Major = 1; Minor = 9; Access = 'r'; Verdict = 'allows' }     # /dev/urandom
        @{ Type = 'c'; Major = 136; Minor = 7; Access = 'rw'; Verdict = 'allows' }  # /dev/pts/7
        @{ Type = 'c'; Major = 10; Minor = 200; Access = 'rw'; Verdict = 'allows' } # /dev/net/tun
        @{ Type = 'c'; Major = 5; Minor = 2; Access = 'rwm'; Verdict = 'allows' }   # /dev/ptmx
        @{ Type = 'b'; Major = 254; Minor = 0; Access = 'm'; Verdict = 'allows' }   # mknod of a disk node
        @{ Type = 'b'; Major = 254; Minor = 0; Access = 'r'; Verdict = 'denies' }   # ... but not opening it
        @{ Type = 'b'; Major = 8; Minor = 0; Access = 'w'; Verdict = 'denies' }
        @{ Type = 'c'; Major = 4; Minor = 1; Access = 'rw'; Verdict = 'denies' }    # /dev/tty1
        @{ Type = 'c'; Major = 1; Minor = 1; Access = 'r'; Verdict = 'denies' }     # /dev/mem
        @{ Type = 'c'; Major = 10; Minor = 229; Access = 'rw'; Verdict = 'denies' } # /dev/fuse is not in Docker's list
    ) {
        $defaultProgram.Evaluate([char]$Type, $Major, $Minor, $Access) | Should -Be ($Verdict -eq 'allows')
    }
    It 'ends with the deny-all rule as its default and has no unreachable code' {
        # the deny-all rule matches everything, so it is the last block: r0 = 0; exit
        $insns = $defaultProgram.Instructions
        $insns[-2] | Should -Be ([uint64]0xb7)   # mov r0, 0
        $insns[-1] | Should -Be ([uint64]0x95)   # exit
        ($insns | Where-Object { $_ -eq [uint64]0x95 }).Count | Should -Be ($defaultProgram.Rules.Count)
    }
    It 'lets a later rule override an earlier one' {
        $r = New-Resources
        $r.Devices.Add([Containers.Engine.Cgroups.DeviceRule]::new([char]'b', 8, 0, 'r', $true))
        $r.Devices.Add([Containers.Engine.Cgroups.DeviceRule]::new([char]'c', 1, 3, 'rwm', $false))
        $p = [Containers.Engine.Cgroups.V2.DeviceProgram]::Build([Containers.Engine.Cgroups.DefaultDevices]::For($r))
        $p.Evaluate([char]'b', 8, 0, 'r') | Should -BeTrue
        $p.Evaluate([char]'b', 8, 0, 'rw') | Should -BeFalse
        $p.Evaluate([char]'b', 8, 1, 'r') | Should -BeFalse
        $p.Evaluate([char]'c', 1, 3, 'r') | Should -BeFalse -Because 'the deny rule for /dev/null comes last'
    }
    It 'attaches no program for a privileged container and one for others' {
        $root = New-FakeV2Tree
        $m = $Managers::Create($root, 'abc123', 'priv')
        $r = New-Resources @{ AllowAllDevices = $true }
        $m.Create($r)
        $m.DeviceProgram | Should -BeNullOrEmpty
        $m.Destroy()
        $m.Create((New-Resources))
        $m.DeviceProgram.Evaluate([char]'c', 1, 3, 'rw') | Should -BeTrue
        $m.DeviceProgram.Evaluate([char]'b', 254, 0, 'r') | Should -BeFalse
        $m.Destroy()
    }
}

Describe 'cgroup v1 manager on a fake tree' -Tag 'Unit' {
    BeforeEach {
        $root = New-FakeV1Tree
        $m = $Managers::Create($root, 'abc123', 'c1')
    }
    It 'uses one directory per hierarchy and ignores the unified mount' {
        $m.Create((New-Resources))
        # hierarchies of controllers the engine neither sets nor reads are left out (blkio, name=systemd)
        $m.ProcsFiles.Count | Should -Be 7
        $m.ProcsFiles | Should -Not -Contain "$root/blkio/pscontainers-abc123/c1/cgroup.procs"
        $m.ProcsFiles | Should -Not -Contain "$root/systemd/pscontainers-abc123/c1/cgroup.procs"
        $m.ProcsFiles | Should -Contain "$root/memory/pscontainers-abc123/c1/cgroup.procs"
        $m.ProcsFiles | Should -Not -Contain "$root/unified/pscontainers-abc123/c1/cgroup.procs"
        Test-Path "$root/unified/pscontainers-abc123" | Should -BeFalse
        $m.OomKillCounter.Item1 | Should -Be "$root/memory/pscontainers-abc123/c1/memory.oom_control"
        $m.OomKillCounter.Item2 | Should -Be 'oom_kill'
    }
    It 'writes each limit to its controller''s file' {
        $r = New-Resources @{ MemoryBytes = 64MB; Cpus = 1.5; CpuPeriodMicroseconds = 50000; CpuShares = 512; PidsLimit = 10 }
        $m.Create($r)
        Read-Fake "$root/memory/pscontainers-abc123/c1/memory.limit_in_bytes" | Should -Be '67108864'
        Read-Fake "$root/cpu/pscontainers-abc123/c1/cpu.cfs_period_us" | Should -Be '50000'
        Read-Fake "$root/cpu/pscontainers-abc123/c1/cpu.cfs_quota_us" | Should -Be '75000'
        Read-Fake "$root/cpu/pscontainers-abc123/c1/cpu.shares" | Should -Be '512'
        Read-Fake "$root/pids/pscontainers-abc123/c1/pids.max" | Should -Be '10'
    }
    It 'sets memory+swap to twice the memory by default when swap accounting exists' {
        New-Item -ItemType Directory -Force -Path "$root/memory/pscontainers-abc123/c1" | Out-Null
        Set-Content -LiteralPath "$root/memory/pscontainers-abc123/c1/memory.memsw.limit_in_bytes" -Value '9223372036854771712' -NoNewline
        $m.Create((New-Resources @{ MemoryBytes = 64MB }))
        Read-Fake "$root/memory/pscontainers-abc123/c1/memory.memsw.limit_in_bytes" | Should -Be '134217728'
    }
    It 'lifts memory+swap first when the memory limit is lifted' {
        $d = "$root/memory/pscontainers-abc123/c1"
        New-Item -ItemType Directory -Force -Path $d | Out-Null
        Set-Content -LiteralPath "$d/memory.memsw.limit_in_bytes" -Value '134217728' -NoNewline
        $m.Create((New-Resources @{ MemoryBytes = -1 }))
        Read-Fake "$d/memory.limit_in_bytes" | Should -Be '-1'
        Read-Fake "$d/memory.memsw.limit_in_bytes" | Should -Be '-1'
    }
    It 'copies cpuset.cpus and cpuset.mems down from the root unless given' {
        $m.Create((New-Resources @{ CpusetMems = '0' }))
        Read-Fake "$root/cpuset/pscontainers-abc123/cpuset.cpus" | Should -Be '0-1'
        Read-Fake "$root/cpuset/pscontainers-abc123/c1/cpuset.cpus" | Should -Be '0-1'
        Read-Fake "$root/cpuset/pscontainers-abc123/c1/cpuset.mems" | Should -Be '0'
    }
    It 'renders Docker''s device rules: deny all, then the allowlist' {
        $lines = [Containers.Engine.Cgroups.V1.DevicesV1]::Render((New-Resources)) | ForEach-Object { "$($_.Item1): $($_.Item2)" }
        $lines[0] | Should -Be 'devices.deny: a'
        $lines | Should -Contain 'devices.allow: c 1:3 rwm'
        $lines | Should -Contain 'devices.allow: c 136:* rwm'
        $lines | Should -Contain 'devices.allow: b *:* m'
        $lines | Should -Not -Contain 'devices.allow: b *:* rwm'
        $lines.Count | Should -Be 13
    }
    It 'renders one allow-all rule when privileged' {
        $lines = [Containers.Engine.Cgroups.V1.DevicesV1]::Render((New-Resources @{ AllowAllDevices = $true })) | ForEach-Object { "$($_.Item1): $($_.Item2)" }
        $lines | Should -Be @('devices.allow: a')
    }
    It 'freezes through freezer.state' {
        $m.Create((New-Resources))
        $m.Freeze()
        Read-Fake "$root/freezer/pscontainers-abc123/c1/freezer.state" | Should -Be 'FROZEN'
        $m.IsFrozen | Should -BeTrue
        $m.Thaw()
        $m.IsFrozen | Should -BeFalse
    }
    It 'joins a pid in every hierarchy' {
        $m.Create((New-Resources))
        $m.Join(777)
        foreach ($f in $m.ProcsFiles) { Read-Fake $f | Should -Be '777' }
    }
    It 'parses the v1 stats files, with the unlimited sentinel as -1' {
        $m.Create((New-Resources))
        $d = "$root/{0}/pscontainers-abc123/c1"
        Set-Content -LiteralPath ($d -f 'cpuacct' + '/cpuacct.usage') -Value '1500000000'
        Set-Content -LiteralPath ($d -f 'cpu' + '/cpu.stat') -Value "nr_periods 30`nnr_throttled 7`nthrottled_time 250000000"
        Set-Content -LiteralPath ($d -f 'memory' + '/memory.usage_in_bytes') -Value '4096'
        Set-Content -LiteralPath ($d -f 'memory' + '/memory.limit_in_bytes') -Value '9223372036854771712'
        Set-Content -LiteralPath ($d -f 'memory' + '/memory.max_usage_in_bytes') -Value '8192'
        Set-Content -LiteralPath ($d -f 'memory' + '/memory.oom_control') -Value "oom_kill_disable 0`nunder_oom 0`noom_kill 5"
        Set-Content -LiteralPath ($d -f 'pids' + '/pids.current') -Value '2'
        Set-Content -LiteralPath ($d -f 'pids' + '/pids.max') -Value 'max'
        $s = $m.Stats()
        $s.CpuTime | Should -Be ([TimeSpan]::FromSeconds(1.5))
        $s.ThrottledPeriods | Should -Be 7
        $s.ThrottledTime | Should -Be ([TimeSpan]::FromMilliseconds(250))
        $s.MemoryBytes | Should -Be 4096
        $s.MemoryLimitBytes | Should -Be -1
        $s.MemoryMaxUsageBytes | Should -Be 8192
        $s.OomKills | Should -Be 5
        $s.Pids | Should -Be 2
        $s.PidsLimit | Should -Be -1
    }
    It 'removes every hierarchy''s directory and the parents' {
        $m.Create((New-Resources))
        $m.Destroy()
        $m.Exists | Should -BeFalse
        @(Get-ChildItem -Path $root -Recurse -Directory | Where-Object Name -like 'pscontainers-*') | Should -BeNullOrEmpty
    }
}

Describe '-CgroupParent (docker --cgroup-parent) on fake trees' -Tag 'Unit' {
    It 'normalises <V> to <Want>' -TestCases @(
        @{ V = '/mygroup'; Want = 'mygroup' }, @{ V = 'a/b/'; Want = 'a/b' }, @{ V = '//a//b'; Want = 'a/b' }, @{ V = 'user.slice'; Want = 'user.slice' }
    ) {
        param($V, $Want)
        $Managers::CheckParent($V) | Should -Be $Want
    }
    It 'refuses <V> with InvalidCgroupParent' -TestCases @(
        @{ V = '' }, @{ V = '/' }, @{ V = '..' }, @{ V = 'a/../b' }, @{ V = './a' }, @{ V = 'a b' }, @{ V = 'pscontainers-x/y' }, @{ V = ('a/' * 17) }
    ) {
        param($V)
        Get-EngineErrorId { $Managers::CheckParent($V) } | Should -Be 'InvalidCgroupParent'
    }
    It 'v2: makes the container under a nested parent, delegating at every level, and leaves the parent on Destroy' {
        $root = New-FakeV2Tree 'cpuset cpu io memory pids'
        $m = $Managers::Create($root, 'abc123', 'c1', '/top/mid')
        $m.Create((New-Resources @{ PidsLimit = 7 }))
        foreach ($d in $root, "$root/top", "$root/top/mid") { Read-Fake "$d/cgroup.subtree_control" | Should -Be 'cpuset cpu io memory pids' -Because $d }
        Read-Fake "$root/top/mid/c1/pids.max" | Should -Be '7'
        $m.ProcsFiles | Should -Be @("$root/top/mid/c1/cgroup.procs")
        Test-Path "$root/pscontainers-abc123" | Should -BeFalse
        $m.Destroy()
        Test-Path "$root/top/mid/c1" | Should -BeFalse
        Test-Path "$root/top/mid" | Should -BeTrue -Because 'a parent the user named is theirs (docker leaves it)'
    }
    It 'v1: makes the container under the parent in every hierarchy, cpuset levels inheriting cpus and mems' {
        $root = New-FakeV1Tree
        $m = $Managers::Create($root, 'abc123', 'c1', 'top/mid')
        $m.Create((New-Resources @{ MemoryBytes = 64MB }))
        Read-Fake "$root/memory/top/mid/c1/memory.limit_in_bytes" | Should -Be '67108864'
        foreach ($d in "$root/cpuset/top", "$root/cpuset/top/mid", "$root/cpuset/top/mid/c1") { Read-Fake "$d/cpuset.cpus" | Should -Be '0-1' -Because $d }
        $m.Destroy()
        Test-Path "$root/memory/top/mid/c1" | Should -BeFalse
        Test-Path "$root/memory/top/mid" | Should -BeTrue
    }
}
