# Reads the help pages (en-US/<Cmdlet>.md, PlatyPS layout) for the tests: their examples, syntax blocks,
# INPUTS and RELATED LINKS, and checks example code against the commands that exist. Dot-sourced.

function Get-HelpMarkdownSection([string] $Path, [string] $Section) {
    # The lines of one '## SECTION' of a page (fenced blocks kept whole).
    $out = [System.Collections.Generic.List[string]]::new(); $in = $false; $fence = $false
    foreach ($line in (Get-Content -LiteralPath $Path)) {
        if ($line -match '^```') { $fence = -not $fence }
        if (-not $fence -and $line -match '^## (.+)$') { $in = $Matches[1].Trim() -eq $Section; continue }
        if ($in) { $out.Add($line) }
    }
    , $out.ToArray()
}

function Get-HelpMarkdownExample([string] $Path) {
    # One hashtable per '### ' example: Title, Code (the first fenced block), Mark and Reason
    # (from a line `<!-- example: external|interactive <reason> -->`).
    $lines = Get-HelpMarkdownSection $Path 'EXAMPLES'
    $examples = [System.Collections.Generic.List[object]]::new(); $cur = $null; $fence = $false; $code = $null
    foreach ($line in $lines) {
        if (-not $fence -and $line -match '^### (.+)$') {
            if ($cur) { $examples.Add($cur) }
            $cur = @{ Page = [IO.Path]::GetFileNameWithoutExtension($Path); Title = $Matches[1].Trim(); Code = ''; Mark = ''; Reason = '' }
            continue
        }
        if ($line -match '^```') {
            if ($fence) { if ($cur -and -not $cur.Code) { $cur.Code = ($code -join "`n") }; $fence = $false }
            else { $fence = $true; $code = [System.Collections.Generic.List[string]]::new() }
            continue
        }
        if ($fence) { $code.Add($line); continue }
        if ($cur -and $line -match '^<!--\s*example:\s*(external|interactive)\s+(.*?)\s*-->\s*$') { $cur.Mark = $Matches[1]; $cur.Reason = $Matches[2] }
    }
    if ($cur) { $examples.Add($cur) }
    $examples
}

function Test-HelpExampleCode([string] $Code) {
    # Problems with an example's code that show without running it: parse errors, commands that do not
    # exist, parameters (or unambiguous prefixes, or aliases) a Containers cmdlet does not have.
    $tokens = $null; $parseErrors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $tokens, [ref] $parseErrors)
    foreach ($e in $parseErrors) { "parse error: $($e.Message)" }
    $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    foreach ($c in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.CommandAst] }, $true)) {
        $name = $c.GetCommandName()
        if (-not $name) { continue }
        $cmd = Get-Command $name -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $cmd) { "command not found: $name"; continue }
        if ($cmd.ModuleName -ne 'Containers') { continue }
        $names = @($cmd.Parameters.Values | ForEach-Object { $_.Name; $_.Aliases }) + $common
        foreach ($p in $c.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] }) {
            $exact = @($names | Where-Object { $_ -eq $p.ParameterName })
            $prefixed = @($cmd.Parameters.Values | Where-Object { $_.Name -like "$($p.ParameterName)*" })
            if (-not $exact -and $prefixed.Count -ne 1) { "${name}: no parameter -$($p.ParameterName)" }
        }
    }
}

function Invoke-HelpExampleCode([string] $Code) {
    # Runs an example in a child scope as a script would: every error stops it (native commands too),
    # output is formatted (so the views are exercised) and dropped. Returns the errors, as text.
    $ErrorActionPreference = 'Stop'
    $PSNativeCommandUseErrorActionPreference = $true
    $ProgressPreference = 'SilentlyContinue'
    $ConfirmPreference = 'None'
    try {
        $null = & ([scriptblock]::Create($Code)) 6>&1 | Out-String -Width 160
    }
    catch {
        "$($_.FullyQualifiedErrorId): $($_.Exception.Message)"
    }
}

function Invoke-HelpExampleOnTerminal([string] $Code) {
    # Runs an interactive example in a child pwsh on a pseudo-terminal (tests/pty-run.py), with this session's
    # module, storage root and folder: waits for a shell prompt, types `echo marker-$((6*7))`, expects
    # marker-42 (the shell's arithmetic, not the typed echo), types exit. Returns what the terminal showed.
    $file = Join-Path $PWD ("interactive-" + [guid]::NewGuid().ToString('N') + '.ps1')
    $module = $script:ModulePath
    @(
        '$ErrorActionPreference = "Stop"'
        "Import-Module '$module'"
        "`$env:PSCONTAINERS_ROOT = '$env:PSCONTAINERS_ROOT'"
        "Set-Location -LiteralPath '$PWD'"
        $Code
    ) | Set-Content -LiteralPath $file
    $pwsh = (Get-Process -Id $PID).Path
    $argv = @($pwsh) + $(if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { @('pwsh') } else { @() }) + @('-NoProfile', '-File', $file)
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '..')).Path
    (& python3 (Join-Path $PSScriptRoot 'pty-run.py') '[/~][^\s]* [#$] ' 'echo marker-$((6*7))' 'marker-42' 120 $repo -- @argv) -join "`n"
}
