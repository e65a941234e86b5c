# Entry point INSIDE the cgroup v2 VM: runs tests/VM/*.Tests.ps1 against the module copied into the shared
# work dir and writes one JSON record per test to /mnt/work/vm-results.json for the host side to report.
param([string] $Work = '/mnt/work')
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module Pester
Start-Transcript -LiteralPath "$Work/vm-transcript.log" | Out-Null
$env:CONTAINERS_TEST_MODULE = "$Work/Containers/Containers.psd1"
$env:CONTAINERS_TEST_BASE = '/tmp/containers-tests'     # tmpfs in the guest (/ is overlay on 9p)
New-Item -ItemType Directory -Force -Path $env:CONTAINERS_TEST_BASE | Out-Null
$c = New-PesterConfiguration
$c.Run.Path = "$Work/tests/VM"
$c.Run.PassThru = $true
$c.Output.Verbosity = 'Detailed'
$c.Output.RenderMode = 'Plaintext'
$r = Invoke-Pester -Configuration $c
$records = @(foreach ($t in $r.Tests) {
        [ordered]@{
            Name   = $t.ExpandedPath
            Result = "$($t.Result)"
            Error  = ($t.ErrorRecord | ForEach-Object { "$_" }) -join "`n"
        }
    })
# a failed BeforeAll fails every test under it without running it: record that too
foreach ($b in $r.Containers) { if ($b.Result -eq 'Failed') { $records += [ordered]@{ Name = "<container $($b.Item)>"; Result = 'Failed'; Error = ($b.ErrorRecord | ForEach-Object { "$_" }) -join "`n" } } }
ConvertTo-Json -InputObject $records -Depth 4 | Set-Content -LiteralPath "$Work/vm-results.json"
"$($r.PassedCount) passed, $($r.FailedCount) failed, $($r.SkippedCount) skipped (in the VM)"
Stop-Transcript | Out-Null
exit ([int]($r.FailedCount -gt 0))
