# Every kind of record a storage root holds is known to Test-ContainerStore (Engine.Runtime.StoreKinds): the
# event log is checked (a torn or garbled line is a finding; -Repair rewrites the file keeping its good lines),
# and an entry of the root of no known kind is reported and never removed by -Repair.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:R = New-TestStorageRoot 'storekinds'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:R }
    $script:Log = Join-Path $R 'events.log'
}
AfterAll {
    Get-Container -All -StorageRoot $R -ErrorAction SilentlyContinue | Remove-Container -Force -StorageRoot $R -ErrorAction SilentlyContinue
    Get-ContainerNetwork -StorageRoot $R -ErrorAction SilentlyContinue | Where-Object Name -ne 'bridge' | Remove-ContainerNetwork -Force -Confirm:$false -StorageRoot $R -ErrorAction SilentlyContinue
    Get-ContainerVolume -StorageRoot $R -ErrorAction SilentlyContinue | Remove-ContainerVolume -Confirm:$false -StorageRoot $R -ErrorAction SilentlyContinue
    Remove-TestStorageRoot $R
}

Describe 'The kinds of record a root holds' {
    It 'a root in use has no entry of unknown kind, and a missing event log is no finding' {
        if (-not (Test-Prerequisite -Condition $IsRoot -Because 'needs root')) { return }
        Test-Path $Log | Should -BeFalse
        @(Test-ContainerStore) | Should -BeNullOrEmpty
        # every kind made once: an image, a container run, a network, a volume, events
        $fs = New-BusyboxRootFs "$R/../storekinds-rootfs-$PID"
        try { Import-ContainerImage -RootFs -LiteralPath $fs -Name storekinds/bb:1 | Out-Null }
        finally { Remove-Item -Recurse -Force $fs }
        New-ContainerNetwork -Name skn | Out-Null
        New-ContainerVolume -Name skv | Out-Null
        $run = Invoke-ContainerImage storekinds/bb:1 -StorageRoot $R -Name skc -Network skn -Volume skv:/v -Command sh, -c, 'echo x > /v/f'
        $run.ExitCode | Should -Be 0
        Test-Path $Log | Should -BeTrue
        $f = @(Test-ContainerStore)
        if ($f) { Write-Host ($f | Format-List Kind, Severity, Target, Message | Out-String) }
        $f | Should -BeNullOrEmpty
    }

    It 'reports a garbled and a torn event log line, and -Repair keeps exactly the good lines' {
        if (-not (Test-Prerequisite -Condition $IsRoot -Because 'needs root')) { return }
        New-ContainerVolume -Name skv2 | Out-Null
        $good = [IO.File]::ReadAllBytes($Log)
        $good.Length | Should -BeGreaterThan 0
        $goodLines = @([Text.Encoding]::UTF8.GetString($good).TrimEnd("`n") -split "`n")
        $before = @(Get-ContainerEvent)
        $before.Count | Should -Be $goodLines.Count
        # a garbled line in the middle, a line cut short at the end (no newline)
        $lines = [Collections.Generic.List[string]]::new([string[]]$goodLines)
        $lines.Insert(1, '{"time":"2026-01-01T00:00:00Z","type":"container","act')
        $lines.Insert(2, "`u{1}garbage`u{2}")
        $text = ($lines -join "`n") + "`n" + $goodLines[0].Substring(0, 20)
        [IO.File]::WriteAllText($Log, $text)
        # listing still works (bad lines are skipped)
        @(Get-ContainerEvent).Count | Should -Be $goodLines.Count
        $f = @(Test-ContainerStore | Where-Object Kind -eq 'EventLogCorrupt')
        $f.Count | Should -Be 1
        $f[0].Target | Should -Be $Log
        $f[0].Severity | Should -Be 'Error'
        $f[0].Message | Should -Match '^3 line'
        $f[0].Repaired | Should -BeFalse
        (Test-ContainerStore -Quiet) | Should -BeFalse
        # -WhatIf changes nothing
        Test-ContainerStore -Repair -WhatIf | Out-Null
        [IO.File]::ReadAllText($Log) | Should -Be $text
        $rep = @(Test-ContainerStore -Repair -Confirm:$false | Where-Object Kind -eq 'EventLogCorrupt')
        $rep.Count | Should -Be 1
        $rep[0].Repaired | Should -BeTrue
        # the good lines, byte for byte and in order
        [Convert]::ToHexString([IO.File]::ReadAllBytes($Log)) | Should -Be ([Convert]::ToHexString($good))
        @(Get-ContainerEvent).Count | Should -Be $goodLines.Count
        @(Test-ContainerStore) | Should -BeNullOrEmpty
        # and the log goes on
        Remove-ContainerVolume skv2 -Confirm:$false
        @(Get-ContainerEvent -Type Volume | Where-Object Action -eq 'remove').Count | Should -BeGreaterThan 0
    }

    It 'checks the rotated file too' {
        if (-not (Test-Prerequisite -Condition $IsRoot -Because 'needs root')) { return }
        $one = "$Log.1"
        $first = @([IO.File]::ReadAllLines($Log))[0]
        [IO.File]::WriteAllText($one, "$first`nnot a record`n")
        $f = @(Test-ContainerStore | Where-Object Kind -eq 'EventLogCorrupt')
        $f.Target | Should -Be $one
        Test-ContainerStore -Repair -Confirm:$false | Out-Null
        [IO.File]::ReadAllText($one) | Should -Be "$first`n"
        Remove-Item $one
    }

    It 'reports an entry of no known kind and never removes it, with or without -Repair' {
        if (-not (Test-Prerequisite -Condition $IsRoot -Because 'needs root')) { return }
        Set-Content -LiteralPath "$R/mystery.db" -Value 'precious'
        New-Item -ItemType Directory "$R/buildcache-from-the-future" | Out-Null
        Set-Content -LiteralPath "$R/buildcache-from-the-future/rec.json" -Value '{}'
        $f = @(Test-ContainerStore | Where-Object Kind -eq 'UnknownEntry')
        @($f.Target | Sort-Object) | Should -Be @("$R/buildcache-from-the-future", "$R/mystery.db")
        @($f.Severity | Select-Object -Unique) | Should -Be 'Warning'
        $rep = @(Test-ContainerStore -Repair -Confirm:$false | Where-Object Kind -eq 'UnknownEntry')
        $rep.Count | Should -Be 2
        @($rep | Where-Object Repaired).Count | Should -Be 0
        Get-Content -Raw "$R/mystery.db" | Should -Match 'precious'
        Test-Path "$R/buildcache-from-the-future/rec.json" | Should -BeTrue
        # an unknown entry is not an inconsistency
        Test-ContainerStore -Quiet | Should -BeTrue
        Remove-Item -Recurse -Force "$R/mystery.db", "$R/buildcache-from-the-future"
    }

    It 'the engine''s kind list owns every top-level name the engine writes' {
        $kinds = [Containers.Engine.Runtime.StoreKinds]::All
        foreach ($n in 'blobs', 'layers', 'l', 'images', 'repositories.json', '.repositories.json.tmp-1-2', 'containers', 'networks', 'volumes',
            'events.log', 'events.log.1', 'runtime', 'tmp', 'locks', 'reserve', 'reserve.tmp') {
            [Containers.Engine.Runtime.StoreKinds]::Of($n) | Should -Not -BeNullOrEmpty -Because "'$n' is written by the engine"
        }
        [Containers.Engine.Runtime.StoreKinds]::Of('mystery.db') | Should -BeNullOrEmpty
        # each kind has a check or says which one covers it
        foreach ($k in $kinds) { ($null -ne $k.Check -or $k.CheckedBy) | Should -BeTrue -Because "kind $($k.Name)" }
    }
}
