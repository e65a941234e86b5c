# Test-ContainerImage: images made to have each issue (crafted root file systems imported, Dockerfiles built from
# busybox) and the finding each one must give; a clean image gives none; hostile layers whose links point at host
# files do not make the audit read them.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'image-audit'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    $script:ctx = Join-Path $script:root 'ctx'
    New-Item -ItemType Directory -Path $script:ctx | Out-Null
    function script:Build([string] $Tag, [string] $Dockerfile) {
        Build-ContainerImage -Path $script:ctx -InlineDockerfile $Dockerfile -Tag $Tag -Network none -Quiet | Out-Null
    }
    function script:Import([string] $Tag, [scriptblock] $Craft) {
        $dir = Join-Path $script:root ('fs-' + [Guid]::NewGuid().ToString('N').Substring(0, 8))
        & cp -a $script:rootfs $dir
        & $Craft $dir
        # a change may not add a HEALTHCHECK: a build on top of the imported tree does
        $raw = 'audit/raw-' + (Split-Path $dir -Leaf) + ':1'
        Import-ContainerImage -RootFs -LiteralPath $dir -Name $raw -Change 'USER 1000' | Out-Null
        Build $Tag "FROM $raw`nHEALTHCHECK CMD true"
    }
    # a package the host's apt lists know (the host's own release), to craft an out-of-date dpkg database
    $script:hostOs = @{}
    if (Test-Path /etc/os-release) { Get-Content /etc/os-release | ForEach-Object { if ($_ -match '^([A-Z_]+)="?([^"]*)"?$') { $script:hostOs[$Matches[1]] = $Matches[2] } } }
    $script:codename = $script:hostOs['VERSION_CODENAME']
    $script:hasLists = $script:hostOs['ID'] -eq 'debian' -and $script:codename -and
        @(Get-ChildItem /var/lib/apt/lists -Filter "*_dists_$($script:codename)_*Packages*" -ErrorAction SilentlyContinue).Count -gt 0
    # base-files is in every Debian release's main list; 0.1 is older than any version of it
    $script:status = "Package: base-files`nStatus: install ok installed`nArchitecture: amd64`nVersion: 0.1`n`n" +
        "Package: dash`nStatus: install ok installed`nArchitecture: amd64`nVersion: 99:99`n`n" +
        "Package: bash`nStatus: deinstall ok config-files`nArchitecture: amd64`nVersion: 0.1`n"
    function script:AddDebian([string] $Dir) {
        New-Item -ItemType Directory -Force -Path "$Dir/usr/lib", "$Dir/var/lib/dpkg" | Out-Null
        Copy-Item /etc/os-release "$Dir/usr/lib/os-release"
        # as in Debian: /etc/os-release is a relative link, resolved inside the image
        New-Item -ItemType SymbolicLink -Path "$Dir/etc/os-release" -Target '../usr/lib/os-release' | Out-Null
    }
    # a host file the hostile images point at: if the audit read it, base-files 0.1 would be reported
    $script:hostDir = Join-Path $script:root 'host-dpkg'
    New-Item -ItemType Directory -Path $script:hostDir | Out-Null
    Set-Content -LiteralPath "$($script:hostDir)/status" -Value $script:status -NoNewline

    if ($script:IsRoot) {
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name busybox:latest | Out-Null
        Build 'audit/clean:1' "FROM busybox:latest`nUSER 1000`nHEALTHCHECK CMD true"
        Build 'audit/noroot:1' "FROM busybox:latest`nHEALTHCHECK CMD true"
        Build 'audit/root:1' "FROM busybox:latest`nUSER root`nHEALTHCHECK CMD true"
        Build 'audit/root0:1' "FROM busybox:latest`nUSER 0:1000`nHEALTHCHECK CMD true"
        Build 'audit/nohealth:1' "FROM busybox:latest`nUSER 1000"
        Build 'audit/healthnone:1' "FROM busybox:latest`nUSER 1000`nHEALTHCHECK NONE"
        Build 'audit/env:1' ("FROM busybox:latest`nUSER 1000`nHEALTHCHECK CMD true`n" +
            "ENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY DB_PASSWORD_FILE=/run/secrets/db EMPTY_TOKEN=`n" +
            "LABEL deploy.key=`"-----BEGIN OPENSSH PRIVATE KEY-----`" maintainer=`"someone`"")
        Build 'audit/history:1' "FROM busybox:latest`nUSER 1000`nHEALTHCHECK CMD true`nRUN API_TOKEN=s3cr3tv4lue true"
        Build 'audit/base:1' "FROM busybox:latest`nLABEL generation=1"
        Build 'audit/child:1' "FROM audit/base:1`nUSER 1000`nHEALTHCHECK CMD true"
        Import 'audit/files:1' {
            param($d)
            Copy-Item "$d/bin/busybox" "$d/bin/suid"; & chmod 4755 "$d/bin/suid"
            Copy-Item "$d/bin/busybox" "$d/bin/sgid"; & chmod 2755 "$d/bin/sgid"
            New-Item -ItemType Directory -Path "$d/opt/open", "$d/opt/sticky", "$d/opt/setgid-dir" | Out-Null
            Set-Content "$d/opt/shared.txt" 'x'; & chmod 0666 "$d/opt/shared.txt"
            & chmod 0777 "$d/opt/open"; & chmod 1777 "$d/opt/sticky"; & chmod 2755 "$d/opt/setgid-dir"
            Set-Content "$d/tmp/scratch.txt" 'x'; & chmod 0666 "$d/tmp/scratch.txt"
            New-Item -ItemType SymbolicLink -Path "$d/opt/link" -Target /etc/shadow | Out-Null
        }
        Import 'audit/dpkg:1' { param($d) AddDebian $d; Set-Content -LiteralPath "$d/var/lib/dpkg/status" -Value $script:status -NoNewline }
        Import 'audit/hostile:abs' { param($d) AddDebian $d; New-Item -ItemType SymbolicLink -Path "$d/var/lib/dpkg/status" -Target "$($script:hostDir)/status" | Out-Null }
        Import 'audit/hostile:rel' { param($d) AddDebian $d; New-Item -ItemType SymbolicLink -Path "$d/var/lib/dpkg/status" -Target "../../../../../../../../..$($script:hostDir)/status" | Out-Null }
        Import 'audit/hostile:dir' {
            param($d) AddDebian $d
            Remove-Item -LiteralPath "$d/var/lib/dpkg" -Recurse
            New-Item -ItemType SymbolicLink -Path "$d/var/lib/dpkg" -Target $script:hostDir | Out-Null
        }
        Import 'audit/hostile:shadow' { param($d) AddDebian $d; New-Item -ItemType SymbolicLink -Path "$d/var/lib/dpkg/status" -Target '/etc/shadow' | Out-Null }
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Test-ContainerImage' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'images are built and imported as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'finds nothing in a clean image (USER 1000, HEALTHCHECK), by name and from Get-ContainerImage' {
        @(Test-ContainerImage audit/clean:1).Count | Should -Be 0
        @(Get-ContainerImage audit/clean:1 | Test-ContainerImage).Count | Should -Be 0
    }

    It 'finds an image that runs as root: no USER, USER root, USER 0:gid' {
        foreach ($img in 'audit/noroot:1', 'audit/root:1', 'audit/root0:1', 'busybox:latest') {
            $f = @(Test-ContainerImage $img -Rule RunsAsRoot)
            $f.Count | Should -Be 1 -Because $img
            $f[0].Rule | Should -Be 'RunsAsRoot'
            $f[0].Severity | Should -Be 'Medium'
            $f[0].Key | Should -Be 'User'
            $f[0].Image | Should -Be $img
            $f[0].Message | Should -Match '-User'
        }
        @(Test-ContainerImage audit/clean:1 -Rule RunsAsRoot).Count | Should -Be 0
    }

    It 'finds a missing healthcheck, and HEALTHCHECK NONE' {
        foreach ($img in 'audit/nohealth:1', 'audit/healthnone:1') {
            $f = @(Test-ContainerImage $img)
            @($f.Rule) | Should -Be @('NoHealthcheck') -Because $img
            $f[0].Severity | Should -Be 'Low'
        }
    }

    It 'finds secrets in Env and Labels without echoing them, not a _FILE reference or an empty value' {
        $f = @(Test-ContainerImage audit/env:1 -Rule Secret)
        @($f.Key -notmatch '^History' | Sort-Object) | Should -Be @('Env:AWS_SECRET_ACCESS_KEY', 'Label:deploy.key')
        # the ENV and LABEL steps of the history carry the same values (as docker history shows them)
        @($f.Key -match '^History\[\d+\]$').Count | Should -Be 2
        $f | ForEach-Object { $_.Severity | Should -Be 'High'; $_.Message | Should -Not -Match 'wJalrXUtnFEMI' }
        ($f | Where-Object Key -EQ 'Label:deploy.key').Message | Should -Match 'private key'
    }

    It 'finds a secret left in the history' {
        $f = @(Test-ContainerImage audit/history:1)
        @($f.Rule) | Should -Be @('Secret')
        $f[0].Key | Should -Match '^History\[\d+\]$'
        $f[0].Message | Should -Match 'API_TOKEN'
        $f[0].Message | Should -Not -Match 's3cr3tv4lue'
        $n = [int]($f[0].Key -replace '\D', '')
        (Get-ContainerImage audit/history:1).Config.History[$n].CreatedBy | Should -Match 's3cr3tv4lue'
    }

    It 'finds setuid/setgid and world-writable files; not sticky directories, /tmp, setgid directories or links' {
        $f = @(Test-ContainerImage audit/files:1)
        @($f | Where-Object Rule -EQ SetuidFile | ForEach-Object Path) | Should -Be @('/bin/sgid', '/bin/suid')
        ($f | Where-Object Path -EQ '/bin/suid').Severity | Should -Be 'Medium'
        ($f | Where-Object Path -EQ '/bin/sgid').Severity | Should -Be 'Low'
        @($f | Where-Object Rule -EQ WorldWritable | ForEach-Object Path) | Should -Be @('/opt/open', '/opt/shared.txt')
        @($f.Rule | Sort-Object -Unique) | Should -Be @('SetuidFile', 'WorldWritable')
    }

    It 'finds a base that now resolves to another image, and not before' {
        @(Test-ContainerImage audit/child:1 -Rule OutdatedBase).Count | Should -Be 0
        Build 'audit/base:1' "FROM busybox:latest`nLABEL generation=2"
        $f = @(Test-ContainerImage audit/child:1)
        @($f.Rule) | Should -Be @('OutdatedBase')
        $f[0].Key | Should -Match 'audit/base:1'
        $f[0].Message | Should -Match ((Get-ContainerImage audit/base:1).ManifestDigest.Substring(0, 19))
    }

    It 'finds installed packages older than the host''s apt lists (only installed ones, not newer ones)' {
        if (-not (Test-Prerequisite $script:hasLists 'the host is Debian with apt lists (apt-get update)')) { return }
        $f = @(Test-ContainerImage audit/dpkg:1)
        @($f.Rule) | Should -Be @('OutdatedPackage')
        $f[0].Key | Should -Be 'base-files'
        $f[0].Path | Should -Be '/var/lib/dpkg/status'
        $f[0].Message | Should -Match 'base-files 0\.1 is installed'
    }

    It 'does not follow an image''s links to host files (<_>)' -ForEach 'audit/hostile:abs', 'audit/hostile:rel', 'audit/hostile:dir', 'audit/hostile:shadow' {
        if (-not (Test-Prerequisite $script:hasLists 'the host is Debian with apt lists (apt-get update)')) { return }
        # the same status as a real file gives a finding (audit/dpkg:1 above); through a link to the host, none
        @(Test-ContainerImage $_ -Rule OutdatedPackage).Count | Should -Be 0
        @(Test-ContainerImage $_).Count | Should -Be 0
    }

    It 'selects rules with -Rule and severities with -Severity' {
        @(Test-ContainerImage audit/files:1 -Rule WorldWritable).Rule | Sort-Object -Unique | Should -Be 'WorldWritable'
        @(Test-ContainerImage audit/files:1 -Severity Medium | ForEach-Object Path) | Should -Be @('/bin/suid', '/opt/open', '/opt/shared.txt')
        @(Test-ContainerImage audit/noroot:1 -Severity High).Count | Should -Be 0
    }

    It 'audits every image from Get-ContainerImage in one pipeline' {
        $f = @(Get-ContainerImage | Where-Object Repository -Like 'audit/*' | Where-Object Repository -NotLike 'audit/raw-*' | Test-ContainerImage)
        @($f.Rule | Sort-Object -Unique) | Should -Contain 'Secret'
        @($f.Image | Sort-Object -Unique) | Should -Contain 'audit/files:1'
        @($f | Where-Object Image -EQ 'audit/clean:1').Count | Should -Be 0
    }

    It 'writes ImageNotFound for a missing image and goes on with the others' {
        $f = @(Test-ContainerImage 'audit/missing:1', 'audit/nohealth:1' -ErrorAction SilentlyContinue -ErrorVariable ev)
        $ev.Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
        $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $ev[0].TargetObject | Should -Be 'audit/missing:1'
        @($f.Rule) | Should -Be @('NoHealthcheck')
    }
}

Describe 'The warning for a container that runs as root on the host' {
    BeforeAll {
        # the warning is about containers in the host's user namespace: this root's default is Host (new roots' is
        # Auto, under which a root image gets no warning: the last test shows it)
        if ($script:IsRoot) { Set-ContainerHostConfiguration -StorageRoot $script:root -DefaultUserNamespace Host }
    }
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'containers are created as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'warns for an image without USER and says how to avoid it' {
        $c = New-Container busybox:latest -Name audit-warn-1 -Command true -WarningVariable w -WarningAction SilentlyContinue
        $c | Should -Not -BeNullOrEmpty
        $w.Count | Should -Be 1
        "$($w[0])" | Should -Match '-User'
        "$($w[0])" | Should -Match 'root on the host'
        $w = $null
        New-Container audit/root:1 -Name audit-warn-2 -Command true -Privileged -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $w.Count | Should -Be 1
        "$($w[0])" | Should -Match 'Privileged'
    }

    It 'does not warn with -User, for an image with a non-root USER, nor when -WarningAction silences it' {
        $w = $null
        New-Container busybox:latest -Name audit-warn-3 -Command true -User 1000 -WarningVariable w | Out-Null
        $w.Count | Should -Be 0
        New-Container audit/clean:1 -Name audit-warn-4 -Command true -WarningVariable w | Out-Null
        $w.Count | Should -Be 0
        $out = New-Container busybox:latest -Name audit-warn-5 -Command true -WarningAction SilentlyContinue 3>&1
        @($out | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }).Count | Should -Be 0
        New-Container audit/clean:1 -Name audit-warn-6 -Command true -User 0 -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $w.Count | Should -Be 1
    }

    It 'warns from Invoke-ContainerImage too' {
        $r = Invoke-ContainerImage busybox:latest -User root -Remove -Network none -Quiet -Command true -WarningVariable w -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0
        $w.Count | Should -Be 1
    }

    It 'warns once per image and user in a session, not at every run' {
        New-Container busybox:latest -Name audit-warn-7 -Command true -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $w.Count | Should -Be 0   # busybox:latest without -User warned in the first test of this block
        $r = Invoke-ContainerImage busybox:latest -User root -Remove -Network none -Quiet -Command true -WarningVariable w -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0
        $w.Count | Should -Be 0   # and with -User root in the one before
        # a user namespace: no warning, even for an image and user not seen yet
        $r = Invoke-ContainerImage busybox:latest -User 0 -UserNamespace Auto -Remove -Network none -Quiet -Command true -WarningVariable w -WarningAction SilentlyContinue
        $r.ExitCode | Should -Be 0
        $w.Count | Should -Be 0
    }
}
