# Every exported cmdlet has help: synopsis, description, every parameter described, an example.
BeforeDiscovery {
    . $PSScriptRoot/../common.ps1
    $script:cmds = @(Get-Command -Module Containers -CommandType Cmdlet | ForEach-Object { @{ Name = $_.Name } })
}
BeforeAll { . $PSScriptRoot/../common.ps1 }

Describe 'Help for <Name>' -ForEach $script:cmds {
    BeforeAll {
        $script:help = Get-Help -Name $Name -Full
        $script:common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
    }
    It 'has a synopsis' { $script:help.Synopsis | Should -Not -BeNullOrEmpty; $script:help.Synopsis | Should -Not -Match "^\s*$Name\s" }
    It 'has a description' { ($script:help.description.Text -join '') | Should -Not -BeNullOrEmpty }
    It 'has at least one example with code' {
        @($script:help.examples.example).Count | Should -BeGreaterThan 0
        @($script:help.examples.example)[0].code | Should -Not -BeNullOrEmpty
    }
    It 'describes every parameter' {
        $params = (Get-Command $Name).Parameters.Keys | Where-Object { $_ -notin $script:common }
        foreach ($p in $params) {
            $ph = @($script:help.parameters.parameter) | Where-Object name -eq $p
            ($ph.description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$p of $Name needs a description"
        }
    }
}

Describe 'Module manifest' {
    It 'exports only cmdlets that exist' {
        $manifest = Import-PowerShellDataFile $script:ModulePath
        $have = @(Get-Command -Module Containers -CommandType Cmdlet).Name
        @($have | Where-Object { $_ -notin $manifest.CmdletsToExport }) | Should -BeNullOrEmpty
    }
}
