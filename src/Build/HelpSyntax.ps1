# The SYNTAX section of a help page (PlatyPS layout) from a cmdlet's own metadata: one block per parameter
# set, as Get-Command -Syntax writes it (mandatory and positional parameters, -WhatIf/-Confirm, the
# parameter types). Dot-sourced by Help.ps1 (-UpdateMarkdown writes it into en-US/*.md) and by the test
# that checks the pages against the cmdlets (tests/Unit/HelpPages.Tests.ps1).

function Get-HelpSyntaxMarkdown([System.Management.Automation.CommandInfo] $Command) {
    $sets = @($Command.ParameterSets | Sort-Object { -not $_.IsDefault }, Name)
    $lines = [System.Collections.Generic.List[string]]::new()
    foreach ($set in $sets) {
        if ($sets.Count -gt 1) {
            $lines.Add("### $($set.Name)$(if ($set.IsDefault) { ' (Default)' })")
        }
        $lines.Add('```')
        $lines.Add("$($Command.Name) $set".TrimEnd())
        $lines.Add('```')
        $lines.Add('')
    }
    ($lines -join "`n").TrimEnd()
}

function Set-HelpSyntaxMarkdown([string] $Path, [string] $Syntax) {
    # Replaces the page's SYNTAX section (everything between '## SYNTAX' and the next '## ') with $Syntax.
    $text = (Get-Content -LiteralPath $Path -Raw) -replace "`r`n", "`n"
    $new = [regex]::Replace($text, '(?s)(\n## SYNTAX\n).*?(\n## )', { param($m) $m.Groups[1].Value + "`n" + $Syntax + "`n" + $m.Groups[2].Value }, 'None')
    if ($new -cne $text) { Set-Content -LiteralPath $Path -Value $new -NoNewline -Encoding utf8NoBOM }
}
