# A registry is hostile input too: one that sends a manifest or a config without end, or declares a body
# of a gigabyte, must get a specific error quickly, without the session reading it all into memory.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    if (-not ('HostileRegistryTests.HostileRegistry' -as [type])) {
        Add-Type -Path (Join-Path $PSScriptRoot '../Registry/HostileRegistryServer.cs')
    }
    $script:root = New-TestStorageRoot 'hostilereg'
    $script:server = [HostileRegistryTests.HostileRegistry]::new()
    $script:reg = "127.0.0.1:$($script:server.Port)"
}
AfterAll {
    if ($script:server) { $script:server.Dispose() }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Request-ContainerImage from a hostile registry' {
    It 'refuses <Case> with <ErrorId> after reading at most a few MiB' -TestCases @(
        @{ Case = 'a manifest without end'; Tag = 'endless'; ErrorId = 'ManifestTooLarge' }
        @{ Case = 'a manifest that declares 1 GiB'; Tag = 'declared'; ErrorId = 'ManifestTooLarge' }
    ) {
        $before = $script:server.BytesSent
        { Request-ContainerImage "$($script:reg)/evil/img:$Tag" -StorageRoot $script:root -ErrorAction Stop } |
            Should -Throw -ErrorId "$ErrorId,Containers.Cmdlets.Registry.RequestContainerImageCommand"
        ($script:server.BytesSent - $before) | Should -BeLessThan (64MB) -Because 'the client stops reading past the 4 MiB limit (socket buffers hold the rest)'
        @(Get-ChildItem (Join-Path $script:root 'tmp') -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'refuses a config blob without end with ConfigTooLarge' {
        $before = $script:server.BytesSent
        { Request-ContainerImage "$($script:reg)/evil/img:endless-config" -StorageRoot $script:root -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConfigTooLarge,Containers.Cmdlets.Registry.RequestContainerImageCommand'
        ($script:server.BytesSent - $before) | Should -BeLessThan (128MB)
        @(Get-ContainerImage -StorageRoot $script:root).Count | Should -Be 0
    }
}
