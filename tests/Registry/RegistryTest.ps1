# Registry test infrastructure (dot-source after common.ps1). Everything listens on 127.0.0.1 only, on free
# ports; every process is started here and stopped by its PID in Stop-TestRegistry.
#   Start-TestRegistry -Auth None|Basic|Token   Debian's docker-registry (CNCF distribution 2.8) with its own
#                                               storage; Basic runs over TLS with a CA made by openssl; Token
#                                               uses an in-process token server (RegistryTestServers.cs)
#   New-TestOciLayout                           a small OCI image layout from directories (one layer each)
#   Copy-TestImage                              skopeo copy into the registry
#   New-CutProxy                                a TCP proxy that drops one connection mid-response
if (-not ('RegistryTests.TokenServer' -as [type])) {
    Add-Type -Path (Join-Path $PSScriptRoot 'RegistryTestServers.cs')
}

function Get-FreeTcpPort {
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p
}

function Invoke-Checked([string] $File, [string[]] $Arguments) {
    $out = & $File @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed ($LASTEXITCODE): $out" }
    $out
}

function New-TestCertificates([string] $Dir) {
    # A CA and a server certificate for 127.0.0.1/localhost signed by it; an EC key+cert for JWT signing.
    New-Item -ItemType Directory -Force -Path $Dir | Out-Null
    Invoke-Checked openssl @('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Containers Test CA',
        '-keyout', "$Dir/ca.key", '-out', "$Dir/ca.pem") | Out-Null
    Invoke-Checked openssl @('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', "$Dir/server.key", '-out', "$Dir/server.csr") | Out-Null
    Set-Content -LiteralPath "$Dir/ext.cnf" -Value "subjectAltName=IP:127.0.0.1,DNS:localhost`nbasicConstraints=CA:FALSE`nextendedKeyUsage=serverAuth"
    Invoke-Checked openssl @('x509', '-req', '-in', "$Dir/server.csr", '-CA', "$Dir/ca.pem", '-CAkey', "$Dir/ca.key", '-CAcreateserial',
        '-days', '2', '-extfile', "$Dir/ext.cnf", '-out', "$Dir/server.pem") | Out-Null
    Invoke-Checked openssl @('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
        '-subj', '/CN=Containers Test Token Signer', '-keyout', "$Dir/token.key", '-out', "$Dir/token.pem") | Out-Null
}

function Start-TestRegistry {
    param(
        [Parameter(Mandatory)] [string] $Dir,
        [ValidateSet('None', 'Basic', 'Token')] [string] $Auth = 'None',
        [string] $User = 'tester',
        [string] $Password = 'S3cret-pass'
    )
    New-Item -ItemType Directory -Force -Path "$Dir/data" | Out-Null
    $port = Get-FreeTcpPort
    $reg = [ordered]@{ Dir = $Dir; Port = $port; Address = "127.0.0.1:$port"; Auth = $Auth; User = $User; Password = $Password
        Process = $null; TokenServer = $null; CA = $null; Log = "$Dir/registry.log"; AccessLog = "$Dir/registry.out"; Config = "$Dir/config.yml" }
    $tls = ''
    $authYaml = ''
    if ($Auth -ne 'None') { New-TestCertificates "$Dir/certs"; $reg.CA = "$Dir/certs/ca.pem" }
    if ($Auth -eq 'Basic') {
        Invoke-Checked htpasswd @('-Bbc', "$Dir/htpasswd", $User, $Password) | Out-Null
        $tls = "  tls:`n    certificate: $Dir/certs/server.pem`n    key: $Dir/certs/server.key`n"
        $authYaml = "auth:`n  htpasswd:`n    realm: containers-test`n    path: $Dir/htpasswd`n"
    }
    if ($Auth -eq 'Token') {
        $tport = Get-FreeTcpPort
        $reg.TokenServer = [RegistryTests.TokenServer]::new($tport, "$Dir/certs/token.key", "$Dir/certs/token.pem", 'containers-test-issuer', 'containers-test-registry', $User, $Password)
        $authYaml = "auth:`n  token:`n    realm: http://127.0.0.1:$tport/token`n    service: containers-test-registry`n    issuer: containers-test-issuer`n    rootcertbundle: $Dir/certs/token.pem`n"
    }
    @"
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $Dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: containers-test-secret
$tls$authYaml
"@ | Set-Content -LiteralPath $reg.Config
    $reg.Process = Start-Process -FilePath /usr/bin/docker-registry -ArgumentList 'serve', $reg.Config -PassThru `
        -RedirectStandardError $reg.Log -RedirectStandardOutput $reg.AccessLog
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ($true) {
        try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port); $c.Dispose(); break }
        catch {
            if ($reg.Process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
                throw "docker-registry did not start: $(Get-Content -Raw $reg.Log -ErrorAction SilentlyContinue)"
            }
            Start-Sleep -Milliseconds 100
        }
    }
    [pscustomobject]$reg
}

function Stop-TestRegistry($Registry) {
    if (-not $Registry) { return }
    if ($Registry.Process -and -not $Registry.Process.HasExited) {
        Stop-Process -Id $Registry.Process.Id -Force -ErrorAction SilentlyContinue
        $Registry.Process.WaitForExit(5000) | Out-Null
    }
    if ($Registry.TokenServer) { $Registry.TokenServer.Dispose() }
}

function Get-RegistryBlobGets($Registry, [string] $Repository) {
    # blob GETs for a repository in the registry's access log (combined format on stdout)
    @(Get-Content -LiteralPath $Registry.AccessLog -ErrorAction SilentlyContinue | Where-Object { $_ -match "`"GET /v2/$([regex]::Escape($Repository))/blobs/sha256:" }).Count
}

function Get-Sha256([string] $Path) { 'sha256:' + (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }

function New-TestOciLayout {
    # Builds an OCI image layout at $Path tagged $Tag with one gzip layer per directory in $LayerDirs.
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string[]] $LayerDirs, [string] $Tag = 'latest',
        [string] $Architecture = 'amd64', [string[]] $Cmd = @('/bin/sh'))
    New-Item -ItemType Directory -Force -Path "$Path/blobs/sha256" | Out-Null
    $layers = @(); $diffIds = @()
    foreach ($d in $LayerDirs) {
        $tar = "$Path/layer.tar"
        Invoke-Checked tar @('--sort=name', '--mtime=2024-01-01 00:00Z', '--owner=0', '--group=0', '--numeric-owner', '-C', $d, '-cf', $tar, '.') | Out-Null
        $diffIds += Get-Sha256 $tar
        Invoke-Checked gzip @('-n', '-f', $tar) | Out-Null
        $dg = Get-Sha256 "$tar.gz"
        $size = (Get-Item "$tar.gz").Length
        Move-Item -Force "$tar.gz" "$Path/blobs/sha256/$($dg.Substring(7))"
        $layers += [ordered]@{ mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip'; digest = $dg; size = $size }
    }
    $config = [ordered]@{ architecture = $Architecture; os = 'linux'; config = [ordered]@{ Cmd = $Cmd; Env = @('PATH=/bin') }
        rootfs = [ordered]@{ type = 'layers'; diff_ids = $diffIds }; history = @() } | ConvertTo-Json -Depth 5 -Compress
    $cfgBytes = [Text.Encoding]::UTF8.GetBytes($config)
    $cfgDigest = 'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData($cfgBytes))
    [IO.File]::WriteAllBytes("$Path/blobs/sha256/$($cfgDigest.Substring(7))", $cfgBytes)
    $manifest = [ordered]@{ schemaVersion = 2; mediaType = 'application/vnd.oci.image.manifest.v1+json'
        config = [ordered]@{ mediaType = 'application/vnd.oci.image.config.v1+json'; digest = $cfgDigest; size = $cfgBytes.Length }
        layers = $layers } | ConvertTo-Json -Depth 5 -Compress
    $mBytes = [Text.Encoding]::UTF8.GetBytes($manifest)
    $mDigest = 'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData($mBytes))
    [IO.File]::WriteAllBytes("$Path/blobs/sha256/$($mDigest.Substring(7))", $mBytes)
    Set-Content -LiteralPath "$Path/oci-layout" -Value '{"imageLayoutVersion":"1.0.0"}' -NoNewline
    $index = [ordered]@{ schemaVersion = 2; manifests = @([ordered]@{ mediaType = 'application/vnd.oci.image.manifest.v1+json'; digest = $mDigest
                size = $mBytes.Length; annotations = @{ 'org.opencontainers.image.ref.name' = $Tag } }) } | ConvertTo-Json -Depth 5 -Compress
    Set-Content -LiteralPath "$Path/index.json" -Value $index -NoNewline
    [pscustomobject]@{ Path = $Path; Tag = $Tag; Digest = $mDigest; ConfigDigest = $cfgDigest; Layers = @($layers | ForEach-Object digest); DiffIds = $diffIds }
}

function Copy-TestImage([string] $Source, [string] $Destination, $Registry, [switch] $All) {
    $a = @('copy', '-q', '--dest-tls-verify=false')
    if ($All) { $a += '--all' }
    if ($Registry -and $Registry.Auth -ne 'None') { $a += @('--dest-creds', "$($Registry.User):$($Registry.Password)") }
    Invoke-Checked skopeo ($a + @($Source, $Destination)) | Out-Null
}

function New-CutProxy([int] $TargetPort, [long] $CutAfterBytes, [int] $Cuts = 1) {
    [RegistryTests.CutProxy]::new($TargetPort, $CutAfterBytes, $Cuts)
}
