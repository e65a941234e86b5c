# The Dockerfile parser: BuildKit's parser dump byte for byte, every instruction and flag, heredocs, errors
# naming lines, variable expansion (compared with bash where the shell defines it) and ARG/ENV scoping.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    Add-Type -Path (Join-Path (Split-Path $script:ModulePath) 'Containers.Engine.dll')
    $script:BkCases = Join-Path $script:Fixtures 'dockerfile/buildkit-parser'
    function Parse([string] $Text) { $Text | ConvertFrom-Dockerfile }
    function Dump([string] $Text) { [Containers.Engine.Build.DockerfileParser]::Dump($Text) }
    function Expand([string] $Word, [hashtable] $Env = @{}) {
        $d = [Collections.Generic.Dictionary[string, string]]::new()
        foreach ($k in $Env.Keys) { $d[$k] = $Env[$k] }
        [Containers.Engine.Build.ShellLex]::new([char]'\').ProcessWord($Word, $d)
    }
    function EngineErrorId([scriptblock] $Code) {
        # the ErrorId of the ContainersException an engine call threw (null when it did not throw)
        try { & $Code | Out-Null } catch { $e = $_.Exception.InnerException ?? $_.Exception; return "$($e.GetType().Name):$($e.ErrorId)" }
        $null
    }
}

Describe 'BuildKit parser dump' {
    It 'matches the buildkit case <Name> byte for byte' -TestCases @(
        @{ Name = 'env' }, @{ Name = 'flags' }, @{ Name = 'json' }
    ) {
        $dir = Join-Path $script:BkCases $Name
        $expected = [IO.File]::ReadAllText((Join-Path $dir 'result'))
        $got = ConvertFrom-Dockerfile -LiteralPath (Join-Path $dir 'Dockerfile') -AsParserDump
        $got | Should -BeExactly $expected
        [Text.Encoding]::UTF8.GetBytes($got) | Should -Be ([IO.File]::ReadAllBytes((Join-Path $dir 'result')))
    }

    It 'dumps <Why>' -TestCases @(
        @{ Why = 'the escape directive and backtick continuations'; Text = (@('# escape=`', 'FROM x', 'RUN a `', '  b', 'COPY c:\d e') -join "`n"); Dump = (@('(from "x")', '(run "a   b")', '(copy "c:\\d" "e")', '') -join "`n") }
        @{ Why = 'comments inside continuations and empty continuation lines'; Text = "FROM x`nRUN a \`n# note`n`n  b`n"; Dump = "(from `"x`")`n(run `"a   b`")`n" }
        @{ Why = 'ONBUILD with its inner flags'; Text = "FROM x`nONBUILD COPY --from=a b c`n"; Dump = "(from `"x`")`n(onbuild (copy [`"--from=a`"] `"b`" `"c`"))`n" }
        @{ Why = 'an unknown instruction with its arguments dropped'; Text = "FROM x`nFOO bar baz`n"; Dump = "(from `"x`")`n(foo `"`")`n" }
        @{ Why = 'HEALTHCHECK type and JSON'; Text = "FROM x`nHEALTHCHECK --interval=5s CMD [`"a`", `"b`"]`nHEALTHCHECK NONE`n"; Dump = "(from `"x`")`n(healthcheck [`"--interval=5s`"] `"CMD`" `"a`" `"b`")`n(healthcheck `"NONE`")`n" }
        @{ Why = 'invalid JSON as shell form'; Text = "FROM x`nCMD [`"a`" `"b`"]`nCMD ['a']`n"; Dump = "(from `"x`")`n(cmd `"[\`"a\`" \`"b\`"]`")`n(cmd `"['a']`")`n" }
        @{ Why = 'heredoc bodies left out of the dump'; Text = "FROM x`nRUN <<EOF`necho hi`nEOF`nUSER me`n"; Dump = "(from `"x`")`n(run `"<<EOF`")`n(user `"me`")`n" }
        @{ Why = 'ARG, EXPOSE and VOLUME words'; Text = "ARG A=1 B`nFROM x`nEXPOSE 80/tcp  443`nVOLUME /a /b`nVOLUME [`"/c`"]`n"; Dump = "(arg `"A=1`" `"B`")`n(from `"x`")`n(expose `"80/tcp`" `"443`")`n(volume `"/a`" `"/b`")`n(volume `"/c`")`n" }
        @{ Why = 'a BOM and CRLF line ends'; Text = "$([char]0xFEFF)FROM x`r`nRUN a`r`n"; Dump = "(from `"x`")`n(run `"a`")`n" }
    ) {
        Dump $Text | Should -BeExactly $Dump
    }
}

Describe 'Instructions and flags' {
    BeforeAll {
        $script:df = @'
# syntax=docker/dockerfile:1
# check=skip=JSONArgsRecommended
ARG BASE=busybox
ARG VERSION
FROM --platform=$BUILDPLATFORM ${BASE}:${VERSION:-latest} AS build
LABEL a=1 "b c"="d e"
MAINTAINER someone@example.com
ENV PATH /usr/bin:/bin
ENV X=1 Y="two words"
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked,id=apt --mount=type=bind,source=src,target=/src,rw \
    --mount=type=tmpfs,target=/tmp,size=64m --mount=type=secret,id=tok,target=/run/secrets/tok,required \
    --network=host --security=sandbox make all
RUN ["echo", "json"]
COPY --chown=1000:1000 --chmod=0644 --link --parents --exclude=*.md --exclude=*.txt a b /dst/
ADD --chown=app --chmod=755 --checksum=sha256:0123 https://example.com/x.tar.gz /opt/
ADD --keep-git-dir=true --unpack=false x.tar /y/
WORKDIR /app
USER app:app
EXPOSE 80 443/udp
VOLUME ["/data", "/logs"]
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --start-interval=500ms --retries=4 CMD curl -f http://localhost/ || exit 1
SHELL ["/bin/bash", "-c"]
ONBUILD RUN echo child
ENTRYPOINT ["/bin/app"]
CMD ["--help"]
FROM build
COPY --from=build /app /app
HEALTHCHECK NONE
'@
        $script:ins = @(Parse $script:df)
        $script:doc = [Containers.Engine.Build.DockerfileParser]::Parse($script:df, $null)
    }
    It 'reads directives, global ARGs and stages' {
        $doc.Syntax | Should -BeExactly 'docker/dockerfile:1'
        @($doc.Directives.Name) | Should -Be @('syntax', 'check')
        @($doc.GlobalArgs).Count | Should -Be 2
        @($doc.Stages).Count | Should -Be 2
        $doc.Stages[0].Name | Should -BeExactly 'build'
        $doc.Stages[0].BaseName | Should -BeExactly '${BASE}:${VERSION:-latest}'
        $doc.Stages[0].Platform | Should -BeExactly '$BUILDPLATFORM'
        $doc.Stages[1].BaseName | Should -BeExactly 'build'
        $doc.Warnings | Should -BeNullOrEmpty
        $ins[0].StageIndex | Should -Be -1
        ($ins | Where-Object Instruction -eq 'USER').Stage | Should -BeExactly 'build'
    }
    It 'knows every instruction keyword' {
        $kw = @($ins.Instruction | Sort-Object -Unique)
        foreach ($k in 'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR') {
            $kw | Should -Contain $k
        }
    }
    It 'reads LABEL and both ENV forms as pairs' {
        $l = $ins | Where-Object Instruction -eq 'LABEL'
        $l.Pairs[1].Key | Should -BeExactly '"b c"'
        $l.Pairs[1].Value | Should -BeExactly '"d e"'
        $e = @($ins | Where-Object Instruction -eq 'ENV')
        $e[0].Pairs[0].Key | Should -BeExactly 'PATH'
        $e[0].Pairs[0].Value | Should -BeExactly '/usr/bin:/bin'
        $e[1].Pairs[1].Value | Should -BeExactly '"two words"'
    }
    It 'parses RUN --mount of each type, --network and --security' {
        $r = @($ins | Where-Object Instruction -eq 'RUN')[0]
        $r.Arguments | Should -Be @('make all')
        $r.IsJson | Should -BeFalse
        $m = $r.Mounts
        $m[0].Type | Should -Be 'cache'; $m[0].Target | Should -Be '/var/cache/apt'; $m[0].Sharing | Should -Be 'locked'; $m[0].Id | Should -Be 'apt'; $m[0].ReadOnly | Should -BeFalse
        $m[1].Type | Should -Be 'bind'; $m[1].Source | Should -Be 'src'; $m[1].ReadOnly | Should -BeFalse
        $m[2].Type | Should -Be 'tmpfs'; $m[2].Size | Should -Be (64MB)
        $m[3].Type | Should -Be 'secret'; $m[3].Required | Should -BeTrue; $m[3].ReadOnly | Should -BeTrue
        $r.GetFlag('network') | Should -Be 'host'
        $r.GetFlag('security') | Should -Be 'sandbox'
        $j = @($ins | Where-Object Instruction -eq 'RUN')[1]
        $j.IsJson | Should -BeTrue
        $j.Arguments | Should -Be @('echo', 'json')
    }
    It 'keeps COPY and ADD flags in order, repeatable ones repeated' {
        $c = @($ins | Where-Object Instruction -eq 'COPY')[0]
        $c.GetFlag('chown') | Should -Be '1000:1000'
        $c.GetFlag('chmod') | Should -Be '0644'
        $c.GetFlag('link') | Should -Be 'true'
        $c.GetFlag('parents') | Should -Be 'true'
        $c.GetFlags('exclude') | Should -Be @('*.md', '*.txt')
        $c.Arguments | Should -Be @('a', 'b', '/dst/')
        $a = @($ins | Where-Object Instruction -eq 'ADD')
        $a[0].GetFlag('checksum') | Should -Be 'sha256:0123'
        $a[0].Arguments[0] | Should -Be 'https://example.com/x.tar.gz'
        $a[1].GetFlag('keep-git-dir') | Should -Be 'true'
        $a[1].GetFlag('unpack') | Should -Be 'false'
        (@($ins | Where-Object Instruction -eq 'COPY')[1]).GetFlag('from') | Should -Be 'build'
    }
    It 'reads HEALTHCHECK options and NONE' {
        $h = @($ins | Where-Object Instruction -eq 'HEALTHCHECK')
        $h[0].Healthcheck.Test | Should -Be @('CMD-SHELL', 'curl -f http://localhost/ || exit 1')
        $h[0].Healthcheck.Interval | Should -Be ([timespan]::FromSeconds(30))
        $h[0].Healthcheck.Timeout | Should -Be ([timespan]::FromSeconds(3))
        $h[0].Healthcheck.StartPeriod | Should -Be ([timespan]::FromMinutes(1))
        $h[0].Healthcheck.StartInterval | Should -Be ([timespan]::FromMilliseconds(500))
        $h[0].Healthcheck.Retries | Should -Be 4
        $h[1].Healthcheck.Test | Should -Be @('NONE')
    }
    It 'reads the single-string and list instructions' {
        ($ins | Where-Object Instruction -eq 'WORKDIR').Arguments | Should -Be @('/app')
        ($ins | Where-Object Instruction -eq 'USER').Arguments | Should -Be @('app:app')
        ($ins | Where-Object Instruction -eq 'EXPOSE').Arguments | Should -Be @('80', '443/udp')
        ($ins | Where-Object Instruction -eq 'VOLUME').Arguments | Should -Be @('/data', '/logs')
        ($ins | Where-Object Instruction -eq 'STOPSIGNAL').Arguments | Should -Be @('SIGTERM')
        ($ins | Where-Object Instruction -eq 'MAINTAINER').Arguments | Should -Be @('someone@example.com')
        ($ins | Where-Object Instruction -eq 'SHELL').Arguments | Should -Be @('/bin/bash', '-c')
        ($ins | Where-Object Instruction -eq 'ENTRYPOINT').Arguments | Should -Be @('/bin/app')
        ($ins | Where-Object Instruction -eq 'CMD').Arguments | Should -Be @('--help')
        $o = $ins | Where-Object Instruction -eq 'ONBUILD'
        $o.Trigger.Instruction | Should -Be 'RUN'
        $o.Trigger.Arguments | Should -Be @('echo child')
        $o.Arguments | Should -Be @('RUN echo child')
        $ins[2].Arguments | Should -Be @('${BASE}:${VERSION:-latest}', 'AS', 'build')
    }
    It 'gives each instruction its line range' {
        $r = @($ins | Where-Object Instruction -eq 'RUN')[0]
        $r.StartLine | Should -Be 10
        $r.EndLine | Should -Be 12
        ($ins | Where-Object Instruction -eq 'MAINTAINER').StartLine | Should -Be 7
    }
    It 'reads a file by -Path and from Get-Content lines the same way' {
        $f = Join-Path ([IO.Path]::GetTempPath()) "df-$PID.Dockerfile"
        Set-Content -LiteralPath $f -Value $script:df
        try {
            $a = @(ConvertFrom-Dockerfile -Path $f)
            $b = @(Get-Content -LiteralPath $f | ConvertFrom-Dockerfile)
            $a.Count | Should -Be $ins.Count
            ($a | ForEach-Object Original) | Should -Be ($b | ForEach-Object Original)
        } finally { Remove-Item -LiteralPath $f }
    }
}

Describe 'Heredocs' {
    It 'reads <Why>' -TestCases @(
        @{ Why = 'a plain heredoc (expanded)'; Text = "FROM x`nRUN <<EOF`necho `$HOME`nEOF`n"; Names = @('EOF'); Bodies = @("echo `$HOME`n"); Expand = @($true) }
        @{ Why = 'a quoted delimiter (not expanded)'; Text = "FROM x`nRUN <<'EOF'`necho `$HOME`nEOF`n"; Names = @('EOF'); Bodies = @("echo `$HOME`n"); Expand = @($false) }
        @{ Why = 'a double-quoted delimiter'; Text = "FROM x`nRUN <<`"EOF`"`na`nEOF`n"; Names = @('EOF'); Bodies = @("a`n"); Expand = @($false) }
        @{ Why = 'a partly quoted delimiter'; Text = "FROM x`nRUN <<E'O'F`na`nEOF`n"; Names = @('EOF'); Bodies = @("a`n"); Expand = @($false) }
        @{ Why = '<<- stripping tabs'; Text = "FROM x`nRUN <<-EOT`n`tone`n`t`ttwo`n`tEOT`n"; Names = @('EOT'); Bodies = @("one`ntwo`n"); Expand = @($true) }
        @{ Why = 'several on one line'; Text = "FROM x`nRUN <<A cat /dev/stdin - 3<<B`nfirst`nA`nsecond`nB`n"; Names = @('A', 'B'); Bodies = @("first`n", "second`n"); Expand = @($true, $true) }
        @{ Why = 'COPY heredoc files'; Text = "FROM x`nCOPY <<a.txt <<b.txt /dst/`nAAA`na.txt`nBBB`nb.txt`n"; Names = @('a.txt', 'b.txt'); Bodies = @("AAA`n", "BBB`n"); Expand = @($true, $true) }
        @{ Why = 'a space after <<'; Text = "FROM x`nADD << EOF /f`nbody`nEOF`n"; Names = @('EOF'); Bodies = @("body`n"); Expand = @($true) }
    ) {
        $i = @(Parse $Text)[1]
        @($i.Heredocs.Name) | Should -Be $Names
        @($i.Heredocs.Content) | Should -Be $Bodies
        @($i.Heredocs.Expand) | Should -Be $Expand
    }
    It 'ends the instruction after the body and counts its lines' {
        $i = @(Parse "FROM x`nRUN <<EOF`na`nb`nEOF`nUSER u`n")
        $i[1].StartLine | Should -Be 2
        $i[1].EndLine | Should -Be 5
        $i[2].Instruction | Should -Be 'USER'
        $i[2].StartLine | Should -Be 6
    }
    It 'takes no heredoc in JSON form or in other instructions' {
        $i = @(Parse "FROM x`nRUN [`"cat`", `"<<EOF`"]`nCMD cat <<EOF`n")
        $i[1].Heredocs | Should -BeNullOrEmpty
        $i[2].Heredocs | Should -BeNullOrEmpty
    }
    It 'reads a heredoc in an ONBUILD trigger' {
        $i = @(Parse "FROM x`nONBUILD RUN <<EOF`necho hi`nEOF`n")
        $i[1].Trigger.Heredocs[0].Content | Should -BeExactly "echo hi`n"
        $i[1].Arguments[0] | Should -BeExactly "RUN <<EOF`necho hi`nEOF"
    }
}

Describe 'Errors name the line' {
    It 'fails on <Why> at line <Line>' -TestCases @(
        @{ Why = 'an unknown instruction'; Text = "FROM x`nRUN a`nFOO bar"; Line = 3; Message = 'unknown instruction: FOO' }
        @{ Why = 'an instruction before FROM'; Text = "RUN a`nFROM x"; Line = 1; Message = 'no build stage' }
        @{ Why = 'ENV without value'; Text = "FROM x`nENV PATH"; Line = 2; Message = 'ENV must have two arguments' }
        @{ Why = 'ENV pair without ='; Text = "FROM x`nENV a=1 b"; Line = 2; Message = "can't find =" }
        @{ Why = 'an unknown flag'; Text = "FROM x`nCOPY --nope=1 a b"; Line = 2; Message = 'unknown flag: --nope' }
        @{ Why = 'a flag without value'; Text = "FROM x`nCOPY --from a b"; Line = 2; Message = 'missing a value on flag: --from' }
        @{ Why = 'a duplicate flag'; Text = "FROM x`nCOPY --chown=a --chown=b a b"; Line = 2; Message = 'duplicate flag specified: --chown' }
        @{ Why = 'a bad boolean'; Text = "FROM x`nCOPY --link=maybe a b"; Line = 2; Message = 'expecting boolean value' }
        @{ Why = 'COPY without destination'; Text = "FROM x`nCOPY a"; Line = 2; Message = 'requires at least two arguments' }
        @{ Why = 'a heredoc destination'; Text = "FROM x`nCOPY a <<EOF`nx`nEOF"; Line = 2; Message = 'cannot accept a heredoc as a destination' }
        @{ Why = 'an unterminated heredoc'; Text = "FROM x`nRUN a`nRUN <<EOF`necho"; Line = 3; Message = 'unterminated heredoc' }
        @{ Why = 'a bad stage name'; Text = "FROM x AS 1st"; Line = 1; Message = 'invalid name for build stage' }
        @{ Why = 'FROM with two words'; Text = "FROM x y"; Line = 1; Message = 'FROM requires either one or three arguments' }
        @{ Why = 'JSON of non-strings'; Text = "FROM x`nCMD [1, 2]"; Line = 2; Message = 'arrays must be comprised of strings only' }
        @{ Why = 'SHELL in shell form'; Text = "FROM x`nSHELL /bin/sh -c"; Line = 2; Message = 'JSON form' }
        @{ Why = 'HEALTHCHECK NONE with arguments'; Text = "FROM x`nHEALTHCHECK NONE x"; Line = 2; Message = 'takes no arguments' }
        @{ Why = 'a HEALTHCHECK type'; Text = "FROM x`nHEALTHCHECK RUN x"; Line = 2; Message = 'Unknown type' }
        @{ Why = 'a bad interval'; Text = "FROM x`nHEALTHCHECK --interval=soon CMD x"; Line = 2; Message = 'invalid duration' }
        @{ Why = 'a negative retry count'; Text = "FROM x`nHEALTHCHECK --retries=-1 CMD x"; Line = 2; Message = 'cannot be negative' }
        @{ Why = 'a mount type'; Text = "FROM x`nRUN --mount=type=nfs,target=/x a"; Line = 2; Message = 'unsupported mount type' }
        @{ Why = 'a mount key'; Text = "FROM x`nRUN --mount=type=bind,target=/x,color=red a"; Line = 2; Message = "unexpected key 'color'" }
        @{ Why = 'a secret mount with from'; Text = "FROM x`nRUN --mount=type=secret,id=a,from=b a"; Line = 2; Message = 'secret mount should not have a from' }
        @{ Why = 'uid on a bind mount'; Text = "FROM x`nRUN --mount=type=bind,target=/x,uid=1 a"; Line = 2; Message = 'uid not allowed' }
        @{ Why = 'a network mode'; Text = "FROM x`nRUN --network=bridge2 a"; Line = 2; Message = 'unsupported network mode' }
        @{ Why = 'ONBUILD ONBUILD'; Text = "FROM x`nONBUILD ONBUILD RUN a"; Line = 2; Message = 'Chaining ONBUILD' }
        @{ Why = 'ONBUILD FROM'; Text = "FROM x`nONBUILD FROM y"; Line = 2; Message = "isn't allowed as an ONBUILD trigger" }
        @{ Why = 'a second escape directive'; Text = (@('# escape=\', '# escape=`', 'FROM x') -join "`n"); Line = 2; Message = 'only one escape parser directive' }
        @{ Why = 'a bad escape directive'; Text = "# escape=x`nFROM x"; Line = 1; Message = 'invalid escape token' }
        @{ Why = 'an empty file'; Text = "# just a comment`n"; Line = 1; Message = 'file with no instructions' }
        @{ Why = 'an error after a continuation'; Text = "FROM x`nRUN a \`n  b`nWORKDIR`n"; Line = 4; Message = 'WORKDIR requires exactly one argument' }
    ) {
        $err = $null
        $Text | ConvertFrom-Dockerfile -ErrorVariable err -ErrorAction SilentlyContinue | Out-Null
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'DockerfileParseError,Containers.Cmdlets.Build.ConvertFromDockerfileCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].TargetObject.StartLine | Should -Be $Line
        $err[0].Exception.Message | Should -BeLike "*line $Line*"
        $err[0].Exception.Message | Should -BeLike "*$Message*"
    }
    It 'names a missing file DockerfileNotFound' {
        $err = $null
        ConvertFrom-Dockerfile -LiteralPath /nonexistent/Dockerfile -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeExactly 'DockerfileNotFound,Containers.Cmdlets.Build.ConvertFromDockerfileCommand'
    }
}

Describe 'Warnings and directives' {
    It 'warns about an unknown # syntax and fetches nothing' {
        $w = $null
        $i = @("# syntax=example.com/my/frontend:1`nFROM x" | ConvertFrom-Dockerfile -WarningVariable w -WarningAction SilentlyContinue)
        $i.Count | Should -Be 1
        $w | Should -HaveCount 1
        "$w" | Should -BeLike '*example.com/my/frontend:1*nothing is fetched*'
    }
    It 'takes docker/dockerfile syntaxes silently' -TestCases @(
        @{ S = 'docker/dockerfile:1' }, @{ S = 'docker/dockerfile:1.7-labs' }, @{ S = 'docker.io/docker/dockerfile:1.4' }
    ) {
        $w = $null
        "# syntax=$S`nFROM x" | ConvertFrom-Dockerfile -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        $w | Should -BeNullOrEmpty
    }
    It 'warns about an empty continuation line' {
        $w = $null
        "FROM x`nRUN a \`n`n b" | ConvertFrom-Dockerfile -WarningVariable w -WarningAction SilentlyContinue | Out-Null
        "$w" | Should -BeLike '*Empty continuation line*'
    }
    It 'reads a directive only at the top' {
        $d = [Containers.Engine.Build.DockerfileParser]::Parse((@('FROM x', '# escape=`', 'RUN a `') -join "`n"), $null)
        $d.EscapeToken | Should -Be '\'
        $d.Directives | Should -BeNullOrEmpty
    }
}

Describe 'Variable expansion' {
    It 'expands <Word> to <Out>' -TestCases @(
        @{ Word = '$v'; Out = 'val' }
        @{ Word = '${v}x'; Out = 'valx' }
        @{ Word = '${u:-def}'; Out = 'def' }
        @{ Word = '${e:-def}'; Out = 'def' }
        @{ Word = '${e-def}'; Out = '' }
        @{ Word = '${u-def}'; Out = 'def' }
        @{ Word = '${v:+alt}'; Out = 'alt' }
        @{ Word = '${e:+alt}'; Out = '' }
        @{ Word = '${e+alt}'; Out = 'alt' }
        @{ Word = '${u+alt}'; Out = '' }
        @{ Word = '${v:?no}'; Out = 'val' }
        @{ Word = '${e?no}'; Out = '' }
        @{ Word = '${p#*/}'; Out = 'b/c.tar.gz' }
        @{ Word = '${p##*/}'; Out = 'c.tar.gz' }
        @{ Word = '${p%.*}'; Out = 'a/b/c.tar' }
        @{ Word = '${p%%.*}'; Out = 'a/b/c' }
        @{ Word = '${p/b/X}'; Out = 'a/X/c.tar.gz' }
        @{ Word = '${p//[/]/_}'; Out = 'a/b/c.tar.gz' }
        @{ Word = '${p//\//_}'; Out = 'a_b_c.tar.gz' }
        @{ Word = '${p#a?b}'; Out = '/c.tar.gz' }
        @{ Word = "'`$v'"; Out = '$v' }
        @{ Word = '"$v and ${v}"'; Out = 'val and val' }
        @{ Word = '\$v'; Out = '$v' }
        @{ Word = '"a\"b"'; Out = 'a"b' }
        @{ Word = '"a\tb"'; Out = 'a\tb' }
        @{ Word = 'a\ b'; Out = 'a b' }
        @{ Word = '$1x'; Out = 'x' }
        @{ Word = '$.'; Out = '$.' }
        @{ Word = '${v:-${u:-z}}'; Out = 'val' }
    ) {
        Expand $Word @{ v = 'val'; e = ''; p = 'a/b/c.tar.gz' } | Should -BeExactly $Out
    }
    It 'agrees with bash on <Word>' -TestCases @(
        @{ Word = '${p#*/}' }, @{ Word = '${p##*/}' }, @{ Word = '${p%/*}' }, @{ Word = '${p%%/*}' }, @{ Word = '${p#a}' },
        @{ Word = '${p%z}' }, @{ Word = '${p##*.}' }, @{ Word = '${p%.*.*}' }, @{ Word = '${p/./-}' }, @{ Word = '${p//./-}' },
        @{ Word = '${p/c*/Q}' }, @{ Word = '${u:-x}${e:-y}${v:+z}' }, @{ Word = '${p#?/}' }, @{ Word = '${p%?.gz}' }
    ) {
        $bash = & bash -c "p='a/b/c.tar.gz'; v=val; e=''; unset u; printf %s `"$Word`""
        Expand $Word @{ v = 'val'; e = ''; p = 'a/b/c.tar.gz' } | Should -BeExactly $bash
    }
    It 'fails with DockerfileVariableError on <Word>' -TestCases @(
        @{ Word = '${}' }, @{ Word = '${u:?must be set}' }, @{ Word = '${e:?}' }, @{ Word = '${v'; }, @{ Word = '"open' }, @{ Word = "'open" },
        @{ Word = '${v:=x}' }, @{ Word = '${v:#x}' }
    ) {
        EngineErrorId { Expand $Word @{ v = 'val'; e = '' } } | Should -BeExactly 'ContainersException:DockerfileVariableError'
    }
    It 'splits words on unquoted whitespace after expansion' {
        $d = [Collections.Generic.Dictionary[string, string]]::new(); $d['s'] = 'a  b'
        $lex = [Containers.Engine.Build.ShellLex]::new([char]'\')
        $lex.ProcessWords('x${s}y "q ${s}" z', $d) | Should -Be @('xa', 'by', 'q a  b', 'z')
    }
    It 'lists the instructions that expand' {
        foreach ($k in 'ADD', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR') {
            [Containers.Engine.Build.DockerfileVariables]::Expanding.Contains($k) | Should -BeTrue
        }
        foreach ($k in 'RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'ONBUILD', 'MAINTAINER', 'HEALTHCHECK') {
            [Containers.Engine.Build.DockerfileVariables]::Expanding.Contains($k) | Should -BeFalse
        }
    }
}

Describe 'ARG and ENV scoping' {
    BeforeAll {
        $script:sdoc = [Containers.Engine.Build.DockerfileParser]::Parse(@'
ARG TAG=1.0
ARG IMG=base:${TAG}
ARG NODEF
FROM ${IMG} AS one
ARG TAG
ARG LOCAL=l-${TAG}
ENV TAG=env-wins
ARG TARGETARCH
ARG UNDECLARED_IN_GLOBAL
FROM scratch
RUN echo $TAG
'@, $null)
    }
    It 'expands FROM with global ARGs and platform ARGs' {
        $v = [Containers.Engine.Build.DockerfileVariables]::new($sdoc, $null, 'linux/amd64')
        $v.ExpandGlobal($sdoc.Stages[0].BaseName) | Should -BeExactly 'base:1.0'
        $v.ExpandGlobal('$TARGETPLATFORM $BUILDOS $TARGETARCH') | Should -BeExactly 'linux/amd64 linux amd64'
        $v.Global.ContainsKey('NODEF') | Should -BeFalse
    }
    It 'lets build args override defaults' {
        $ba = [Collections.Generic.Dictionary[string, string]]::new(); $ba['TAG'] = '2.0'; $ba['HTTP_PROXY'] = 'http://p:3128'
        $v = [Containers.Engine.Build.DockerfileVariables]::new($sdoc, $ba, 'linux/amd64')
        $v.ExpandGlobal('${IMG}') | Should -BeExactly 'base:2.0'
        $s = $v.NewStage($null)
        foreach ($i in $sdoc.Stages[0].Instructions) { $s.Apply($i) }
        $s.Args['TAG'] | Should -BeExactly '2.0'
        $s.Args['LOCAL'] | Should -BeExactly 'l-2.0'
        $s.RunEnvironment()['HTTP_PROXY'] | Should -BeExactly 'http://p:3128'
        $s.Expand('$HTTP_PROXY') | Should -BeExactly ''
    }
    It 'scopes ARGs to a stage that declares them; ENV wins over ARG' {
        $v = [Containers.Engine.Build.DockerfileVariables]::new($sdoc, $null, 'linux/amd64')
        $s = $v.NewStage($null)
        $s.Expand('[$TAG]') | Should -BeExactly '[]'
        foreach ($i in $sdoc.Stages[0].Instructions) { $s.Apply($i) }
        $s.Args['TAG'] | Should -BeExactly '1.0'
        $s.Args['LOCAL'] | Should -BeExactly 'l-1.0'
        $s.Args['TARGETARCH'] | Should -BeExactly 'amd64'
        $s.Args.ContainsKey('UNDECLARED_IN_GLOBAL') | Should -BeFalse
        $s.Expand('$TAG') | Should -BeExactly 'env-wins'
        $s2 = $v.NewStage($null)
        $s2.Expand('[$TAG][$LOCAL]') | Should -BeExactly '[][]'
    }
    It 'expands with the escape character the file chose' {
        $d = [Containers.Engine.Build.DockerfileParser]::Parse((@('# escape=`', 'FROM x', 'ENV A=1', 'ENV B=`$A C=\$A D="q`"$A"') -join "`n"), $null)
        $s = [Containers.Engine.Build.DockerfileVariables]::new($d, $null, 'linux/amd64').NewStage($null)
        foreach ($i in $d.Stages[0].Instructions) { $s.Apply($i) }
        $cfg = @{}; foreach ($p in $s.Env) { $cfg[$p.Key] = $p.Value }
        $cfg['B'] | Should -BeExactly '$A'
        $cfg['C'] | Should -BeExactly '\1'
        $cfg['D'] | Should -BeExactly 'q"1'
    }
    It 'lets an ARG declared after an ENV of the same name win, as BuildKit does, and keeps it out of the config' {
        $d = [Containers.Engine.Build.DockerfileParser]::Parse("FROM x`nENV A=env`nARG A=arg`nENV B=`$A C=1`nENV C=2 D=`$C", $null)
        $s = [Containers.Engine.Build.DockerfileVariables]::new($d, $null, 'linux/amd64').NewStage([Collections.Generic.KeyValuePair[string, string][]]@([Collections.Generic.KeyValuePair[string, string]]::new('PATH', '/bin')))
        foreach ($i in $d.Stages[0].Instructions) { $s.Apply($i) }
        $s.Expand('$A') | Should -BeExactly 'arg'
        $cfg = @{}; foreach ($p in $s.Env) { $cfg[$p.Key] = $p.Value }
        $cfg['A'] | Should -BeExactly 'env'
        $cfg['B'] | Should -BeExactly 'arg'
        $cfg['D'] | Should -BeExactly '1' -Because 'pairs of one ENV are expanded with the environment before it'
        $cfg['PATH'] | Should -BeExactly '/bin'
        @($s.Env.Key) | Should -Be @('PATH', 'A', 'B', 'C', 'D')
    }
    It 'expands the words BuildKit expands, per instruction' {
        $d = [Containers.Engine.Build.DockerfileParser]::Parse(@'
FROM x
ARG U=app D=/dst P=8080 S=SIGINT V=/data C=0755 F=build SUM=sha256:abc
ARG CACHE=/root/.cache
WORKDIR $D/work
USER ${U}:${U}
EXPOSE $P ${P}/udp
STOPSIGNAL $S
VOLUME $V "${V}2"
LABEL "k$U"="v ${U}"
COPY --chown=$U --chmod=$C --from=$F src/$U "$D/"
ADD --checksum=$SUM <<'RAW' <<COOKED $D/
$U raw
RAW
$U "cooked"
COOKED
RUN --mount=type=cache,target=$CACHE echo $U
CMD echo $U
'@, $null)
        $s = [Containers.Engine.Build.DockerfileVariables]::new($d, $null, 'linux/amd64').NewStage($null)
        $out = foreach ($i in $d.Stages[0].Instructions) { $s.Apply($i); $s.ExpandInstruction($i) }
        ($out | Where-Object Instruction -eq WORKDIR).Arguments | Should -Be @('/dst/work')
        ($out | Where-Object Instruction -eq USER).Arguments | Should -Be @('app:app')
        ($out | Where-Object Instruction -eq EXPOSE).Arguments | Should -Be @('8080', '8080/udp')
        ($out | Where-Object Instruction -eq STOPSIGNAL).Arguments | Should -Be @('SIGINT')
        ($out | Where-Object Instruction -eq VOLUME).Arguments | Should -Be @('/data', '/data2')
        $l = $out | Where-Object Instruction -eq LABEL
        $l.Pairs[0].Key | Should -BeExactly 'kapp'
        $l.Pairs[0].Value | Should -BeExactly 'v app'
        $c = $out | Where-Object Instruction -eq COPY
        $c.GetFlag('chown') | Should -Be 'app'; $c.GetFlag('chmod') | Should -Be '0755'; $c.GetFlag('from') | Should -Be 'build'
        $c.Arguments | Should -Be @('src/app', '/dst/')
        $a = $out | Where-Object Instruction -eq ADD
        $a.GetFlag('checksum') | Should -Be 'sha256:abc'
        $a.Arguments | Should -Be @("<<'RAW'", '<<COOKED', '/dst/')
        $a.Heredocs[0].Content | Should -BeExactly "`$U raw`n"
        $a.Heredocs[1].Content | Should -BeExactly "app `"cooked`"`n"
        ($out | Where-Object Instruction -eq RUN).Mounts[0].Target | Should -Be '/root/.cache'
        ($out | Where-Object Instruction -eq RUN).Arguments | Should -Be @('echo $U')
        ($out | Where-Object Instruction -eq CMD).Arguments | Should -Be @('echo $U')
    }
}

Describe 'awesome-compose Dockerfiles' {
    BeforeDiscovery {
        . $PSScriptRoot/../common.ps1
        $script:files = @(Get-ChildItem -Recurse -File (Join-Path $script:Fixtures 'compose/awesome-compose') |
            Where-Object { $_.Name -like 'Dockerfile*' -and $_.Name -notlike '*.dockerignore' } | ForEach-Object { @{ File = $_.FullName; Short = $_.FullName.Substring($_.FullName.IndexOf('awesome-compose')) } })
    }
    It 'finds the fixtures' {
        @(Get-ChildItem -Recurse -File (Join-Path $script:Fixtures 'compose/awesome-compose') -Filter 'Dockerfile*').Count | Should -BeGreaterThan 20
    }
    It 'parses <Short>' -ForEach $script:files {
        $i = @(ConvertFrom-Dockerfile -LiteralPath $File -ErrorAction Stop -WarningAction SilentlyContinue)
        $i.Count | Should -BeGreaterThan 0
        @($i | Where-Object Instruction -eq 'FROM').Count | Should -BeGreaterThan 0
        ConvertFrom-Dockerfile -LiteralPath $File -AsParserDump | Should -Match '(?m)^\(from '
    }
}
