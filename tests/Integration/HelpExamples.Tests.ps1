# Every example of every cmdlet's help page (en-US/<Cmdlet>.md) runs as written, against a fresh storage
# root that holds only what the README sets up: an image `busybox` made from the host's busybox-static (as
# build.ps1 -Task Demo makes it), plus the local registry 127.0.0.1:5000 that the test task starts (it
# serves busybox:test and debian:bookworm). The examples of one page run in order, in one session and one
# working folder, as a reader would type them: a page's first example makes what its later ones use.
#
# An example that needs what no test can give (a registry on the internet, a login prompt) says so in its
# page with a line `<!-- example: external <reason> -->` under its code; the test then checks that the code
# parses and names only commands and parameters that exist, and reports the reason. An example marked
# `interactive <reason>` (a shell on this terminal) runs on a pseudo-terminal the test allocates, which types
# a command at the shell's prompt and checks the answer. Everything else must run without an error.
BeforeDiscovery {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../HelpMarkdown.ps1
    $script:pages = @(Get-ChildItem (Join-Path $PSScriptRoot '../../en-US') -Filter '*-*.md' | Sort-Object Name | ForEach-Object {
            $examples = @(Get-HelpMarkdownExample $_.FullName)
            @{ Page = $_.BaseName; Examples = $examples }
        })
}

BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../HelpMarkdown.ps1
    $script:registryUp = $false
    try { $null = Invoke-WebRequest -Uri http://127.0.0.1:5000/v2/ -TimeoutSec 3 -UseBasicParsing; $script:registryUp = $true } catch { }
    # the image the README's demo makes, once, as a tar the pages import
    $script:shared = New-TestStorageRoot 'helpex-rootfs'
    $rootfs = New-BusyboxRootFs (Join-Path $script:shared 'rootfs')
    # every applet, as the busybox image has them (md5sum, sort, ...)
    foreach ($a in (& /bin/busybox --list)) {
        if (-not (Test-Path "$rootfs/bin/$a")) { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$a" -Target busybox | Out-Null }
    }
    & tar -C (Join-Path $script:shared 'rootfs') -cf (Join-Path $script:shared 'busybox.tar') .
}
AfterAll { Remove-TestStorageRoot $script:shared }

Describe 'The help examples of <Page>' -ForEach $script:pages {
    BeforeAll {
        $script:root = New-TestStorageRoot 'helpex'
        $script:saved = @{ Root = $env:PSCONTAINERS_ROOT; Auth = $env:PSCONTAINERS_AUTH_FILE }
        $env:PSCONTAINERS_ROOT = $script:root
        $env:PSCONTAINERS_AUTH_FILE = Join-Path $script:root 'auth.json'
        if ($script:IsRoot) {
            $null = Import-ContainerImage -RootFs -LiteralPath (Join-Path $script:shared 'busybox.tar') -Name busybox:latest -Change 'CMD ["sh"]'
        }
        $script:work = Join-Path $script:root 'work'
        New-Item -ItemType Directory -Path $script:work | Out-Null
        Push-Location $script:work
    }
    AfterAll {
        Pop-Location
        Remove-TestStorageRoot $script:root
        $env:PSCONTAINERS_ROOT = $script:saved.Root
        $env:PSCONTAINERS_AUTH_FILE = $script:saved.Auth
    }

    It 'has examples' { $Examples.Count | Should -BeGreaterThan 0 }

    It '<Title> names only commands and parameters that exist' -ForEach $Examples {
        $problems = @(Test-HelpExampleCode $Code)
        $problems | Should -BeNullOrEmpty -Because "example '$Title' of $Page"
        if ($Mark -eq 'external') {
            # not run (no test can give what it needs): the page must say why, and the check above is all it gets
            $Reason | Should -Not -BeNullOrEmpty -Because "an example marked external in $Page says why it cannot run"
            Write-Host "  (example '$Title' of $Page is checked, not run: $Reason)"
        }
    }

    # an example marked external is not run, so it gets no 'runs as written' test (no skipped result either)
    It '<Title> runs as written' -ForEach @($Examples | Where-Object { $_.Mark -ne 'external' }) {
        if ($Mark -eq 'interactive') {
            # on a pseudo-terminal the test allocates: a child pwsh runs the example (in this page's root and
            # folder); once a shell prompt shows, the test types a command whose answer only the shell can give
            if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'help examples run containers: needs root')) { return }
            if (-not (Test-Prerequisite -Condition (Test-Command python3) -Because 'python3 (for a pseudo-terminal) is not installed')) { return }
            $out = Invoke-HelpExampleOnTerminal $Code
            $out | Should -Match 'PTY-STAGE=2 PTY-EXIT=0' -Because "example '$Title' of $Page on a terminal:`n$out"
            $out | Should -Match 'marker-42'
            return
        }
        if ($Mark) {
            # not run: the page says why (checked above for what can be checked without running it)
            $Reason | Should -Not -BeNullOrEmpty -Because "a marked example says why it cannot run"
            Set-ItResult -Skipped -Because "$Mark in the page: $Reason"
            return
        }
        if (-not (Test-Prerequisite -Condition $script:IsRoot -Because 'help examples run containers: needs root')) { return }
        if ($Code -match '127\.0\.0\.1:5000' -and -not (Test-Prerequisite -Condition $script:registryUp -Because 'the local registry 127.0.0.1:5000 (../shared/anchors/setup.sh) is not running')) { return }
        $errors = Invoke-HelpExampleCode $Code
        $errors | Should -BeNullOrEmpty -Because "example '$Title' of $Page must run as written:`n$Code"
    }
}
