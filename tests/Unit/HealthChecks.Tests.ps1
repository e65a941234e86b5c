# The effective health check of a container: the image's HEALTHCHECK (docker's JSON, nanoseconds) merged with the
# user's values field by field as docker merges them (daemon/commit.go), NONE and -NoHealthCheck, validation, and
# what -HealthCommand's one or several strings mean.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    $script:H = [Containers.Engine.Health.HealthChecks]
    function script:Image([string] $Json) {
        $doc = [System.Text.Json.JsonDocument]::Parse($Json)
        $script:H::FromImage([Nullable[System.Text.Json.JsonElement]] $doc.RootElement)
    }
    function script:User([hashtable] $Values) {
        $c = [Containers.Engine.Health.HealthCheckConfig]::new()
        foreach ($k in $Values.Keys) { $c.$k = $Values[$k] }
        $c
    }
}

Describe 'HealthChecks.FromImage' {
    It 'reads docker''s Healthcheck with durations in nanoseconds' {
        $c = Image '{"Test":["CMD-SHELL","curl -f http://localhost/"],"Interval":200000000,"Timeout":5000000000,"StartPeriod":60000000000,"StartInterval":1000000000,"Retries":4}'
        $c.Test | Should -Be @('CMD-SHELL', 'curl -f http://localhost/')
        $c.Interval | Should -Be ([timespan]::FromMilliseconds(200))
        $c.Timeout | Should -Be ([timespan]::FromSeconds(5))
        $c.StartPeriod | Should -Be ([timespan]::FromMinutes(1))
        $c.StartInterval | Should -Be ([timespan]::FromSeconds(1))
        $c.Retries | Should -Be 4
    }
    It 'leaves zero and absent fields unset (docker''s defaults apply)' {
        $c = Image '{"Test":["CMD","true"],"Interval":0}'
        $c.Interval | Should -BeNullOrEmpty
        $c.Retries | Should -BeNullOrEmpty
    }
}

Describe 'HealthChecks.Effective' {
    It 'takes each field the user left unset from the image' {
        $img = Image '{"Test":["CMD","check"],"Interval":1000000000,"Timeout":2000000000,"Retries":5}'
        $e = $script:H::Effective($img, (User @{ Retries = 7; StartPeriod = [timespan]::FromSeconds(9) }), $false)
        $e.Test | Should -Be @('CMD', 'check')
        $e.Interval | Should -Be ([timespan]::FromSeconds(1))
        $e.Timeout | Should -Be ([timespan]::FromSeconds(2))
        $e.Retries | Should -Be 7
        $e.StartPeriod | Should -Be ([timespan]::FromSeconds(9))
    }
    It 'replaces the image''s test with the user''s' {
        $img = Image '{"Test":["CMD","check"]}'
        ($script:H::Effective($img, (User @{ Test = [System.Collections.Generic.List[string]]@('CMD-SHELL', 'other') }), $false)).Test | Should -Be @('CMD-SHELL', 'other')
    }
    It 'has no check for NONE, for -NoHealthCheck, or without any test' {
        $img = Image '{"Test":["CMD","check"]}'
        $script:H::Effective($img, (User @{ Test = [System.Collections.Generic.List[string]]@('NONE') }), $false) | Should -BeNullOrEmpty
        $script:H::Effective($img, $null, $true) | Should -BeNullOrEmpty
        $script:H::Effective((Image '{"Test":["NONE"]}'), $null, $false) | Should -BeNullOrEmpty
        $script:H::Effective($null, (User @{ Retries = 2 }), $false) | Should -BeNullOrEmpty
    }
    It 'refuses <Why>' -TestCases @(
        @{ Why = 'a duration below 1 ms'; Values = @{ Test = [System.Collections.Generic.List[string]]@('CMD', 'x'); Interval = [timespan]::FromTicks(5) }; Id = 'InvalidHealthCheck' }
        @{ Why = 'a negative duration'; Values = @{ Test = [System.Collections.Generic.List[string]]@('CMD', 'x'); Timeout = [timespan]::FromSeconds(-1) }; Id = 'InvalidHealthCheck' }
        @{ Why = 'negative retries'; Values = @{ Test = [System.Collections.Generic.List[string]]@('CMD', 'x'); Retries = -1 }; Id = 'InvalidHealthCheck' }
        @{ Why = 'a test that is not docker''s form'; Values = @{ Test = [System.Collections.Generic.List[string]]@('RUN', 'x') }; Id = 'InvalidHealthCheck' }
        @{ Why = 'CMD without a command'; Values = @{ Test = [System.Collections.Generic.List[string]]@('CMD') }; Id = 'InvalidHealthCheck' }
    ) {
        param($Why, $Values, $Id)
        $err = $null
        try { $script:H::Effective($null, (User $Values), $false) } catch { $err = $_.Exception.InnerException ?? $_.Exception }
        $err.ErrorId | Should -Be $Id
    }
    It 'refuses -NoHealthCheck with a command or an action on failure' {
        $err = $null
        try { $script:H::Effective($null, (User @{ Test = [System.Collections.Generic.List[string]]@('CMD', 'x') }), $true) } catch { $err = $_.Exception.InnerException ?? $_.Exception }
        $err.ErrorId | Should -Be 'ConflictingOptions'
    }
}

Describe 'HealthChecks.TestOf (-HealthCommand)' {
    It 'makes one string a shell command line (CMD-SHELL)' {
        $script:H::TestOf([string[]]@('curl -f http://localhost/ || exit 1')) | Should -Be @('CMD-SHELL', 'curl -f http://localhost/ || exit 1')
    }
    It 'makes several strings a command with arguments (CMD)' {
        $script:H::TestOf([string[]]@('/bin/check', '--quick')) | Should -Be @('CMD', '/bin/check', '--quick')
    }
    It 'takes docker''s form as written' {
        $script:H::TestOf([string[]]@('CMD', 'true')) | Should -Be @('CMD', 'true')
        $script:H::TestOf([string[]]@('CMD-SHELL', 'true')) | Should -Be @('CMD-SHELL', 'true')
        $script:H::TestOf([string[]]@('NONE')) | Should -Be @('NONE')
    }
    It 'runs CMD-SHELL with /bin/sh -c and CMD as given' {
        $c = User @{ Test = [System.Collections.Generic.List[string]]@('CMD-SHELL', 'a && b') }
        $script:H::Argv($c, $null) | Should -Be @('/bin/sh', '-c', 'a && b')
        $script:H::Argv((User @{ Test = [System.Collections.Generic.List[string]]@('CMD', 'x', 'y') }), $null) | Should -Be @('x', 'y')
    }
    It 'prints durations as Go does in docker''s timeout message' {
        $script:H::GoDuration([timespan]::FromMilliseconds(300)) | Should -Be '300ms'
        $script:H::GoDuration([timespan]::FromSeconds(30)) | Should -Be '30s'
        $script:H::GoDuration([timespan]::FromSeconds(90)) | Should -Be '1m30s'
    }
}
