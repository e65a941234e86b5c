# Cold: what a script pays that starts pwsh, imports the module and runs one container (automation, CI, Pester
# provisioning), against pwsh's own start and podman; Import-Module alone; and the first Invoke-ContainerImage of a
# session against the second. Every pwsh is a fresh process started with the bench's own launcher (`dotnet pwsh`,
# the repo's local tool), the variants interleaved so each sees the same machine. Dot-sourced by Bench.ps1.
$runs = if ($env:COLD_BENCH_RUNS) { [int]$env:COLD_BENCH_RUNS } else { 20 }
$root = Join-Path $script:BenchRoot 'cold'
$bb = Get-ChildItem (Join-Path $script:Anchors 'images') -Filter 'busybox*.docker.tar' | Select-Object -First 1
$null = Import-ContainerImage -LiteralPath $bb.FullName -Name busybox:latest -StorageRoot $root
$launcher = (Get-Process -Id $PID).Path
$launcherArgs = @(if ((Split-Path $launcher -Leaf) -like 'dotnet*') { 'pwsh' })
$repo = Split-Path (Split-Path $PSScriptRoot -Parent) -Parent
$module = $ModulePath # Bench.ps1's parameter: the built module's manifest

function Invoke-FreshPwsh([string] $Command) {
    # wall time until the process has exited and its output is closed (what `$(pwsh -c ...)` in a shell waits for);
    # returns the time and the last line of its output
    $psi = [System.Diagnostics.ProcessStartInfo]::new($launcher)
    foreach ($a in @($launcherArgs) + @('-NoProfile', '-NonInteractive', '-Command', $Command)) { $psi.ArgumentList.Add($a) }
    $psi.WorkingDirectory = $repo # the local tool's manifest
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $psi.Environment['PSCONTAINERS_ROOT'] = $root
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $p = [System.Diagnostics.Process]::Start($psi)
    $err = $p.StandardError.ReadToEndAsync()
    $out = $p.StandardOutput.ReadToEnd()
    $p.WaitForExit(); $sw.Stop()
    if ($p.ExitCode -ne 0) { throw "cold: '$Command' exited with $($p.ExitCode): $($err.Result)" }
    [pscustomobject]@{ Ms = $sw.Elapsed.TotalMilliseconds; Last = @($out -split "`n" | Where-Object { $_.Trim() })[-1] }
}

# the issue's script as a user writes it (the result is formatted to the console, as there)
$script = "Import-Module '$module'; Invoke-ContainerImage busybox -Remove -Network none -Command true"
$variants = [ordered]@{
    exit0  = "exit 0"
    import = "Import-Module '$module'"
    script = $script
    # first and second run of one session, timed inside it (the process's start is not in them)
    firstsecond = "Import-Module '$module'; " +
        '$s = [Diagnostics.Stopwatch]::StartNew(); $null = Invoke-ContainerImage busybox -Remove -Network none -Command true; $a = $s.Elapsed.TotalMilliseconds; ' +
        '$s.Restart(); $null = Invoke-ContainerImage busybox -Remove -Network none -Command true; $b = $s.Elapsed.TotalMilliseconds; "$a $b"'
}
$t = @{}; foreach ($k in $variants.Keys) { $t[$k] = [System.Collections.Generic.List[double]]::new() }
$first = [System.Collections.Generic.List[double]]::new(); $second = [System.Collections.Generic.List[double]]::new()
foreach ($k in $variants.Keys) { $null = Invoke-FreshPwsh $variants[$k] } # warm-up: page cache, the tool's resolution
for ($i = 0; $i -lt $runs; $i++) {
    foreach ($k in $variants.Keys) {
        $r = Invoke-FreshPwsh $variants[$k]
        $t[$k].Add($r.Ms)
        if ($k -eq 'firstsecond') { $f, $s = $r.Last -split ' '; $first.Add([double]$f); $second.Add([double]$s) }
    }
}
$m = @{}; foreach ($k in $t.Keys) { $m[$k] = Get-Median $t[$k].ToArray() }
$firstMs = Get-Median $first.ToArray(); $secondMs = Get-Median $second.ToArray()
"cold: $runs fresh processes each; pwsh exit 0 {0:N0} ms, + Import-Module {1:N0} ms (+{2:N0}), + one run {3:N0} ms (+{4:N0} over exit 0; goal +150)" -f $m.exit0, $m.import, ($m.import - $m.exit0), $m.script, ($m.script - $m.exit0)
"cold: first Invoke-ContainerImage of a session {0:N1} ms, second {1:N1} ms (goal: first at most 2x)" -f $firstMs, $secondMs
Write-BenchLine 'fresh pwsh: import + run true' $m.script 'pwsh -NoProfile -c exit 0' $m.exit0
Write-BenchLine 'fresh pwsh: import + run, added' ($m.script - $m.exit0) 'goal: +150 ms' 150
Write-BenchLine 'fresh pwsh: Import-Module alone' $m.import 'pwsh -NoProfile -c exit 0' $m.exit0
Write-BenchLine 'first Invoke-ContainerImage of a session' $firstMs 'the second' $secondMs
$peers = Invoke-AnchorBench 'podman_run_crun_netnone' -Runs $runs
if ($peers.ContainsKey('podman_run_crun_netnone')) { Write-BenchLine 'fresh pwsh: import + run true' $m.script 'podman run --rm --network none' $peers['podman_run_crun_netnone'] }
else { 'cold: peer podman_run_crun_netnone not measured' }
Remove-ContainerImage busybox:latest -StorageRoot $root -Force -ErrorAction SilentlyContinue | Out-Null
