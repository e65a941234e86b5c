# Compose service keys that map onto engine features added for them (domainname, dns_opt, cgroup_parent,
# userns_mode, deploy.restart_policy, per-network aliases), the keys that are left out with a warning naming them,
# and services starting in parallel where their dependencies allow (docker compose v2). Real containers as root.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'cgaps-keys'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $rf = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        Import-ContainerImage -RootFs -LiteralPath $rf -Name busybox:latest | Out-Null
    }
    $script:n = 0
    function script:New-Project([string] $Yaml) {
        $script:n++
        $dir = Join-Path $script:root ("ck$($script:n)" + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        Set-Content -LiteralPath (Join-Path $dir 'compose.yaml') -Value $Yaml
        [pscustomobject]@{ Dir = $dir; File = (Join-Path $dir 'compose.yaml'); Name = (Split-Path $dir -Leaf) }
    }
    function script:Exec([string] $Project, [string] $Service, [string] $Script) {
        $r = Invoke-ContainerCommand -Project $Project -Service $Service -Command sh, -c, $Script -Quiet
        [pscustomobject]@{ ExitCode = $r.ExitCode; Output = "$($r.Output)".Trim() }
    }
    $script:Sleep = 'trap ''exit 0'' TERM; sleep 1000 & wait'
    $script:Up = 'Containers.Cmdlets.Projects.StartContainerProjectCommand'
    $script:cgParent = "psc-cgaps-compose-$PID"
}
AfterAll {
    if ($script:root) {
        Get-ContainerProject -ErrorAction SilentlyContinue | Remove-ContainerProject -Volumes -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
    foreach ($d in @(Get-ChildItem -Directory /sys/fs/cgroup -ErrorAction SilentlyContinue) + @(Get-Item /sys/fs/cgroup)) {
        $p = Join-Path $d.FullName $script:cgParent
        if (Test-Path -LiteralPath $p) { [System.IO.Directory]::Delete($p) }
    }
}

Describe 'Service keys that map onto engine features' {
    It 'honours domainname, dns_opt, cgroup_parent and userns_mode' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    hostname: h
    domainname: example.org
    dns: [10.7.7.7]
    dns_opt: [ndots:2, rotate]
    cgroup_parent: /$($script:cgParent)
    userns_mode: auto
  t:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    userns_mode: host
"@
        try {
            Start-ContainerProject -Path $p.File -WarningVariable w
            $w | Should -BeNullOrEmpty
            $c = Get-Container -Project $p.Name -Service s
            $c.Domainname | Should -Be 'example.org'
            $c.DnsOptions | Should -Be @('ndots:2', 'rotate')
            $c.CgroupParent | Should -Be $script:cgParent
            $c.UserNamespace | Should -Be 'Auto'
            (Get-Container -Project $p.Name -Service t).UserNamespace | Should -Be 'Host'
            (Exec $p.Name s 'cat /proc/sys/kernel/domainname; grep ^options /etc/resolv.conf').Output -split "`n" | Should -Be @('example.org', 'options ndots:2 rotate')
            (Get-Content "/proc/$($c.Pid)/cgroup") -join "`n" | Should -Match ([regex]::Escape("/$($script:cgParent)/$($c.Id)"))
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'maps deploy.restart_policy onto the restart policy as docker compose v2 does (<Condition>)' -TestCases @(
        @{ Condition = 'on-failure'; Extra = 'max_attempts: 3'; Want = 'on-failure:3' }
        @{ Condition = 'any'; Extra = ''; Want = 'always' }
        @{ Condition = 'none'; Extra = ''; Want = 'no' }
    ) {
        param($Condition, $Extra, $Want)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    restart: unless-stopped
    deploy:
      restart_policy:
        condition: $Condition
        $Extra
"@
        try {
            Start-ContainerProject -Path $p.File -WarningVariable w
            $w | Should -BeNullOrEmpty
            # deploy.restart_policy wins over restart (compose v2's getRestartPolicy)
            (Get-Container -Project $p.Name -Service s).RestartPolicy | Should -Be $Want
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'restarts an on-failure container at most max_attempts times' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "exit 3"]
    deploy: {restart_policy: {condition: on-failure, max_attempts: 2}}
"@
        try {
            Start-ContainerProject -Path $p.File
            $c = Get-Container -Project $p.Name -Service s
            Wait-Container $c.Id -Timeout 60 | Out-Null
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            do { Start-Sleep -Milliseconds 200; $c = Get-Container $c.Id } while (($c.Status -ne 'Exited' -or $c.RestartCount -lt 2) -and [DateTime]::UtcNow -lt $deadline)
            Start-Sleep -Seconds 2
            $c = Get-Container $c.Id
            $c.Status | Should -Be 'Exited'
            $c.RestartCount | Should -Be 2
            $c.ExitCode | Should -Be 3
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'The other keys of the issue''s list not covered by ComposeProject.Tests' {
    It 'maps cap_add, privileged, devices, security_opt, stdin_open, tty, container_name and expose' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $cn = "ck-named-$PID"
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    container_name: $cn
    cap_add: [NET_ADMIN]
    security_opt: ["no-new-privileges:true"]
    devices: ["/dev/null:/dev/mynull:rw"]
    stdin_open: true
    tty: true
    expose: ["8080"]
  p:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    privileged: true
"@
        try {
            Start-ContainerProject -Path $p.File
            $c = Get-Container -Project $p.Name -Service s
            $c.Name | Should -Be $cn
            $c.Capabilities | Should -Contain 'NET_ADMIN'
            $c.NoNewPrivileges | Should -BeTrue
            $c.Tty | Should -BeTrue
            # expose publishes nothing (docker's rule)
            $c.Ports | Should -BeNullOrEmpty
            (Exec $p.Name s 'test -c /dev/mynull && echo dev; grep ^NoNewPrivs /proc/self/status').Output -split "`n" | Should -Be @('dev', "NoNewPrivs:`t1")
            (Get-Container -Project $p.Name -Service p).Privileged | Should -BeTrue
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'maps scale, volume nocopy, ipv4_address on each network and a depends_on that is not required' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  many:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    scale: 2
    depends_on:
      missing: {condition: service_started, required: false}
  fixed:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    volumes:
      - {type: volume, source: empty, target: /etc, volume: {nocopy: true}}
      - {type: volume, source: seeded, target: /var}
    networks:
      a: {ipv4_address: 10.213.57.50}
      b: {ipv4_address: 10.213.58.60}
networks:
  a: {ipam: {config: [{subnet: 10.213.57.0/24}]}}
  b: {ipam: {config: [{subnet: 10.213.58.0/24}]}}
volumes: {empty: {}, seeded: {}}
"@
        try {
            Start-ContainerProject -Path $p.File
            @((Get-Container -Project $p.Name -Service many).Name | Sort-Object) | Should -Be @("$($p.Name)-many-1", "$($p.Name)-many-2")
            $f = Get-Container -Project $p.Name -Service fixed
            @($f.Endpoints | Sort-Object Network | ForEach-Object { "$($_.Network)=$($_.IPv4Address)" }) | Should -Be @("$($p.Name)_a=10.213.57.50", "$($p.Name)_b=10.213.58.60")
            # nocopy: the new volume at /etc stays empty; without it, the image's /var (holding www) is copied in
            (Exec $p.Name fixed 'ls -A /etc | wc -l; test -d /var/www && echo seeded').Output -split "`n" | Should -Be @('0', 'seeded')
        }
        finally { Remove-ContainerProject $p.Name -Volumes -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'Keys the engine cannot honour' {
    It 'runs the service and warns, naming each key it leaves out (<Key>)' -TestCases @(
        @{ Key = 'services.s.userns_mode'; Yaml = 'userns_mode: "keep-id"' }
        @{ Key = 'services.s.deploy.restart_policy.delay'; Yaml = "deploy: {restart_policy: {condition: on-failure, delay: 5s}}" }
        @{ Key = 'services.s.deploy.restart_policy.window'; Yaml = "deploy: {restart_policy: {condition: any, window: 30s}}" }
        @{ Key = 'services.s.deploy.placement'; Yaml = "deploy: {placement: {constraints: [node.role==manager]}}" }
        @{ Key = 'services.s.logging.driver'; Yaml = 'logging: {driver: syslog}' }
        @{ Key = 'services.s.secrets.mode'; Yaml = "secrets: [{source: x, mode: 0400}]" }
        @{ Key = 'services.s.cpu_shares'; Yaml = 'cpu_shares: 512' }
        @{ Key = 'services.s.deploy.resources.reservations'; Yaml = "deploy: {resources: {reservations: {memory: 10m}}}" }
    ) {
        param($Key, $Yaml)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project "services:`n  s:`n    image: busybox:latest`n    command: [`"sh`", `"-c`", `"$($script:Sleep)`"]`n    $Yaml`nsecrets: {x: {file: ./compose.yaml}}"
        try {
            Start-ContainerProject -Path $p.File -WarningVariable w -WarningAction SilentlyContinue -ErrorVariable e -ErrorAction SilentlyContinue
            $e | Should -BeNullOrEmpty
            @($w | Where-Object { "$_" -like "$Key *" }).Count | Should -Be 1 -Because "the warnings were: $($w -join ' | ')"
            (Get-Container -Project $p.Name -Service s).Status | Should -Be 'Running'
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'refuses a key whose loss would run something else with ComposeKeyNotSupported, before creating anything (<Key>)' -TestCases @(
        @{ Key = 'runtime'; Yaml = 'runtime: io.containerd.wasmedge.v1'; Target = 'services.s.runtime' }
        @{ Key = 'volumes_from'; Yaml = 'volumes_from: [other]'; Target = 'services.s.volumes_from' }
        @{ Key = 'deploy.mode'; Yaml = 'deploy: {mode: global}'; Target = 'services.s.deploy.mode' }
    ) {
        param($Key, $Yaml, $Target)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project "services:`n  s:`n    image: busybox:latest`n    $Yaml"
        Start-ContainerProject -Path $p.File -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be "ComposeKeyNotSupported,$script:Up"
        $e[0].TargetObject | Should -Be $Target
        $e[0].CategoryInfo.Category | Should -Be 'NotImplemented'
        Get-Container -Project $p.Name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-ContainerNetwork | Where-Object Name -EQ "$($p.Name)_default" | Should -BeNullOrEmpty
    }
}

Describe 'Per-network aliases' {
    It 'resolves a network''s aliases only on that network; the service name on both' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  srv:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    networks:
      front: {aliases: [fa]}
      back: {aliases: [ba]}
  onfront:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    networks: [front]
  onback:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    networks: [back]
networks:
  front: {}
  back: {}
"@
        try {
            Start-ContainerProject -Path $p.File
            $c = Get-Container -Project $p.Name -Service srv
            $c.NetworkAliases | Should -Be @('srv')
            $c.NetworkAliasesByNetwork["$($p.Name)_front"] | Should -Be @('fa')
            $c.NetworkAliasesByNetwork["$($p.Name)_back"] | Should -Be @('ba')
            function Resolves($from, $name) { (Exec $p.Name $from "nslookup $name >/dev/null 2>&1 && echo yes || echo no").Output }
            Resolves onfront fa | Should -Be 'yes'
            Resolves onfront ba | Should -Be 'no'
            Resolves onback ba | Should -Be 'yes'
            Resolves onback fa | Should -Be 'no'
            Resolves onfront srv | Should -Be 'yes'
            Resolves onback srv | Should -Be 'yes'
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'Services start in parallel where dependencies allow' {
    It 'starts an independent service while another waits for a condition (a serial up would wait for ever)' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        # gate becomes healthy only once late runs; waiter waits for gate. In file (and dependency) order late comes
        # last, so an up that starts one service after the other would wait for gate before ever starting late.
        $p = New-Project @"
services:
  waiter:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    depends_on: {gate: {condition: service_healthy}}
  gate:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    healthcheck: {test: ["CMD-SHELL", "nslookup late"], interval: 200ms, retries: 1000}
  late:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
"@
        try {
            Start-ContainerProject -Path $p.File -WaitTimeout 60
            foreach ($s in 'waiter', 'gate', 'late') { (Get-Container -Project $p.Name -Service $s).Status | Should -Be 'Running' }
            (Get-Container -Project $p.Name -Service late).StartedAt | Should -BeLessThan (Get-Container -Project $p.Name -Service waiter).StartedAt
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'reports one error per failed service, removes what could not start, skips its dependents and keeps the rest' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  bad1:
    image: busybox:latest
    command: ["/no/such/command"]
  bad2:
    image: busybox:latest
    command: ["/no/such/other"]
  needsbad:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    depends_on: [bad1]
  good:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
"@
        try {
            Start-ContainerProject -Path $p.File -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w -WarningAction SilentlyContinue
            @($e).Count | Should -Be 2
            @($e | ForEach-Object { $_.FullyQualifiedErrorId }) | Should -Be @("ContainerCommandNotFound,$script:Up", "ContainerCommandNotFound,$script:Up")
            @($e | ForEach-Object { "$($_.TargetObject)" } | Sort-Object) | Should -Be @("$($p.Name)-bad1-1", "$($p.Name)-bad2-1")
            @($w | Where-Object { "$_" -like "*'needsbad' was not started*'bad1'*" }).Count | Should -Be 1
            @((Get-Container -Project $p.Name).Name) | Should -Be @("$($p.Name)-good-1")
            (Get-Container -Project $p.Name -Service good).Status | Should -Be 'Running'
            # a second up after the cause is fixed makes the rest; good is left as it is
            $id = (Get-Container -Project $p.Name -Service good).Id
            (Get-Content -Raw $p.File).Replace('"/no/such/command"', "`"sh`", `"-c`", `"$($script:Sleep)`"").Replace('"/no/such/other"', "`"sh`", `"-c`", `"$($script:Sleep)`"") | Set-Content -LiteralPath $p.File
            Start-ContainerProject -Path $p.File
            @((Get-Container -Project $p.Name).Labels | ForEach-Object { $_['com.docker.compose.service'] } | Sort-Object) | Should -Be @('bad1', 'bad2', 'good', 'needsbad')
            (Get-Container -Project $p.Name -Service good).Id | Should -Be $id
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'creates the replicas of a service together, each answering the service''s name' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  r:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    deploy: {replicas: 4}
"@
        try {
            Start-ContainerProject -Path $p.File
            @((Get-Container -Project $p.Name -Service r).Name | Sort-Object) | Should -Be @(1..4 | ForEach-Object { "$($p.Name)-r-$_" })
            (Get-Container -Project $p.Name -Service r).Status | Sort-Object -Unique | Should -Be 'Running'
            @((Get-Container -Project $p.Name -Service r).IPAddress | Sort-Object -Unique).Count | Should -Be 4
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'Start-ContainerProject -Wait' {
    It 'returns once every container runs and is healthy' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; (sleep 1; touch /tmp/ok) & sleep 1000 & wait"]
    healthcheck: {test: ["CMD-SHELL", "test -f /tmp/ok"], interval: 200ms, retries: 100}
  plain:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
"@
        try {
            Start-ContainerProject -Path $p.File -Wait -WaitTimeout 60
            (Get-Container -Project $p.Name -Service s).Health | Should -Be 'Healthy'
            (Get-Container -Project $p.Name -Service plain).Status | Should -Be 'Running'
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'fails with ComposeServiceUnhealthy for an unhealthy container and with ComposeWaitTimeout after -WaitTimeout' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  sick:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    healthcheck: {test: ["CMD", "false"], interval: 200ms, retries: 2}
"@
        $q = New-Project @"
services:
  slow:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    healthcheck: {test: ["CMD", "false"], interval: 200ms, retries: 2, start_period: 120s}
"@
        try {
            Start-ContainerProject -Path $p.File -Wait -WaitTimeout 60 -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be "ComposeServiceUnhealthy,$script:Up"
            $e[0].TargetObject | Should -Be "$($p.Name)-sick-1"
            Start-ContainerProject -Path $q.File -Wait -WaitTimeout 2 -ErrorVariable e2 -ErrorAction SilentlyContinue
            $e2[0].FullyQualifiedErrorId | Should -Be "ComposeWaitTimeout,$script:Up"
            $e2[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
            (Get-Container -Project $q.Name -Service slow).Health | Should -Be 'Starting'
        }
        finally {
            Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue
            Remove-ContainerProject $q.Name -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
}
