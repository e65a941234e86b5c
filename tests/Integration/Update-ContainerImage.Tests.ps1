# Base tracking (issue 12, item 7): every built image records its base (OCI annotations) and its recipe in the
# store; Get-ContainerImage -Outdated lists images whose base name now points at another image (locally, or in the
# base's registry with -Remote); Update-ContainerImage rebuilds them from their recipe, or -Rebase swaps their base
# layers, and -Recurse goes on to the images built on them in dependency order. Base v1 -> app -> app2; base v2 and
# v3 are "security fixes" (a changed /etc/fix-version).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:root = New-TestStorageRoot 'build-base-upd'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root
        'Build-ContainerImage:StorageRoot' = $script:root; 'Update-ContainerImage:StorageRoot' = $script:root }
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')

    # base vN: busybox plus /etc/fix-version = vN, imported as localhost/base:latest (the name moves, as a pull of a fixed base would move it)
    function script:Import-Base([string] $Version, [string] $Name = 'localhost/base:latest', [string] $Root = $script:root) {
        Set-Content -LiteralPath "$($script:rootfs)/etc/fix-version" -Value $Version -NoNewline
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $Name -StorageRoot $Root
    }
    function script:Cat([string] $Image, [string] $Path) {
        $r = Invoke-ContainerImage $Image -Remove -Network none -Quiet -Entrypoint cat -Command $Path
        $r.ExitCode | Should -Be 0 -Because $r.Error
        $r.Output.Trim()
    }
    function script:Recipe([string] $Image, [string] $Root = $script:root) {
        $img = Get-ContainerImage $Image -StorageRoot $Root
        Get-Content -Raw -LiteralPath (Join-Path $Root "recipes/$($img.ManifestDigest.Substring(7)).json") | ConvertFrom-Json
    }

    $script:appCtx = Join-Path $script:root 'app'
    $script:app2Ctx = Join-Path $script:root 'app2'
    New-Item -ItemType Directory -Path $script:appCtx, $script:app2Ctx | Out-Null
    Set-Content -LiteralPath "$($script:appCtx)/app.txt" -Value 'the app' -NoNewline
    # the RUN records which base it ran against: a rebuild reruns it, a rebase keeps its result
    Set-Content -LiteralPath "$($script:appCtx)/Dockerfile" -Value @'
FROM localhost/base
ARG FLAVOUR=plain
COPY app.txt /app/app.txt
RUN cat /etc/fix-version > /app/built-on && echo "$FLAVOUR" > /app/flavour
CMD ["cat", "/etc/fix-version"]
'@
    Set-Content -LiteralPath "$($script:app2Ctx)/app2.txt" -Value 'the second app' -NoNewline
    Set-Content -LiteralPath "$($script:app2Ctx)/Dockerfile" -Value "FROM app`nCOPY app2.txt /app/app2.txt"
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Base tracking and Update-ContainerImage' {
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'records the base as annotations and the recipe (Dockerfile, context and its digest, args, target, tags) in the store' {
        $script:v1 = Import-Base 'v1'
        $script:app1 = Build-ContainerImage -Path $script:appCtx -Tag app -BuildArg @{ FLAVOUR = 'sweet' } -Network none -Quiet
        $script:app21 = Build-ContainerImage -Path $script:app2Ctx -Tag app2 -Network none -Quiet
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        $m = [Text.Encoding]::UTF8.GetString($store.ReadManifest($script:app1)) | ConvertFrom-Json
        $m.annotations.'org.opencontainers.image.base.name' | Should -Be 'localhost/base'
        $m.annotations.'org.opencontainers.image.base.digest' | Should -Be $script:v1.ManifestDigest
        $r = Recipe app
        $r.ManifestDigest | Should -Be $script:app1.ManifestDigest
        $r.Dockerfile | Should -Be (Get-Content -Raw -LiteralPath "$($script:appCtx)/Dockerfile")
        $r.DockerfilePath | Should -Be "$($script:appCtx)/Dockerfile"
        $r.ContextPath | Should -Be $script:appCtx
        $r.ContextDigest | Should -Match '^sha256:[0-9a-f]{64}$'
        $r.BuildArgs.FLAVOUR | Should -Be 'sweet'
        $r.Target | Should -BeNullOrEmpty
        @($r.Tags) | Should -Be @('app')
        $r.Network | Should -Be 'none'
        $r.BaseName | Should -Be 'localhost/base'
        $r.BaseDigest | Should -Be $script:v1.ManifestDigest
        @($r.BaseDiffIds) | Should -Be @($script:v1.LayerDiffIds)
        # app2's base is app as written, and the digest app had
        $r2 = Recipe app2
        $r2.BaseName | Should -Be 'app'
        $r2.BaseDigest | Should -Be $script:app1.ManifestDigest
        # the context digest changes with a file's content, not with its mtime
        $d1 = [Containers.Engine.Build.RecipeStore]::ContextDigestOf($script:appCtx, "$($script:appCtx)/Dockerfile")
        $d1 | Should -Be $r.ContextDigest
        (Get-Item "$($script:appCtx)/app.txt").LastWriteTime = [datetime]'2001-01-01'
        [Containers.Engine.Build.RecipeStore]::ContextDigestOf($script:appCtx, "$($script:appCtx)/Dockerfile") | Should -Be $d1
        Set-Content -LiteralPath "$($script:appCtx)/app.txt" -Value 'the app!' -NoNewline
        [Containers.Engine.Build.RecipeStore]::ContextDigestOf($script:appCtx, "$($script:appCtx)/Dockerfile") | Should -Not -Be $d1
        Set-Content -LiteralPath "$($script:appCtx)/app.txt" -Value 'the app' -NoNewline
    }

    It 'lists nothing as outdated while the base name still points at the image it was built on' {
        @(Get-ContainerImage -Outdated) | Should -BeNullOrEmpty
    }

    It 'lists app (and only app) as outdated once the base name points at a fixed base' {
        $script:v2 = Import-Base 'v2'
        $script:v2.ManifestDigest | Should -Not -Be $script:v1.ManifestDigest
        $o = @(Get-ContainerImage -Outdated)
        $o.Count | Should -Be 1
        $o[0].Reference | Should -Be 'app:latest'
        $o[0].Id | Should -Be $script:app1.Id
        $o[0].BaseName | Should -Be 'localhost/base'
        $o[0].BaseDigest | Should -Be $script:v1.ManifestDigest
        $o[0].CurrentBaseDigest | Should -Be $script:v2.ManifestDigest
        # a name filter applies; an up-to-date image named is no error
        @(Get-ContainerImage app2 -Outdated -ErrorVariable ev) | Should -BeNullOrEmpty
        $ev | Should -BeNullOrEmpty
    }

    It 'plans app then app2 with -Recurse, and -WhatIf changes nothing' {
        $u = [Containers.Engine.Build.ImageUpdater]::new([Containers.Engine.Runtime.ContainerRuntime]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root)))
        $plan = @($u.Plan([string[]]@('app'), $true, $false, $false, $null))
        @($plan | ForEach-Object Image) | Should -Be @('app:latest', 'app2:latest')
        @($plan | ForEach-Object Action) | Should -Be @('Rebuild', 'Rebuild')
        $plan[0].NewBaseDigest | Should -Be $script:v2.ManifestDigest
        $plan[1].After | Should -Be 'app:latest'
        # without -Recurse only app
        @($u.Plan([string[]]@('app'), $false, $false, $false, $null)).Count | Should -Be 1
        # an up-to-date image alone is no step
        @($u.Plan([string[]]@('app2'), $false, $false, $false, $null)).Count | Should -Be 0
        $out = Update-ContainerImage app -Recurse -WhatIf
        $out | Should -BeNullOrEmpty
        (Get-ContainerImage app:latest).Id | Should -Be $script:app1.Id
        (Get-ContainerImage app2:latest).Id | Should -Be $script:app21.Id
    }

    It 'rebuilds app from its recipe and then app2 on the new app, retagging both: both contain the fix' {
        $steps = @(Update-ContainerImage app -Recurse -Quiet)
        $steps.Count | Should -Be 2
        @($steps | ForEach-Object Image) | Should -Be @('app:latest', 'app2:latest')
        $app = Get-ContainerImage app:latest
        $app2 = Get-ContainerImage app2:latest
        $app.Id | Should -Not -Be $script:app1.Id
        $app2.Id | Should -Not -Be $script:app21.Id
        $steps[0].NewImageId | Should -Be $app.Id
        $steps[1].NewImageId | Should -Be $app2.Id
        Cat app2 /etc/fix-version | Should -Be 'v2'
        Cat app /etc/fix-version | Should -Be 'v2'
        # the build ran again: its RUN saw the fixed base, with the recorded build argument
        Cat app /app/built-on | Should -Be 'v2'
        Cat app /app/flavour | Should -Be 'sweet'
        Cat app2 /app/app2.txt | Should -Be 'the second app'
        # the new images record the new bases and have recipes of their own
        (Recipe app).BaseDigest | Should -Be $script:v2.ManifestDigest
        (Recipe app2).BaseDigest | Should -Be $app.ManifestDigest
        @(Get-ContainerImage -Outdated) | Should -BeNullOrEmpty
        # the old images lost their tags; containers could still use them
        (Get-ContainerImage -Id $script:app1.Id).Dangling | Should -BeTrue
        $script:app2Rebuilt = $app
    }

    It 'keeps the recipes for a new session: a new pwsh process lists app as outdated from them' {
        $script:v3 = Import-Base 'v3'
        $cmd = "Import-Module '$script:ModulePath'; " +
            "Get-ContainerImage -Outdated -StorageRoot '$script:root' | ForEach-Object { `$_.Reference + ' ' + `$_.BaseDigest }; " +
            "`$u = [Containers.Engine.Build.ImageUpdater]::new([Containers.Engine.Runtime.ContainerRuntime]::new([Containers.Engine.State.StorageRoot]::Resolve('$script:root'))); " +
            "`$u.Plan([string[]]@('app'), `$true, `$false, `$false, `$null) | ForEach-Object { 'step ' + `$_.Image }"
        # a new process of the pwsh this test runs in (under `dotnet pwsh`: dotnet .../pwsh.dll), as the crash suite starts its workers
        $exe = (Get-Process -Id $PID).Path
        $self = [IO.File]::ReadAllText("/proc/$PID/cmdline").Split([char]0)
        $pre = @(if ((Split-Path $exe -Leaf) -like 'dotnet*') { if ($self.Count -gt 1 -and $self[1] -like '*pwsh.dll') { $self[1] } else { 'pwsh' } })
        $out = & $exe @pre -NoProfile -NonInteractive -Command $cmd
        $LASTEXITCODE | Should -Be 0
        @($out) | Should -Be @("app:latest $($script:v2.ManifestDigest)", 'step app:latest', 'step app2:latest')
    }

    It 'rebases app and app2 onto the new base without running the build: the fix is in, the RUN result is kept' {
        $old = Get-ContainerImage app:latest
        $old2 = Get-ContainerImage app2:latest
        $steps = @(Update-ContainerImage app -Recurse -Rebase -Quiet -WarningVariable wv -WarningAction SilentlyContinue)
        $steps.Count | Should -Be 2
        @($steps | ForEach-Object Action) | Should -Be @('Rebase', 'Rebase')
        # app's own RUN ran against v2: the warning says a rebase keeps it
        "$wv" | Should -Match 'RUN steps'
        $app = Get-ContainerImage app:latest
        $app2 = Get-ContainerImage app2:latest
        Cat app /etc/fix-version | Should -Be 'v3'
        Cat app2 /etc/fix-version | Should -Be 'v3'
        Cat app /app/built-on | Should -Be 'v2'
        Cat app2 /app/app2.txt | Should -Be 'the second app'
        # the base layer swapped, the image's own layers the same ones
        $app.LayerDiffIds[0] | Should -Be $script:v3.LayerDiffIds[0]
        @($app.LayerDiffIds | Select-Object -Skip 1) | Should -Be @($old.LayerDiffIds | Select-Object -Skip 1)
        @($app2.LayerDiffIds | Select-Object -Skip 1) | Should -Be @($old2.LayerDiffIds | Select-Object -Skip 1)
        # the config and history: the new base's history, then the image's own steps
        @($app.Config.History).Count | Should -Be @($old.Config.History).Count
        $app.Config.Config.Cmd | Should -Be @('cat', '/etc/fix-version')
        $app.ParentId | Should -Be $script:v3.Id
        $store = [Containers.Engine.Images.ImageStore]::new([Containers.Engine.State.StorageRoot]::Resolve($script:root))
        $m = [Text.Encoding]::UTF8.GetString($store.ReadManifest($app2)) | ConvertFrom-Json
        $m.annotations.'org.opencontainers.image.base.digest' | Should -Be $app.ManifestDigest
        (Recipe app).RebasedFrom | Should -Be $old.ManifestDigest
        @(Get-ContainerImage -Outdated) | Should -BeNullOrEmpty
    }

    It 'says which image has no recipe, and that an image built FROM scratch has no base' {
        $s = Build-ContainerImage -Path $script:appCtx -InlineDockerfile "FROM scratch`nCOPY app.txt /" -Tag scratchy -Network none -Quiet
        $s | Should -Not -BeNullOrEmpty
        Update-ContainerImage scratchy -ErrorVariable ev -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'ImageHasNoBase,*'
        # an imported image has no base either
        Update-ContainerImage localhost/base -ErrorVariable ev2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $ev2[0].FullyQualifiedErrorId | Should -BeLike 'ImageHasNoBase,*'
    }

    It 'reports a corrupt recipe (Test-ContainerStore), moves it aside with -Repair and keeps the image and its layers' {
        $app = Get-ContainerImage app:latest
        $path = Join-Path $script:root "recipes/$($app.ManifestDigest.Substring(7)).json"
        Set-Content -LiteralPath $path -Value '{"Version":1,"Manif' -NoNewline
        # listings go on, with the corrupt record as a non-terminating error
        $null = Import-Base 'v4'
        $o = @(Get-ContainerImage -Outdated -ErrorVariable ev -ErrorAction SilentlyContinue)
        ($ev | Where-Object { $_.FullyQualifiedErrorId -like 'RecipeRecordCorrupt,*' }) | Should -Not -BeNullOrEmpty
        # app is still outdated by its manifest's annotations
        @($o | ForEach-Object Reference) | Should -Contain 'app:latest'
        $f = @(Test-ContainerStore -StorageRoot $script:root | Where-Object Kind -eq 'RecipeRecordCorrupt')
        $f.Count | Should -Be 1
        $f[0].Target | Should -Be $path
        $f[0].Severity | Should -Be 'Error'
        $r = @(Test-ContainerStore -Repair -StorageRoot $script:root | Where-Object Kind -eq 'RecipeRecordCorrupt')
        $r[0].Repaired | Should -BeTrue
        Test-Path -LiteralPath $path | Should -BeFalse
        @(Get-ChildItem -LiteralPath (Join-Path $script:root 'recipes') -Filter '*.corrupt-*').Count | Should -Be 1
        (Get-ContainerImage app:latest).Id | Should -Be $app.Id
        Cat app /app/app.txt | Should -Be 'the app'
        @(Test-ContainerStore -StorageRoot $script:root | Where-Object Severity -eq 'Error') | Should -BeNullOrEmpty
        # without its recipe app cannot be rebuilt, but can be rebased
        Update-ContainerImage app -ErrorVariable ev3 -ErrorAction SilentlyContinue -Quiet | Should -BeNullOrEmpty
        $ev3[0].FullyQualifiedErrorId | Should -BeLike 'ImageRecipeNotFound,*'
        $s = @(Update-ContainerImage app -Rebase -Quiet -WarningAction SilentlyContinue)
        $s.Count | Should -Be 1
        Cat app /etc/fix-version | Should -Be 'v4'
    }

    It 'deletes an image''s recipe with the image, and -Repair deletes a recipe whose image is gone' {
        $img = Build-ContainerImage -Path $script:appCtx -InlineDockerfile "FROM localhost/base`nLABEL gone=1" -Tag gone -Network none -Quiet
        $path = Join-Path $script:root "recipes/$($img.ManifestDigest.Substring(7)).json"
        Test-Path -LiteralPath $path | Should -BeTrue
        Copy-Item -LiteralPath $path "$path.keep"
        Remove-ContainerImage gone -StorageRoot $script:root | Out-Null
        Test-Path -LiteralPath $path | Should -BeFalse
        Move-Item -LiteralPath "$path.keep" $path
        $g = @(Test-ContainerStore -Repair -StorageRoot $script:root | Where-Object Kind -eq 'RecipeUnreferenced')
        $g.Count | Should -Be 1
        $g[0].Repaired | Should -BeTrue
        Test-Path -LiteralPath $path | Should -BeFalse
        # a prune of dangling images takes their recipes too
        $a = Build-ContainerImage -Path $script:appCtx -InlineDockerfile "FROM localhost/base`nLABEL v=1" -Tag pruned -Network none -Quiet
        $b = Build-ContainerImage -Path $script:appCtx -InlineDockerfile "FROM localhost/base`nLABEL v=2" -Tag pruned -Network none -Quiet
        $pa = Join-Path $script:root "recipes/$($a.ManifestDigest.Substring(7)).json"
        $pb = Join-Path $script:root "recipes/$($b.ManifestDigest.Substring(7)).json"
        Test-Path -LiteralPath $pa | Should -BeTrue
        Clear-ContainerStore -Kind Image -Confirm:$false -StorageRoot $script:root | Out-Null
        Get-ContainerImage -Id $a.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path -LiteralPath $pa | Should -BeFalse
        Test-Path -LiteralPath $pb | Should -BeTrue
        @(Test-ContainerStore -StorageRoot $script:root | Where-Object Kind -like 'Recipe*') | Should -BeNullOrEmpty
        # recipes/ is a kind of record the store knows, not an unknown entry of the root
        @(Test-ContainerStore -StorageRoot $script:root | Where-Object { $_.Kind -eq 'UnknownEntry' -and $_.Target -like '*recipes*' }) | Should -BeNullOrEmpty
    }
}

Describe 'Get-ContainerImage -Outdated -Remote' {
    BeforeAll {
        if ($script:IsRoot) {
            $script:reg = Start-TestRegistry -Dir (Join-Path $script:root 'registry') -Auth None
            $script:rroot = New-TestStorageRoot 'build-base-remote'
            $script:baseRef = "$($script:reg.Address)/base:latest"
            $null = Import-Base 'r1' -Name localhost/base:r1 -Root $script:rroot
            Publish-ContainerImage localhost/base:r1 $script:baseRef -StorageRoot $script:rroot | Out-Null
            $script:r1 = Request-ContainerImage $script:baseRef -StorageRoot $script:rroot
            $script:appR = Build-ContainerImage -Path $script:appCtx -InlineDockerfile "FROM $($script:baseRef)`nCOPY app.txt /app/" -Tag appr -Network none -Quiet -StorageRoot $script:rroot
        }
    }
    AfterAll {
        if ($script:reg) { Stop-TestRegistry $script:reg }
        if ($script:rroot) { Remove-TestStorageRoot $script:rroot }
    }
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'builds run containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'asks the base''s registry: outdated once the registry''s tag moves, while the local name has not' {
        @(Get-ContainerImage -Outdated -Remote -StorageRoot $script:rroot) | Should -BeNullOrEmpty
        $null = Import-Base 'r2' -Name localhost/base:r2 -Root $script:rroot
        Publish-ContainerImage localhost/base:r2 $script:baseRef -StorageRoot $script:rroot | Out-Null
        # locally the name still points at r1
        @(Get-ContainerImage -Outdated -StorageRoot $script:rroot) | Should -BeNullOrEmpty
        $o = @(Get-ContainerImage -Outdated -Remote -StorageRoot $script:rroot)
        $o.Count | Should -Be 1
        $o[0].Reference | Should -Be 'appr:latest'
        $o[0].BaseSource | Should -Be 'Remote'
        $o[0].BaseDigest | Should -Be $script:r1.Digest
        $o[0].CurrentBaseDigest | Should -Not -Be $script:r1.Digest
        # pulling the base makes it outdated locally too, and the update brings the fix
        $null = Request-ContainerImage $script:baseRef -StorageRoot $script:rroot
        @(Get-ContainerImage -Outdated -StorageRoot $script:rroot | ForEach-Object Reference) | Should -Be @('appr:latest')
        @(Update-ContainerImage appr -Quiet -StorageRoot $script:rroot).Count | Should -Be 1
        (Invoke-ContainerImage appr -Remove -Network none -Quiet -Entrypoint cat -Command /etc/fix-version -StorageRoot $script:rroot).Output.Trim() | Should -Be 'r2'
    }

    It 'pulls the base from its registry first with Update-ContainerImage -Remote (the same pull as Request-ContainerImage)' {
        # the registry's tag moves to r3; locally the name still points at r2 (the test before pulled that)
        $null = Import-Base 'r3' -Name localhost/base:r3 -Root $script:rroot
        Publish-ContainerImage localhost/base:r3 $script:baseRef -StorageRoot $script:rroot | Out-Null
        @(Get-ContainerImage -Outdated -StorageRoot $script:rroot) | Should -BeNullOrEmpty
        # -WhatIf pulls nothing and changes nothing
        Update-ContainerImage appr -Remote -WhatIf -StorageRoot $script:rroot
        @(Get-ContainerImage -Outdated -StorageRoot $script:rroot) | Should -BeNullOrEmpty
        $steps = @(Update-ContainerImage appr -Remote -Quiet -StorageRoot $script:rroot)
        $steps.Count | Should -Be 1
        $steps[0].NewBaseDigest | Should -Be (Get-ContainerImage $script:baseRef -StorageRoot $script:rroot).ManifestDigest
        (Invoke-ContainerImage appr -Remove -Network none -Quiet -Entrypoint cat -Command /etc/fix-version -StorageRoot $script:rroot -WarningAction SilentlyContinue).Output.Trim() | Should -Be 'r3'
    }

    It 'reports an unreachable registry as an error and goes on' {
        $null = Build-ContainerImage -Path $script:appCtx -InlineDockerfile "FROM localhost/base:r1`nLABEL x=1" -Tag unreach -Network none -Quiet -StorageRoot $script:rroot
        $o = @(Get-ContainerImage -Outdated -Remote -StorageRoot $script:rroot -ErrorVariable ev -ErrorAction SilentlyContinue)
        $ev.Count | Should -BeGreaterThan 0
        $o | Should -BeNullOrEmpty
    }
}
