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

function Invoke-FreshPwsh([string] $Command, [hashtable] $Environment = @{}, [string] $Key = 'default') {
    # wall time until the process has exited and its output is closed (what `$(pwsh -c ...)` in a shell waits for);
    # returns the time and the last line of its output. Each variant gets a cache directory of its own: pwsh writes its
    # startup JIT profile there at exit (StartupProfileData-NonInteractive) and replays it, compiling ahead on another
    # thread, at the next start; shared, each variant would replay what the previous (other) variant compiled, or what
    # another session's pwsh did (docs/ARCHITECTURE.md, Cold start, third pass)
    $psi = [System.Diagnostics.ProcessStartInfo]::new($launcher)
    foreach ($a in @($launcherArgs) + @('-NoProfile', '-NonInteractive', '-Command', $Command)) { $psi.ArgumentList.Add($a) }
    $psi.WorkingDirectory = $repo # the local tool's manifest
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.UseShellExecute = $false
    $psi.Environment['PSCONTAINERS_ROOT'] = $root
    $psi.Environment['XDG_CACHE_HOME'] = Join-Path $script:BenchRoot "pwsh-cache-$Key"
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
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
    # (and the pipeline thread's CPU time in each, from /proc/thread-self/schedstat: the work on the run's own path,
    # which a loaded machine's waits do not inflate and a background thread's work is not in)
    firstsecond = "Import-Module '$module'; " +
        'function cpu { [double](([IO.File]::ReadAllText(''/proc/thread-self/schedstat'') -split '' '')[0]) / 1e6 }; ' +
        '$c0 = cpu; $s = [Diagnostics.Stopwatch]::StartNew(); $null = Invoke-ContainerImage busybox -Remove -Network none -Command true; $a = $s.Elapsed.TotalMilliseconds; $c1 = cpu; ' +
        '$s.Restart(); $null = Invoke-ContainerImage busybox -Remove -Network none -Command true; $b = $s.Elapsed.TotalMilliseconds; $c2 = cpu; "$a $b $($c1 - $c0) $($c2 - $c1)"'
}
# the same script and first/second runs without the module's warm-up at import (PSCONTAINERS_WARMUP=0): what the
# background thread buys on this machine at this load (nothing when no core is idle)
$variants['script-nowarm'] = $script
$variants['firstsecond-nowarm'] = $variants['firstsecond']
$noWarm = @{ PSCONTAINERS_WARMUP = '0' }
$t = @{}; foreach ($k in $variants.Keys) { $t[$k] = [System.Collections.Generic.List[double]]::new() }
$first = @{}; $second = @{}; $firstCpu = @{}; $secondCpu = @{}
foreach ($k in 'firstsecond', 'firstsecond-nowarm') { foreach ($l in $first, $second, $firstCpu, $secondCpu) { $l[$k] = [System.Collections.Generic.List[double]]::new() } }
foreach ($k in $variants.Keys) { $null = Invoke-FreshPwsh $variants[$k] $(if ($k -like '*-nowarm') { $noWarm } else { @{} }) $k } # warm-up: page cache, the tool's resolution, each variant's own startup profile
for ($i = 0; $i -lt $runs; $i++) {
    foreach ($k in $variants.Keys) {
        $r = Invoke-FreshPwsh $variants[$k] $(if ($k -like '*-nowarm') { $noWarm } else { @{} }) $k
        $t[$k].Add($r.Ms)
        if ($k -like 'firstsecond*') {
            $f, $s, $fc, $sc = $r.Last -split ' '
            $first[$k].Add([double]$f); $second[$k].Add([double]$s); $firstCpu[$k].Add([double]$fc); $secondCpu[$k].Add([double]$sc)
        }
    }
}
$m = @{}; foreach ($k in $t.Keys) { $m[$k] = Get-Median $t[$k].ToArray() }
$firstMs = Get-Median $first['firstsecond'].ToArray(); $secondMs = Get-Median $second['firstsecond'].ToArray()
$firstNwMs = Get-Median $first['firstsecond-nowarm'].ToArray(); $secondNwMs = Get-Median $second['firstsecond-nowarm'].ToArray()
"cold: $runs fresh processes each; pwsh exit 0 {0:N0} ms, + Import-Module {1:N0} ms (+{2:N0}), + one run {3:N0} ms (+{4:N0} over exit 0; goal +150)" -f $m.exit0, $m.import, ($m.import - $m.exit0), $m.script, ($m.script - $m.exit0)
"cold: first Invoke-ContainerImage of a session {0:N1} ms, second {1:N1} ms (goal: first at most 2x)" -f $firstMs, $secondMs
Write-BenchLine 'fresh pwsh: import + run true' $m.script 'pwsh -NoProfile -c exit 0' $m.exit0
Write-BenchLine 'fresh pwsh: import + run, added' ($m.script - $m.exit0) 'goal: +150 ms' 150
Write-BenchLine 'fresh pwsh: Import-Module alone' $m.import 'pwsh -NoProfile -c exit 0' $m.exit0
Write-BenchLine 'first Invoke-ContainerImage of a session' $firstMs 'the second' $secondMs
"cold: without the warm-up at import: + one run {0:N0} ms (+{1:N0} over exit 0), first run {2:N1} ms, second {3:N1} ms" -f $m['script-nowarm'], ($m['script-nowarm'] - $m.exit0), $firstNwMs, $secondNwMs
Write-BenchLine 'fresh pwsh: import + run, warm-up' $m.script 'the same, PSCONTAINERS_WARMUP=0' $m['script-nowarm']
Write-BenchLine 'first run of a session, warm-up' $firstMs 'the same, PSCONTAINERS_WARMUP=0' $firstNwMs
# CPU time of the pipeline thread (ms of CPU, not of the clock)
Write-BenchLine 'first run, pipeline thread CPU' (Get-Median $firstCpu['firstsecond'].ToArray()) 'the second run' (Get-Median $secondCpu['firstsecond'].ToArray())
Write-BenchLine 'first run CPU, warm-up' (Get-Median $firstCpu['firstsecond'].ToArray()) 'the same, PSCONTAINERS_WARMUP=0' (Get-Median $firstCpu['firstsecond-nowarm'].ToArray())
$peers = Invoke-AnchorBench 'podman_run_crun_netnone' -Runs $runs
if ($peers.ContainsKey('podman_run_crun_netnone')) { Write-BenchLine 'fresh pwsh: import + run true' $m.script 'podman run --rm --network none' $peers['podman_run_crun_netnone'] }
else { 'cold: peer podman_run_crun_netnone not measured' }
Remove-ContainerImage busybox:latest -StorageRoot $root -Force -ErrorAction SilentlyContinue | Out-Null
