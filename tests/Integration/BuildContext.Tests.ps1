# The build context after .dockerignore compared with what docker sends: each context is built by dockerd's
# classic builder (`FROM scratch` + `COPY . /ctx/`, no base image needed) and the copied tree is listed from
# `docker export`. The CLI filters the context with the same rules; the daemon then drops .dockerignore when
# the rules exclude it, so the comparison leaves the always-sent files to tests/Unit/DockerIgnore.Tests.ps1.
BeforeDiscovery {
    . $PSScriptRoot/../common.ps1
    $root = Join-Path $script:Fixtures 'compose/awesome-compose'
    $script:contexts = @(Get-ChildItem -Recurse -File $root -Filter 'Dockerfile*' | Where-Object Name -notlike '*.dockerignore' |
        ForEach-Object { $_.DirectoryName } | Sort-Object -Unique | ForEach-Object { @{ Context = $_; Short = $_.Substring($root.Length + 1) } })
}
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    $script:HaveDocker = (Test-Command docker) -and $(& docker info *> $null; $LASTEXITCODE -eq 0)
    $script:Probe = Join-Path $script:TestBase "ctxprobe-$PID"
    New-Item -ItemType Directory -Force $script:Probe | Out-Null
    Set-Content -LiteralPath "$script:Probe/Dockerfile" -Value "FROM scratch`nCOPY . /ctx/"

    function Get-DockerContext([string] $Context) {
        # the paths docker's COPY . received, relative to the context
        $tag = "pscontainers-ctxprobe-${PID}:latest"
        $env:DOCKER_BUILDKIT = '0'
        try {
            $out = & docker build -q -f "$script:Probe/Dockerfile" -t $tag $Context 2>&1
            if ($LASTEXITCODE -ne 0) { throw "docker build failed: $out" }
            $cid = & docker create $tag x
            try {
                $list = & docker export $cid | & tar -t
            } finally { & docker rm $cid *> $null }
        } finally {
            & docker rmi $tag *> $null
            Remove-Item Env:DOCKER_BUILDKIT
        }
        @($list | Where-Object { $_ -like 'ctx/?*' } | ForEach-Object { $_.Substring(4).TrimEnd('/') } | Sort-Object -CaseSensitive)
    }
    function Get-OurContext([string] $Context) {
        $file = [Containers.Engine.Build.DockerIgnore]::FindIgnoreFile($Context, $null)
        $rules = if ($file) { [Containers.Engine.Build.DockerIgnore]::new([Containers.Engine.Build.DockerIgnore]::ReadPatterns([IO.File]::ReadAllText($file))) } else { $null }
        @([Containers.Engine.Build.DockerIgnore]::ListContext($Context, $rules, $null).Path | Sort-Object -CaseSensitive)
    }
}
AfterAll { if ($script:Probe) { Remove-Item -Recurse -Force $script:Probe -ErrorAction SilentlyContinue } }

Describe 'awesome-compose build contexts match docker' {
    It 'sends the same files from <Short>' -ForEach $script:contexts {
        if (-not (Test-Prerequisite $script:HaveDocker 'dockerd is running (../shared/anchors/setup.sh)')) { return }
        $ours = Get-OurContext $Context
        $theirs = Get-DockerContext $Context
        $theirs.Count | Should -BeGreaterThan 0
        $ours | Should -Be $theirs
    }
}

Describe 'tricky .dockerignore rules match docker' {
    BeforeAll {
        $script:ctx = Join-Path $script:TestBase "ctx-rules-$PID"
        $dirs = 'src/lib/deep', 'node_modules/pkg', 'logs/old', 'docs', 'build/out', 'a/b/c', 'space dir', 'x/tmp', 'x/y/tmp'
        foreach ($d in $dirs) { New-Item -ItemType Directory -Force (Join-Path $ctx $d) | Out-Null }
        foreach ($f in 'src/main.c', 'src/lib/util.c', 'src/lib/deep/x.md', 'src/notes.md', 'node_modules/pkg/index.js', 'logs/app.log',
            'logs/keep.log', 'logs/old/keep.log', 'docs/README.md', 'README.md', 'build/out/app', 'build/keep.txt', 'a/b/c/d.txt',
            'a/b/e.txt', 'space dir/f g.txt', 'x/tmp/t', 'x/y/tmp/t', 'top.txt', 'Dockerfile', '.env', '.git-keep') {
            Set-Content -LiteralPath (Join-Path $ctx $f) -Value $f
        }
        New-Item -ItemType SymbolicLink -Path (Join-Path $ctx 'link-out') -Target '/etc' | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $ctx 'src/link-in') -Target '../top.txt' | Out-Null
        Set-Content -LiteralPath (Join-Path $ctx '.dockerignore') -Value @'
# comment
node_modules
/logs
!logs/keep.log
**/*.md
!README.md
build/
!build/keep.txt
a/**/d.txt
*/tmp
space dir/f?g.txt
.env
./src/../top.txt
'@
    }
    AfterAll { Remove-Item -Recurse -Force $script:ctx -ErrorAction SilentlyContinue }
    It 'sends the same files' {
        if (-not (Test-Prerequisite $script:HaveDocker 'dockerd is running (../shared/anchors/setup.sh)')) { return }
        $ours = Get-OurContext $script:ctx
        $ours | Should -Contain 'logs/keep.log'
        $ours | Should -Not -Contain 'logs/app.log'
        $theirs = Get-DockerContext $script:ctx
        $theirs | Should -Contain 'logs/keep.log'
        $theirs | Should -Contain 'README.md'
        $ours | Should -Be $theirs
    }
}
