# The seccomp compiler's pure logic: rule selection by capabilities, arch and kernel, and the compiled program run
# by the engine's BPF interpreter on chosen (arch, nr, args) inputs. No root, no kernel filter.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:NS = 'Containers.Engine.Security.Seccomp'
    $script:Profile = [Containers.Engine.Security.Seccomp.SeccompProfile]
    $script:Compiler = [Containers.Engine.Security.Seccomp.SeccompCompiler]
    $script:Bpf = [Containers.Engine.Security.Seccomp.BpfInterpreter]
    $script:Caps = [Containers.Engine.Runtime.Capabilities]
    $script:Kernel = [version]'6.18'
    $script:docker = $script:Profile::Parse($script:Profile::DefaultProfileJson, 'default')
    function script:CapSet([string[]] $add = @(), [string[]] $drop = @()) { $script:Caps::Compute($add, $drop, $false) }
    function script:Compile([string[]] $add = @(), $prof = $script:docker, [version] $kernel = $script:Kernel) {
        $script:Compiler::Compile($prof, (CapSet $add), $kernel)
    }
    function script:Check([byte[]] $prog, [string] $name, [uint64[]] $argv = @()) { $script:Bpf::Check($prog, $name, $argv) }
    function script:Nr([string] $name) { [Containers.Engine.Security.Seccomp.SyscallTable]::X86_64($name) }
    function script:ParseProfile([string] $json) { $script:Profile::Parse($json, 'test') }
    $script:default = Compile
    $script:sysAdmin = Compile @('SYS_ADMIN')
}

Describe 'Syscall table' {
    It 'knows x86_64 numbers from the kernel headers' {
        Nr 'read' | Should -Be 0
        Nr 'mount' | Should -Be 165
        Nr 'clone3' | Should -Be 435
        Nr 'no_such_call' | Should -BeNullOrEmpty
    }
}

Describe 'Rule selection by capabilities, arch and kernel' {
    It 'without CAP_SYS_ADMIN mount, unshare, setns and bpf are refused; with it mount, unshare and setns are allowed' {
        foreach ($c in 'mount', 'unshare', 'setns', 'umount2', 'bpf') { Check $script:default $c | Should -Be 'ERRNO(1)' -Because $c }
        foreach ($c in 'mount', 'unshare', 'setns', 'umount2') { Check $script:sysAdmin $c | Should -Be 'ALLOW' -Because $c }
    }
    It 'opens <call> with CAP_<cap> only' -TestCases @(
        @{ call = 'ptrace'; cap = 'SYS_PTRACE'; without = 'ALLOW' }   # ptrace itself is allowed on kernels >= 4.8
        @{ call = 'kcmp'; cap = 'SYS_PTRACE'; without = 'ERRNO(1)' }
        @{ call = 'bpf'; cap = 'BPF'; without = 'ERRNO(1)' }
        @{ call = 'perf_event_open'; cap = 'PERFMON'; without = 'ERRNO(1)' }
        @{ call = 'reboot'; cap = 'SYS_BOOT'; without = 'ERRNO(1)' }
        @{ call = 'init_module'; cap = 'SYS_MODULE'; without = 'ERRNO(1)' }
        @{ call = 'settimeofday'; cap = 'SYS_TIME'; without = 'ERRNO(1)' }
        @{ call = 'syslog'; cap = 'SYSLOG'; without = 'ERRNO(1)' }
        @{ call = 'open_by_handle_at'; cap = 'DAC_READ_SEARCH'; without = 'ERRNO(1)' }
        @{ call = 'chroot'; cap = 'SYS_CHROOT'; without = 'ALLOW' }   # in Docker's default set
    ) {
        param($call, $cap, $without)
        Check $script:default $call | Should -Be $without
        Check (Compile @($cap)) $call | Should -Be 'ALLOW'
        Check (Compile @() -prof $script:docker) $call | Should -Be $without
    }
    It 'drops a rule whose includes need a newer kernel, and one whose excludes name an older one' {
        $p = ParseProfile '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            { "names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": { "minKernel": "7.1" } },
            { "names": ["getppid"], "action": "SCMP_ACT_ALLOW", "includes": { "minKernel": "4.8" } },
            { "names": ["gettid"], "action": "SCMP_ACT_ALLOW", "excludes": { "minKernel": "5.0" } },
            { "names": ["getuid"], "action": "SCMP_ACT_ALLOW", "includes": { "arches": ["s390x"] } },
            { "names": ["getgid"], "action": "SCMP_ACT_ALLOW", "includes": { "arches": ["amd64", "x32"] } },
            { "names": ["getegid"], "action": "SCMP_ACT_ALLOW", "excludes": { "arches": ["amd64"] } },
            { "names": ["read", "futex_waitv"], "action": "SCMP_ACT_ALLOW" } ] }'
        $prog = Compile @() -prof $p
        Check $prog 'getpid' | Should -Be 'ERRNO(1)'
        Check $prog 'getppid' | Should -Be 'ALLOW'
        Check $prog 'gettid' | Should -Be 'ERRNO(1)'
        Check $prog 'getuid' | Should -Be 'ERRNO(1)'
        Check $prog 'getgid' | Should -Be 'ALLOW'
        Check $prog 'getegid' | Should -Be 'ERRNO(1)'
    }
    It 'skips names the table lacks (as libseccomp does)' {
        $p = ParseProfile '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["no_such_call", "getpid"], "action": "SCMP_ACT_ALLOW" } ] }'
        Check (Compile @() -prof $p) 'getpid' | Should -Be 'ALLOW'
    }
}

Describe 'Compiled program' {
    It 'checks clone''s flags (argument 0, masked): namespace flags are refused without CAP_SYS_ADMIN' {
        Check $script:default 'clone' 0x11 | Should -Be 'ALLOW'                       # SIGCHLD
        Check $script:default 'clone' 0x3d0f00 | Should -Be 'ALLOW'                   # a pthread_create's flags
        Check $script:default 'clone' (0x10000000 -bor 0x11) | Should -Be 'ERRNO(1)'  # CLONE_NEWUSER
        Check $script:default 'clone' (0x20000 -bor 0x11) | Should -Be 'ERRNO(1)'     # CLONE_NEWNS
        Check $script:default 'clone' 0x100000000 | Should -Be 'ALLOW' -Because 'the mask covers the low word only'
        Check $script:sysAdmin 'clone' 0x10000011 | Should -Be 'ALLOW'
    }
    It 'allows only the personalities Docker lists (64-bit comparison)' {
        foreach ($v in 0, 8, 0x20000, 0x20008, 0xffffffffL) { Check $script:default 'personality' $v | Should -Be 'ALLOW' -Because "persona $v" }
        foreach ($v in 0x40000, 6, 0x1ffffffffL, 0xffffffff00000000uL) { Check $script:default 'personality' $v | Should -Be 'ERRNO(1)' -Because "persona $v" }
    }
    It 'allows socket families below 38, 39 and above 40 (AF_ALG and AF_VSOCK refused)' {
        foreach ($f in 1, 2, 10, 16, 37, 39, 41, 44) { Check $script:default 'socket' $f | Should -Be 'ALLOW' -Because "family $f" }
        foreach ($f in 38, 40) { Check $script:default 'socket' $f | Should -Be 'ERRNO(1)' -Because "family $f" }
    }
    It 'gives clone3 ENOSYS (errnoRet 38) without CAP_SYS_ADMIN, and allows it with' {
        Check $script:default 'clone3' | Should -Be 'ERRNO(38)'
        Check $script:sysAdmin 'clone3' | Should -Be 'ALLOW'
    }
    It 'gives ENOSYS above the highest number the profile names, EPERM (defaultErrnoRet) below it' {
        $top = Nr 'futex_waitv'
        Check $script:default 'futex_waitv' | Should -Be 'ALLOW'
        $script:Bpf::Describe($script:Bpf::Run($script:default, $script:Compiler::AuditArchX86_64, $top + 1)) | Should -Be 'ERRNO(38)'
        $script:Bpf::Describe($script:Bpf::Run($script:default, $script:Compiler::AuditArchX86_64, 1000)) | Should -Be 'ERRNO(38)'
        Check $script:default 'vhangup' | Should -Be 'ERRNO(1)' -Because 'known to the table, not allowed by the profile'
    }
    It 'refuses x32 calls and unknown architectures with ENOSYS, whatever the number' {
        $x64 = $script:Compiler::AuditArchX86_64
        $script:Bpf::Describe($script:Bpf::Run($script:default, [uint32]0xdeadbeefL, 0)) | Should -Be 'ERRNO(38)'
        $script:Bpf::Describe($script:Bpf::Run($script:default, [uint32]0x40000028L, 0)) | Should -Be 'ERRNO(38)' -Because 'AUDIT_ARCH_ARM'
        $script:Bpf::Describe($script:Bpf::Run($script:default, $x64, 0x40000000)) | Should -Be 'ERRNO(38)' -Because 'x32 read'
        $script:Bpf::Describe($script:Bpf::Run($script:default, $x64, -1)) | Should -Be 'ERRNO(38)'
        $script:Bpf::Describe($script:Bpf::Run($script:default, $x64, 0)) | Should -Be 'ALLOW'
    }
    It 'filters i386 calls (int 0x80) with the i386 numbers, as Docker''s archMap asks' {
        $I = $script:Bpf
        $I::CheckI386($script:default, 'read') | Should -Be 'ALLOW'
        $I::CheckI386($script:default, 'socketcall') | Should -Be 'ALLOW'
        $I::CheckI386($script:default, 'mount') | Should -Be 'ERRNO(1)'
        $I::CheckI386($script:default, 'unshare') | Should -Be 'ERRNO(1)'
        $I::CheckI386($script:default, 'clone', 0x11) | Should -Be 'ALLOW'
        $I::CheckI386($script:default, 'clone', 0x10000011) | Should -Be 'ERRNO(1)'
        $I::CheckI386($script:default, 'clone3') | Should -Be 'ERRNO(38)'
        $I::CheckI386($script:default, 'personality', 0xffffffffL) | Should -Be 'ALLOW'
        $I::CheckI386($script:default, 'personality', 0x40000) | Should -Be 'ERRNO(1)'
        $I::CheckI386($script:default, 'socket', 40) | Should -Be 'ERRNO(1)'
        $I::CheckI386($script:default, 'modify_ldt') | Should -Be 'ALLOW'
        $I::CheckI386($script:sysAdmin, 'mount') | Should -Be 'ALLOW'
        # i386 numbers differ from x86_64's: 21 is mount on i386, access on x86_64
        $I::Describe($I::Run($script:default, $script:Compiler::AuditArchI386, 21)) | Should -Be 'ERRNO(1)'
        $I::Describe($I::Run($script:default, $script:Compiler::AuditArchX86_64, 21)) | Should -Be 'ALLOW'
        $I::Describe($I::Run($script:default, $script:Compiler::AuditArchI386, 1000)) | Should -Be 'ERRNO(38)'
    }
    It 'refuses i386 with ENOSYS when the profile does not name SCMP_ARCH_X86' {
        $p = ParseProfile '{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [ { "names": ["read", "futex_waitv"], "action": "SCMP_ACT_ALLOW" } ] }'
        $prog = Compile @() -prof $p
        Check $prog 'read' | Should -Be 'ALLOW'
        $script:Bpf::CheckI386($prog, 'read') | Should -Be 'ERRNO(38)'
    }
    It 'compiles every op on 64 bits: <op> <value> against <arg> gives <expected>' -TestCases @(
        @{ op = 'SCMP_CMP_EQ'; value = '4294967296'; arg = 0x100000000; expected = 'ALLOW' }
        @{ op = 'SCMP_CMP_EQ'; value = '4294967296'; arg = 0; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_NE'; value = '4294967296'; arg = 0; expected = 'ALLOW' }
        @{ op = 'SCMP_CMP_NE'; value = '4294967296'; arg = 0x100000000; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_GT'; value = '4294967296'; arg = 0x100000001; expected = 'ALLOW' }
        @{ op = 'SCMP_CMP_GT'; value = '4294967296'; arg = 0x100000000; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_GT'; value = '4294967296'; arg = 0xffffffffL; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_GE'; value = '4294967296'; arg = 0x100000000; expected = 'ALLOW' }
        @{ op = 'SCMP_CMP_GE'; value = '4294967296'; arg = 0xffffffffL; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_LT'; value = '4294967296'; arg = 0xffffffffL; expected = 'ALLOW' }
        @{ op = 'SCMP_CMP_LT'; value = '4294967296'; arg = 0x100000000; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_LT'; value = '5'; arg = 0x100000000; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_LE'; value = '4294967296'; arg = 0x100000000; expected = 'ALLOW' }
        @{ op = 'SCMP_CMP_LE'; value = '4294967296'; arg = 0x100000001; expected = 'ERRNO(1)' }
        @{ op = 'SCMP_CMP_LE'; value = '7'; arg = 7; expected = 'ALLOW' }
    ) {
        param($op, $value, $arg, $expected)
        $p = ParseProfile ('{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": ' + $value + ', "op": "' + $op + '" } ] } ] }')
        Check (Compile @() -prof $p) 'ioctl' @(0, [uint64]$arg) | Should -Be $expected
    }
    It 'evaluates masked comparisons with valueTwo and ANDs several conditions of one rule' {
        $p = ParseProfile '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            { "names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "args": [
                { "index": 1, "value": 4278190080, "valueTwo": 1409286144, "op": "SCMP_CMP_MASKED_EQ" },
                { "index": 2, "value": 0, "op": "SCMP_CMP_NE" } ] } ] }'
        $prog = Compile @() -prof $p
        Check $prog 'ioctl' @(0, 0x54000001, 1) | Should -Be 'ERRNO(13)'
        Check $prog 'ioctl' @(0, 0x54000001, 0) | Should -Be 'ALLOW'
        Check $prog 'ioctl' @(0, 0x55000001, 1) | Should -Be 'ALLOW'
        Check $prog 'read' | Should -Be 'ALLOW'
        $script:Bpf::Describe($script:Bpf::Run($prog, $script:Compiler::AuditArchX86_64, 1000)) | Should -Be 'ALLOW' -Because 'an allow-by-default profile gets no ENOSYS range'
    }
    It 'maps every action' -TestCases @(
        @{ action = 'SCMP_ACT_KILL'; expected = 'KILL_THREAD' }
        @{ action = 'SCMP_ACT_KILL_THREAD'; expected = 'KILL_THREAD' }
        @{ action = 'SCMP_ACT_KILL_PROCESS'; expected = 'KILL_PROCESS' }
        @{ action = 'SCMP_ACT_TRAP'; expected = 'TRAP' }
        @{ action = 'SCMP_ACT_LOG'; expected = 'LOG' }
        @{ action = 'SCMP_ACT_TRACE'; expected = 'TRACE(1)' }
        @{ action = 'SCMP_ACT_ERRNO'; expected = 'ERRNO(1)' }
    ) {
        param($action, $expected)
        $p = ParseProfile ('{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["getpid"], "action": "' + $action + '" } ] }')
        Check (Compile @() -prof $p) 'getpid' | Should -Be $expected
    }
    It 'stays a valid program when jumps pass 255 instructions (long argument chains)' {
        $rules = (0..199 | ForEach-Object { '{ "names": ["ioctl"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 1, "value": ' + ($_ * 3) + ', "op": "SCMP_CMP_EQ" } ] }' }) -join ','
        $p = ParseProfile ('{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read", "write", "close", "futex_waitv"], "action": "SCMP_ACT_ALLOW" }, ' + $rules + ' ] }')
        $prog = Compile @() -prof $p
        ($prog.Length / 8) | Should -BeGreaterThan 1000
        Check $prog 'ioctl' @(0, 597) | Should -Be 'ALLOW'
        Check $prog 'ioctl' @(0, 598) | Should -Be 'ERRNO(1)'
        Check $prog 'close' | Should -Be 'ALLOW'
        Check $prog 'openat' | Should -Be 'ERRNO(1)'
    }
    It 'agrees with the profile for every syscall in the table (default caps)' {
        # a brute check of the tree: a linear reading of the selected rules against the compiled binary search
        $known = Get-Content (Join-Path $PSScriptRoot '../../src/Containers.Engine/Security/Seccomp/syscalls-x86_64.txt') | Where-Object { $_ -notmatch '^#' }
        $allowed = @{}
        foreach ($r in $script:docker.Select((CapSet), $script:Kernel)) {
            if ($r.Args.Length -eq 0 -and $r.Action -eq [Containers.Engine.Security.Seccomp.SeccompProfile]::RetAllow) { foreach ($n in $r.Names) { $allowed[$n] = $true } }
        }
        $conditional = 'clone', 'personality', 'socket', 'clone3'
        foreach ($line in $known) {
            $name = ($line -split ' ')[0]
            if ($name -in $conditional) { continue }
            $want = if ($allowed[$name]) { 'ALLOW' } elseif ((Nr $name) -gt (Nr 'futex_waitv')) { 'ERRNO(38)' } else { 'ERRNO(1)' }
            Check $script:default $name | Should -Be $want -Because $name
        }
    }
}

Describe 'Profile parsing errors' {
    It 'refuses <case> with SeccompProfileInvalid' -TestCases @(
        @{ case = 'bad JSON'; json = '{ "defaultAction": ' }
        @{ case = 'no defaultAction'; json = '{ "syscalls": [] }' }
        @{ case = 'an unknown action'; json = '{ "defaultAction": "SCMP_ACT_NOPE" }' }
        @{ case = 'SCMP_ACT_NOTIFY'; json = '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_NOTIFY" } ] }' }
        @{ case = 'an unknown op'; json = '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 0, "value": 1, "op": "SCMP_CMP_ABOUT" } ] } ] }' }
        @{ case = 'an argument index above 5'; json = '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [ { "index": 6, "value": 1, "op": "SCMP_CMP_EQ" } ] } ] }' }
        @{ case = 'name and names'; json = '{ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [ { "name": "read", "names": ["write"], "action": "SCMP_ACT_ALLOW" } ] }' }
        @{ case = 'archMap and architectures'; json = '{ "defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [ { "architecture": "SCMP_ARCH_X86_64" } ] }' }
    ) {
        param($case, $json)
        $e = { ParseProfile $json } | Should -Throw -PassThru
        $e.Exception.InnerException.ErrorId | Should -Be 'SeccompProfileInvalid'
        $e.Exception.InnerException.Target | Should -Be 'test'
    }
}

Describe 'Security options (docker''s --security-opt forms)' {
    BeforeAll {
        function script:Apply([string[]] $options, [bool] $privileged = $false) {
            $cfg = [Containers.Engine.Runtime.ContainerConfig]::new()
            $cfg.Privileged = $privileged
            $cfg.Capabilities = CapSet
            [Containers.Engine.Security.SecurityOptions]::Apply($options, $cfg)
            $cfg
        }
        $script:profileFile = Join-Path ([IO.Path]::GetTempPath()) "seccomp-unit-$PID.json"
        Set-Content -LiteralPath $script:profileFile -Value '{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["mkdir"], "action": "SCMP_ACT_ERRNO" } ] }'
    }
    AfterAll { Remove-Item -LiteralPath $script:profileFile -ErrorAction SilentlyContinue }
    It 'defaults to Docker''s profile, and -Privileged drops it' {
        $c = Apply @()
        $c.Seccomp | Should -Be 'default'
        [Containers.Engine.Security.SecurityOptions]::SeccompProgram($c, [NullString]::Value) | Should -Not -BeNullOrEmpty
        $p = Apply @() $true
        [Containers.Engine.Security.SecurityOptions]::SeccompProgram($p, [NullString]::Value) | Should -BeNullOrEmpty
        [Containers.Engine.Security.SecurityOptions]::SeccompShown($p) | Should -Be 'unconfined'
    }
    It 'reads a profile file into the config, and -Privileged keeps it' {
        $c = Apply @("seccomp=$script:profileFile") $true
        $c.Seccomp | Should -Be $script:profileFile
        $c.SeccompProfile | Should -Match 'SCMP_ACT_ALLOW'
        $prog = [Containers.Engine.Security.SecurityOptions]::SeccompProgram($c, [NullString]::Value)
        Check $prog 'mkdir' | Should -Be 'ERRNO(1)'
        Check $prog 'mount' | Should -Be 'ALLOW'
    }
    It 'takes <option>' -TestCases @(
        @{ option = 'seccomp=unconfined'; seccomp = 'unconfined'; nnp = $false }
        @{ option = 'seccomp=builtin'; seccomp = 'builtin'; nnp = $false }
        @{ option = 'no-new-privileges'; seccomp = 'default'; nnp = $true }
        @{ option = 'no-new-privileges=true'; seccomp = 'default'; nnp = $true }
        @{ option = 'no-new-privileges=false'; seccomp = 'default'; nnp = $false }
        @{ option = 'seccomp:unconfined'; seccomp = 'unconfined'; nnp = $false }
    ) {
        param($option, $seccomp, $nnp)
        $c = Apply @($option)
        $c.Seccomp | Should -Be $seccomp
        $c.NoNewPrivileges | Should -Be $nnp
        $c.SecurityOptions | Should -Be @($option)
    }
    It 'refuses <option> with <errorId>' -TestCases @(
        @{ option = 'apparmor=docker-default'; errorId = 'SecurityOptionUnsupported' }
        @{ option = 'label=type:svirt_t'; errorId = 'SecurityOptionUnsupported' }
        @{ option = 'label:disable'; errorId = 'SecurityOptionUnsupported' }
        @{ option = 'seccomp='; errorId = 'InvalidSecurityOption' }
        @{ option = 'no-new-privileges=yes'; errorId = 'InvalidSecurityOption' }
        @{ option = 'writable-cgroups=true'; errorId = 'InvalidSecurityOption' }
        @{ option = 'seccomp=/nonexistent/profile.json'; errorId = 'SeccompProfileNotFound' }
    ) {
        param($option, $errorId)
        $e = { Apply @($option) } | Should -Throw -PassThru
        $e.Exception.InnerException.ErrorId | Should -Be $errorId
    }
}
