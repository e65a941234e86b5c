# The compose loader (ConvertFrom-ContainerCompose): YAML, interpolation, .env, normalisation of the short
# syntaxes, several files, extends, include, profiles, project names, schema validation; and the peer check
# against Debian's docker-compose 1.29.2 `config` on the awesome-compose apps (docs/COMPOSE.md).
BeforeAll {
    . $PSScriptRoot/../common.ps1

    # a project folder with the given files (name -> text); returns its path
    function New-ComposeDir([hashtable] $Files, [string] $Name = 'proj') {
        $dir = Join-Path $TestDrive ("$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Path $dir | Out-Null
        foreach ($k in $Files.Keys) {
            $p = Join-Path $dir $k
            New-Item -ItemType Directory -Force -Path (Split-Path $p) | Out-Null
            Set-Content -LiteralPath $p -Value $Files[$k] -NoNewline
        }
        $dir
    }
    # loads a one-file project (compose.yaml) plus other files
    function Get-Project([string] $Yaml, [hashtable] $Files = @{}, [hashtable] $Options = @{}) {
        $all = @{ 'compose.yaml' = $Yaml } + $Files
        $dir = New-ComposeDir $all
        ConvertFrom-ContainerCompose -Path (Join-Path $dir 'compose.yaml') @Options -WarningAction SilentlyContinue
    }
    function Get-Svc($Project, [string] $Name) { $Project.Services | Where-Object Name -eq $Name }
    # the error a load throws
    function Get-LoadError([scriptblock] $Script) {
        try { & $Script; $null } catch { $_ }
    }
}

Describe 'YAML' {
    It 'resolves anchors, aliases and merge keys (explicit keys win, the first merged mapping wins)' {
        $p = Get-Project @'
x-base: &base
  image: busybox
  environment: &env
    A: "1"
x-other: &other
  image: alpine
  restart: always
  user: nobody
services:
  web:
    <<: [*base, *other]
    user: root
  db:
    image: busybox
    environment: *env
'@
        $web = Get-Svc $p web
        $web.Image | Should -BeExactly 'busybox'
        $web.Restart | Should -BeExactly 'always'
        $web.User | Should -BeExactly 'root'
        $web.Environment['A'] | Should -BeExactly '1'
        (Get-Svc $p db).Environment['A'] | Should -BeExactly '1'
    }

    It 'keeps x- extensions at the top level and in services' {
        $p = Get-Project @'
x-custom:
  owner: team-a
services:
  web:
    image: busybox
    x-note: hello
'@
        $p.Extensions['x-custom']['owner'] | Should -BeExactly 'team-a'
        (Get-Svc $p web).Extensions['x-note'] | Should -BeExactly 'hello'
        ConvertFrom-ContainerCompose -Path $p.ComposeFiles[0] -AsYaml | Should -Match '(?m)^x-custom:'
    }

    It 'types plain scalars as YAML 1.2 does and keeps quoted ones as text' {
        $p = Get-Project @'
services:
  web:
    image: busybox
    privileged: true
    tty: "true"
    labels:
      quoted: "010"
      plain: 010
'@
        $web = Get-Svc $p web
        $web.Privileged | Should -BeTrue
        $web.Tty | Should -BeTrue
        $web.Labels['quoted'] | Should -BeExactly '010'
        # yaml.v3 reads a plain 010 as octal, as compose-go does
        $web.Labels['plain'] | Should -BeExactly '8'
    }

    It 'fails on <Case> with ComposeFileInvalid naming the file' -TestCases @(
        @{ Case = 'broken YAML'; Yaml = "services:`n  web: [unclosed"; Match = 'compose.yaml:\d+' }
        @{ Case = 'a duplicate key'; Yaml = "services:`n  web:`n    image: a`n    image: b"; Match = 'compose.yaml:4:\d+: Duplicate key image' }
        @{ Case = 'a top level that is a list'; Yaml = "- a`n- b"; Match = 'must be a mapping' }
        @{ Case = 'aliases that expand without bound'; Yaml = "x-a: &a [1,1,1,1,1,1,1,1,1,1]`nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]`nx-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]`nx-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]`nx-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]`nx-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]`nx-g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]`nservices: {}"; Match = 'more than 1000000 nodes' }
        @{ Case = 'two documents'; Yaml = "services: {}`n---`nservices: {}"; Match = 'one YAML document' }
    ) {
        $e = Get-LoadError { Get-Project $Yaml }
        $e.FullyQualifiedErrorId | Should -BeExactly 'ComposeFileInvalid,Containers.Cmdlets.Compose.ConvertFromContainerComposeCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.TargetObject | Should -BeLike '*compose.yaml'
        $e.Exception.Message | Should -Match $Match
    }

    It '!reset removes an inherited value and !override replaces instead of merging' {
        $dir = New-ComposeDir @{
            'compose.yaml' = "services:`n  web:`n    image: busybox`n    ports: [`"80:80`"]`n    environment:`n      A: `"1`"`n      B: `"2`""
            'compose.override.yaml' = "services:`n  web:`n    ports: !reset []`n    environment: !override`n      C: `"3`""
        }
        Push-Location $dir
        try { $q = ConvertFrom-ContainerCompose } finally { Pop-Location }
        $web = Get-Svc $q web
        $web.Ports.Count | Should -Be 0
        @($web.Environment.Keys) | Should -Be @('C')
    }
}

Describe 'Interpolation' {
    BeforeAll {
        $env:CT_SET = 'value'
        $env:CT_EMPTY = ''
        Remove-Item Env:CT_UNSET -ErrorAction SilentlyContinue
        # an empty variable cannot be made with $env: on every platform: use .env for it where it matters
    }
    AfterAll { Remove-Item Env:CT_SET, Env:CT_EMPTY -ErrorAction SilentlyContinue }

    It '<Template> gives <Expected>' -TestCases @(
        @{ Template = '$CT_SET'; Expected = 'value' }
        @{ Template = '${CT_SET}'; Expected = 'value' }
        @{ Template = 'a-${CT_SET}-b'; Expected = 'a-value-b' }
        @{ Template = '${CT_UNSET:-dflt}'; Expected = 'dflt' }
        @{ Template = '${CT_UNSET-dflt}'; Expected = 'dflt' }
        @{ Template = '${CT_SET:-dflt}'; Expected = 'value' }
        @{ Template = '${DOTENV_EMPTY:-dflt}'; Expected = 'dflt' }
        @{ Template = '${DOTENV_EMPTY-dflt}'; Expected = '' }
        @{ Template = '${CT_SET:+alt}'; Expected = 'alt' }
        @{ Template = '${CT_SET+alt}'; Expected = 'alt' }
        @{ Template = '${DOTENV_EMPTY:+alt}'; Expected = '' }
        @{ Template = '${DOTENV_EMPTY+alt}'; Expected = 'alt' }
        @{ Template = '${CT_UNSET+alt}'; Expected = '' }
        @{ Template = '${CT_UNSET:-${CT_UNSET2:-${CT_SET}}}'; Expected = 'value' }
        @{ Template = '${CT_UNSET:-pre-${CT_SET}-post}'; Expected = 'pre-value-post' }
        @{ Template = '$${CT_SET}'; Expected = '${CT_SET}' }
        @{ Template = 'cost $$5'; Expected = 'cost $5' }
        @{ Template = '$1 stays'; Expected = '$1 stays' }
        @{ Template = '${CT_SET:?must be set}'; Expected = 'value' }
        @{ Template = '${DOTENV_EMPTY?ok when empty}'; Expected = '' }
    ) {
        $p = Get-Project -Yaml "services:`n  web:`n    image: busybox`n    labels:`n      v: '$($Template -replace "'", "''")'" -Files @{ '.env' = "DOTENV_EMPTY=`n" }
        (Get-Svc $p web).Labels['v'] | Should -BeExactly $Expected
    }

    It 'fails on <Template> with <Id> naming the path' -TestCases @(
        @{ Template = '${CT_UNSET:?the reason}'; Id = 'ComposeVariableRequired'; Match = 'services.web.image: required variable CT_UNSET is missing a value: the reason' }
        @{ Template = '${CT_UNSET?}'; Id = 'ComposeVariableRequired'; Match = 'required variable CT_UNSET is missing a value' }
        @{ Template = '${DOTENV_EMPTY:?empty}'; Id = 'ComposeVariableRequired'; Match = 'DOTENV_EMPTY' }
        @{ Template = '${}'; Id = 'ComposeInterpolationInvalid'; Match = 'Invalid template' }
        @{ Template = '${CT SET}'; Id = 'ComposeInterpolationInvalid'; Match = 'Invalid template' }
    ) {
        $e = Get-LoadError { Get-Project -Yaml "services:`n  web:`n    image: '$Template'" -Files @{ '.env' = "DOTENV_EMPTY=`n" } }
        $e.FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.Exception.Message | Should -Match ([regex]::Escape($Match))
    }

    It 'warns about an unset variable and uses an empty string' {
        $dir = New-ComposeDir @{ 'compose.yaml' = "services:`n  web:`n    image: busybox`n    user: `"`${CT_UNSET}x`"" }
        $p = ConvertFrom-ContainerCompose -Path "$dir/compose.yaml" -WarningVariable w -WarningAction SilentlyContinue
        (Get-Svc $p web).User | Should -BeExactly 'x'
        "$w" | Should -Match 'The "CT_UNSET" variable is not set'
    }

    It 'takes the shell over .env, and reads the type the schema wants after interpolation' {
        $env:CT_REPLICAS = '3'
        try {
            $p = Get-Project -Yaml @'
services:
  web:
    image: busybox:${TAG}
    read_only: ${RO}
    deploy:
      replicas: ${CT_REPLICAS}
'@ -Files @{ '.env' = "TAG=1.36`nRO=yes`nCT_REPLICAS=9`n" }
        } finally { Remove-Item Env:CT_REPLICAS }
        $web = Get-Svc $p web
        $web.Image | Should -BeExactly 'busybox:1.36'
        $web.ReadOnly | Should -BeTrue
        $web.Deploy.Replicas | Should -Be 3
        $web.Deploy.Replicas | Should -BeOfType [int]
    }
}

Describe '.env' {
    It 'reads <Case>' -TestCases @(
        @{ Case = 'a plain value'; Env = 'V=plain'; Expected = 'plain' }
        @{ Case = 'export'; Env = 'export V=exported'; Expected = 'exported' }
        @{ Case = 'spaces around ='; Env = 'V = spaced  '; Expected = 'spaced' }
        @{ Case = 'yaml style'; Env = 'V: colon'; Expected = 'colon' }
        @{ Case = 'an inline comment'; Env = 'V=val # comment'; Expected = 'val' }
        @{ Case = 'a # without space'; Env = 'V=val#not'; Expected = 'val#not' }
        @{ Case = 'a comment line'; Env = "# V=no`nV=yes"; Expected = 'yes' }
        @{ Case = 'single quotes (literal)'; Env = "V='a `$X \n b'"; Expected = 'a $X \n b' }
        @{ Case = 'double quotes with escapes'; Env = 'V="a\tb\\c\"d"'; Expected = "a`tb\c`"d" }
        @{ Case = 'a double-quoted newline escape'; Env = 'V="l1\nl2"'; Expected = "l1`nl2" }
        @{ Case = 'a multi-line double-quoted value'; Env = "V=`"l1`nl2`""; Expected = "l1`nl2" }
        @{ Case = 'a multi-line single-quoted value'; Env = "V='l1`nl2'"; Expected = "l1`nl2" }
        @{ Case = 'a quoted # kept'; Env = 'V="a # b" # comment'; Expected = 'a # b' }
        @{ Case = 'expansion of an earlier key'; Env = "A=x`nV=`${A}-y"; Expected = 'x-y' }
        @{ Case = 'expansion with a default'; Env = 'V=${NOPE_CT:-d}'; Expected = 'd' }
        @{ Case = 'an escaped dollar'; Env = 'V="\$A"'; Expected = '$A' }
        @{ Case = 'a doubled dollar'; Env = 'V=$$A'; Expected = '$A' }
        @{ Case = 'no expansion in single quotes'; Env = "A=x`nV='`${A}'"; Expected = '${A}' }
        @{ Case = 'CRLF line ends'; Env = "A=1`r`nV=crlf`r`n"; Expected = 'crlf' }
        @{ Case = 'an empty value'; Env = 'V='; Expected = '' }
    ) {
        $p = Get-Project -Yaml "services:`n  web:`n    image: busybox`n    labels:`n      v: `"`${V}`"" -Files @{ '.env' = $Env }
        (Get-Svc $p web).Labels['v'] | Should -BeExactly $Expected
    }

    It 'inherits a bare KEY from the shell' {
        $env:CT_INHERIT = 'from-shell'
        try { $p = Get-Project -Yaml "services:`n  web:`n    image: busybox`n    labels:`n      v: `"`${CT_INHERIT}`"" -Files @{ '.env' = "CT_INHERIT`n" } }
        finally { Remove-Item Env:CT_INHERIT }
        (Get-Svc $p web).Labels['v'] | Should -BeExactly 'from-shell'
    }

    It 'fails on <Case> with ComposeEnvFileInvalid naming the line' -TestCases @(
        @{ Case = 'a bad key character'; Env = "A=1`nB@C=2"; Match = 'line 2: unexpected character "@"' }
        @{ Case = 'an unterminated quote'; Env = 'A="open'; Match = 'line 1: unterminated quoted value' }
    ) {
        $e = Get-LoadError { Get-Project -Yaml "services:`n  web:`n    image: busybox" -Files @{ '.env' = $Env } }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeEnvFileInvalid,*'
        $e.Exception.Message | Should -Match ([regex]::Escape($Match))
        $e.TargetObject | Should -BeLike '*.env'
    }

    It '-EnvFile replaces the folder''s .env' {
        $dir = New-ComposeDir @{ 'compose.yaml' = "services:`n  web:`n    image: `"busybox:`${TAG:-none}`"`n    user: `"`${U:-nouser}`""; '.env' = "U=dot"; 'other.env' = "TAG=2" }
        $p = ConvertFrom-ContainerCompose -Path "$dir/compose.yaml" -EnvFile "$dir/other.env"
        (Get-Svc $p web).Image | Should -BeExactly 'busybox:2'
        (Get-Svc $p web).User | Should -BeExactly 'nouser'
        $e = Get-LoadError { ConvertFrom-ContainerCompose -Path "$dir/compose.yaml" -EnvFile "$dir/missing.env" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeEnvFileNotFound,*'
    }
}

Describe 'Normalisation of short syntaxes' {
    It 'ports: <Spec>' -TestCases @(
        @{ Spec = '"80"'; Want = @(@{ Target = 80; Published = $null; HostIp = $null; Protocol = 'tcp' }) }
        @{ Spec = '80'; Want = @(@{ Target = 80; Published = $null; HostIp = $null; Protocol = 'tcp' }) }
        @{ Spec = '"8080:80"'; Want = @(@{ Target = 80; Published = '8080'; HostIp = $null; Protocol = 'tcp' }) }
        @{ Spec = '"127.0.0.1:8080:80/udp"'; Want = @(@{ Target = 80; Published = '8080'; HostIp = '127.0.0.1'; Protocol = 'udp' }) }
        @{ Spec = '"127.0.0.1::80"'; Want = @(@{ Target = 80; Published = $null; HostIp = '127.0.0.1'; Protocol = 'tcp' }) }
        @{ Spec = '"[::1]:8080:80"'; Want = @(@{ Target = 80; Published = '8080'; HostIp = '::1'; Protocol = 'tcp' }) }
        @{ Spec = '"9000-9001:80-81"'; Want = @(@{ Target = 80; Published = '9000'; HostIp = $null; Protocol = 'tcp' }, @{ Target = 81; Published = '9001'; HostIp = $null; Protocol = 'tcp' }) }
        @{ Spec = '"9000-9010:80"'; Want = @(@{ Target = 80; Published = '9000-9010'; HostIp = $null; Protocol = 'tcp' }) }
        @{ Spec = '{ target: 80, published: 8080, host_ip: 0.0.0.0, protocol: udp }'; Want = @(@{ Target = 80; Published = '8080'; HostIp = '0.0.0.0'; Protocol = 'udp' }) }
    ) {
        $p = Get-Project "services:`n  web:`n    image: busybox`n    ports:`n      - $Spec"
        $ports = @((Get-Svc $p web).Ports)
        $ports.Count | Should -Be $Want.Count
        for ($i = 0; $i -lt $Want.Count; $i++) {
            foreach ($k in $Want[$i].Keys) { $ports[$i].$k | Should -Be $Want[$i][$k] -Because "$k of port $i" }
            $ports[$i].Mode | Should -BeExactly 'ingress'
        }
    }

    It 'fails on an invalid ulimit with the path' {
        $e = Get-LoadError { Get-Project "services:`n  web:`n    image: busybox`n    ulimits:`n      nofile: lots" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeFileInvalid,*'
        $e.Exception.Message | Should -Match 'services\.web\.ulimits\.nofile'
    }

    It 'fails on an invalid port with the path' {
        $e = Get-LoadError { Get-Project "services:`n  web:`n    image: busybox`n    ports:`n      - `"80:abc`"" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeFileInvalid,*'
        $e.Exception.Message | Should -Match 'services\.web\.ports\[0\]'
    }

    It 'volumes: <Spec>' -TestCases @(
        @{ Spec = 'data:/var/lib/x'; Type = 'volume'; Source = 'data'; Target = '/var/lib/x'; RO = $false }
        @{ Spec = 'data:/var/lib/x:ro'; Type = 'volume'; Source = 'data'; Target = '/var/lib/x'; RO = $true }
        @{ Spec = 'data:/var/lib/x:nocopy'; Type = 'volume'; Source = 'data'; Target = '/var/lib/x'; RO = $false; NoCopy = $true }
        @{ Spec = './src:/app/'; Type = 'bind'; Source = '<dir>/src'; Target = '/app'; RO = $false }
        @{ Spec = '../up:/up:ro,rshared'; Type = 'bind'; Source = '<parent>/up'; Target = '/up'; RO = $true; Propagation = 'rshared' }
        @{ Spec = '/abs/path:/mnt:z'; Type = 'bind'; Source = '/abs/path'; Target = '/mnt'; RO = $false; SELinux = 'z' }
        @{ Spec = '/anonymous'; Type = 'volume'; Source = $null; Target = '/anonymous'; RO = $false }
        @{ Spec = '{ type: bind, source: ./conf, target: /etc/conf, read_only: true }'; Type = 'bind'; Source = '<dir>/conf'; Target = '/etc/conf'; RO = $true }
        @{ Spec = '{ type: tmpfs, target: /tmp, tmpfs: { size: 64m } }'; Type = 'tmpfs'; Source = $null; Target = '/tmp'; RO = $false; TmpfsSize = 67108864 }
    ) {
        $p = Get-Project "services:`n  web:`n    image: busybox`n    volumes:`n      - $Spec`nvolumes:`n  data: {}"
        $dir = Split-Path $p.ComposeFiles[0]
        $v = @((Get-Svc $p web).Volumes)[0]
        $v.Type | Should -BeExactly $Type
        if ($Source) { $v.Source | Should -BeExactly ($Source -replace '<dir>', $dir -replace '<parent>', (Split-Path $dir)) }
        else { $v.Source | Should -BeNullOrEmpty }
        $v.Target | Should -BeExactly $Target
        $v.ReadOnly | Should -Be $RO
        if ($NoCopy) { $v.NoCopy | Should -BeTrue }
        if ($Propagation) { $v.Propagation | Should -BeExactly $Propagation }
        if ($SELinux) { $v.SELinux | Should -BeExactly $SELinux }
        if ($TmpfsSize) { $v.TmpfsSize | Should -Be $TmpfsSize }
        if ($Type -eq 'bind' -and $Spec -notlike '{*') { $v.CreateHostPath | Should -BeTrue }
    }

    It 'depends_on as a list and as a map' {
        $p = Get-Project @'
services:
  a: { image: busybox, depends_on: [b, c] }
  b: { image: busybox, depends_on: { c: { condition: service_healthy, restart: true } } }
  c: { image: busybox, depends_on: { d: { condition: service_completed_successfully, required: false } } }
'@
        $a = (Get-Svc $p a).DependsOn
        $a.Service | Should -Be @('b', 'c')
        $a.Condition | Should -Be @('service_started', 'service_started')
        $a.Required | Should -Be @($true, $true)
        $b = (Get-Svc $p b).DependsOn[0]
        $b.Condition | Should -BeExactly 'service_healthy'
        $b.Restart | Should -BeTrue
        # an optional dependency on a service that is not there is dropped
        (Get-Svc $p c).DependsOn.Count | Should -Be 0
    }

    It 'networks as a list and as a map, with the default network given to the others' {
        $p = Get-Project @'
services:
  a: { image: busybox, networks: [front, back] }
  b:
    image: busybox
    networks:
      front:
        aliases: [web, www]
        ipv4_address: 172.30.0.10
  c: { image: busybox }
  d: { image: busybox, network_mode: host }
networks:
  front: {}
  back: { internal: true }
'@
        (Get-Svc $p a).Networks.Name | Should -Be @('front', 'back')
        $bn = (Get-Svc $p b).Networks[0]
        $bn.Aliases | Should -Be @('web', 'www')
        $bn.Ipv4Address | Should -BeExactly '172.30.0.10'
        (Get-Svc $p c).Networks.Name | Should -Be @('default')
        (Get-Svc $p d).Networks.Count | Should -Be 0
        (Get-Svc $p d).NetworkMode | Should -BeExactly 'host'
        $names = @{}; $p.Networks | ForEach-Object { $names[$_.Key] = $_.Name }
        $names['front'] | Should -BeExactly "$($p.Name)_front"
        $names['default'] | Should -BeExactly "$($p.Name)_default"
        ($p.Networks | Where-Object Key -eq back).Internal | Should -BeTrue
    }

    It 'secrets and configs, short and long' {
        $p = Get-Project -Yaml @'
services:
  web:
    image: busybox
    secrets: [pw, { source: key, target: api.key, mode: 0400 }]
    configs: [cfg, { source: cfg2, target: /etc/app.conf }]
secrets:
  pw: { file: ./pw.txt }
  key: { environment: API_KEY }
configs:
  cfg: { content: "hello" }
  cfg2: { file: conf/app.conf }
'@ -Files @{ 'pw.txt' = 'x' }
        $dir = Split-Path $p.ComposeFiles[0]
        $web = Get-Svc $p web
        $web.Secrets.Target | Should -Be @('/run/secrets/pw', '/run/secrets/api.key')
        $web.Secrets[1].Mode | Should -Be 256
        $web.Configs.Target | Should -Be @('/cfg', '/etc/app.conf')
        ($p.Secrets | Where-Object Key -eq pw).File | Should -BeExactly "$dir/pw.txt"
        ($p.Secrets | Where-Object Key -eq key).Environment | Should -BeExactly 'API_KEY'
        ($p.Configs | Where-Object Key -eq cfg).Content | Should -BeExactly 'hello'
        ($p.Configs | Where-Object Key -eq cfg2).File | Should -BeExactly "$dir/conf/app.conf"
    }

    It 'environment as a list and as a map; a name without a value comes from the environment' {
        $env:CT_FROM_SHELL = 'shell'
        try {
            $p = Get-Project @'
services:
  a:
    image: busybox
    environment:
      - A=1
      - B=x=y
      - CT_FROM_SHELL
      - CT_NOT_SET
  b:
    image: busybox
    environment:
      N: 5
      T: true
      E: ""
      CT_FROM_SHELL:
'@
        } finally { Remove-Item Env:CT_FROM_SHELL }
        $a = (Get-Svc $p a).Environment
        $a['A'] | Should -BeExactly '1'
        $a['B'] | Should -BeExactly 'x=y'
        $a['CT_FROM_SHELL'] | Should -BeExactly 'shell'
        $a.ContainsKey('CT_NOT_SET') | Should -BeTrue
        $a['CT_NOT_SET'] | Should -BeNullOrEmpty
        $b = (Get-Svc $p b).Environment
        $b['N'] | Should -BeExactly '5'
        $b['T'] | Should -BeExactly 'true'
        $b['E'] | Should -BeExactly ''
        $b['CT_FROM_SHELL'] | Should -BeExactly 'shell'
    }

    It 'env_file: read into the environment (environment wins), optional ones may be missing' {
        $p = Get-Project -Yaml @'
services:
  web:
    image: busybox
    env_file:
      - web.env
      - path: missing.env
        required: false
    environment:
      B: own
'@ -Files @{ 'web.env' = "A=fromfile`nB=fromfile`n" }
        $web = Get-Svc $p web
        $web.Environment['A'] | Should -BeExactly 'fromfile'
        $web.Environment['B'] | Should -BeExactly 'own'
        $web.EnvFiles.Required | Should -Be @($true, $false)
        $e = Get-LoadError { Get-Project "services:`n  web:`n    image: busybox`n    env_file: nope.env" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeEnvFileNotFound,*'
    }

    It 'build as a string and as a mapping' {
        $p = Get-Project @'
services:
  a: { build: ./app }
  b:
    build:
      context: ctx
      dockerfile: Dockerfile.dev
      target: dev
      args: [A=1, B]
      labels: { l: v }
  c:
    build:
      context: .
      dockerfile_inline: "FROM busybox"
'@
        $dir = Split-Path $p.ComposeFiles[0]
        $a = (Get-Svc $p a).Build
        $a.Context | Should -BeExactly "$dir/app"
        $a.Dockerfile | Should -BeExactly 'Dockerfile'
        $b = (Get-Svc $p b).Build
        $b.Context | Should -BeExactly "$dir/ctx"
        $b.Dockerfile | Should -BeExactly 'Dockerfile.dev'
        $b.Target | Should -BeExactly 'dev'
        $b.Args['A'] | Should -BeExactly '1'
        $b.Args.ContainsKey('B') | Should -BeTrue
        $b.Labels['l'] | Should -BeExactly 'v'
        (Get-Svc $p c).Build.Dockerfile | Should -BeNullOrEmpty
        (Get-Svc $p c).Build.DockerfileInline | Should -BeExactly 'FROM busybox'
    }

    It 'command and entrypoint as strings are split as a shell would' {
        $p = Get-Project @'
services:
  web:
    image: busybox
    command: sh -c 'echo "a b"; exit 0' plain\ space "dq \"x\""
    entrypoint: ["/bin/sh", "-c"]
'@
        $web = Get-Svc $p web
        $web.Command | Should -Be @('sh', '-c', 'echo "a b"; exit 0', 'plain space', 'dq "x"')
        $web.Entrypoint | Should -Be @('/bin/sh', '-c')
    }

    It 'healthcheck: a string test, durations' {
        $p = Get-Project @'
services:
  db:
    image: busybox
    healthcheck:
      test: wget -q localhost
      interval: 90s
      timeout: 500ms
      retries: 3
      start_period: 1m
      start_interval: 2s
    stop_grace_period: 1h30m
  off:
    image: busybox
    healthcheck: { test: ["NONE"] }
'@
        $h = (Get-Svc $p db).HealthCheck
        $h.Test | Should -Be @('CMD-SHELL', 'wget -q localhost')
        $h.Interval | Should -Be ([timespan]::FromSeconds(90))
        $h.Timeout | Should -Be ([timespan]::FromMilliseconds(500))
        $h.Retries | Should -Be 3
        $h.StartPeriod | Should -Be ([timespan]::FromMinutes(1))
        $h.StartInterval | Should -Be ([timespan]::FromSeconds(2))
        (Get-Svc $p db).StopGracePeriod | Should -Be ([timespan]::FromMinutes(90))
        (Get-Svc $p off).HealthCheck.Disable | Should -BeTrue
        $yaml = ConvertFrom-ContainerCompose -Path $p.ComposeFiles[0] -AsYaml
        $yaml | Should -Match 'interval: 1m30s'
        $yaml | Should -Match 'stop_grace_period: 1h30m0s'
    }

    It 'the other keys: lists from strings, sizes, ulimits, extra_hosts, devices, deploy' {
        $p = Get-Project @'
services:
  web:
    image: busybox
    dns: 1.1.1.1
    dns_search: example.com
    tmpfs: /run
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    mem_limit: 1g
    shm_size: 64m
    cpus: 0.5
    pids_limit: 100
    ulimits:
      nproc: 65535
      nofile: { soft: 1024, hard: 2048 }
    extra_hosts:
      - "db:10.0.0.5"
      - "cache=10.0.0.6"
    devices: ["/dev/fuse:/dev/fuse:rwm", "/dev/null"]
    sysctls: [net.core.somaxconn=1024]
    logging: { driver: json-file, options: { max-size: 10m, max-file: 3 } }
    group_add: [audio, 1000]
    security_opt: [no-new-privileges:true]
    init: true
    stdin_open: true
    tty: true
    stop_signal: SIGTERM
    userns_mode: host
    container_name: my-web
    hostname: web
    domainname: example.com
    working_dir: /app
    user: "1000:1000"
    pull_policy: always
    deploy:
      replicas: 2
      resources:
        limits: { cpus: "0.25", memory: 128M, pids: 50 }
        reservations: { memory: 64M }
    ipc: host
'@
        $w = Get-Svc $p web
        $w.Dns | Should -Be @('1.1.1.1')
        $w.DnsSearch | Should -Be @('example.com')
        $w.Tmpfs | Should -Be @('/run')
        $w.MemLimit | Should -Be 1GB
        $w.ShmSize | Should -Be 64MB
        $w.Cpus | Should -Be 0.5
        $w.PidsLimit | Should -Be 100
        ($w.Ulimits | Where-Object Name -eq nproc).Soft | Should -Be 65535
        ($w.Ulimits | Where-Object Name -eq nofile).Hard | Should -Be 2048
        $w.ExtraHosts.Host | Should -Be @('db', 'cache')
        $w.ExtraHosts.Address | Should -Be @('10.0.0.5', '10.0.0.6')
        $w.Devices[0].Target | Should -BeExactly '/dev/fuse'
        $w.Devices[1].Target | Should -BeExactly '/dev/null'
        $w.Sysctls['net.core.somaxconn'] | Should -BeExactly '1024'
        $w.Logging.Driver | Should -BeExactly 'json-file'
        $w.Logging.Options['max-file'] | Should -BeExactly '3'
        $w.GroupAdd | Should -Be @('audio', '1000')
        $w.Init | Should -BeTrue
        $w.StdinOpen | Should -BeTrue
        $w.Tty | Should -BeTrue
        $w.ContainerName | Should -BeExactly 'my-web'
        $w.Deploy.Replicas | Should -Be 2
        $w.Deploy.Limits.Cpus | Should -Be 0.25
        $w.Deploy.Limits.Memory | Should -Be 128MB
        $w.Deploy.Limits.Pids | Should -Be 50
        $w.Deploy.Reservations.Memory | Should -Be 64MB
        # a key without a typed property is kept for `up` to warn about
        $w.OtherKeys['ipc'] | Should -BeExactly 'host'
    }
}

Describe 'Project name' {
    It 'normalises the folder name' {
        $dir = Join-Path $TestDrive 'My_App.Test-1'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content "$dir/compose.yaml" "services:`n  web:`n    image: busybox"
        (ConvertFrom-ContainerCompose -Path "$dir/compose.yaml").Name | Should -BeExactly 'my_apptest-1'
    }
    It 'takes name: (interpolated and normalised) over the folder, and -ProjectName over both' {
        $env:CT_PNAME = 'From.Env'
        try {
            $dir = New-ComposeDir @{ 'compose.yaml' = "name: `${CT_PNAME}-X`nservices:`n  web:`n    image: busybox`n    labels:`n      p: `${COMPOSE_PROJECT_NAME}" }
            $p = ConvertFrom-ContainerCompose -Path "$dir/compose.yaml"
            $p.Name | Should -BeExactly 'fromenv-x'
            (Get-Svc $p web).Labels['p'] | Should -BeExactly 'fromenv-x'
            (ConvertFrom-ContainerCompose -Path "$dir/compose.yaml" -ProjectName given).Name | Should -BeExactly 'given'
        } finally { Remove-Item Env:CT_PNAME }
    }
    It 'takes COMPOSE_PROJECT_NAME over name:' {
        $dir = New-ComposeDir @{ 'compose.yaml' = "name: fromfile`nservices: {}"; '.env' = 'COMPOSE_PROJECT_NAME=fromdotenv' }
        (ConvertFrom-ContainerCompose -Path "$dir/compose.yaml").Name | Should -BeExactly 'fromdotenv'
    }
    It 'refuses an invalid -ProjectName with ComposeProjectNameInvalid' {
        $dir = New-ComposeDir @{ 'compose.yaml' = "services: {}" }
        $e = Get-LoadError { ConvertFrom-ContainerCompose -Path "$dir/compose.yaml" -ProjectName 'Bad Name' }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeProjectNameInvalid,*'
        $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
    }
}

Describe 'Several files' {
    It 'merges -Path a, b as docker compose does' {
        $dir = New-ComposeDir @{
            'a.yaml' = @'
services:
  web:
    image: busybox
    command: [sleep, "1"]
    environment: { A: "1", B: "1" }
    ports: ["80:80"]
    volumes: ["data:/data", "./x:/x"]
    labels: [l1=a]
    dns: [1.1.1.1]
volumes:
  data: {}
'@
            'b.yaml' = @'
services:
  web:
    image: alpine
    command: [sleep, "2"]
    environment: { B: "2", C: "2" }
    ports: ["81:81", "80:80"]
    volumes: ["other:/data"]
    labels: { l2: b }
    dns: [1.1.1.1, 8.8.8.8]
  db:
    image: busybox
volumes:
  other: {}
'@
        }
        $p = ConvertFrom-ContainerCompose -Path "$dir/a.yaml", "$dir/b.yaml"
        $w = Get-Svc $p web
        $w.Image | Should -BeExactly 'alpine'
        $w.Command | Should -Be @('sleep', '2')
        $w.Environment['A'] | Should -BeExactly '1'
        $w.Environment['B'] | Should -BeExactly '2'
        $w.Environment['C'] | Should -BeExactly '2'
        $w.Ports.Published | Should -Be @('80', '81')
        ($w.Volumes | Where-Object Target -eq '/data').Source | Should -BeExactly 'other'
        $w.Volumes.Count | Should -Be 2
        $w.Labels['l1'] | Should -BeExactly 'a'
        $w.Labels['l2'] | Should -BeExactly 'b'
        $w.Dns | Should -Be @('1.1.1.1', '8.8.8.8')
        $p.Services.Name | Should -Be @('db', 'web')
        $p.Name | Should -BeExactly (Split-Path $dir -Leaf)
    }

    It 'picks up compose.override.yaml only when no -Path is given, and finds the file from a subfolder' {
        $dir = New-ComposeDir @{ 'compose.yaml' = "services:`n  web:`n    image: busybox"; 'compose.override.yaml' = "services:`n  web:`n    image: alpine"; 'sub/keep' = '' }
        Push-Location "$dir/sub"
        try { $p = ConvertFrom-ContainerCompose } finally { Pop-Location }
        (Get-Svc $p web).Image | Should -BeExactly 'alpine'
        $p.ComposeFiles.Count | Should -Be 2
        (Get-Svc (ConvertFrom-ContainerCompose -Path "$dir/compose.yaml") web).Image | Should -BeExactly 'busybox'
    }

    It 'takes the files from the pipeline (Get-ChildItem), merged in order' {
        $dir = New-ComposeDir @{ '1.yaml' = "services:`n  web:`n    image: busybox`n    user: a"; '2.yaml' = "services:`n  web:`n    user: b" }
        $p = Get-ChildItem $dir -Filter '*.yaml' | Sort-Object Name | ConvertFrom-ContainerCompose
        (Get-Svc $p web).User | Should -BeExactly 'b'
        $p.ComposeFiles | Should -Be @("$dir/1.yaml", "$dir/2.yaml")
    }

    It 'resolves relative paths of every file against the first file''s folder' {
        $dir = New-ComposeDir @{ 'compose.yaml' = "services:`n  web:`n    image: busybox"; 'sub/more.yaml' = "services:`n  web:`n    volumes: [`"./data:/data`"]" }
        $p = ConvertFrom-ContainerCompose -Path "$dir/compose.yaml", "$dir/sub/more.yaml"
        (Get-Svc $p web).Volumes[0].Source | Should -BeExactly "$dir/data"
    }

    It 'fails with ComposeFileNotFound for a missing file' {
        $e = Get-LoadError { ConvertFrom-ContainerCompose -Path (Join-Path $TestDrive 'nope.yaml') }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeFileNotFound,*'
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'extends, include, profiles' {
    It 'extends a service of the same file and of another file (its paths against its own folder)' {
        $p = Get-Project -Yaml @'
services:
  base:
    image: busybox
    environment: { A: "1" }
    ports: ["80:80"]
  web:
    extends: base
    environment: { B: "2" }
  other:
    extends:
      file: lib/common.yaml
      service: tmpl
    user: root
'@ -Files @{ 'lib/common.yaml' = "services:`n  tmpl:`n    image: alpine`n    user: nobody`n    volumes: [`"./data:/data`"]`n" }
        $dir = Split-Path $p.ComposeFiles[0]
        $w = Get-Svc $p web
        $w.Image | Should -BeExactly 'busybox'
        $w.Environment['A'] | Should -BeExactly '1'
        $w.Environment['B'] | Should -BeExactly '2'
        $w.Ports.Count | Should -Be 1
        $o = Get-Svc $p other
        $o.Image | Should -BeExactly 'alpine'
        $o.User | Should -BeExactly 'root'
        $o.Volumes[0].Source | Should -BeExactly "$dir/lib/data"
    }

    It 'fails on an extends cycle and on a missing base' {
        $e = Get-LoadError { Get-Project "services:`n  a: { image: x, extends: b }`n  b: { image: x, extends: a }" }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeFileInvalid,*'
        $e.Exception.Message | Should -Match 'circular'
        $e = Get-LoadError { Get-Project "services:`n  a: { image: x, extends: nope }" }
        $e.Exception.Message | Should -Match "service 'nope' not found"
    }

    It 'includes another project (its folder, its .env), and refuses a conflicting service' {
        $p = Get-Project -Yaml @'
include:
  - lib/compose.yaml
services:
  web:
    image: busybox
    depends_on: [db]
'@ -Files @{ 'lib/compose.yaml' = "services:`n  db:`n    image: `"db:`${DBTAG}`"`n    volumes: [`"./init:/init`"]`n"; 'lib/.env' = 'DBTAG=7' }
        $dir = Split-Path $p.ComposeFiles[0]
        $db = Get-Svc $p db
        $db.Image | Should -BeExactly 'db:7'
        $db.Volumes[0].Source | Should -BeExactly "$dir/lib/init"
        $e = Get-LoadError { Get-Project -Yaml "include: [lib/compose.yaml]`nservices:`n  db:`n    image: other" -Files @{ 'lib/compose.yaml' = "services:`n  db:`n    image: x" } }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeFileInvalid,*'
        $e.Exception.Message | Should -Match 'services.db conflicts'
    }

    It 'leaves out services whose profiles are not active' {
        $yaml = @'
services:
  web: { image: busybox }
  debug: { image: busybox, profiles: [debug] }
  tools: { image: busybox, profiles: [tools, debug] }
  uses-debug: { image: busybox, depends_on: [debug] }
'@
        $p = Get-Project $yaml
        $p.Services.Name | Should -Be @('uses-debug', 'web')
        $p.DisabledServices | Should -Be @('debug', 'tools')
        (Get-Svc $p 'uses-debug').DependsOn.Count | Should -Be 0
        (Get-Project $yaml -Options @{ Profile = 'tools' }).Services.Name | Should -Be @('tools', 'uses-debug', 'web')
        (Get-Project $yaml -Options @{ Profile = 'debug' }).Services.Name | Should -Be @('debug', 'tools', 'uses-debug', 'web')
        (Get-Project $yaml -Options @{ Profile = '*' }).Services.Count | Should -Be 4
        (Get-Project $yaml -Files @{ '.env' = 'COMPOSE_PROFILES=tools' }).Services.Name | Should -Be @('tools', 'uses-debug', 'web')
    }
}

Describe 'Validation' {
    It 'names the path of <Case> (ComposeFileInvalid, InvalidData, the file as target)' -TestCases @(
        @{ Case = 'an unknown service key'; Yaml = "services:`n  web:`n    image: busybox`n    imagee: x"; Match = "services.web: additional property 'imagee' is not allowed" }
        @{ Case = 'an unknown top-level key'; Yaml = "services: {}`nservice: {}"; Match = "(top level): additional property 'service' is not allowed" }
        @{ Case = 'a wrong type'; Yaml = "services:`n  web:`n    image: busybox`n    privileged: [1]"; Match = 'services.web.privileged' }
        @{ Case = 'an interpolated wrong value'; Yaml = "services:`n  web:`n    image: busybox`n    ports: `${CT_NOT_SET:-8080}"; Match = 'services.web.ports' }
        @{ Case = 'a bad port object'; Yaml = "services:`n  web:`n    image: busybox`n    ports:`n      - { target: [80] }"; Match = 'services.web.ports[0].target' }
        @{ Case = 'a bad depends_on condition'; Yaml = "services:`n  web:`n    image: busybox`n    depends_on:`n      db: { condition: sometimes }`n  db: { image: x }"; Match = 'services.web.depends_on.db.condition' }
    ) {
        $e = Get-LoadError { Get-Project $Yaml }
        $e.FullyQualifiedErrorId | Should -BeExactly 'ComposeFileInvalid,Containers.Cmdlets.Compose.ConvertFromContainerComposeCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        $e.TargetObject | Should -BeLike '*compose.yaml'
        $e.Exception.Message | Should -BeLike "*compose.yaml: *"
        $e.Exception.Message | Should -Match ([regex]::Escape($Match))
    }

    It 'refuses references to undefined <Kind>' -TestCases @(
        @{ Kind = 'volumes'; Yaml = "services:`n  web:`n    image: x`n    volumes: [`"nope:/data`"]"; Match = "undefined volume 'nope'" }
        @{ Kind = 'networks'; Yaml = "services:`n  web:`n    image: x`n    networks: [nope]"; Match = "undefined network 'nope'" }
        @{ Kind = 'services'; Yaml = "services:`n  web:`n    image: x`n    depends_on: [nope]"; Match = "undefined service 'nope'" }
        @{ Kind = 'secrets'; Yaml = "services:`n  web:`n    image: x`n    secrets: [nope]"; Match = "undefined secret 'nope'" }
        @{ Kind = 'services (a cycle)'; Yaml = "services:`n  a: { image: x, depends_on: [b] }`n  b: { image: x, depends_on: [c] }`n  c: { image: x, depends_on: [a] }"; Match = 'dependency cycle detected: a -> b -> c -> a' }
        @{ Kind = 'services (itself)'; Yaml = "services:`n  a: { image: x, depends_on: [a] }"; Match = 'dependency cycle detected: a -> a' }
    ) {
        $e = Get-LoadError { Get-Project $Yaml }
        $e.FullyQualifiedErrorId | Should -BeLike 'ComposeFileInvalid,*'
        $e.Exception.Message | Should -Match ([regex]::Escape($Match))
    }
}

Describe '-AsYaml' {
    It 'prints what docker compose config prints, and loads again to the same text' {
        $p = Get-Project @'
services:
  web:
    image: busybox
    command: 'echo $$HOME "a: b"'
    ports: ["8080:80"]
    environment: { N: "010", Y: "yes" }
'@
        $yaml = ConvertFrom-ContainerCompose -Path $p.ComposeFiles[0] -AsYaml
        $yaml | Should -Match '(?m)^name: '
        $yaml | Should -Match '(?m)^      published: "8080"$'
        $yaml | Should -Match '\$\$HOME'
        # strings YAML 1.1 would read as booleans are quoted, keys too, as yaml.v3 writes them
        $yaml | Should -Match '"N": "010"'
        $yaml | Should -Match '"Y": "yes"'
        $again = Join-Path (Split-Path $p.ComposeFiles[0]) 'again.yaml'
        Set-Content $again $yaml
        ConvertFrom-ContainerCompose -Path $again -ProjectName $p.Name -AsYaml | Should -BeExactly $yaml
    }
}

Describe 'Peer: docker-compose 1.29.2 config on the awesome-compose apps' -Tag 'Peer' {
    BeforeDiscovery {
        . $PSScriptRoot/../common.ps1
        $root = Join-Path $script:Fixtures 'compose/awesome-compose'
        $script:apps = @(Get-ChildItem -Directory $root -ErrorAction SilentlyContinue | ForEach-Object {
                $f = Get-ChildItem $_.FullName -File | Where-Object Name -match '^compose\.ya?ml$' | Select-Object -First 1
                if ($f) { @{ App = $_.Name; File = $f.FullName; Dir = $_.FullName } }
            })
    }
    BeforeAll {
        $script:normalize = Join-Path $PSScriptRoot 'ComposePeer/normalize.py'
    }

    It 'has the 29 apps' {
        @(Get-ChildItem -Directory (Join-Path $script:Fixtures 'compose/awesome-compose') |
            Where-Object { Get-ChildItem $_.FullName -File | Where-Object Name -match '^compose\.ya?ml$' }).Count | Should -Be 29
    }

    It '<App> matches docker-compose config' -TestCases $script:apps {
        if (-not (Test-Prerequisite (Test-Command 'docker-compose') 'docker-compose (apt package docker-compose) is not installed')) { return }
        $work = Join-Path $TestDrive $App
        New-Item -ItemType Directory -Force $work | Out-Null
        $ours = ConvertFrom-ContainerCompose -Path $File -WarningAction SilentlyContinue
        Set-Content "$work/ours.yaml" (ConvertFrom-ContainerCompose -Path $File -AsYaml -WarningAction SilentlyContinue)
        # 1.29.2 does not know the top-level `name:` (react-rust-postgres has one): it reads the file without
        # it and is given the name as -p (docs/COMPOSE.md)
        $peerFile = $File
        $text = Get-Content -Raw $File
        if ($text -match '(?m)^name:') {
            $peerFile = "$work/peer-input.yaml"
            Set-Content $peerFile ($text -replace '(?m)^name:.*$', '')
        }
        Push-Location $Dir
        try { $out = & docker-compose --project-directory $Dir -p $ours.Name -f $peerFile config 2>&1 }
        finally { Pop-Location }
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        Set-Content "$work/peer.yaml" ($out -join "`n")
        $a = & python3 $script:normalize "$work/peer.yaml" $ours.Name
        $b = & python3 $script:normalize "$work/ours.yaml" $ours.Name
        $LASTEXITCODE | Should -Be 0
        ($b -join "`n") | Should -BeExactly ($a -join "`n")
    }
}
