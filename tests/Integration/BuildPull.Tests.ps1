# Build-ContainerImage -Pull Missing|Always|Never (issue 12): FROM and COPY --from images are pulled through the
# engine's registry client (Request-ContainerImage's), with its name resolution. Network safety: every name here is
# on a registry the test starts on loopback, or on a loopback port where nothing listens (a contact fails the build).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:root = New-TestStorageRoot 'build-gaps-pull'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root
        'Build-ContainerImage:StorageRoot' = $script:root; 'Publish-ContainerImage:StorageRoot' = $script:root; 'Request-ContainerImage:StorageRoot' = $script:root }
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path $script:ctx | Out-Null
    # base vN: busybox plus /etc/fix-version = vN
    function script:Import-Base([string] $Version) {
        Set-Content -LiteralPath "$($script:rootfs)/etc/fix-version" -Value $Version -NoNewline
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name "localhost/pullbase:$Version" -StorageRoot $script:root
    }
    function script:Build([string] $Dockerfile, [hashtable] $Extra = @{}) {
        Build-ContainerImage -Path $script:ctx -InlineDockerfile $Dockerfile -Network none -Quiet -ErrorVariable ev @Extra
        $script:err = @($ev)
    }
    function script:Ann($Image, [string] $Key) {
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        ([Text.Encoding]::UTF8.GetString($store.ReadManifest($Image)) | ConvertFrom-Json).annotations.$Key
    }
    function script:Cat([string] $Image, [string] $Path) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Entrypoint cat -Command $Path -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.Trim()
    }
    if ($script:IsRoot) {
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
        $script:reg = Start-TestRegistry -Dir (Join-Path $script:root 'registry') -Auth None
        $null = Import-Base 'v1'
        Publish-ContainerImage localhost/pullbase:v1 "$($script:reg.Address)/pullbase:latest" | Out-Null
        # a loopback port with nothing listening: a build that contacts this "registry" fails
        $script:dead = "127.0.0.1:$(Get-FreeTcpPort)"
    }
}
AfterAll {
    if ($script:reg) { Stop-TestRegistry $script:reg }
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage -Pull' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'Missing (the default) pulls a FROM image the store lacks and records what it pulled as the base' {
        $name = "$($script:reg.Address)/pullbase"
        Get-ContainerImage $name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $img = Build "FROM $name`nRUN cat /etc/fix-version > /seen" -Extra @{ Tag = 'pulled:1' }
        $script:err | Should -BeNullOrEmpty
        Cat 'pulled:1' /seen | Should -Be 'v1'
        $local = Get-ContainerImage $name
        $local | Should -Not -BeNullOrEmpty
        (Ann $img 'org.opencontainers.image.base.name') | Should -Be $name
        (Ann $img 'org.opencontainers.image.base.digest') | Should -Be $local.ManifestDigest
    }

    It 'Missing does not contact the registry when the store has the image' {
        # the name's registry is a loopback port where nothing listens: only the local image can satisfy it
        Add-ContainerImageTag localhost/pullbase:v1 "$($script:dead)/pullbase:v1" | Out-Null
        $img = Build "FROM $($script:dead)/pullbase:v1`nRUN cat /etc/fix-version > /seen" -Extra @{ Tag = 'present:1' }
        $script:err | Should -BeNullOrEmpty
        Cat 'present:1' /seen | Should -Be 'v1'
        # -Pull Always must ask that registry: it fails, naming the line, and nothing is left behind
        $null = Build "FROM $($script:dead)/pullbase:v1" -Extra @{ Pull = 'Always'; Tag = 'present:2'; ErrorAction = 'SilentlyContinue' }
        $script:err.Count | Should -Be 1
        $script:err[0].Exception.Message | Should -Match 'line 1'
        $script:err[0].Exception.Message | Should -Match ([regex]::Escape($script:dead))
        Get-ContainerImage present:2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-Container -All) | Should -BeNullOrEmpty
    }

    It 'Always re-resolves the name in its registry and builds on the newer digest; Missing keeps the local one' {
        $name = "$($script:reg.Address)/pullbase:latest"
        $null = Request-ContainerImage $name
        $old = (Get-ContainerImage $name).ManifestDigest
        # the registry's tag moves to v2 (a security fix)
        $null = Import-Base 'v2'
        Publish-ContainerImage localhost/pullbase:v2 $name | Out-Null
        $a = Build "FROM $name`nRUN cat /etc/fix-version > /seen" -Extra @{ Tag = 'always:missing' }
        Cat 'always:missing' /seen | Should -Be 'v1'
        (Ann $a 'org.opencontainers.image.base.digest') | Should -Be $old
        $b = Build "FROM $name`nRUN cat /etc/fix-version > /seen" -Extra @{ Tag = 'always:always'; Pull = 'Always' }
        $script:err | Should -BeNullOrEmpty
        Cat 'always:always' /seen | Should -Be 'v2'
        $new = (Get-ContainerImage $name).ManifestDigest
        $new | Should -Not -Be $old
        (Ann $b 'org.opencontainers.image.base.digest') | Should -Be $new
    }

    It 'COPY --from=<image> pulls the image the same way' {
        $null = Import-Base 'v3'
        Publish-ContainerImage localhost/pullbase:v3 "$($script:reg.Address)/pullbase:v3" | Out-Null
        $null = Build "FROM busybox`nCOPY --from=$($script:reg.Address)/pullbase:v3 /etc/fix-version /copied" -Extra @{ Tag = 'copyfrom:1' }
        $script:err | Should -BeNullOrEmpty
        Cat 'copyfrom:1' /copied | Should -Be 'v3'
    }

    It 'Never fails with ImageNotFound naming the Dockerfile line, for FROM and for COPY --from' {
        $null = Build "FROM $($script:reg.Address)/pullbase:never" -Extra @{ Pull = 'Never'; ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound*'
        $script:err[0].Exception.Message | Should -Match 'line 1'
        $null = Build "FROM busybox`n# a comment`nCOPY --from=$($script:dead)/none:1 /x /x" -Extra @{ Pull = 'Never'; ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound*'
        $script:err[0].Exception.Message | Should -Match 'line 3'
        # the image is on the registry: Never still does not pull it
        Get-ContainerImage "$($script:reg.Address)/pullbase:v3" -ErrorAction SilentlyContinue | Remove-ContainerImage -Force
        $null = Build "FROM $($script:reg.Address)/pullbase:v3" -Extra @{ Pull = 'Never'; ErrorAction = 'SilentlyContinue' }
        $script:err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound*'
        Get-ContainerImage "$($script:reg.Address)/pullbase:v3" -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'a failed pull (Missing, nothing listening) is an error naming the line, and leaves nothing' {
        $before = @(Get-ContainerImage).Count
        $null = Build "FROM busybox AS a`nRUN true`nFROM $($script:dead)/nothing:1`nRUN true" -Extra @{ ErrorAction = 'SilentlyContinue' }
        $script:err.Count | Should -Be 1
        $script:err[0].Exception.Message | Should -Match 'line 3'
        @(Get-ContainerImage).Count | Should -Be $before
        @(Get-Container -All) | Should -BeNullOrEmpty
        # (a removed container's directory may still wait in tmp/rm-* for the runtime's background delete)
        @(Get-ChildItem -LiteralPath (Join-Path $script:root 'tmp') -ErrorAction SilentlyContinue | Where-Object Name -NotLike 'rm-*') | Should -BeNullOrEmpty
    }
}
