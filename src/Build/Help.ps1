# Generates MAML help (Containers.dll-Help.xml) from PlatyPS-layout markdown in en-US/ plus the
# cmdlets' own metadata (syntax, parameter sets, positions, pipeline input, types), because PlatyPS
# itself is not served here. The markdown stays in PlatyPS layout so PlatyPS can take over later.
#
# Usage (in a pwsh where the built module is importable):
#   ./src/Build/Help.ps1 -ModulePath out/Containers -SourcePath en-US -OutputPath out/Containers/en-US
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SourcePath,
    [Parameter(Mandatory)] [string] $OutputPath,
    # Also rewrite each page's SYNTAX section from the cmdlet's metadata (run after changing parameters).
    [switch] $UpdateMarkdown
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'HelpSyntax.ps1')

# Parameters every cmdlet shares: described once here when a page leaves them out.
$SharedParameterText = @{
    StorageRoot = 'The storage root to use for this call: where images, layers, containers, volumes and networks are kept. Defaults to $env:PSCONTAINERS_ROOT, or /var/lib/pscontainers when that is not set.'
    WhatIf      = 'Shows what would happen if the cmdlet runs. The cmdlet is not run and nothing changes.'
    Confirm     = 'Prompts you for confirmation before running the cmdlet.'
}
# Only the common parameters every cmdlet has are left to Get-Help's [<CommonParameters>]; -WhatIf and
# -Confirm (the optional ones) are part of a ShouldProcess cmdlet's syntax and parameter list, as in PlatyPS.
$CommonParameters = [System.Management.Automation.Cmdlet]::CommonParameters

function ConvertFrom-HelpMarkdown([string] $Path) {
    # Returns @{ Synopsis; Description; Examples = @(@{Title;Code;Remarks}); Parameters = @{Name=text}; Inputs; Outputs; Notes; Links }
    $lines = Get-Content -LiteralPath $Path
    $page = @{ Synopsis = ''; Description = ''; Examples = [System.Collections.Generic.List[object]]::new(); Parameters = @{}; Inputs = @(); Outputs = @(); Notes = ''; Links = @() }
    $section = $null; $sub = $null; $buffer = [System.Collections.Generic.List[string]]::new()
    $inFence = $false
    $flush = {
        $text = ($buffer -join "`n").Trim()
        switch ($section) {
            'SYNOPSIS' { $page.Synopsis = $text }
            'DESCRIPTION' { $page.Description = $text }
            'NOTES' { $page.Notes = $text }
            'EXAMPLES' {
                if ($sub) {
                    $code = ''; $remarks = $text
                    if ($text -match '(?s)```[a-zA-Z]*\r?\n(.*?)```') {
                        $code = $Matches[1].TrimEnd()
                        $remarks = ($text -replace '(?s)```[a-zA-Z]*\r?\n.*?```', '').Trim()
                    }
                    # a mark for the examples test (<!-- example: external <reason> -->) is not for readers
                    $remarks = ($remarks -replace '(?s)<!--.*?-->', '').Trim()
                    $page.Examples.Add(@{ Title = $sub; Code = $code; Remarks = $remarks })
                }
            }
            'PARAMETERS' {
                if ($sub) {
                    # drop the PlatyPS yaml block that describes the parameter's metadata
                    $page.Parameters[$sub.TrimStart('-')] = ($text -replace '(?s)```yaml.*?```', '').Trim()
                }
            }
            'INPUTS' { if ($sub) { $page.Inputs += @{ Type = $sub; Text = $text } } }
            'OUTPUTS' { if ($sub) { $page.Outputs += @{ Type = $sub; Text = $text } } }
            'RELATED LINKS' { $page.Links = @($buffer | Where-Object { $_.Trim() } | ForEach-Object { if ($_ -match '\[(.+?)\]\((.*?)\)') { @{ Text = $Matches[1]; Uri = $Matches[2] } } else { @{ Text = $_.Trim(' ', '-', '*'); Uri = '' } } }) }
        }
        $buffer.Clear()
    }
    foreach ($line in $lines) {
        if ($line -match '^```') { $inFence = -not $inFence }
        if (-not $inFence -and $line -match '^## (.+)$') { & $flush; $section = $Matches[1].Trim().ToUpperInvariant(); $sub = $null; continue }
        if (-not $inFence -and $line -match '^### (.+)$') { & $flush; $sub = $Matches[1].Trim(); continue }
        if (-not $inFence -and $line -match '^# ') { continue }
        $buffer.Add($line)
    }
    & $flush
    $page
}

function Add-Para($xml, $parent, [string] $text) {
    $paras = @($text -split "\r?\n\s*\r?\n" | ForEach-Object { ($_ -replace '\s*\r?\n\s*', ' ').Trim() } | Where-Object { $_ })
    if ($paras.Count -eq 0) { $paras = @('') }
    foreach ($p in $paras) {
        $e = $xml.CreateElement('maml', 'para', $ns.maml); $e.InnerText = $p; [void]$parent.AppendChild($e)
    }
}

$ns = @{
    msh = 'http://msh'; maml = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'; dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

$module = Import-Module -Name (Join-Path $ModulePath 'Containers.psd1') -PassThru -Force
$xml = [System.Xml.XmlDocument]::new()
[void]$xml.AppendChild($xml.CreateXmlDeclaration('1.0', 'utf-8', $null))
$root = $xml.CreateElement('helpItems', $ns.msh); $root.SetAttribute('schema', 'maml'); [void]$xml.AppendChild($root)
function El($parent, [string] $prefix, [string] $name, [string] $text = $null) {
    $e = $xml.CreateElement($prefix, $name, $ns[$prefix])
    if ($null -ne $text) { $e.InnerText = $text }
    [void]$parent.AppendChild($e); $e
}

$missing = [System.Collections.Generic.List[string]]::new()
foreach ($cmd in (Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)) {
    $md = Join-Path $SourcePath "$($cmd.Name).md"
    if (-not (Test-Path -LiteralPath $md)) { $missing.Add("$($cmd.Name): no $md"); continue }
    if ($UpdateMarkdown) { Set-HelpSyntaxMarkdown $md (Get-HelpSyntaxMarkdown $cmd) }
    $page = ConvertFrom-HelpMarkdown $md
    $c = El $root 'command' 'command'
    $d = El $c 'command' 'details'
    [void](El $d 'command' 'name' $cmd.Name); [void](El $d 'command' 'verb' $cmd.Verb); [void](El $d 'command' 'noun' $cmd.Noun)
    Add-Para $xml (El $d 'maml' 'description') $page.Synopsis
    Add-Para $xml (El $c 'maml' 'description') $page.Description

    $paramElement = {
        param($parent, $p, $set, [bool] $forSyntax)
        # a parameter declared for all sets is under __AllParameterSets, not under the set's name
        $attr = if ($set) { if ($p.ParameterSets.ContainsKey($set)) { $p.ParameterSets[$set] } else { $p.ParameterSets['__AllParameterSets'] } } else { $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] } | Select-Object -First 1 }
        $e = El $parent 'command' 'parameter'
        # a parameter set's metadata says IsMandatory, a ParameterAttribute says Mandatory
        $mandatory = if ($set) { $attr.IsMandatory } else { $attr.Mandatory }
        $e.SetAttribute('required', ([string][bool]$mandatory).ToLowerInvariant())
        $e.SetAttribute('variableLength', ([string]$p.ParameterType.IsArray).ToLowerInvariant())
        $globbing = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }
        $e.SetAttribute('globbing', ([string][bool]$globbing).ToLowerInvariant())
        $pipe = @(); if ($attr.ValueFromPipeline) { $pipe += 'ByValue' }; if ($attr.ValueFromPipelineByPropertyName) { $pipe += 'ByPropertyName' }
        $e.SetAttribute('pipelineInput', $(if ($pipe) { "True ($($pipe -join ', '))" } else { 'False' }))
        $e.SetAttribute('position', $(if ($attr.Position -ge 0) { [string]$attr.Position } else { 'named' }))
        $e.SetAttribute('aliases', $(if ($p.Aliases.Count) { $p.Aliases -join ', ' } else { 'none' }))
        [void](El $e 'maml' 'name' $p.Name)
        $text = $page.Parameters[$p.Name]
        if (-not $text) { $text = $SharedParameterText[$p.Name] }
        if (-not $text) { $missing.Add("$($cmd.Name): parameter -$($p.Name) has no description") ; $text = '' }
        Add-Para $xml (El $e 'maml' 'description') $text
        $typeName = $p.ParameterType.Name
        if ($p.ParameterType -ne [System.Management.Automation.SwitchParameter]) {
            $v = El $e 'command' 'parameterValue' $typeName; $v.SetAttribute('required', 'true'); $v.SetAttribute('variableLength', ([string]$p.ParameterType.IsArray).ToLowerInvariant())
        }
        $t = El $e 'dev' 'type'; [void](El $t 'maml' 'name' $typeName); [void](El $t 'maml' 'uri' '')
        [void](El $e 'dev' 'defaultValue' 'None')
    }

    $syntax = El $c 'command' 'syntax'
    foreach ($set in $cmd.ParameterSets) {
        $si = El $syntax 'command' 'syntaxItem'
        [void](El $si 'maml' 'name' $cmd.Name)
        foreach ($sp in ($set.Parameters | Where-Object { $_.Name -notin $CommonParameters })) {
            $p = $cmd.Parameters[$sp.Name]
            & $paramElement $si $p $set.Name $true
        }
    }
    $params = El $c 'command' 'parameters'
    foreach ($p in ($cmd.Parameters.Values | Where-Object { $_.Name -notin $CommonParameters } | Sort-Object Name)) {
        & $paramElement $params $p $null $false
    }
    $inputs = El $c 'command' 'inputTypes'
    foreach ($i in $page.Inputs) { $it = El $inputs 'command' 'inputType'; $t = El $it 'dev' 'type'; [void](El $t 'maml' 'name' $i.Type); Add-Para $xml (El $it 'maml' 'description') $i.Text }
    $outputs = El $c 'command' 'returnValues'
    foreach ($o in $page.Outputs) { $rv = El $outputs 'command' 'returnValue'; $t = El $rv 'dev' 'type'; [void](El $t 'maml' 'name' $o.Type); Add-Para $xml (El $rv 'maml' 'description') $o.Text }
    if ($page.Notes) { $as = El $c 'maml' 'alertSet'; Add-Para $xml (El $as 'maml' 'alert') $page.Notes }
    $examples = El $c 'command' 'examples'
    if ($page.Examples.Count -eq 0) { $missing.Add("$($cmd.Name): no example") }
    $n = 0
    foreach ($ex in $page.Examples) {
        $n++
        $e = El $examples 'command' 'example'
        [void](El $e 'maml' 'title' "-------------------------- $($ex.Title) --------------------------")
        [void](El $e 'dev' 'code' $ex.Code)
        Add-Para $xml (El $e 'dev' 'remarks') $ex.Remarks
    }
    if (-not $page.Synopsis) { $missing.Add("$($cmd.Name): no synopsis") }
    if (-not $page.Description) { $missing.Add("$($cmd.Name): no description") }
    $links = El $c 'command' 'relatedLinks'
    foreach ($l in $page.Links) { $nl = El $links 'maml' 'navigationLink'; [void](El $nl 'maml' 'linkText' $l.Text); [void](El $nl 'maml' 'uri' $l.Uri) }
}

New-Item -ItemType Directory -Force -Path $OutputPath | Out-Null
$out = Join-Path $OutputPath 'Containers.dll-Help.xml'
$settings = [System.Xml.XmlWriterSettings]::new(); $settings.Indent = $true; $settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$w = [System.Xml.XmlWriter]::Create($out, $settings); $xml.Save($w); $w.Dispose()

# about_ topics: markdown to plain text
Get-ChildItem -LiteralPath $SourcePath -Filter 'about_*.md' | ForEach-Object {
    $text = (Get-Content -LiteralPath $_.FullName -Raw) -replace '(?m)^#+ ', '' -replace '```[a-zA-Z]*', ''
    Set-Content -LiteralPath (Join-Path $OutputPath ($_.BaseName + '.help.txt')) -Value $text -Encoding utf8NoBOM
}

foreach ($m in $missing) { Write-Warning "help: $m" }
Write-Host "help: wrote $out ($(@(Get-Command -Module $module.Name -CommandType Cmdlet).Count) cmdlets, $($missing.Count) gaps)"
