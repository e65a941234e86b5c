# The image reference parser: Docker's grammar and normalisation, a clear ErrorId for each invalid form.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    # the engine assembly loads lazily; load it so its public types are visible here
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
}

Describe 'ImageReference.Parse' {
    It 'normalises <Ref> to <Full>' -TestCases @(
        @{ Ref = 'busybox'; Full = 'docker.io/library/busybox:latest'; Familiar = 'busybox:latest' }
        @{ Ref = 'busybox:1.36'; Full = 'docker.io/library/busybox:1.36'; Familiar = 'busybox:1.36' }
        @{ Ref = 'library/busybox'; Full = 'docker.io/library/busybox:latest'; Familiar = 'busybox:latest' }
        @{ Ref = 'docker.io/busybox'; Full = 'docker.io/library/busybox:latest'; Familiar = 'busybox:latest' }
        @{ Ref = 'index.docker.io/library/busybox'; Full = 'docker.io/library/busybox:latest'; Familiar = 'busybox:latest' }
        @{ Ref = 'myorg/app:v1'; Full = 'docker.io/myorg/app:v1'; Familiar = 'myorg/app:v1' }
        @{ Ref = 'localhost:5000/app'; Full = 'localhost:5000/app:latest'; Familiar = 'localhost:5000/app:latest' }
        @{ Ref = 'localhost/app:1'; Full = 'localhost/app:1'; Familiar = 'localhost/app:1' }
        @{ Ref = '127.0.0.1:5000/a/b/c:x_y.z-1'; Full = '127.0.0.1:5000/a/b/c:x_y.z-1'; Familiar = '127.0.0.1:5000/a/b/c:x_y.z-1' }
        @{ Ref = 'quay.io/podman/hello:latest'; Full = 'quay.io/podman/hello:latest'; Familiar = 'quay.io/podman/hello:latest' }
        @{ Ref = 'Example.com/app'; Full = 'Example.com/app:latest'; Familiar = 'Example.com/app:latest' }
        @{ Ref = '[::1]:5000/app:1'; Full = '[::1]:5000/app:1'; Familiar = '[::1]:5000/app:1' }
        @{ Ref = 'a__b/c-d---e.f_g'; Full = 'docker.io/a__b/c-d---e.f_g:latest'; Familiar = 'a__b/c-d---e.f_g:latest' }
    ) {
        $r = [Containers.Engine.Spec.ImageReference]::Parse($Ref)
        $r.ToString() | Should -BeExactly $Full
        $r.FamiliarName | Should -BeExactly $Familiar
    }

    It 'keeps a digest and a tag with a digest' {
        $d = 'sha256:' + ('a' * 64)
        $r = [Containers.Engine.Spec.ImageReference]::Parse("busybox@$d")
        $r.Tag | Should -BeNullOrEmpty
        $r.Digest | Should -BeExactly $d
        $r.ToString() | Should -BeExactly "docker.io/library/busybox@$d"
        $r2 = [Containers.Engine.Spec.ImageReference]::Parse("localhost:5000/x:1@$d")
        $r2.Registry | Should -BeExactly 'localhost:5000'
        $r2.Repository | Should -BeExactly 'x'
        $r2.Tag | Should -BeExactly '1'
        $r2.Digest | Should -BeExactly $d
    }

    It 'splits registry, repository and tag' {
        $r = [Containers.Engine.Spec.ImageReference]::Parse('registry.example.com:443/team/tool:2')
        $r.Registry | Should -BeExactly 'registry.example.com:443'
        $r.Repository | Should -BeExactly 'team/tool'
        $r.Tag | Should -BeExactly '2'
        $r.Name | Should -BeExactly 'registry.example.com:443/team/tool'
    }

    It 'refuses <Ref> with <ErrorId>' -TestCases @(
        @{ Ref = ''; ErrorId = 'InvalidReferenceEmpty' }
        @{ Ref = '   '; ErrorId = 'InvalidReferenceEmpty' }
        @{ Ref = 'BusyBox'; ErrorId = 'InvalidReferenceNotLowercase' }
        @{ Ref = 'myorg/App'; ErrorId = 'InvalidReferenceNotLowercase' }
        @{ Ref = 'busybox:'; ErrorId = 'InvalidReferenceTag' }
        @{ Ref = 'busybox:-x'; ErrorId = 'InvalidReferenceTag' }
        @{ Ref = ('busybox:' + ('t' * 129)); ErrorId = 'InvalidReferenceTag' }
        @{ Ref = 'busybox@sha256:abc'; ErrorId = 'InvalidReferenceDigest' }
        @{ Ref = 'busybox@notadigest'; ErrorId = 'InvalidReferenceDigest' }
        @{ Ref = ':tag'; ErrorId = 'InvalidReferenceFormat' }
        @{ Ref = 'a//b'; ErrorId = 'InvalidReferenceFormat' }
        @{ Ref = '-abc'; ErrorId = 'InvalidReferenceFormat' }
        @{ Ref = 'abc-'; ErrorId = 'InvalidReferenceFormat' }
        @{ Ref = 'a/b c'; ErrorId = 'InvalidReferenceFormat' }
        @{ Ref = 'bad_host-.com:5000/x'; ErrorId = 'InvalidReferenceRegistry' }
        @{ Ref = ('a' * 64).Replace('a', 'f'); ErrorId = 'InvalidReferenceAmbiguous' }
        @{ Ref = ('x/' + ('a' * 260)); ErrorId = 'InvalidReferenceTooLong' }
    ) {
        $err = $null
        try { [Containers.Engine.Spec.ImageReference]::Parse($Ref) | Out-Null } catch { $err = $_.Exception.InnerException ?? $_.Exception }
        $err | Should -Not -BeNullOrEmpty
        $err.GetType().Name | Should -BeExactly 'ContainersException'
        $err.ErrorId | Should -BeExactly $ErrorId
        $err.Kind | Should -Be 'InvalidArgument'
    }

    It 'TryParse returns false instead of throwing' {
        $r = $null
        [Containers.Engine.Spec.ImageReference]::TryParse('UPPER', [ref] $r) | Should -BeFalse
        [Containers.Engine.Spec.ImageReference]::TryParse('ok', [ref] $r) | Should -BeTrue
        $r.ToString() | Should -BeExactly 'docker.io/library/ok:latest'
    }

    It 'WithTag replaces the tag and validates it' {
        $r = [Containers.Engine.Spec.ImageReference]::Parse('busybox:1')
        $r.WithTag('2').ToString() | Should -BeExactly 'docker.io/library/busybox:2'
        { $r.WithTag('.bad') } | Should -Throw
    }
}

Describe 'Digest' {
    It 'computes sha256 digests' {
        [Containers.Engine.Spec.Digest]::Of([byte[]]@()) | Should -BeExactly 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    }
    It 'validates <D> as <Ok>' -TestCases @(
        @{ D = 'sha256:' + ('0' * 64); Ok = $true }
        @{ D = 'sha256:' + ('A' * 64); Ok = $false }
        @{ D = 'sha256:' + ('0' * 63); Ok = $false }
        @{ D = 'sha512:' + ('0' * 64); Ok = $false }
    ) { [Containers.Engine.Spec.Digest]::IsSha256($D) | Should -Be $Ok }
}

Describe 'OCI documents' {
    It 'round-trips an image config with unknown fields and reads Docker field names' {
        $json = '{"architecture":"amd64","os":"linux","docker_version":"20.10","config":{"Cmd":["sh"],"Env":["PATH=/bin"],"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGTERM","Labels":{"a":"b"},"Custom":1},"rootfs":{"type":"layers","diff_ids":["sha256:' + ('1' * 64) + '"]},"history":[{"created_by":"x","empty_layer":true}]}'
        $c = [Containers.Engine.Spec.ImageConfig]::Parse([Text.Encoding]::UTF8.GetBytes($json))
        $c.Config.Cmd | Should -Be @('sh')
        $c.Config.ExposedPorts.Keys | Should -Be @('80/tcp')
        $c.Config.StopSignal | Should -BeExactly 'SIGTERM'
        $c.RootFs.DiffIds.Count | Should -Be 1
        $c.History[0].EmptyLayer | Should -BeTrue
        $out = [Text.Encoding]::UTF8.GetString($c.ToJsonBytes())
        $out | Should -Match '"docker_version":"20.10"'
        $out | Should -Match '"Custom":1'
    }
    It 'classifies layer media types' -TestCases @(
        @{ Mt = 'application/vnd.oci.image.layer.v1.tar'; C = 'None' }
        @{ Mt = 'application/vnd.oci.image.layer.v1.tar+gzip'; C = 'Gzip' }
        @{ Mt = 'application/vnd.docker.image.rootfs.diff.tar.gzip'; C = 'Gzip' }
        @{ Mt = 'application/vnd.oci.image.layer.v1.tar+zstd'; C = 'Zstd' }
    ) { [Containers.Engine.Spec.MediaTypes]::LayerCompressionOf($Mt) | Should -Be $C }
    It 'refuses unknown layer media types' {
        [Containers.Engine.Spec.MediaTypes]::LayerCompressionOf('application/vnd.oci.image.layer.v1.tar+encrypted') | Should -BeNullOrEmpty
    }
}
