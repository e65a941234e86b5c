# Helpers of the image tests (dot-sourced after common.ps1): fixtures made by real tools, malicious layers.

function Get-AptMirror {
    $src = Get-ChildItem /etc/apt/sources.list.d/*.sources, /etc/apt/sources.list -ErrorAction SilentlyContinue | Get-Content -ErrorAction SilentlyContinue
    foreach ($l in $src) {
        if ($l -match '^URIs:\s*(\S+)') { return $Matches[1] }
        if ($l -match '^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main') { return $Matches[1] }
    }
    'http://deb.debian.org/debian'
}

function Get-DebianRootFs {
    # A Debian minbase root file system: the anchors' copy when present, else debootstrap once into a cache.
    if (Test-Path /tmp/anchors/debian-rootfs/etc/debian_version) { return '/tmp/anchors/debian-rootfs' }
    $cache = '/var/tmp/containers-cache/debian-minbase-bookworm'
    if (Test-Path "$cache/.complete") { return "$cache/rootfs" }
    if (-not (Test-Command debootstrap)) { return $null }
    New-Item -ItemType Directory -Force -Path $cache | Out-Null
    & rm -rf --one-file-system "$cache/rootfs"
    & debootstrap --variant=minbase bookworm "$cache/rootfs" (Get-AptMirror) *> "$cache/debootstrap.log"
    if ($LASTEXITCODE -ne 0) { return $null }
    Set-Content "$cache/.complete" 'ok'
    "$cache/rootfs"
}

function Get-PodmanArgs([string] $Dir) {
    # a throw-away podman store: nothing touches /var/lib/containers
    # (podman refuses a runroot longer than 50 characters)
    @('--root', "$Dir/root", '--runroot', (Get-PodmanRunRoot $Dir), '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
}

function Get-PodmanRunRoot([string] $Dir) {
    $h = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($Dir))).Substring(0, 10).ToLowerInvariant()
    "/tmp/ctpm-$h"
}

function New-PodmanSavedImage {
    # Makes an image with podman (import of a busybox rootfs) and saves it as docker-archive and oci-archive.
    param([string] $Dir, [string] $Name = 'localhost/pmtest:1')
    $p = Get-PodmanArgs $Dir
    $rootfs = New-BusyboxRootFs "$Dir/rootfs"
    & tar -C $rootfs -cf "$Dir/rootfs.tar" .
    $out = & podman @p import --change 'CMD ["sh"]' --change 'ENV FOO=bar' "$Dir/rootfs.tar" $Name 2>&1
    if ($LASTEXITCODE -ne 0) { throw "podman import failed: $out" }
    & podman @p save --format docker-archive -o "$Dir/pm.docker.tar" $Name 2>$null | Out-Null
    & podman @p save --format oci-archive -o "$Dir/pm.oci.tar" $Name 2>$null | Out-Null
    $inspect = (& podman @p image inspect $Name | ConvertFrom-Json)[0]
    [pscustomobject]@{ Name = $Name; Id = $inspect.Id; DiffIds = @($inspect.RootFS.Layers); Docker = "$Dir/pm.docker.tar"; Oci = "$Dir/pm.oci.tar"; Env = $inspect.Config.Env; Cmd = $inspect.Config.Cmd }
}

function Remove-PodmanStore([string] $Dir) {
    if (Test-Path "$Dir/root") {
        $p = Get-PodmanArgs $Dir
        & podman @p rmi -a -f *> $null
        & rm -rf --one-file-system "$Dir/root" (Get-PodmanRunRoot $Dir)
    }
}

function New-LayerTar {
    <# Writes a layer tar from entry specs: @{ Name; Type = 'File'|'Dir'|'Symlink'|'HardLink'|'CharDevice'; Data; Link; Mode; Uid; Gid; Major; Minor; Xattrs } #>
    param([string] $Path, [object[]] $Entries, [switch] $Gzip)
    $fs = [IO.File]::Create($Path)
    $out = if ($Gzip) { [IO.Compression.GZipStream]::new($fs, [IO.Compression.CompressionLevel]::Fastest) } else { $fs }
    $w = [System.Formats.Tar.TarWriter]::new($out, [System.Formats.Tar.TarEntryFormat]::Pax, $false)
    foreach ($e in $Entries) {
        $type = switch ($e.Type) {
            'Dir' { [System.Formats.Tar.TarEntryType]::Directory }
            'Symlink' { [System.Formats.Tar.TarEntryType]::SymbolicLink }
            'HardLink' { [System.Formats.Tar.TarEntryType]::HardLink }
            'CharDevice' { [System.Formats.Tar.TarEntryType]::CharacterDevice }
            default { [System.Formats.Tar.TarEntryType]::RegularFile }
        }
        $x = [System.Collections.Generic.Dictionary[string, string]]::new()
        if ($e.Xattrs) { foreach ($k in $e.Xattrs.Keys) { $x["SCHILY.xattr.$k"] = $e.Xattrs[$k] } }
        $entry = [System.Formats.Tar.PaxTarEntry]::new($type, $e.Name, $x)
        $entry.Mode = [IO.UnixFileMode]($(if ($e.Mode) { $e.Mode } elseif ($e.Type -eq 'Dir') { 493 } else { 420 }))
        if ($e.Uid) { $entry.Uid = $e.Uid }
        if ($e.Gid) { $entry.Gid = $e.Gid }
        $entry.ModificationTime = [DateTimeOffset]::new(2020, 1, 2, 3, 4, 5, [TimeSpan]::Zero)
        if ($e.Link) { $entry.LinkName = $e.Link }
        if ($e.Type -eq 'CharDevice') { $entry.DeviceMajor = $e.Major; $entry.DeviceMinor = $e.Minor }
        if ($e.Data) { $entry.DataStream = [IO.MemoryStream]::new([Text.Encoding]::UTF8.GetBytes($e.Data)) }
        $w.WriteEntry($entry)
    }
    $w.Dispose()
    if ($Gzip) { $out.Dispose() }
    $fs.Dispose()
    $Path
}

function Get-StoreErrors([string] $Root) {
    @(Test-ContainerStore -StorageRoot $Root | Where-Object Severity -eq 'Error')
}
