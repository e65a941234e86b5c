# .dockerignore: Docker's pattern rules (moby/patternmatcher and its ignore-file reader) and the list of files a
# build context sends after them.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    function Excluded([string[]] $Patterns, [string] $Path) {
        [Containers.Engine.Build.DockerIgnore]::new([Containers.Engine.Build.DockerIgnore]::ReadPatterns(($Patterns -join "`n"))).IsExcluded($Path)
    }
    function EngineErrorId([scriptblock] $Code) {
        try { & $Code | Out-Null } catch { $e = $_.Exception.InnerException ?? $_.Exception; return "$($e.GetType().Name):$($e.ErrorId)" }
        $null
    }
}

Describe 'Reading an ignore file' {
    It 'drops comments and blanks, cleans paths, keeps exceptions' {
        $p = [Containers.Engine.Build.DockerIgnore]::ReadPatterns("# comment`n`n  *.log  `n/abs/path`n! keep.log`nx/../y`n./a//b/`n!/top`n")
        @($p) | Should -Be @('*.log', 'abs/path', '!keep.log', 'y', 'a/b', '!top')
    }
}

Describe 'Pattern rules' {
    It '<Patterns> on <Path> -> <Excluded>' -TestCases @(
        @{ Patterns = @('*.md'); Path = 'README.md'; Excluded = $true }
        @{ Patterns = @('*.md'); Path = 'docs/README.md'; Excluded = $false }
        @{ Patterns = @('**/*.md'); Path = 'docs/a/README.md'; Excluded = $true }
        @{ Patterns = @('**/*.md'); Path = 'README.md'; Excluded = $true }
        @{ Patterns = @('docs'); Path = 'docs/a/b.txt'; Excluded = $true }
        @{ Patterns = @('docs/'); Path = 'docs/a'; Excluded = $true }
        @{ Patterns = @('/docs'); Path = 'docs'; Excluded = $true }
        @{ Patterns = @('docs/**'); Path = 'docs/x/y'; Excluded = $true }
        @{ Patterns = @('a/**/b'); Path = 'a/b'; Excluded = $true }
        @{ Patterns = @('a/**/b'); Path = 'a/x/y/b'; Excluded = $true }
        @{ Patterns = @('a/**/b'); Path = 'a/x/c'; Excluded = $false }
        @{ Patterns = @('**'); Path = 'anything/at/all'; Excluded = $true }
        @{ Patterns = @('?.txt'); Path = 'a.txt'; Excluded = $true }
        @{ Patterns = @('?.txt'); Path = 'ab.txt'; Excluded = $false }
        @{ Patterns = @('[ab].txt'); Path = 'b.txt'; Excluded = $true }
        @{ Patterns = @('[^ab].txt'); Path = 'b.txt'; Excluded = $false }
        @{ Patterns = @('*.txt', '!keep.txt'); Path = 'keep.txt'; Excluded = $false }
        @{ Patterns = @('*.txt', '!keep.txt'); Path = 'drop.txt'; Excluded = $true }
        @{ Patterns = @('!keep.txt', '*.txt'); Path = 'keep.txt'; Excluded = $true }
        @{ Patterns = @('dir', '!dir/keep'); Path = 'dir/keep'; Excluded = $false }
        @{ Patterns = @('dir', '!dir/keep'); Path = 'dir/other'; Excluded = $true }
        @{ Patterns = @('*/tmp'); Path = 'a/tmp/file'; Excluded = $true }
        @{ Patterns = @('*/tmp'); Path = 'a/b/tmp'; Excluded = $false }
        @{ Patterns = @('../outside'); Path = 'outside'; Excluded = $false }
        @{ Patterns = @('a/../b'); Path = 'b'; Excluded = $true }
        @{ Patterns = @('file.(1)+'); Path = 'file.(1)+'; Excluded = $true }
        @{ Patterns = @('\*star'); Path = '*star'; Excluded = $true }
        @{ Patterns = @('\*star'); Path = 'xstar'; Excluded = $false }
        @{ Patterns = @('.git'); Path = '.git/config'; Excluded = $true }
        @{ Patterns = @('node_modules'); Path = 'sub/node_modules'; Excluded = $false }
        @{ Patterns = @('**/node_modules'); Path = 'sub/node_modules/x'; Excluded = $true }
    ) {
        Excluded $Patterns $Path | Should -Be $Excluded
    }
    It 'rejects a malformed pattern with DockerIgnorePatternInvalid' -TestCases @(@{ P = '[abc' }, @{ P = '!' }) {
        EngineErrorId { [Containers.Engine.Build.DockerIgnore]::new([string[]]@($P)) } | Should -BeExactly 'ContainersException:DockerIgnorePatternInvalid'
    }
}

Describe 'Listing a build context' {
    BeforeAll {
        $script:ctx = Join-Path ([IO.Path]::GetTempPath()) "ctx-$PID"
        $script:outside = Join-Path ([IO.Path]::GetTempPath()) "ctx-out-$PID"
        New-Item -ItemType Directory -Force "$ctx/src/lib", "$ctx/node_modules/pkg", "$ctx/logs", "$ctx/docs", $outside | Out-Null
        'a' | Set-Content "$ctx/src/main.c"; 'b' | Set-Content "$ctx/src/lib/util.c"; 'c' | Set-Content "$ctx/src/notes.md"
        'd' | Set-Content "$ctx/node_modules/pkg/index.js"; 'e' | Set-Content "$ctx/logs/app.log"; 'f' | Set-Content "$ctx/logs/keep.log"
        'g' | Set-Content "$ctx/docs/README.md"; 'FROM x' | Set-Content "$ctx/Dockerfile"; 'secret' | Set-Content "$outside/secret"
        New-Item -ItemType SymbolicLink -Path "$ctx/escape" -Target $outside | Out-Null
        Set-Content "$ctx/.dockerignore" "node_modules`nlogs`n!logs/keep.log`n**/*.md`nDockerfile`n.dockerignore`ndocs`n"
    }
    AfterAll { Remove-Item -Recurse -Force $script:ctx, $script:outside -ErrorAction SilentlyContinue }

    It 'sends what the rules keep, the Dockerfile and the ignore file always' {
        $rules = [Containers.Engine.Build.DockerIgnore]::new([Containers.Engine.Build.DockerIgnore]::ReadPatterns((Get-Content -Raw "$ctx/.dockerignore")))
        $list = [Containers.Engine.Build.DockerIgnore]::ListContext($ctx, $rules, [string[]]@('Dockerfile', '.dockerignore'))
        @($list.Path) | Should -Be @('.dockerignore', 'Dockerfile', 'escape', 'logs', 'logs/keep.log', 'src', 'src/lib', 'src/lib/util.c', 'src/main.c')
        ($list | Where-Object Path -eq 'escape').Type | Should -Be 'SymbolicLink'
        ($list | Where-Object Path -eq 'escape').LinkTarget | Should -Be $outside
        ($list | Where-Object Path -eq 'src/main.c').Size | Should -Be 2
    }
    It 'never walks through a link out of the context' {
        $list = [Containers.Engine.Build.DockerIgnore]::ListContext($ctx, $null, $null)
        @($list.Path | Where-Object { $_ -like 'escape/*' }) | Should -BeNullOrEmpty
        @($list.Path) | Should -Contain 'node_modules/pkg/index.js'
    }
    It 'prefers <Dockerfile>.dockerignore beside the Dockerfile' {
        Set-Content "$ctx/Dockerfile.dockerignore" "src"
        try {
            [Containers.Engine.Build.DockerIgnore]::FindIgnoreFile($ctx, "$ctx/Dockerfile") | Should -Be "$ctx/Dockerfile.dockerignore"
            [Containers.Engine.Build.DockerIgnore]::FindIgnoreFile($ctx, "$ctx/Other") | Should -Be "$ctx/.dockerignore"
        } finally { Remove-Item "$ctx/Dockerfile.dockerignore" }
    }
    It 'fails with BuildContextNotFound for a missing context' {
        EngineErrorId { [Containers.Engine.Build.DockerIgnore]::ListContext('/nonexistent/ctx', $null, $null) } | Should -BeExactly 'ContainersException:BuildContextNotFound'
    }
}

Describe 'BuildContext' {
    BeforeAll {
        $script:bc = Join-Path ([IO.Path]::GetTempPath()) "bc-$PID"
        New-Item -ItemType Directory -Force "$bc/sub" | Out-Null
        'x' | Set-Content "$bc/a.txt"; 'y' | Set-Content "$bc/sub/b.txt"; 'FROM x' | Set-Content "$bc/sub/Build.df"
        Set-Content "$bc/.dockerignore" "*`n"
        Set-Content "$bc/sub/Build.df.dockerignore" "a.txt`n"
    }
    AfterAll { Remove-Item -Recurse -Force $script:bc -ErrorAction SilentlyContinue }
    It 'applies <Dockerfile>.dockerignore and always sends the Dockerfile and the ignore file' {
        @([Containers.Engine.Build.BuildContext]::List($bc, "$bc/sub/Build.df").Path) | Should -Be @('.dockerignore', 'sub', 'sub/Build.df', 'sub/Build.df.dockerignore', 'sub/b.txt')
    }
    It 'applies .dockerignore otherwise, still sending the Dockerfile and the ignore file' {
        Set-Content "$bc/Dockerfile" 'FROM x'
        try {
            @([Containers.Engine.Build.BuildContext]::List($bc, "$bc/Dockerfile").Path) | Should -Be @('.dockerignore', 'Dockerfile')
        } finally { Remove-Item "$bc/Dockerfile" }
    }
    It 'finds Containerfile before Dockerfile, and fails with DockerfileNotFound without either' {
        EngineErrorId { [Containers.Engine.Build.BuildContext]::FindDockerfile("$bc/sub") } | Should -BeExactly 'ContainersException:DockerfileNotFound'
        Set-Content "$bc/sub/Dockerfile" 'FROM x'; Set-Content "$bc/sub/Containerfile" 'FROM y'
        try { [Containers.Engine.Build.BuildContext]::FindDockerfile("$bc/sub") | Should -Be "$bc/sub/Containerfile" }
        finally { Remove-Item "$bc/sub/Dockerfile", "$bc/sub/Containerfile" }
    }
}
