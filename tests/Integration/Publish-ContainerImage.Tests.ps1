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

Describe 'Publish-ContainerImage of an image pulled through a multi-platform index' {
    BeforeAll {
        # regclient's testrepo v2: an OCI index of linux/amd64, linux/arm64 and linux/arm/v7
        $script:Multi = Join-Path $Fixtures 'images/regclient/testdata/testrepo'
        Copy-TestImage "oci:$($Multi):v2" "docker://$Addr/multi:v2" $Reg -All
        function script:RegistryDigest([string] $Ref) {
            $raw = & skopeo inspect --raw --tls-verify=false "docker://$Ref"
            $LASTEXITCODE | Should -Be 0
            'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes(($raw -join "`n"))))
        }
    }

    It 'pushes the platform manifest alone, with a warning, when only one platform was pulled (as docker does)' {
        $r1 = New-TestStorageRoot 'push-one'
        try {
            $pulled = Request-ContainerImage "$Addr/multi:v2" -Platform linux/amd64 -StorageRoot $r1
            $pulled.IndexDigest | Should -Not -BeNullOrEmpty
            $p = Publish-ContainerImage "$Addr/multi:v2" "$Addr/one:1" -StorageRoot $r1 -WarningVariable w -WarningAction SilentlyContinue
            $p.Digest | Should -Be $pulled.Digest
            RegistryDigest "$Addr/one:1" | Should -Be $pulled.Digest
            "$w" | Should -Match ([regex]::Escape($pulled.IndexDigest))
            "$w" | Should -Match 'only 1 of the 3 manifests'
        }
        finally { Remove-TestStorageRoot $r1 }
    }

    It 'pushes the index with every platform manifest when all of them are local, so the digest is kept' {
        $r2 = New-TestStorageRoot 'push-all'
        try {
            $pulls = foreach ($pf in 'linux/arm64', 'linux/arm/v7', 'linux/amd64') { Request-ContainerImage "$Addr/multi:v2" -Platform $pf -StorageRoot $r2 }
            $index = $pulls[0].IndexDigest
            @($pulls.IndexDigest | Select-Object -Unique) | Should -Be @($index)
            $p = Publish-ContainerImage "$Addr/multi:v2" "$Addr/all:1" -StorageRoot $r2 -WarningVariable w
            $w | Should -BeNullOrEmpty
            $p.Digest | Should -Be $index
            RegistryDigest "$Addr/all:1" | Should -Be $index
            # every platform manifest is there by digest, and pulls back
            foreach ($m in $pulls) { RegistryDigest "$Addr/all@$($m.Digest)" | Should -Be $m.Digest }
            $r3 = New-TestStorageRoot 'push-all-back'
            try {
                $back = Request-ContainerImage "$Addr/all:1" -Platform linux/arm64 -StorageRoot $r3
                $back.IndexDigest | Should -Be $index
                $back.Digest | Should -Be $pulls[0].Digest
            }
            finally { Remove-TestStorageRoot $r3 }
        }
        finally { Remove-TestStorageRoot $r2 }
    }
}
