# cgroup v2 on a real kernel: boots the throw-away pure-v2 VM ONCE (../shared/tools/cgroup2-vm), runs
# tests/VM/*.Tests.ps1 inside it with the built module, and reports each inner test as one test here.
# With CI=true a VM that is not set up is a failure (build.ps1 -Task Test sets it up first).
BeforeDiscovery {
    function Get-InnerTests {
        # the inner tests' names, read from their source so each gets its own It before the VM runs
        foreach ($f in Get-ChildItem -Path (Join-Path $PSScriptRoot '../VM') -Filter '*.Tests.ps1' | Sort-Object Name) {
            $ast = [System.Management.Automation.Language.Parser]::ParseFile($f.FullName, [ref]$null, [ref]$null)
            $its = $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] -and $n.GetCommandName() -eq 'It' }, $true)
            foreach ($c in $its) {
                $describe = $c.Parent
                while ($describe -and -not ($describe -is [System.Management.Automation.Language.CommandAst] -and $describe.GetCommandName() -eq 'Describe')) { $describe = $describe.Parent }
                $title = $c.CommandElements[1].SafeGetValue()
                @{ Name = "$($describe.CommandElements[1].SafeGetValue()).$title"; Title = $title }
            }
        }
    }
    $script:InnerTests = @(Get-InnerTests)
}

Describe 'cgroup v2 VM suite' -Tag 'CgroupV2VM', 'Integration' -ForEach @(@{ Inner = $script:InnerTests }) {
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
        # JIT is 25-40x slower under emulation: precompile the module's own assemblies (ReadyToRun) with the
        # crossgen2 setup-vm.sh fetched for pwsh; an assembly that does not compile stays IL
        $crossgen = Get-ChildItem -Path "$script:VmBase/.nuget/microsoft.netcore.app.crossgen2.linux-x64/*/tools/crossgen2" -ErrorAction SilentlyContinue | Select-Object -Last 1
        $fw = Split-Path ([object].Assembly.Location) -Parent
        if ($crossgen -and (Test-Path "$fw/System.Private.CoreLib.dll")) {
            $dlls = @(Get-ChildItem -Path $moduleDir -Filter '*.dll')
            foreach ($f in $dlls | Where-Object Name -match '^(Containers.*|Tmds\.LibC)\.dll$') {
                $refs = foreach ($r in $dlls) { if ($r.Name -ne $f.Name) { '-r'; $r.FullName } }
                $null = & $crossgen.FullName $f.FullName -o "$script:Work/Containers/$($f.Name)" @refs -r "$script:VmBase/tools/pwsh/*.dll" -r "$fw/*.dll" --targetos:linux --targetarch:x64 -O 2>&1
                if ($LASTEXITCODE -ne 0) { Copy-Item -LiteralPath $f.FullName -Destination "$script:Work/Containers/$($f.Name)" -Force }
            }
        }
        New-Item -ItemType Directory -Force -Path "$script:Work/tests/VM" | Out-Null
        Copy-Item -LiteralPath (Join-Path $script:Repo 'tests/common.ps1') -Destination "$script:Work/tests/common.ps1"
        Copy-Item -Path (Join-Path $script:Repo 'tests/VM/*') -Destination "$script:Work/tests/VM/"
        if (Test-Path /bin/busybox) { Copy-Item /bin/busybox "$script:Work/busybox" }

        $log = Join-Path $script:Work 'vm-console.log'
        $env:BASE = $script:VmBase
        # about 2-4 minutes on an idle 2-core machine under TCG; much more when other work shares the cores
        if (-not $env:VM_TIMEOUT) { $env:VM_TIMEOUT = '1200' }
        $cmd = 'dotnet /mnt/tools/pwsh/pwsh.dll -NoProfile -NonInteractive -File /mnt/work/tests/VM/Invoke-VMSuite.ps1'
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & bash "$script:VmTools/run-in-v2vm.sh" $script:Work $cmd *> $log
        $script:VmExit = $LASTEXITCODE
        Write-Host "cgroup v2 VM: exit $script:VmExit after $([int]$sw.Elapsed.TotalSeconds) s"
        $json = Join-Path $script:Work 'vm-results.json'
        if (Test-Path $json) {
            foreach ($rec in @(Get-Content -LiteralPath $json -Raw | ConvertFrom-Json)) { $script:Results[$rec.Name] = $rec }
        }
        if ($script:Results.Count -eq 0) {
            # no summary (the VM timed out or crashed): take what the transcript shows, test by test
            $transcript = Join-Path $script:Work 'vm-transcript.log'
            $byTitle = @{}; foreach ($t in $Inner) { $byTitle[$t.Title] = $t.Name }
            if (Test-Path $transcript) {
                foreach ($line in Get-Content -LiteralPath $transcript) {
                    if ($line -match '^\s*\[([-+!])\] (.+?)(\s+[\d.]+m?s \(.*\))?\s*$' -and $byTitle.ContainsKey($Matches[2])) {
                        $res = switch ($Matches[1]) { '+' { 'Passed' } '-' { 'Failed' } default { 'Skipped' } }
                        $script:Results[$byTitle[$Matches[2]]] = [pscustomobject]@{ Name = $byTitle[$Matches[2]]; Result = $res; Error = "(from the transcript; the VM run ended with exit $script:VmExit)" }
                    }
                }
            }
        }
        if ($script:VmExit -notin 0, 1) {
            $script:RunError = "the VM run did not finish (exit $script:VmExit); console:`n" + ((Get-Content -LiteralPath $log -Tail 40) -join "`n")
        }
        Get-Content -LiteralPath $log | Where-Object { $_ -match '^\s*\[[-+!]\]|passed, .* failed|\[host\]|\[guest\]' } | ForEach-Object { Write-Host "  vm| $_" }
    }

    AfterAll {
        if ($script:Work) { Remove-TestStorageRoot $script:Work }
    }

    It 'boots the VM once and gets a result for every inner test' {
        if (-not (Test-Prerequisite -Condition $script:VmReady -Because "the cgroup v2 VM is not set up at $script:VmBase (run ../shared/tools/cgroup2-vm/setup-vm.sh)")) { return }
        $script:RunError | Should -BeNullOrEmpty
        $containerFailures = @($script:Results.Values | Where-Object { $_.Name -like '<container*' })
        $containerFailures | ForEach-Object { $_.Error } | Should -BeNullOrEmpty
    }

    It 'in the VM: <Title>' -ForEach $script:InnerTests {
        if (-not (Test-Prerequisite -Condition $script:VmReady -Because "the cgroup v2 VM is not set up at $script:VmBase")) { return }
        $rec = $script:Results[$Name]
        if (-not $rec -and $script:RunError) { throw "not reached: $script:RunError" }
        $rec | Should -Not -BeNullOrEmpty -Because "the inner test '$Name' must have run"
        if ($rec.Result -eq 'Skipped') { Set-ItResult -Skipped -Because 'it was skipped in the VM'; return }
        $rec.Result | Should -Be 'Passed' -Because $rec.Error
    }
}
