# Build-ContainerImage -Network (issue 12, item 1): RUN steps on the default bridge network (the default), on none,
# or on the host's network (for a RUN that must reach a package mirror); RUN --network= for one step; several -Tag.
# No traffic leaves the machine: the RUNs only list their interfaces.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'build-gaps-net'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root; 'Build-ContainerImage:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        New-Item -ItemType SymbolicLink -Force -Path "$rootfs/bin/readlink" -Target busybox | Out-Null
        Import-ContainerImage -RootFs -LiteralPath $rootfs -Name busybox:latest -StorageRoot $script:root | Out-Null
    }
    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path $script:ctx | Out-Null
    function script:Cat([string] $Image, [string] $Path) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Entrypoint cat -Command $Path -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.TrimEnd()
    }
    # the interface names a RUN saw (ip -o link: "N: name: <...>")
    function script:Links([string] $Text) { @($Text -split "`n" | ForEach-Object { if ($_ -match '^\d+:\s+([^:@]+)') { $Matches[1] } }) }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Build-ContainerImage -Network' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'runs RUN on the bridge network by default, with an address, and RUN --network=none overrides it for one step' {
        $img = Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nRUN readlink /proc/self/ns/net > /ns; ip -o link > /bridge; ip -o -4 addr > /bridge-addr`nRUN --network=none ip -o link > /none" -Tag net:bridge, net:also -Quiet
        Cat 'net:bridge' /ns | Should -Not -Be (& readlink /proc/self/ns/net)
        Links (Cat 'net:bridge' /bridge) | Should -Contain 'eth0'
        (Cat 'net:bridge' /bridge-addr) | Should -Match 'eth0\s+inet \d+\.\d+\.\d+\.\d+/\d+'
        Links (Cat 'net:bridge' /none) | Should -Be @('lo')
        # several -Tag name the one image
        (Get-ContainerImage net:also).Id | Should -Be $img.Id
    }

    It 'runs RUN without a network with -Network none' {
        $null = Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nRUN ip -o link > /links" -Tag net:none -Network none -Quiet -NoCache
        Links (Cat 'net:none' /links) | Should -Be @('lo')
    }

    It 'runs RUN in the host''s network with -Network host' {
        $null = Build-ContainerImage -Path $script:ctx -InlineDockerfile "FROM busybox`nRUN readlink /proc/self/ns/net > /ns; ip -o link > /links" -Tag net:host -Network host -Quiet -NoCache
        # the host's own network namespace, and its interface of the default route
        Cat 'net:host' /ns | Should -Be (& readlink /proc/self/ns/net)
        $uplink = (& awk 'NR>1 && $2=="00000000" {print $1; exit}' /proc/net/route)
        Links (Cat 'net:host' /links) | Should -Contain $uplink
    }
}
