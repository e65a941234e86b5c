# Dot-sourced by every test file: imports the BUILT module and offers environment probes and helpers.
$ErrorActionPreference = 'Stop'
$script:ModulePath = if ($env:CONTAINERS_TEST_MODULE) { $env:CONTAINERS_TEST_MODULE } else { Join-Path $PSScriptRoot '../out/Containers/Containers.psd1' }
Import-Module $script:ModulePath -Force
$script:IsCI = $env:CI -eq 'true'
$script:IsRoot = (& id -u) -eq '0'
if (-not $env:CONTAINERS_TEST_BASE) { $env:CONTAINERS_TEST_BASE = "/var/tmp/containers-tests/adhoc-$PID" }
$script:TestBase = $env:CONTAINERS_TEST_BASE
$script:Fixtures = Join-Path (Split-Path (Split-Path $PSScriptRoot -Parent) -Parent) 'shared/fixtures'

function New-TestStorageRoot([string] $Name = 'root') {
    # A throw-away storage root under the run's test base (recognisable by the leak check).
    $path = Join-Path $script:TestBase ("$Name-" + [Guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Force -Path $path | Out-Null
    $path
}

function Remove-TestStorageRoot([string] $Path) {
    if ($Path -and $Path.StartsWith($script:TestBase) -and (Test-Path $Path)) {
        # what a user would do: remove the root's containers, then its networks (bridges, rules, DNS)
        Get-Container -All -StorageRoot $Path -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $Path -ErrorAction SilentlyContinue
        Get-ContainerNetwork -StorageRoot $Path -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $Path -Confirm:$false -ErrorAction SilentlyContinue
        # never follow into a mount: the leak check must see a leaked mount, not have rm delete through it
        & rm -rf --one-file-system $Path 2>$null
    }
}

function Test-Prerequisite {
    <# Returns $true when the prerequisite holds. Otherwise, with CI=true the test fails; elsewhere it is skipped. #>
    param([Parameter(Mandatory)] [bool] $Condition, [Parameter(Mandatory)] [string] $Because)
    if ($Condition) { return $true }
    if ($script:IsCI) { throw "Missing prerequisite in CI: $Because" }
    Set-ItResult -Skipped -Because $Because
    return $false
}

function Test-Command([string] $Name) { [bool](Get-Command $Name -CommandType Application -ErrorAction SilentlyContinue) }

function New-BusyboxRootFs([string] $Path) {
    # A minimal root file system from the host's busybox-static: /bin/busybox plus applet links.
    New-Item -ItemType Directory -Force -Path "$Path/bin", "$Path/etc", "$Path/tmp", "$Path/root", "$Path/var/www" | Out-Null
    Copy-Item /bin/busybox "$Path/bin/busybox"
    foreach ($a in 'sh', 'ls', 'cat', 'echo', 'wget', 'httpd', 'nc', 'hostname', 'ip', 'sleep', 'true', 'false', 'ping', 'id', 'ps',
        'env', 'mkdir', 'nslookup', 'ifconfig', 'kill', 'uname', 'grep', 'sed', 'head', 'tail', 'wc', 'date', 'touch', 'rm', 'cp', 'mv',
        'mknod', 'dd', 'timeout', 'stat', 'mount', 'chmod', 'ln', 'top', 'whoami', 'test', 'printf', 'seq', 'yes', 'tr', 'sort', 'od') {
        New-Item -ItemType SymbolicLink -Force -Path "$Path/bin/$a" -Target busybox | Out-Null
    }
    Set-Content -LiteralPath "$Path/etc/passwd" -Value "root:x:0:0:root:/root:/bin/sh`nnobody:x:65534:65534:nobody:/:/bin/false`napp:x:1000:1000:app:/tmp:/bin/sh" -NoNewline
    Set-Content -LiteralPath "$Path/etc/group" -Value "root:x:0:`nnogroup:x:65534:`napp:x:1000:" -NoNewline
    & chmod 1777 "$Path/tmp"
    $Path
}
