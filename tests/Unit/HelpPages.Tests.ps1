# The help pages (en-US/<Cmdlet>.md) say what the cmdlets are: the SYNTAX section is the cmdlet's own
# (regenerate with build.ps1 -Task Docs), Get-Help's syntax shows -WhatIf/-Confirm and the real mandatory
# and positional parameters, INPUTS names what binds from the pipeline, and RELATED LINKS lead somewhere.
BeforeDiscovery {
    . $PSScriptRoot/../common.ps1
    $script:cmds = @(Get-Command -Module Containers -CommandType Cmdlet | Sort-Object Name | ForEach-Object { @{ Name = $_.Name } })
}
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../HelpMarkdown.ps1
    . $PSScriptRoot/../../src/Build/HelpSyntax.ps1
    $script:en = Join-Path $PSScriptRoot '../../en-US'
    $script:exported = @(Get-Command -Module Containers -CommandType Cmdlet).Name
    $script:common = [System.Management.Automation.Cmdlet]::CommonParameters
    function script:TypeName([type] $t) {
        if ($t.IsArray) { $t = $t.GetElementType() }
        if ($t -eq [System.Management.Automation.PSObject]) { $t = [object] }
        $t.FullName
    }
}

Describe 'Help page of <Name>' -ForEach $script:cmds {
    BeforeAll {
        $script:cmd = Get-Command $Name
        $script:md = Join-Path $script:en "$Name.md"
        $script:help = Get-Help $Name -Full
    }

    It 'has a SYNTAX section that is the cmdlet''s own (build.ps1 -Task Docs rewrites it)' {
        $have = ((Get-HelpMarkdownSection $script:md 'SYNTAX') -join "`n").Trim()
        $have | Should -BeExactly (Get-HelpSyntaxMarkdown $script:cmd)
    }

    It 'shows -WhatIf and -Confirm in every syntax line when it supports ShouldProcess' {
        $should = [bool]$script:cmd.Parameters['WhatIf']
        foreach ($item in @($script:help.syntax.syntaxItem)) {
            $names = @($item.parameter.name)
            ($names -contains 'WhatIf') | Should -Be $should -Because "-WhatIf of $Name"
            ($names -contains 'Confirm') | Should -Be $should -Because "-Confirm of $Name"
        }
    }

    It 'shows the real mandatory and positional parameters of each parameter set' {
        $items = @($script:help.syntax.syntaxItem)
        $items.Count | Should -Be $script:cmd.ParameterSets.Count
        $i = 0
        foreach ($set in $script:cmd.ParameterSets) {
            $item = $items[$i++]
            foreach ($p in $set.Parameters | Where-Object { $_.Name -notin $script:common }) {
                $hp = @($item.parameter) | Where-Object name -eq $p.Name
                $hp | Should -Not -BeNullOrEmpty -Because "-$($p.Name) is in the set $($set.Name) of $Name"
                $hp.required | Should -Be ([string]$p.IsMandatory).ToLowerInvariant() -Because "-$($p.Name) mandatory in $($set.Name)"
                $hp.position | Should -Be $(if ($p.Position -ge 0) { [string]$p.Position } else { 'named' }) -Because "-$($p.Name) position in $($set.Name)"
            }
        }
    }

    It 'names in INPUTS what binds from the pipeline' {
        $inputs = Get-HelpMarkdownSection $script:md 'INPUTS'
        $types = @($inputs | Where-Object { $_ -match '^### (.+)$' } | ForEach-Object { $_.Substring(4).Trim() })
        $text = $inputs -join "`n"
        $piped = @(foreach ($set in $script:cmd.ParameterSets) {
                foreach ($p in $set.Parameters) { if ($p.ValueFromPipeline -or $p.ValueFromPipelineByPropertyName) { $p } }
            })
        if ($piped.Count -eq 0) {
            $types | Should -Be @('None') -Because "nothing of $Name binds from the pipeline"
            return
        }
        $types | Should -Not -Contain 'None'
        foreach ($p in $piped | Where-Object ValueFromPipeline) {
            $types | Should -Contain (TypeName $p.ParameterType) -Because "-$($p.Name) of $Name binds by value"
        }
        foreach ($p in $piped | Where-Object ValueFromPipelineByPropertyName) {
            $names = @($p.Name) + @($p.Aliases)
            @($names | Where-Object { $text -cmatch "\b$([regex]::Escape($_))\b" }) |
                Should -Not -BeNullOrEmpty -Because "-$($p.Name) of $Name binds by property name: INPUTS should name the property ($($names -join ', '))"
        }
    }

    It 'has RELATED LINKS that lead to commands or topics that exist' {
        $links = @($script:help.relatedLinks.navigationLink)
        $links.Count | Should -BeGreaterThan 0
        foreach ($l in $links) {
            $ok = $l.uri -match '^https?://' -or $l.linkText -in $script:exported -or $l.linkText -like 'about_*'
            $ok | Should -BeTrue -Because "'$($l.linkText)' in $Name's RELATED LINKS"
            if ($l.linkText -like 'about_*') { Test-Path (Join-Path $script:en "$($l.linkText).md") | Should -BeTrue }
        }
    }
}
