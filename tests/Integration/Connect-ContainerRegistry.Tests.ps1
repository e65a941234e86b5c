# Logins against real registries: htpasswd Basic auth over TLS with a CA made here, and token auth with
# our own token endpoint (ES256 JWTs with an x5c chain leading to the registry's rootcertbundle).
# Covers Connect-/Disconnect-ContainerRegistry, Get-ContainerImageTag and pulls/pushes that need a login.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:Work = New-TestStorageRoot 'regauth'
    New-BusyboxRootFs "$Work/l-base" | Out-Null
    $script:A = New-TestOciLayout -Path "$Work/oci-a" -LayerDirs "$Work/l-base" -Tag a
    $script:Basic = Start-TestRegistry -Dir "$Work/basic" -Auth Basic
    $script:Token = Start-TestRegistry -Dir "$Work/token" -Auth Token
    Copy-TestImage "oci:$Work/oci-a:a" "docker://$($Basic.Address)/app:a" $Basic
    Copy-TestImage "oci:$Work/oci-a:a" "docker://$($Token.Address)/app:a" $Token
    $script:Good = [pscredential]::new('tester', (ConvertTo-SecureString 'S3cret-pass' -AsPlainText -Force))
    $script:Bad = [pscredential]::new('tester', (ConvertTo-SecureString 'wrong-pass' -AsPlainText -Force))
    $script:Pull = 'Containers.Cmdlets.Registry.RequestContainerImageCommand'
    $script:Conn = 'Containers.Cmdlets.Registry.ConnectContainerRegistryCommand'
}

AfterAll {
    Stop-TestRegistry $script:Basic
    Stop-TestRegistry $script:Token
    Remove-Item Env:PSCONTAINERS_AUTH_FILE -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $script:Work
}

Describe 'Registry logins (<Mode>)' -ForEach @(@{ Mode = 'Basic' }, @{ Mode = 'Token' }) {
    BeforeAll {
        $script:Reg = if ($Mode -eq 'Basic') { $Basic } else { $Token }
        $script:Addr = $Reg.Address
        $script:Tls = if ($Reg.CA) { @{ CertificatePath = $Reg.CA } } else { @{} }
    }
    BeforeEach {
        $script:Root = New-TestStorageRoot 'auth'
        $env:PSCONTAINERS_AUTH_FILE = "$Root/auth.json"
    }
    AfterEach { Remove-TestStorageRoot $script:Root }

    It 'rejects a wrong password with a PermissionDenied error and stores nothing' {
        Connect-ContainerRegistry $Addr -Credential $Bad @Tls -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "RegistryAuthenticationFailed,$Conn"
        "$($err[0].CategoryInfo.Category)" | Should -Be 'PermissionDenied'
        Test-Path $env:PSCONTAINERS_AUTH_FILE | Should -BeFalse
    }

    It 'fails a pull with a wrong -Credential as PermissionDenied' {
        Request-ContainerImage "$Addr/app:a" -Credential $Bad @Tls -StorageRoot $Root -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "RegistryAuthenticationFailed,$Pull"
        "$($err[0].CategoryInfo.Category)" | Should -Be 'PermissionDenied'
    }

    It 'fails a pull without any login as PermissionDenied' {
        Request-ContainerImage "$Addr/app:a" @Tls -StorageRoot $Root -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "RegistryAuthenticationFailed,$Pull"
        "$($err[0].CategoryInfo.Category)" | Should -Be 'PermissionDenied'
    }

    It 'stores a login root-only in the auths format and reuses it for pulls and tag listings' {
        $login = Connect-ContainerRegistry $Addr -Credential $Good @Tls -PassThru
        $login.Registry | Should -Be $Addr
        $login.UserName | Should -Be 'tester'
        [int](Get-Item $env:PSCONTAINERS_AUTH_FILE).UnixFileMode | Should -Be 384 -Because 'mode 0600: readable by its owner (root) only'
        $doc = Get-Content -Raw $env:PSCONTAINERS_AUTH_FILE | ConvertFrom-Json
        [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($doc.auths.$Addr.auth)) | Should -Be 'tester:S3cret-pass'
        $r = Request-ContainerImage "$Addr/app:a" @Tls -StorageRoot $Root
        $r.Digest | Should -Be $A.Digest
        (Get-ContainerImageTag "$Addr/app" @Tls).Tag | Should -Be @('a')
    }

    It 'reuses a login written by another tool in the same auths format' {
        $auth = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes('tester:S3cret-pass'))
        Set-Content $env:PSCONTAINERS_AUTH_FILE "{`"auths`":{`"https://$Addr`":{`"auth`":`"$auth`"}}}"
        (Request-ContainerImage "$Addr/app:a" @Tls -StorageRoot $Root).Digest | Should -Be $A.Digest
    }

    It 'pushes with a login' {
        Request-ContainerImage "$Addr/app:a" -Credential $Good @Tls -StorageRoot $Root | Out-Null
        $p = Publish-ContainerImage "$Addr/app:a" "$Addr/copy:pushed" -Credential $Good @Tls -StorageRoot $Root
        $p.Digest | Should -Be $A.Digest
        (Get-ContainerImageTag "$Addr/copy" -Credential $Good @Tls).Tag | Should -Be @('pushed')
    }

    It 'removes a login with Disconnect-ContainerRegistry, and says when there is none' {
        Connect-ContainerRegistry $Addr -Credential $Good @Tls
        Disconnect-ContainerRegistry $Addr
        (Get-Content -Raw $env:PSCONTAINERS_AUTH_FILE | ConvertFrom-Json).auths.PSObject.Properties.Name | Should -Not -Contain $Addr
        Disconnect-ContainerRegistry $Addr -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'RegistryLoginNotFound,Containers.Cmdlets.Registry.DisconnectContainerRegistryCommand'
        "$($err[0].CategoryInfo.Category)" | Should -Be 'ObjectNotFound'
    }

    It 'leaves the login file alone with -WhatIf' {
        Connect-ContainerRegistry $Addr -Credential $Good @Tls -WhatIf
        Test-Path $env:PSCONTAINERS_AUTH_FILE | Should -BeFalse
    }
}

Describe 'TLS trust' {
    BeforeEach { $script:Root = New-TestStorageRoot 'tls'; $env:PSCONTAINERS_AUTH_FILE = "$Root/auth.json" }
    AfterEach { Remove-TestStorageRoot $script:Root }

    It 'refuses a registry whose CA is not trusted' {
        Request-ContainerImage "$($Basic.Address)/app:a" -Credential $Good -StorageRoot $Root -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "RegistryCertificateInvalid,$Pull"
    }

    It 'accepts it with -Insecure' {
        (Request-ContainerImage "$($Basic.Address)/app:a" -Credential $Good -Insecure -StorageRoot $Root).Digest | Should -Be $A.Digest
    }
}

Describe 'Get-ContainerImageTag errors' {
    It 'fails with <Id> for <Case>' -TestCases @(
        @{ Case = 'an unknown repository'; Repo = 'nothing/here'; Id = 'RepositoryNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'a repository with a tag'; Repo = 'app:a'; Id = 'InvalidRepositoryName'; Category = 'InvalidArgument' }
    ) {
        param($Case, $Repo, $Id, $Category)
        Get-ContainerImageTag "$($Token.Address)/$Repo" -Credential $Good -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "$Id,Containers.Cmdlets.Registry.GetContainerImageTagCommand"
        "$($err[0].CategoryInfo.Category)" | Should -Be $Category
    }
}
