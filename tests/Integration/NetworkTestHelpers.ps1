# Helpers for the networking tests: until the runtime runs real containers here, a "container" is a network
# namespace the test makes (ip netns add, named with the root's scope id) handed to the provider exactly as the
# runtime does; processes inside run with `ip netns exec`, which also bind-mounts /etc/netns/<ns>/resolv.conf.
Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')

function Initialize-NetTest {
    $script:NetRoot = New-TestStorageRoot 'net'
    $script:Root = [Containers.Engine.State.StorageRoot]::Resolve($script:NetRoot)
    $script:Scope = $script:Root.ScopeId
    $script:Provider = [Containers.Engine.Networking.BridgeNetworkProvider]::new($script:Root)
    $script:Fakes = [System.Collections.Generic.List[object]]::new()
    $script:Procs = [System.Collections.Generic.List[int]]::new()
    $script:WebDir = Join-Path $script:NetRoot 'www'
    New-Item -ItemType Directory -Force $script:WebDir | Out-Null
    Set-Content -LiteralPath (Join-Path $script:WebDir 'index.html') -Value 'hello-from-web' -NoNewline
}

function New-NetContext([string] $Name, [object[]] $Networks = @(), [object[]] $Ports = @()) {
    $reqs = [Containers.Engine.Networking.NetworkRequest[]]@($Networks | ForEach-Object {
            if ($_ -is [Containers.Engine.Networking.NetworkRequest]) { $_ } else { [Containers.Engine.Networking.NetworkRequest]::new([string]$_, [string[]]@(), $null, $null) }
        })
    $pr = [Containers.Engine.Networking.PortRequest[]]@($Ports | ForEach-Object { [Containers.Engine.Networking.BridgeNetworkProvider]::ParsePort($_) })
    [Containers.Engine.Networking.ContainerNetworkContext]@{
        ContainerId = "$Name-$script:Scope"; ContainerName = $Name; Hostname = $Name; NetNsPath = "/run/netns/t$script:Scope$Name"
        StateDirectory = $script:NetRoot; Networks = $reqs; Ports = $pr
    }
}

function New-FakeContainer {
    # Makes the namespace and runs the provider's Setup, as the runtime does before the first process starts.
    param([string] $Name, [object[]] $Networks = @(), [object[]] $Ports = @())
    $ns = "t$script:Scope$Name"
    & ip netns add $ns
    $ctx = New-NetContext $Name $Networks $Ports
    $script:Fakes.Add($ctx)
    $r = $script:Provider.Setup($ctx, [Threading.CancellationToken]::None)
    Write-NsResolvConf $Name $r
    $r
}

function Write-NsResolvConf([string] $Name, $Result) {
    $dir = "/etc/netns/t$script:Scope$Name"
    New-Item -ItemType Directory -Force $dir | Out-Null
    $lines = @($Result.Nameservers | ForEach-Object { "nameserver $_" })
    if ($Result.SearchDomains.Count) { $lines += "search $($Result.SearchDomains -join ' ')" }
    Set-Content -LiteralPath "$dir/resolv.conf" -Value ($lines -join "`n")
}

function Invoke-InNs([string] $Name, [string[]] $Command) {
    $out = & ip netns exec "t$script:Scope$Name" @Command 2>&1
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($out | Out-String) }
}

function Start-InNs([string] $Name, [string[]] $Command) {
    $p = Start-Process -FilePath ip -ArgumentList (@('netns', 'exec', "t$script:Scope$Name") + $Command) -PassThru -RedirectStandardOutput /dev/null -RedirectStandardError "$script:NetRoot/$Name.err"
    $script:Procs.Add($p.Id)
    $p
}

function Start-Httpd([string] $Name, [int] $Port = 80) {
    Start-InNs $Name @('busybox', 'httpd', '-f', '-p', "$Port", '-h', $script:WebDir) | Out-Null
    # wait until it listens
    for ($i = 0; $i -lt 100; $i++) {
        if ((Invoke-InNs $Name @('busybox', 'netstat', '-ltn')).Output -match ":$Port\s") { return }
        Start-Sleep -Milliseconds 20
    }
}

function Get-Http([string] $Name, [string] $Url, [int] $Timeout = 5) {
    Invoke-InNs $Name @('busybox', 'timeout', "$Timeout", 'busybox', 'wget', '-q', '-O', '-', $Url)
}

function Remove-FakeContainer([string] $Name) {
    $ctx = $script:Fakes | Where-Object ContainerName -eq $Name | Select-Object -First 1
    if ($ctx) { $script:Provider.Teardown($ctx); [void]$script:Fakes.Remove($ctx) }
    & ip netns del "t$script:Scope$Name" 2>$null
    Remove-Item -Recurse -Force "/etc/netns/t$script:Scope$Name" -ErrorAction SilentlyContinue
}

function Clear-NetTest {
    foreach ($procId in $script:Procs) {
        # Only the processes this test started (ip netns exec execs into them, so the PID is theirs).
        Stop-Process -Id $procId -Force -ErrorAction SilentlyContinue
    }
    foreach ($ctx in @($script:Fakes)) { Remove-FakeContainer $ctx.ContainerName }
    Get-ContainerNetwork -StorageRoot $script:NetRoot -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -StorageRoot $script:NetRoot -Confirm:$false -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $script:NetRoot
}
