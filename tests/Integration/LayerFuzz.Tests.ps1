# Fuzzing the layer unpacker: random layer tars mixing '.', './', '..', absolute names, symbolic and hard
# links, whiteouts, opaque markers, directories, files, devices and replaced entries, in random order, with
# every link target, hard-link target and absolute name aimed at a canary tree outside the store. Each one
# is imported (a docker-archive of one or two layers, so whiteouts and names meet across layers); after
# each, the canary must be exactly as it was (names, types, modes, owners, link counts, times, link
# targets, contents), tmp/ must be empty and Test-ContainerStore must report no error (and nothing at all
# for an import that worked). Runs for $env:CONTAINERS_FUZZ_SECONDS (150 by default); prints its seed;
# $env:CONTAINERS_FUZZ_SEED replays a run and $env:CONTAINERS_FUZZ_ITERATION one iteration of it. A failure
# prints the seed, the iteration and its entries. Outcomes are counted (imported / refused by ErrorId), and
# a floor on the imported share keeps the generator honest: a run where everything is refused proves little.
class LayerFuzzer {
    # A random layer generator with a model of what the layer holds so far (rel path -> Dir/File/Symlink/Other),
    # so that benign entries are valid (parents are directories, hard links name earlier files) and hostile
    # ones hit what matters (writes through links the layer made, links and names into the canary).
    [Random] $Rng
    [string] $C
    [string] $Token
    [hashtable] $Kinds = @{ '' = 'Dir' }
    [string[]] $Pool = @('a', 'b', 'd', 'keep', 'secret', 'public', 'sub', 'x', 'tool', 'empty')
    [string[]] $CanaryNames = @('', 'keep', 'keep/sub', 'keep/data.txt', 'secret', 'public', 'public-hardlink', 'tool', 'owned', 'keep-link', 'dangling', 'empty')

    LayerFuzzer([Random] $rng, [string] $c, [string] $token) { $this.Rng = $rng; $this.C = $c; $this.Token = $token }

    [object] Pick([object[]] $from) { return $from[$this.Rng.Next($from.Count)] }
    [bool] Chance([double] $p) { return $this.Rng.NextDouble() -lt $p }

    [string[]] RelsOf([string[]] $kinds) { return @($this.Kinds.Keys | Where-Object { $this.Kinds[$_] -in $kinds } | Sort-Object) }

    [string] CanaryTarget() {
        $n = $this.Pick($this.CanaryNames)
        if ($this.Chance(0.8)) { return ($this.C + '/' + $n).TrimEnd('/') }
        # relative, climbing out of the layer (from the staging or the final directory alike)
        return ('../' * (1 + $this.Rng.Next(8))) + $this.C.TrimStart('/') + '/' + $n
    }

    [string] Decorate([string] $rel, [bool] $isDir) {
        $n = $rel
        if ($this.Chance(0.2)) { $n = './' + $n }
        if ($isDir -and $this.Chance(0.5)) { $n = $n + '/' }
        return $n
    }

    [void] Forget([string] $rel) {
        # the model of RemoveExisting: a replaced directory takes its children with it
        foreach ($k in @($this.Kinds.Keys)) { if ($k -eq $rel -or $k.StartsWith($rel + '/')) { $this.Kinds.Remove($k) } }
    }

    [string] NewRel() {
        # a name under a directory of the layer (or, now and then, at any known name: a replacement)
        if ($this.Chance(0.3)) {
            $known = @($this.Kinds.Keys | Where-Object { $_ -ne '' })
            if ($known.Count) { return $this.Pick($known) }
        }
        $dirs = $this.RelsOf(@('Dir'))
        $parent = $this.Pick($dirs)
        $name = $this.Pick($this.Pool)
        if ($parent -eq '') { return $name }
        return "$parent/$name"
    }

    [hashtable] Benign() {
        $roll = $this.Rng.Next(100)
        $rel = $this.NewRel()
        if ($roll -lt 25) {
            $mode = $this.Pick(@(493, 448, 511, 1023, 365))
            if ($this.Kinds[$rel] -ne 'Dir') { $this.Forget($rel) }
            $this.Kinds[$rel] = 'Dir'
            return @{ Name = $this.Decorate($rel, $true); Type = 'Dir'; Mode = $mode; Uid = $this.Pick(@(0, 0, 1234)); Gid = $this.Pick(@(0, 5678)) }
        }
        if ($roll -lt 50) {
            $this.Forget($rel); $this.Kinds[$rel] = 'File'
            return @{ Name = $this.Decorate($rel, $false); Type = 'File'; Data = 'data ' * $this.Rng.Next(4); Mode = $this.Pick(@(420, 384, 493, 2541)); Uid = $this.Pick(@(0, 1234)) }
        }
        if ($roll -lt 68) {
            $this.Forget($rel); $this.Kinds[$rel] = 'Symlink'
            $to = if ($this.Chance(0.85)) { $this.CanaryTarget() } else { $this.Pick($this.Pool) }
            return @{ Name = $this.Decorate($rel, $false); Type = 'Symlink'; Link = $to }
        }
        if ($roll -lt 78) {
            $targets = $this.RelsOf(@('File', 'Symlink', 'Other'))
            if ($targets.Count -eq 0) { return $this.Benign() }
            $to = $this.Pick($targets)
            if ($to -ne $rel) { $kind = $this.Kinds[$to]; $this.Forget($rel); $this.Kinds[$rel] = $kind }
            return @{ Name = $this.Decorate($rel, $false); Type = 'HardLink'; Link = $this.Decorate($to, $false) }
        }
        if ($roll -lt 88) {
            # a whiteout of a name in a directory of the layer (known there or not)
            $dirs = $this.RelsOf(@('Dir'))
            $parent = $this.Pick($dirs)
            $name = $this.Pick($this.Pool)
            $hidden = if ($parent -eq '') { $name } else { "$parent/$name" }
            $this.Forget($hidden); $this.Kinds[$hidden] = 'Other'
            $n = if ($parent -eq '') { ".wh.$name" } else { "$parent/.wh.$name" }
            return @{ Name = $this.Decorate($n, $false); Type = 'File' }
        }
        if ($roll -lt 93) {
            $parent = $this.Pick($this.RelsOf(@('Dir')))
            $n = if ($parent -eq '') { '.wh..wh..opq' } else { "$parent/.wh..wh..opq" }
            return @{ Name = $this.Decorate($n, $false); Type = 'File' }
        }
        if ($roll -lt 97) {
            $this.Forget($rel); $this.Kinds[$rel] = 'Other'
            if ($this.Chance(0.5)) { return @{ Name = $this.Decorate($rel, $false); Type = 'Fifo' } }
            return @{ Name = $this.Decorate($rel, $false); Type = 'CharDevice'; Major = 1; Minor = $this.Pick(@(3, 1, 11)) }
        }
        # the layer root as a directory: only its metadata
        return @{ Name = $this.Pick(@('.', './')); Type = 'Dir'; Mode = $this.Pick(@(493, 448, 1023)); Uid = $this.Pick(@(0, 1234)) }
    }

    [hashtable] Hostile() {
        $links = $this.RelsOf(@('Symlink'))
        $files = $this.RelsOf(@('File', 'Other'))
        switch ($this.Rng.Next(9)) {
            0 {
                # the layer root as something else than a directory
                $n = $this.Pick(@('.', './', '', './.', './/'))
                $t = $this.Pick(@('Symlink', 'Symlink', 'File', 'HardLink', 'Fifo', 'CharDevice'))
                $link = if ($t -eq 'Symlink') { $this.CanaryTarget() } elseif ($t -eq 'HardLink') { if ($files.Count) { $this.Pick($files) } else { $this.C + '/secret' } } else { '' }
                return @{ Name = $n; Type = $t; Link = $link; Major = 1; Minor = 3; Raw = ($n -eq '') }
            }
            1 { return @{ Name = $this.Pick(@("../pwned-$($this.Token)", "../../../pwned-$($this.Token)", "a/../../pwned-$($this.Token)", '..', '../', "./../pwned-$($this.Token)")); Type = $this.Pick(@('File', 'Dir', 'Symlink')); Link = $this.CanaryTarget() } }
            2 { return @{ Name = $this.C + '/' + $this.Pick(@("pwned-$($this.Token)", 'keep', 'secret', 'keep/sub', '.wh.secret', '.wh..wh..opq')); Type = $this.Pick(@('File', 'Dir', 'Symlink')); Mode = 511; Link = $this.CanaryTarget() } }
            3 {
                # through a link this layer made (or would make)
                $via = if ($links.Count) { $this.Pick($links) } else { 'a' }
                $leaf = $this.Pick(@('keep', 'secret', 'sub', "pwned-$($this.Token)", '.wh.secret', '.wh.keep', '.wh..wh..opq'))
                return @{ Name = "$via/$leaf"; Type = $this.Pick(@('File', 'Dir', 'Symlink', 'HardLink')); Mode = 511; Link = $(if ($files.Count) { $this.Pick($files) } else { 'x' }) }
            }
            4 { return @{ Name = $this.Pick($this.Pool); Type = 'HardLink'; Link = $this.Pick(@(($this.C + '/secret'), '../../secret', '..', '.', "$($this.Pick($this.Pool))/secret", 'keep-link/data.txt')) } }
            5 { return @{ Name = $this.Pick(@('.wh..', '.wh...', 'a/.wh..', '.wh.', '../.wh.secret', "$($this.C)/.wh.secret")); Type = 'File' } }
            6 {
                # under a file or a device of the layer
                if ($files.Count -eq 0) { return @{ Name = '..'; Type = 'Dir' } }
                return @{ Name = "$($this.Pick($files))/x"; Type = $this.Pick(@('File', 'Dir')) }
            }
            7 { return @{ Name = '/'; Type = $this.Pick(@('Dir', 'Symlink')); Link = $this.CanaryTarget() } }
            default { return @{ Name = $this.Pick($this.Pool); Type = 'BlockDevice'; Major = 8; Minor = 0 } }
        }
        return $null
    }

    [object[]] Layer([int] $count, [double] $hostile) {
        $list = [System.Collections.Generic.List[object]]::new()
        for ($i = 0; $i -lt $count; $i++) { $list.Add($(if ($this.Chance($hostile)) { $this.Hostile() } else { $this.Benign() })) }
        return $list.ToArray()
    }
}

BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/LayerTestHelpers.ps1
    $script:Work = New-TestStorageRoot 'layerfuzz'
    $script:Canary = New-Canary "$script:Work/canary"
    $script:CanaryPrint = Get-TreeFingerprint $script:Canary
    $script:Seconds = if ($env:CONTAINERS_FUZZ_SECONDS) { [int]$env:CONTAINERS_FUZZ_SECONDS } else { 150 }
    $script:Seed = if ($env:CONTAINERS_FUZZ_SEED) { [int]$env:CONTAINERS_FUZZ_SEED } else { [Random]::Shared.Next() }
    $script:Only = if ($env:CONTAINERS_FUZZ_ITERATION) { [int]$env:CONTAINERS_FUZZ_ITERATION } else { -1 }
    $script:Token = [guid]::NewGuid().ToString('N').Substring(0, 12)
    # the unpacker's refusals: an entry it decided against before writing anything for it. Anything else (a write
    # that failed: LayerEntryWriteFailed, a corrupt tar) means the unpacker's model of the layer and the file
    # system disagreed, or the generator wrote a broken tar: a failure of the run too.
    $script:Refusals = @('LayerPathTraversal', 'LayerPathAbsolute', 'LayerPathThroughSymlink', 'LayerPathNotDirectory', 'LayerHardlinkEscapes',
        'LayerHardlinkTargetReplaced', 'LayerRootNotDirectory', 'LayerEntryUnsupported')

    # a busybox layer that some iterations put under their random ones, so that an image that imports can be run
    $bb = New-BusyboxRootFs "$script:Work/bb-rootfs"
    & tar --numeric-owner -C $bb -cf "$script:Work/bb.tar" .
    $script:BaseLayer = [pscustomobject]@{ Path = "$script:Work/bb.tar"; DiffId = 'sha256:' + (Get-FileHash "$script:Work/bb.tar" -Algorithm SHA256).Hash.ToLowerInvariant() }
    $script:Runs = 0

    # where a '..' name could land from <root>/tmp/layer-*/diff: checked for the run's token after each iteration
    $script:EscapeDirs = @('/', '/tmp', '/var/tmp', (Split-Path $script:TestBase), $script:TestBase, $script:Work)

    function script:Format-Entries([object[]] $Layers) {
        $i = 0
        foreach ($l in $Layers) {
            "  layer $i"
            foreach ($e in $l) {
                $extra = @()
                if ($e.Link) { $extra += "-> '$($e.Link)'" }
                if ($null -ne $e.Mode) { $extra += ('mode {0}' -f [Convert]::ToString([int]$e.Mode, 8)) }
                if ($e.Uid) { $extra += "uid $($e.Uid)" }
                if ($e.Type -in 'CharDevice', 'BlockDevice') { $extra += "dev $($e.Major):$($e.Minor)" }
                "    $($e.Type) '$($e.Name)' $($extra -join ' ')"
            }
            $i++
        }
    }
}

AfterAll {
    if ($script:Work) { Remove-TestStorageRoot $script:Work }
}

Describe 'Layer unpacker fuzz' {
    It 'imports or refuses random hostile layers without touching the canary, tmp/ or the store''s consistency' {
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'unpacking owners, devices and whiteouts needs root')) { return }
        Write-Host "LayerFuzz: seed $script:Seed (CONTAINERS_FUZZ_SEED=$script:Seed replays), budget $script:Seconds s"
        $counts = [ordered]@{}
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $iteration = 0
        $ran = 0
        while ($true) {
            if ($script:Only -ge 0) { if ($ran -ge 1) { break }; $iteration = $script:Only }
            elseif ($sw.Elapsed.TotalSeconds -ge $script:Seconds) { break }
            $rng = [Random]::new([int](([long]$script:Seed + [long]$iteration * 1000003) % [int]::MaxValue))
            $fz = [LayerFuzzer]::new($rng, $script:Canary, $script:Token)
            # half the layers carry no hostile entry at all (they should import); the rest mix in a few or many
            $hostile = $fz.Pick(@(0.0, 0.0, 0.0, 0.0, 0.03, 0.1, 0.25, 0.5))
            $layerCount = if ($fz.Chance(0.3)) { 2 } else { 1 }
            $layers = @(for ($l = 0; $l -lt $layerCount; $l++) {
                    if ($l -gt 0) {
                        # a hard link names an entry of its own layer: forget the lower layer's files for that, keep names for whiteouts
                        foreach ($k in @($fz.Kinds.Keys)) { if ($fz.Kinds[$k] -ne 'Dir') { $fz.Kinds[$k] = 'Gone' } }
                    }
                    , $fz.Layer(1 + $rng.Next(20), $hostile)
                })
            $root = "$script:Work/s$iteration"
            $dir = "$script:Work/i$iteration"
            New-Item -ItemType Directory -Force -Path $dir | Out-Null
            $failure = $null
            try {
                $tars = for ($l = 0; $l -lt $layers.Count; $l++) { Write-LayerTar "$dir/layer$l.tar" $layers[$l] }
                # now and then over busybox, and when that imports, a container lists what the layers made (unless a
                # root opaque marker may hide busybox: overlay decides that, not the unpacker)
                $run = $fz.Chance(0.05) -and -not ($layers | ForEach-Object { $_ } | Where-Object { $_.Name -match '^(\./)*\.wh\.\.wh\.\.opq$' })
                if ($run) { $tars = @($script:BaseLayer) + @($tars) }
                $archive = New-DockerArchive "$dir/image.docker.tar" @($tars) -Tag "fuzz:$iteration"
                $outcome = Invoke-LayerImport $archive $root
                if ($run -and $outcome -eq 'Imported') {
                    try {
                        $r = Invoke-ContainerImage -Image "fuzz:$iteration" -Name "fuzz$iteration" -Network none -StorageRoot $root -Command /bin/busybox, sh, -c, (
                            'ls -la / >/dev/null && ls -laR ' + ($fz.Pool | ForEach-Object { "/$_" }) + ' >/dev/null 2>&1; echo listed')
                        if ($r.Output -notmatch 'listed') { $failure = "the container did not list its root: $($r.Output) $($r.Error)" }
                        $script:Runs++
                    }
                    catch { $failure = "the container did not run: $_" }
                    finally { Remove-Container "fuzz$iteration" -Force -StorageRoot $root -ErrorAction SilentlyContinue }
                }
                $key = if ($outcome -eq 'Imported') { 'Imported' } else { 'Refused ' + ($outcome -split ',')[0] }
                $counts[$key] = 1 + [int]$counts[$key]
                $now = Get-TreeFingerprint $script:Canary
                if (-not $failure -and $now -ne $script:CanaryPrint) {
                    $failure = "the canary changed:`n" + ((Compare-Object ($script:CanaryPrint -split "`n") ($now -split "`n") | ForEach-Object { "  $($_.SideIndicator) $($_.InputObject)" }) -join "`n")
                }
                foreach ($d in $script:EscapeDirs + @($root, "$root/tmp", "$root/layers")) {
                    if (-not $failure -and (Test-Path -LiteralPath "$d/pwned-$script:Token")) { $failure = "a file was written outside the layer: $d/pwned-$script:Token" }
                }
                # a removed container's directory waits in tmp/rm-* for the background delete: not the unpack's
                $left = @(Get-StoreTmpLeftovers $root | Where-Object { -not ($run -and $_ -like 'rm-*') })
                if (-not $failure -and $left.Count) { $failure = "tmp/ holds: $($left -join ', ')" }
                if (-not $failure) {
                    $problems = @(Test-ContainerStore -StorageRoot $root)
                    # a refused upper layer may leave the lower layer it already stored, unreferenced: garbage, not an error
                    $bad = @($problems | Where-Object { $_.Severity -eq 'Error' -or $outcome -eq 'Imported' -or @($tars).Count -eq 1 })
                    if ($bad.Count) { $failure = "Test-ContainerStore: " + (($bad | ForEach-Object { "$($_.Severity) $($_.Kind) $($_.Target) $($_.Message)" }) -join '; ') }
                }
                if (-not $failure -and $outcome -notmatch "^(Imported|($($script:Refusals -join '|')),Containers\.Cmdlets\.Images\.ImportContainerImageCommand)$") {
                    $failure = "an unexpected outcome: $outcome"
                }
            }
            catch { $failure = "the iteration threw: $_" }
            if ($failure) {
                $msg = "LayerFuzz FAILED: seed $script:Seed iteration $iteration (replay: CONTAINERS_FUZZ_SEED=$script:Seed CONTAINERS_FUZZ_ITERATION=$iteration)`n" +
                "  outcome: $outcome`n  $failure`n" + $(if ($run) { "  (over a busybox layer, then run)`n" }) + ((Format-Entries $layers) -join "`n")
                Write-Host $msg
                throw $msg
            }
            & rm -rf --one-file-system $root $dir
            $iteration++
            $ran++
        }
        $summary = ($counts.Keys | ForEach-Object { "$_ = $($counts[$_])" }) -join ', '
        Write-Host "LayerFuzz: seed $script:Seed, $ran iterations in $([int]$sw.Elapsed.TotalSeconds) s: $summary; $script:Runs containers listed their root"
        if ($script:Only -lt 0) {
            $ran | Should -BeGreaterThan 20 -Because 'the budget should fit more than a handful of imports'
            # the generator is weighted so that about half the layers are benign: most of those must import
            ([int]$counts['Imported'] / $ran) | Should -BeGreaterThan 0.3 -Because "a fuzz run where (almost) everything is refused proves little ($summary)"
        }
    }
}
