# User namespaces, the pure parts: the id range type (what the container sees of a host id and back), the mode names
# -UserNamespace takes, and the settings record a new root gets (Auto) while an old one reads as Host.
BeforeAll {
    . (Join-Path $PSScriptRoot '../common.ps1')
    $script:tmp = Join-Path ([IO.Path]::GetTempPath()) "userns-unit-$PID"
}
AfterAll { if ($script:tmp -and (Test-Path $script:tmp)) { Remove-Item -Recurse -Force $script:tmp } }

Describe 'IdRange' {
    It 'maps host ids of the range to the container''s and others to the overflow id' {
        $r = [Containers.Engine.UserNamespaces.IdRange]::new(1000000000, 65536)
        $r.ToContainer(1000000000) | Should -Be 0
        $r.ToContainer(1000001000) | Should -Be 1000
        $r.ToContainer(1000065535) | Should -Be 65535
        $r.ToContainer(1000065536) | Should -Be 65534
        $r.ToContainer(0) | Should -Be 65534
        $r.ToHost(0) | Should -Be 1000000000
        $r.ToHost(1000) | Should -Be 1000001000
        $r.ToString() | Should -Be '1000000000-1000065535'
    }
    It 'tells overlapping ranges from adjacent ones' {
        $a = [Containers.Engine.UserNamespaces.IdRange]::new(100, 65536)
        $a.Overlaps([Containers.Engine.UserNamespaces.IdRange]::new(65636, 65536)) | Should -BeFalse
        $a.Overlaps([Containers.Engine.UserNamespaces.IdRange]::new(65635, 10)) | Should -BeTrue
        $a.Overlaps([Containers.Engine.UserNamespaces.IdRange]::new(0, 101)) | Should -BeTrue
        $a.Overlaps([Containers.Engine.UserNamespaces.IdRange]::new(0, 100)) | Should -BeFalse
    }
    It 'parses the mode names podman uses, and refuses others with InvalidUserNamespace' {
        [Containers.Engine.UserNamespaces.IdRange]::ParseMode('auto') | Should -Be 'Auto'
        [Containers.Engine.UserNamespaces.IdRange]::ParseMode('Host') | Should -Be 'Host'
        [Containers.Engine.UserNamespaces.IdRange]::ParseMode('private') | Should -Be 'Private'
        [Containers.Engine.UserNamespaces.IdRange]::ParseMode('keep-id') | Should -Be 'KeepId'
        $err = $null
        try { [Containers.Engine.UserNamespaces.IdRange]::ParseMode('nsmap') } catch { $err = $_.Exception.InnerException }
        $err.ErrorId | Should -Be 'InvalidUserNamespace'
    }
}

Describe 'The settings record' {
    It 'is written with Auto when a new root is laid out, and kept by the next session' {
        $new = Join-Path $script:tmp 'fresh'
        $root = [Containers.Engine.State.StorageRoot]::Resolve($new)
        (Get-Content -Raw (Join-Path $new 'settings.json')) | Should -Match '"defaultUserNamespace":"Auto"'
        [Containers.Engine.UserNamespaces.HostSettings]::Load($root).DefaultMode | Should -Be 'Auto'
        Set-Content -LiteralPath (Join-Path $new 'settings.json') -Value '{"defaultUserNamespace":"Host"}'
        [Containers.Engine.UserNamespaces.HostSettings]::Load($root).DefaultMode | Should -Be 'Host'
    }
    It 'reads a root without a record as Host, and what Save wrote' {
        $new = Join-Path $script:tmp 'new'
        New-Item -ItemType Directory -Force (Join-Path $new 'containers') | Out-Null
        $root = [Containers.Engine.State.StorageRoot]::Resolve($new)
        Test-Path (Join-Path $new 'settings.json') | Should -BeFalse
        [Containers.Engine.UserNamespaces.HostSettings]::Load($root).DefaultMode | Should -Be 'Host'
        $s = [Containers.Engine.UserNamespaces.HostSettings]::new()
        $s.DefaultUserNamespace = 'Auto'
        $s.Save($root)
        (Get-Content -Raw (Join-Path $new 'settings.json')) | Should -Match '"defaultUserNamespace":"Auto"'
        [Containers.Engine.UserNamespaces.HostSettings]::Load($root).DefaultMode | Should -Be 'Auto'
    }
}
