# Pure logic of the image area: Dockerfile-style config changes.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    function New-Config { [Containers.Engine.Spec.ContainerConfig]::new() }
    function Invoke-Change($c, [string[]] $Changes) { [Containers.Engine.Images.ConfigChanges]::Apply($c, [System.Collections.Generic.List[string]]$Changes) }
}

Describe 'ConfigChanges' {
    It 'parses exec and shell forms of CMD and ENTRYPOINT' {
        $c = New-Config
        Invoke-Change $c 'CMD ["a","b c"]', 'ENTRYPOINT /bin/run --flag'
        $c.Cmd | Should -Be @('a', 'b c')
        $c.Entrypoint | Should -Be @('/bin/sh', '-c', '/bin/run --flag')
    }
    It 'sets ENV in both forms and replaces an existing key' {
        $c = New-Config
        Invoke-Change $c 'ENV A=1', 'ENV B two words', 'ENV A=3 C="x y"'
        $c.Env | Should -Be @('B=two words', 'A=3', 'C=x y')
    }
    It 'sets EXPOSE, VOLUME, LABEL, USER, WORKDIR, STOPSIGNAL (instruction case-insensitive)' {
        $c = New-Config
        Invoke-Change $c 'expose 8080/UDP 22', 'VOLUME ["/a","/b"]', 'LABEL k=v "q"=1', 'USER 1000:1000', 'WORKDIR /srv', 'STOPSIGNAL 9'
        @($c.ExposedPorts.Keys | Sort-Object) | Should -Be @('22/tcp', '8080/udp')
        @($c.Volumes.Keys | Sort-Object) | Should -Be @('/a', '/b')
        $c.Labels['k'] | Should -BeExactly 'v'
        $c.User | Should -BeExactly '1000:1000'
        $c.WorkingDir | Should -BeExactly '/srv'
        $c.StopSignal | Should -BeExactly '9'
    }
    It 'refuses <Change>' -TestCases @(
        @{ Change = 'RUN echo' }
        @{ Change = 'CMD' }
        @{ Change = 'CMD ["unterminated"' }
        @{ Change = 'EXPOSE 70000' }
        @{ Change = 'EXPOSE 80/icmp' }
        @{ Change = 'VOLUME relative' }
        @{ Change = 'ENV A="open' }
        @{ Change = 'nonsense' }
    ) {
        $err = $null
        try { Invoke-Change (New-Config) $Change } catch { $err = $_.Exception.InnerException ?? $_.Exception }
        $err.ErrorId | Should -BeExactly 'InvalidChange'
    }
}
