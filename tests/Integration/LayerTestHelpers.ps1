# Helpers of the hostile-layer tests (dot-sourced after common.ps1): layer tars with any entry names
# (System.Formats.Tar, or a raw ustar header for the names TarWriter refuses), docker-archives, OCI
# layouts and archives around them, a canary tree outside the store and its fingerprint, and the checks
# every hostile import must pass (canary unchanged, nothing left in tmp/, Test-ContainerStore clean).

$script:LayerEpoch = [DateTimeOffset]::new(2020, 1, 2, 3, 4, 5, [TimeSpan]::Zero)

function ConvertTo-TarOctal([long] $Value, [int] $Width) {
    # a NUL-terminated, zero-padded octal field of $Width bytes
    [Text.Encoding]::ASCII.GetBytes([Convert]::ToString($Value, 8).PadLeft($Width - 1, '0') + "`0")
}

function New-RawTarHeader {
    <# One 512-byte ustar header, for entry names System.Formats.Tar will not write (the empty name). #>
    param([string] $Name, [char] $TypeFlag, [string] $Link = '', [int] $Mode = 420, [long] $Size = 0, [int] $Uid = 0, [int] $Gid = 0,
        [int] $Major = 0, [int] $Minor = 0)
    $h = [byte[]]::new(512)
    $put = { param([int] $At, [byte[]] $Bytes) [Array]::Copy($Bytes, 0, $h, $At, $Bytes.Length) }
    & $put 0 ([Text.Encoding]::UTF8.GetBytes($Name))
    & $put 100 (ConvertTo-TarOctal $Mode 8)
    & $put 108 (ConvertTo-TarOctal $Uid 8)
    & $put 116 (ConvertTo-TarOctal $Gid 8)
    & $put 124 (ConvertTo-TarOctal $Size 12)
    & $put 136 (ConvertTo-TarOctal $script:LayerEpoch.ToUnixTimeSeconds() 12)
    $h[156] = [byte]$TypeFlag
    & $put 157 ([Text.Encoding]::UTF8.GetBytes($Link))
    & $put 257 ([Text.Encoding]::ASCII.GetBytes("ustar`0" + '00'))
    & $put 329 (ConvertTo-TarOctal $Major 8)
    & $put 337 (ConvertTo-TarOctal $Minor 8)
    for ($i = 148; $i -lt 156; $i++) { $h[$i] = 32 }
    $sum = 0; foreach ($b in $h) { $sum += $b }
    & $put 148 ([Text.Encoding]::ASCII.GetBytes([Convert]::ToString($sum, 8).PadLeft(6, '0') + "`0 "))
    , $h
}

function Write-LayerTar {
    <#
    Writes a plain (uncompressed) layer tar from entry specs, in the given order, names as given:
    @{ Name; Type = 'File'|'Dir'|'Symlink'|'HardLink'|'CharDevice'|'BlockDevice'|'Fifo'; Data; Link; Mode; Uid; Gid; Major; Minor; Raw }
    Raw = $true (or an empty Name) writes a hand-made ustar header instead of going through TarWriter.
    Returns the path and the tar's sha256 (its diffID).
    #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [AllowEmptyCollection()] [object[]] $Entries)
    $fs = [IO.File]::Create($Path)
    try {
        $w = [System.Formats.Tar.TarWriter]::new($fs, [System.Formats.Tar.TarEntryFormat]::Pax, $true)
        foreach ($e in $Entries) {
            $type, $flag = switch ($e.Type) {
                'Dir' { [System.Formats.Tar.TarEntryType]::Directory, '5' }
                'Symlink' { [System.Formats.Tar.TarEntryType]::SymbolicLink, '2' }
                'HardLink' { [System.Formats.Tar.TarEntryType]::HardLink, '1' }
                'CharDevice' { [System.Formats.Tar.TarEntryType]::CharacterDevice, '3' }
                'BlockDevice' { [System.Formats.Tar.TarEntryType]::BlockDevice, '4' }
                'Fifo' { [System.Formats.Tar.TarEntryType]::Fifo, '6' }
                default { [System.Formats.Tar.TarEntryType]::RegularFile, '0' }
            }
            $mode = if ($null -ne $e.Mode) { [int]$e.Mode } elseif ($e.Type -eq 'Dir') { 493 } else { 420 }
            [byte[]]$data = if ($e.Data) { [Text.Encoding]::UTF8.GetBytes([string]$e.Data) } else { , [byte[]]::new(0) }
            if ($e.Raw -or [string]::IsNullOrEmpty($e.Name)) {
                $fs.Write((New-RawTarHeader -Name ([string]$e.Name) -TypeFlag $flag -Link ([string]$e.Link) -Mode $mode -Size $data.Length `
                            -Uid ([int]$e.Uid) -Gid ([int]$e.Gid) -Major ([int]$e.Major) -Minor ([int]$e.Minor)))
                if ($data.Length) {
                    $fs.Write($data)
                    $fs.Write([byte[]]::new((512 - $data.Length % 512) % 512))
                }
                continue
            }
            $entry = [System.Formats.Tar.PaxTarEntry]::new($type, [string]$e.Name)
            $entry.Mode = [IO.UnixFileMode]$mode
            if ($e.Uid) { $entry.Uid = $e.Uid }
            if ($e.Gid) { $entry.Gid = $e.Gid }
            $entry.ModificationTime = $script:LayerEpoch
            if ($e.Link -and $e.Type -in 'Symlink', 'HardLink') { $entry.LinkName = $e.Link }
            if ($e.Type -in 'CharDevice', 'BlockDevice') { $entry.DeviceMajor = [int]$e.Major; $entry.DeviceMinor = [int]$e.Minor }
            if ($type -eq [System.Formats.Tar.TarEntryType]::RegularFile) { $entry.DataStream = [IO.MemoryStream]::new($data) }
            $w.WriteEntry($entry)
        }
        $w.Dispose()
    }
    finally { $fs.Dispose() }
    [pscustomobject]@{ Path = $Path; DiffId = 'sha256:' + (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }
}

function Get-BytesDigest([byte[]] $Bytes) { 'sha256:' + [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData($Bytes)) }

function New-ImageConfigBytes([string[]] $DiffIds, [string[]] $Cmd = @('/bin/sh')) {
    $config = [ordered]@{ architecture = 'amd64'; os = 'linux'; config = [ordered]@{ Cmd = $Cmd; Env = @('PATH=/bin') }
        rootfs = [ordered]@{ type = 'layers'; diff_ids = @($DiffIds) }; history = @() } | ConvertTo-Json -Depth 5 -Compress
    [Text.Encoding]::UTF8.GetBytes($config)
}

function Write-TarOfFiles([string] $Path, [System.Collections.Specialized.OrderedDictionary] $Files) {
    # a tar of named byte arrays or files on disk (an archive around layers, not a layer)
    $fs = [IO.File]::Create($Path)
    try {
        $w = [System.Formats.Tar.TarWriter]::new($fs, [System.Formats.Tar.TarEntryFormat]::Pax, $true)
        foreach ($k in $Files.Keys) {
            $v = $Files[$k]
            if ($v -is [string]) { $w.WriteEntry($v, $k) }
            else {
                $entry = [System.Formats.Tar.PaxTarEntry]::new([System.Formats.Tar.TarEntryType]::RegularFile, $k)
                $entry.Mode = [IO.UnixFileMode]420
                $entry.DataStream = [IO.MemoryStream]::new([byte[]]$v)
                $w.WriteEntry($entry)
            }
        }
        $w.Dispose()
    }
    finally { $fs.Dispose() }
    $Path
}

function New-DockerArchive {
    <# A docker-archive (docker save layout) holding one image of the given layer tars, bottom first. #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [object[]] $Layers, [string] $Tag = 'hostile:1', [string[]] $Cmd = @('/bin/sh'))
    $cfg = New-ImageConfigBytes @($Layers | ForEach-Object DiffId) $Cmd
    $files = [ordered]@{}
    $names = @()
    for ($i = 0; $i -lt $Layers.Count; $i++) { $n = "l$i/layer.tar"; $files[$n] = $Layers[$i].Path; $names += $n }
    $files['config.json'] = $cfg
    $manifest = ConvertTo-Json -Depth 5 -Compress -InputObject @([ordered]@{ Config = 'config.json'; RepoTags = @($Tag); Layers = $names })
    $files['manifest.json'] = [Text.Encoding]::UTF8.GetBytes($manifest)
    Write-TarOfFiles $Path $files | Out-Null
    $Path
}

function New-OciLayout {
    <# An OCI image layout directory with the given layer tars, bottom first, tagged $Tag; -Gzip stores them compressed. #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [object[]] $Layers, [string] $Tag = '1', [string[]] $Cmd = @('/bin/sh'),
        [switch] $Gzip)
    New-Item -ItemType Directory -Force -Path "$Path/blobs/sha256" | Out-Null
    $descs = foreach ($l in $Layers) {
        if ($Gzip) {
            $tmp = "$Path/layer.tar.gz"
            $fs = [IO.File]::Create($tmp)
            $gz = [IO.Compression.GZipStream]::new($fs, [IO.Compression.CompressionLevel]::Fastest)
            $in = [IO.File]::OpenRead($l.Path)
            try { $in.CopyTo($gz) } finally { $in.Dispose(); $gz.Dispose(); $fs.Dispose() }
            $dg = 'sha256:' + (Get-FileHash -LiteralPath $tmp -Algorithm SHA256).Hash.ToLowerInvariant()
            $size = (Get-Item -LiteralPath $tmp).Length
            Move-Item -Force -LiteralPath $tmp -Destination "$Path/blobs/sha256/$($dg.Substring(7))"
            [ordered]@{ mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip'; digest = $dg; size = $size }
        }
        else {
            Copy-Item -LiteralPath $l.Path -Destination "$Path/blobs/sha256/$($l.DiffId.Substring(7))"
            [ordered]@{ mediaType = 'application/vnd.oci.image.layer.v1.tar'; digest = $l.DiffId; size = (Get-Item -LiteralPath $l.Path).Length }
        }
    }
    $cfg = New-ImageConfigBytes @($Layers | ForEach-Object DiffId) $Cmd
    $cfgDigest = Get-BytesDigest $cfg
    [IO.File]::WriteAllBytes("$Path/blobs/sha256/$($cfgDigest.Substring(7))", $cfg)
    $m = [Text.Encoding]::UTF8.GetBytes((ConvertTo-Json -Depth 5 -Compress -InputObject ([ordered]@{ schemaVersion = 2
                    mediaType = 'application/vnd.oci.image.manifest.v1+json'
                    config = [ordered]@{ mediaType = 'application/vnd.oci.image.config.v1+json'; digest = $cfgDigest; size = $cfg.Length }
                    layers = @($descs) })))
    $mDigest = Get-BytesDigest $m
    [IO.File]::WriteAllBytes("$Path/blobs/sha256/$($mDigest.Substring(7))", $m)
    Set-Content -LiteralPath "$Path/oci-layout" -Value '{"imageLayoutVersion":"1.0.0"}' -NoNewline
    Set-Content -LiteralPath "$Path/index.json" -NoNewline -Value (ConvertTo-Json -Depth 6 -Compress -InputObject ([ordered]@{ schemaVersion = 2
                manifests = @([ordered]@{ mediaType = 'application/vnd.oci.image.manifest.v1+json'; digest = $mDigest; size = $m.Length
                        annotations = @{ 'org.opencontainers.image.ref.name' = $Tag } }) }))
    $Path
}

function New-OciArchive {
    <# An oci-archive: the OCI layout above, as a tar. #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [object[]] $Layers, [string] $Tag = '1')
    $dir = "$Path.d"
    New-OciLayout -Path $dir -Layers $Layers -Tag $Tag | Out-Null
    $out = & tar -C $dir -cf $Path . 2>&1
    if ($LASTEXITCODE -ne 0) { throw "tar failed: $out" }
    & rm -rf --one-file-system $dir
    $Path
}

# ---- the canary: a host tree outside the store that no layer may touch --------------------------------

function New-Canary {
    <#
    A small tree with known contents, modes, owners and times: files (0600, 0644, setuid 0755, owned by
    1234:5678), a directory that must not be deleted (with a subdirectory and a file), a symbolic link to
    that directory, a dangling link, and a hard-linked pair. Every time is set to a fixed past moment, so a
    utimensat through a link shows, and nlink and ctime are part of the fingerprint, so do a chmod/chown
    to the same value and a hard link made to a canary file.
    #>
    param([Parameter(Mandatory)] [string] $Path)
    New-Item -ItemType Directory -Force -Path "$Path/keep/sub", "$Path/empty" | Out-Null
    Set-Content -LiteralPath "$Path/secret" -Value 'canary secret' -NoNewline
    Set-Content -LiteralPath "$Path/public" -Value 'canary public' -NoNewline
    Set-Content -LiteralPath "$Path/tool" -Value '#!/bin/sh' -NoNewline
    Set-Content -LiteralPath "$Path/keep/data.txt" -Value 'keep me' -NoNewline
    Set-Content -LiteralPath "$Path/keep/sub/deep.txt" -Value 'deep' -NoNewline
    Set-Content -LiteralPath "$Path/owned" -Value 'owned by 1234' -NoNewline
    & ln "$Path/public" "$Path/public-hardlink"
    & ln -s keep "$Path/keep-link"
    & ln -s /nonexistent/canary-target "$Path/dangling"
    & chmod 0600 "$Path/secret"; & chmod 0644 "$Path/public"; & chmod 4755 "$Path/tool"; & chmod 0750 "$Path/keep"; & chmod 0700 "$Path/empty"
    & chown 1234:5678 "$Path/owned"
    & touch -h -d '2001-02-03 04:05:06Z' $Path "$Path/keep" "$Path/keep/sub" "$Path/keep/sub/deep.txt" "$Path/keep/data.txt" "$Path/empty" `
        "$Path/secret" "$Path/public" "$Path/tool" "$Path/owned" "$Path/keep-link" "$Path/dangling"
    # touching the children moved the directories' times again only for creation, not here; set them last
    & touch -h -d '2001-02-03 04:05:06Z' "$Path/keep/sub" "$Path/keep" $Path
    $Path
}

function Get-TreeFingerprint {
    <# Names, types, modes, owners, link counts, sizes, mtimes, ctimes, link targets and contents of a tree, one line each. #>
    param([Parameter(Mandatory)] [string] $Path)
    $out = & bash -c 'cd -- "$1" && find . -printf "%p\t%y\t%m\t%U:%G\t%n\t%s\t%T@\t%C@\t%l\n" | LC_ALL=C sort && find . -type f -exec sha256sum {} + | LC_ALL=C sort' bash $Path
    if ($LASTEXITCODE -ne 0) { throw "fingerprint of $Path failed" }
    $out -join "`n"
}

function Get-StoreTmpLeftovers([string] $Root) {
    # what an import left in the root's tmp/ (staging directories, blob files)
    if (-not (Test-Path -LiteralPath "$Root/tmp")) { return @() }
    @(Get-ChildItem -LiteralPath "$Root/tmp" -Force | ForEach-Object Name)
}

function Get-StoreFindings([string] $Root) {
    @(Test-ContainerStore -StorageRoot $Root | ForEach-Object { "$($_.Severity) $($_.Kind) $($_.Target) $($_.Message)" })
}

function Invoke-LayerImport {
    <#
    Imports $Path into $Root (-RootFs when asked) and returns the outcome: 'Imported', or the error's
    FullyQualifiedErrorId. Never throws for an import error.
    #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Root, [switch] $RootFs, [string] $Name = 'hostile:1')
    try {
        if ($RootFs) { Import-ContainerImage -RootFs -LiteralPath $Path -Name $Name -StorageRoot $Root -ErrorAction Stop | Out-Null }
        else { Import-ContainerImage -LiteralPath $Path -StorageRoot $Root -ErrorAction Stop | Out-Null }
        'Imported'
    }
    catch { $_.FullyQualifiedErrorId }
}
