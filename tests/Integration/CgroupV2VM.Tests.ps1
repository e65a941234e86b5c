# cgroup v2 on a real kernel: boots the throw-away pure-v2 VM ONCE (../shared/tools/cgroup2-vm), runs
# tests/VM/*.Tests.ps1 inside it with the built module, and reports each inner test as one test here.
# With CI=true a VM that is not set up is a failure (build.ps1 -Task Test sets it up first).
BeforeDiscovery {
    # the inner tests' names, read from their source so each gets its own It before the VM runs
    $script:InnerTests = @(foreach ($f in Get-ChildItem -Path (Join-Path $PSScriptRoot '../VM') -Filter '*.Tests.ps1') {
            $ast = [System.Management.Automation.Language.Parser]::ParseFile($f.FullName, [ref]$null, [ref]$null)
            $calls = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -in 'Describe', 'It' }, $true)
            foreach ($c in $calls) {
                if ($c.GetCommandName() -ne 'It') { continue }
                $describe = $c
                while ($describe -and -not ($describe -is [System.Management.Automation.Language.CommandAst] -and $describe.GetCommandName() -eq 'Describe')) { $describe = $describe.Parent }
                $dName = $describe.CommandElements[1].SafeGetValue()
                $iName = $c.CommandElements[1].SafeGetValue()
                @{ Name = "$dName.$iName"; Title = $iName }
            }
        })
}

BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Repo = Split-Path (Split-Path $PSScriptRoot -Parent) -Parent
    $script:VmTools = Join-Path (Split-Path $script:Repo -Parent) 'shared/tools/cgroup2-vm'
    $script:VmBase = if ($env:CGROUP2_VM_BASE) { $env:CGROUP2_VM_BASE } else { '/var/tmp/cgroup2-vm' }
    $script:VmReady = $script:IsRoot -and (Test-Path "$script:VmTools/run-in-v2vm.sh") -and
        (@('vmlinuz', 'initrd.gz', 'rootfs/bin', 'tools/pwsh/pwsh.dll', 'tools/modules/Pester', 'tools/guest-init.sh') |
            Where-Object { -not (Test-Path (Join-Path $script:VmBase $_)) }).Count -eq 0 -and (Test-Command qemu-system-x86_64)
    $script:Results = @{}
    $script:RunError = $null
    if (-not $script:VmReady) { return }

    # the work dir the guest sees at /mnt/work: the built module, the tests, busybox for images
    $script:Work = New-TestStorageRoot 'cgv2vm-work'
    $moduleDir = Split-Path $script:ModulePath -Parent
    Copy-Item -Recurse -LiteralPath $moduleDir -Destination (Join-Path $script:Work 'Containers')
    New-Item -ItemType Directory -Force -Path "$script:Work/tests/VM" | Out-Null
    Copy-Item -LiteralPath (Join-Path $script:Repo 'tests/common.ps1') -Destination "$script:Work/tests/common.ps1"
    Copy-Item -Path (Join-Path $script:Repo 'tests/VM/*') -Destination "$script:Work/tests/VM/"
    if (Test-Path /bin/busybox) { Copy-Item /bin/busybox "$script:Work/busybox" }

    $log = Join-Path $script:Work 'vm-console.log'
    $env:BASE = $script:VmBase
    if (-not $env:VM_TIMEOUT) { $env:VM_TIMEOUT = '600' }
    $cmd = 'dotnet /mnt/tools/pwsh/pwsh.dll -NoProfile -NonInteractive -File /mnt/work/tests/VM/Invoke-VMSuite.ps1'
    $sw = [Diagnostics.Stopwatch]::StartNew()
    & bash "$script:VmTools/run-in-v2vm.sh" $script:Work $cmd *> $log
    $script:VmExit = $LASTEXITCODE
    Write-Host "cgroup v2 VM: exit $script:VmExit after $([int]$sw.Elapsed.TotalSeconds) s"
    $json = Join-Path $script:Work 'vm-results.json'
    if (Test-Path $json) {
        foreach ($rec in @(Get-Content -LiteralPath $json -Raw | ConvertFrom-Json)) { $script:Results[$rec.Name] = $rec }
    }
    if ($script:Results.Count -eq 0 -or $script:VmExit -notin 0, 1) {
        $script:RunError = "the VM run gave no results (exit $script:VmExit); console:`n" + ((Get-Content -LiteralPath $log -Tail 60) -join "`n")
    }
    Get-Content -LiteralPath $log | Where-Object { $_ -match '^\s*\[[-+!]\]|passed, .* failed|\[host\]|\[guest\]' } | ForEach-Object { Write-Host "  vm| $_" }
}

AfterAll {
    if ($script:Work) { Remove-TestStorageRoot $script:Work }
}

Describe 'cgroup v2 VM suite' -Tag 'CgroupV2VM', 'Integration' {
    It 'boots the VM once and gets a result for every inner test' {
        if (-not (Test-Prerequisite -Condition $script:VmReady -Because "the cgroup v2 VM is not set up at $script:VmBase (run ../shared/tools/cgroup2-vm/setup-vm.sh)")) { return }
        $script:RunError | Should -BeNullOrEmpty
        $containerFailures = @($script:Results.Values | Where-Object { $_.Name -like '<container*' })
        $containerFailures | ForEach-Object { $_.Error } | Should -BeNullOrEmpty
    }

    It 'in the VM: <Title>' -ForEach $script:InnerTests {
        if (-not (Test-Prerequisite -Condition $script:VmReady -Because "the cgroup v2 VM is not set up at $script:VmBase")) { return }
        if ($script:RunError) { throw $script:RunError }
        $rec = $script:Results[$Name]
        $rec | Should -Not -BeNullOrEmpty -Because "the inner test '$Name' must have run"
        $rec.Result | Should -Be 'Passed' -Because $rec.Error
    }
}
