# Registry client pieces that need no network: challenge parsing, registry names, loopback detection,
# the login store (auths format, mode 0600, fallbacks).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:Tmp = Join-Path ([IO.Path]::GetTempPath()) ("reg-unit-" + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Force $Tmp | Out-Null
}
AfterAll { Remove-Item -Recurse -Force $script:Tmp -ErrorAction SilentlyContinue }

Describe 'WWW-Authenticate parsing' {
    It 'reads realm, service and a scope holding commas and colons' {
        $p = [Containers.Engine.Registry.AuthChallenge]::ParseParameters('realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull,push"')
        $p['realm'] | Should -Be 'https://auth.docker.io/token'
        $p['service'] | Should -Be 'registry.docker.io'
        $p['scope'] | Should -Be 'repository:library/debian:pull,push'
    }
    It 'reads unquoted values and escaped quotes' {
        $p = [Containers.Engine.Registry.AuthChallenge]::ParseParameters('realm=test, error="say \"no\""')
        $p['realm'] | Should -Be 'test'
        $p['error'] | Should -Be 'say "no"'
    }
}

Describe 'Registry names and references' {
    It 'normalises <In> to <Out>' -TestCases @(
        @{ In = 'https://index.docker.io/v1/'; Out = 'docker.io' }
        @{ In = 'localhost:5000'; Out = 'localhost:5000' }
        @{ In = 'http://127.0.0.1:5000/'; Out = '127.0.0.1:5000' }
        @{ In = 'registry-1.docker.io'; Out = 'docker.io' }
    ) { param($In, $Out) [Containers.Engine.Registry.RegistryReference]::NormalizeRegistry($In) | Should -Be $Out }

    It 'rejects a registry name with a path' {
        { [Containers.Engine.Registry.RegistryReference]::NormalizeRegistry('example.com/some/repo') } | Should -Throw '*not a valid registry name*'
    }

    It 'maps short names to Docker Hub and its API host' {
        $r = [Containers.Engine.Registry.RegistryReference]::Parse('debian')
        $r.Registry | Should -Be 'docker.io'
        $r.Repository | Should -Be 'library/debian'
        $r.Selector | Should -Be 'latest'
        $r.ApiHost | Should -Be 'registry-1.docker.io'
    }

    It 'fetches by digest when one is given' {
        $d = 'sha256:' + ('a' * 64)
        $r = [Containers.Engine.Registry.RegistryReference]::Parse("localhost:5000/app:1@$d")
        $r.Selector | Should -Be $d
        $r.Registry | Should -Be 'localhost:5000'
    }

    It 'allows plain HTTP for <Name>: <Expected>' -TestCases @(
        @{ Name = 'localhost:5000'; Expected = $true }
        @{ Name = '127.0.0.1:5000'; Expected = $true }
        @{ Name = '[::1]:5000'; Expected = $true }
        @{ Name = 'registry.example.com'; Expected = $false }
        @{ Name = '10.1.2.3:5000'; Expected = $false }
    ) { param($Name, $Expected) [Containers.Engine.Registry.RegistryClient]::IsLoopback($Name) | Should -Be $Expected }
}

Describe 'Login store' {
    It 'writes the auths format with mode 0600 and reads it back' {
        $f = Join-Path $Tmp 'a/auth.json'
        $s = [Containers.Engine.Registry.CredentialStore]::new($f)
        $s.Set('localhost:5000', [Containers.Engine.Registry.RegistryCredential]::new('u', 'p:w'))
        [int](Get-Item $f).UnixFileMode | Should -Be 384
        $doc = Get-Content -Raw $f | ConvertFrom-Json
        [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($doc.auths.'localhost:5000'.auth)) | Should -Be 'u:p:w'
        $c = $s.Get('localhost:5000')
        $c.UserName | Should -Be 'u'
        $c.Password | Should -Be 'p:w'
    }

    It 'keeps other entries and keys it does not know when updating' {
        $f = Join-Path $Tmp 'b.json'
        Set-Content $f '{"auths":{"other.example":{"auth":"eDp5"}},"credHelpers":{"x":"y"}}'
        $s = [Containers.Engine.Registry.CredentialStore]::new($f)
        $s.Set('localhost:5000', [Containers.Engine.Registry.RegistryCredential]::new('u', 'p'))
        $doc = Get-Content -Raw $f | ConvertFrom-Json
        $doc.auths.'other.example'.auth | Should -Be 'eDp5'
        $doc.credHelpers.x | Should -Be 'y'
        $s.Remove('localhost:5000') | Should -BeTrue
        $s.Remove('localhost:5000') | Should -BeFalse
        $s.Get('localhost:5000') | Should -BeNullOrEmpty
    }

    It 'finds Docker Hub logins stored under the legacy index URL' {
        $f = Join-Path $Tmp 'c.json'
        $auth = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes('hubuser:hubpass'))
        Set-Content $f "{`"auths`":{`"https://index.docker.io/v1/`":{`"auth`":`"$auth`"}}}"
        [Containers.Engine.Registry.CredentialStore]::new($f).Get('docker.io').UserName | Should -Be 'hubuser'
    }

    It 'reports an invalid login file' {
        $f = Join-Path $Tmp 'd.json'
        Set-Content $f '{not json'
        { [Containers.Engine.Registry.CredentialStore]::new($f).Set('x.example', [Containers.Engine.Registry.RegistryCredential]::new('u', 'p')) } | Should -Throw '*not valid JSON*'
    }
}
