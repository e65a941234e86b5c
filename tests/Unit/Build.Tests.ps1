# The set-up's package detection (src/Build/AptPackages.ps1), driven by fake dpkg-query programs that
# answer as the real one does for packages it has never heard of, has removed, or keeps only the
# configuration files of; and, as root, the check that every package the README's set-up promises is there.
BeforeAll {
    . (Join-Path $PSScriptRoot '../common.ps1')
    . (Join-Path $PSScriptRoot '../../src/Build/AptPackages.ps1')
    $script:FakeDir = Join-Path ([IO.Path]::GetTempPath()) "fake-dpkg-$PID"
    New-Item -ItemType Directory -Force -Path $script:FakeDir | Out-Null

    function New-FakeDpkgQuery([string] $Name, [hashtable] $Known) {
        # Prints "<pkg>\t<abbrev>\t<status>" for each known package asked for, "dpkg-query: no packages
        # found matching X" on stderr for the others, and exits 1 when any was unknown: dpkg-query's behaviour.
        $cases = foreach ($k in $Known.Keys) { "    $k) printf '%s\t%s\t%s\n' '$k' 'xx' '$($Known[$k])' ;;" }
        $script = @"
#!/bin/sh
rc=0
while [ `$# -gt 0 ]; do case "`$1" in -W) shift ;; -f) shift 2 ;; *) break ;; esac; done
for p in "`$@"; do
  case "`$p" in
$($cases -join "`n")
    *) echo "dpkg-query: no packages found matching `$p" >&2; rc=1 ;;
  esac
done
exit `$rc
"@
        $path = Join-Path $script:FakeDir $Name
        Set-Content -LiteralPath $path -Value $script -NoNewline
        & chmod 755 $path
        $path
    }
}

AfterAll { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $script:FakeDir }

Describe 'Get-MissingAptPackage' {
    It 'counts a package dpkg has never heard of as missing, even when it is the only one asked for' {
        $fake = New-FakeDpkgQuery 'none' @{}
        Get-MissingAptPackage -Package 'debootstrap' -DpkgQuery $fake | Should -Be 'debootstrap'
        Get-MissingAptPackage -Package 'debootstrap', 'podman' -DpkgQuery $fake | Should -Be @('debootstrap', 'podman')
    }

    It 'counts removed and config-files-only packages as missing and installed ones as present' {
        $fake = New-FakeDpkgQuery 'mixed' @{
            'busybox-static' = 'install ok installed'
            'podman'         = 'deinstall ok config-files'
            'skopeo'         = 'unknown ok not-installed'
            'crun'           = 'install ok half-configured'
        }
        Get-MissingAptPackage -Package 'busybox-static', 'podman', 'skopeo', 'crun', 'jq' -DpkgQuery $fake |
            Should -Be @('podman', 'skopeo', 'crun', 'jq')
    }

    It 'returns nothing when every package is installed' {
        $fake = New-FakeDpkgQuery 'all' @{ 'a' = 'install ok installed'; 'b' = 'install ok installed' }
        @(Get-MissingAptPackage -Package 'a', 'b' -DpkgQuery $fake).Count | Should -Be 0
    }

    It 'agrees with the real dpkg-query for a name no Debian package has' {
        if (-not (Test-Prerequisite (Test-Command 'dpkg-query') 'dpkg-query is needed')) { return }
        Get-MissingAptPackage -Package 'no-such-package-pscontainers' | Should -Be 'no-such-package-pscontainers'
    }
}

Describe 'The set-up promised by the README' {
    It 'left every package the tests and the demo need installed' {
        if (-not (Test-Prerequisite ($script:IsRoot -and (Test-Command 'dpkg-query')) 'runs as root on Debian, after build.ps1 -Task Test set up the machine')) { return }
        $missing = @(Get-MissingAptPackage -Package ($script:TestAptPackages + $script:DemoAptPackages))
        $missing | Should -BeNullOrEmpty -Because "build.ps1 -Task Test installs them: $($missing -join ', ')"
    }
}
