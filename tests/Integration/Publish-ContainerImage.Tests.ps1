# Push to a real registry (no auth): skipped and mounted blobs, and interop: what we push, podman pulls and runs.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:Work = New-TestStorageRoot 'regpush'
    $script:Reg = Start-TestRegistry -Dir "$Work/registry" -Auth None
    $script:Addr = $Reg.Address
    $env:PSCONTAINERS_AUTH_FILE = "$Work/auth.json"
    New-BusyboxRootFs "$Work/l-base" | Out-Null
    New-Item -ItemType Directory -Force "$Work/l-app" | Out-Null
    Set-Content "$Work/l-app/greeting" 'pushed by Containers'
    $script:B = New-TestOciLayout -Path "$Work/oci-b" -LayerDirs "$Work/l-base", "$Work/l-app" -Tag b -Cmd @('/bin/cat', '/greeting')
    Copy-TestImage "oci:$Work/oci-b:b" "docker://$Addr/src:b" $Reg
    $script:Root = New-TestStorageRoot 'push'
    Request-ContainerImage "$Addr/src:b" -StorageRoot $Root | Out-Null
    $script:Cmd = 'Containers.Cmdlets.Registry.PublishContainerImageCommand'
}

AfterAll {
    Stop-TestRegistry $script:Reg
    Remove-Item Env:PSCONTAINERS_AUTH_FILE -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $script:Root
    Remove-TestStorageRoot $script:Work
}

Describe 'Publish-ContainerImage' {
    It 'mounts blobs from the source repository and skips what the target has' {
        $p = Publish-ContainerImage "$Addr/src:b" "$Addr/dst:1" -StorageRoot $Root
        $p.Digest | Should -Be $B.Digest
        ($p.BlobsMounted + $p.BlobsUploaded) | Should -Be 3
        $p.BlobsMounted | Should -Be 3
        $again = Publish-ContainerImage "$Addr/src:b" "$Addr/dst:2" -StorageRoot $Root
        $again.BlobsSkipped | Should -Be 3
        $again.BytesUploaded | Should -Be 0
    }

    It 'uploads to a new registry name and the result pulls with skopeo byte for byte' {
        $p = Publish-ContainerImage "$Addr/src:b" "$Addr/other/name:x" -StorageRoot $Root
        $p.Digest | Should -Be $B.Digest
        $out = & skopeo inspect --raw --tls-verify=false "docker://$Addr/other/name:x"
        $LASTEXITCODE | Should -Be 0
        'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes(($out -join "`n")))) | Should -Be $B.Digest
    }

    It 'pushes an image that podman pulls and runs' {
        if (-not (Test-Prerequisite -Condition (Test-Command podman) -Because 'podman is needed for the interop test')) { return }
        Publish-ContainerImage "$Addr/src:b" "$Addr/interop:1" -StorageRoot $Root | Out-Null
        # podman wants a short runroot: a throw-away dir in /tmp, removed below
        $p = "/tmp/ctr-pm-" + [Guid]::NewGuid().ToString('N').Substring(0, 8)
        $pa = @('--root', "$p/root", '--runroot', "$p/run", '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
        & podman @pa pull -q --tls-verify=false "$Addr/interop:1" | Out-Null
        $LASTEXITCODE | Should -Be 0
        $out = & podman @pa run --rm --network none "$Addr/interop:1" 2>&1
        & podman @pa rmi -a -f 2>&1 | Out-Null
        & podman @pa system reset -f 2>&1 | Out-Null
        & rm -rf --one-file-system $p
        "$out" | Should -Match 'pushed by Containers'
    }

    It 'accepts the image from the pipeline by Name' {
        $p = [pscustomobject]@{ Name = "$Addr/src:b" } | Publish-ContainerImage -Destination "$Addr/piped:1" -StorageRoot $Root
        $p.Digest | Should -Be $B.Digest
    }

    It 'changes nothing in the registry with -WhatIf' {
        Publish-ContainerImage "$Addr/src:b" "$Addr/whatif:1" -StorageRoot $Root -WhatIf
        & skopeo inspect --raw --tls-verify=false "docker://$Addr/whatif:1" 2>$null | Out-Null
        $LASTEXITCODE | Should -Not -Be 0
    }

    It 'fails with ImageNotFound for an image that is not stored' {
        Publish-ContainerImage "$Addr/none:1" -StorageRoot $Root -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "ImageNotFound,$Cmd"
        "$($err[0].CategoryInfo.Category)" | Should -Be 'ObjectNotFound'
    }
}
