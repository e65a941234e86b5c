# Debian packages the project needs, and the detection of which of them are missing. Dot-sourced by
# build.ps1 and by tests/Unit/Build.Tests.ps1 (which drives the detection with fake dpkg-query programs).

# The tests' packages. Peers (podman, skopeo, crun, the registry) are tested against for interop; gcc and
# libc6-dev build the static syscall probe of the seccomp tests.
$script:TestAptPackages = @(
    'busybox-static', 'podman', 'skopeo', 'crun', 'docker-registry', 'apache2-utils', 'iptables', 'nftables',
    'iproute2', 'tmux', 'debootstrap', 'jq', 'openssl', 'curl', 'uidmap', 'procps', 'psmisc', 'qemu-system-x86',
    'cpio', 'attr', 'libcap2-bin', 'gcc', 'libc6-dev',
    # rootless containers (tests/Integration/Rootless.Tests.ps1): their network
    'slirp4netns',
    # the compose loader's peer: docker-compose 1.29.2's `config` (tests/Unit/ComposeLoader.Tests.ps1)
    'docker-compose'
)
# The demo's packages.
$script:DemoAptPackages = @('busybox-static')

function Get-MissingAptPackage {
    <#
    .SYNOPSIS
        Returns the packages of -Package that dpkg does not list as "install ok installed".
    .DESCRIPTION
        One dpkg-query call for all of them. A package dpkg has never heard of is not printed at all
        (dpkg-query exits 1 and says so on stderr), and one it knows as removed or with only its
        configuration files left has another status: all of these are missing. Nothing is assumed from
        an empty answer.
    #>
    param(
        [Parameter(Mandatory)] [string[]] $Package,
        # The dpkg-query program (a test hands in a fake one).
        [string] $DpkgQuery = 'dpkg-query'
    )
    $installed = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::Ordinal)
    $lines = & $DpkgQuery -W -f '${Package}\t${db:Status-Abbrev}\t${Status}\n' @Package 2>$null
    foreach ($line in @($lines)) {
        if (-not $line) { continue }
        $f = "$line" -split "`t"
        if ($f.Count -ge 3 -and $f[2].Trim() -eq 'install ok installed') {
            # multi-arch packages print as name:arch
            [void]$installed.Add(($f[0] -split ':')[0])
        }
    }
    @($Package | Where-Object { -not $installed.Contains($_) })
}

function Install-AptPackage {
    <# Installs whatever of -Package is missing (as root), then checks that every one of them is installed. #>
    param([Parameter(Mandatory)] [string[]] $Package)
    $missing = @(Get-MissingAptPackage -Package $Package)
    if ($missing.Count -eq 0) { return }
    if ((& id -u) -ne '0') { throw "Missing Debian packages ($($missing -join ', ')); run as root to install them." }
    Write-Host "build: apt-get install $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get update -qq 2>&1 | Out-Null
    & apt-get install -y -qq --no-install-recommends @missing 2>&1 | Select-Object -Last 3 | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "apt-get install failed for: $($missing -join ', ')" }
    $still = @(Get-MissingAptPackage -Package $Package)
    if ($still.Count -gt 0) { throw "apt-get install left these packages missing: $($still -join ', ')" }
}
