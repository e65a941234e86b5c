# Compose projects (Start/Stop/Restart/Remove/Get-ContainerProject, -Project on Get-Container, Get-ContainerLog and
# Invoke-ContainerCommand): real containers from busybox as root. Names and labels are compared with Debian's
# docker-compose 1.29.2 on the anchors' dockerd where that defines them.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'compose-up'
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Test-ContainerStore:StorageRoot' = $script:root }
    if ($script:IsRoot) {
        $rf = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
        Import-ContainerImage -RootFs -LiteralPath $rf -Name busybox:latest | Out-Null
    }
    $script:n = 0
    function script:New-Project([string] $Yaml, [hashtable] $Files = @{}) {
        # a folder of its own with compose.yaml (and other files); its name is a fresh project name
        $script:n++
        $dir = Join-Path $script:root ("cup$($script:n)" + [Guid]::NewGuid().ToString('N').Substring(0, 6))
        New-Item -ItemType Directory -Force -Path $dir | Out-Null
        Set-Content -LiteralPath (Join-Path $dir 'compose.yaml') -Value $Yaml
        foreach ($k in $Files.Keys) { Set-Content -LiteralPath (Join-Path $dir $k) -Value $Files[$k] -NoNewline }
        [pscustomobject]@{ Dir = $dir; File = (Join-Path $dir 'compose.yaml'); Name = (Split-Path $dir -Leaf) }
    }
    function script:Get-Page([int] $Port) {
        # httpd is started in the background by the service's shell, so a container that just started (or restarted)
        # may not listen yet: a client retries for a while, as it would for any service without a health check
        $deadline = (Get-Date).AddSeconds(10)
        while ($true) {
            try { return (Invoke-WebRequest "http://127.0.0.1:$Port/" -UseBasicParsing -TimeoutSec 5).Content.Trim() }
            catch { if ((Get-Date) -gt $deadline) { throw }; Start-Sleep -Milliseconds 100 }
        }
    }
    # a port free now and never handed out before in this file: the kernel may give the same ephemeral port to
    # two listeners in a row once the first is closed, and two services (or a docker-compose run whose proxy
    # is still letting go of the last app's port) would then ask for the same one
    $script:portsGiven = [System.Collections.Generic.HashSet[int]]::new()
    function script:Get-FreePort {
        while ($true) {
            $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start()
            $p = $l.LocalEndpoint.Port; $l.Stop()
            if ($script:portsGiven.Add($p)) { return $p }
        }
    }
    function script:Exec([string] $Project, [string] $Service, [string] $Script) {
        $r = Invoke-ContainerCommand -Project $Project -Service $Service -Command sh, -c, $Script -Quiet
        [pscustomobject]@{ ExitCode = $r.ExitCode; Output = "$($r.Output)".Trim() }
    }
    # a service that ends at once on SIGTERM (busybox sh as PID 1 ignores it otherwise: stops would wait 10 s)
    $script:Serve = 'trap ''exit 0'' TERM; mkdir -p /w; echo $$0 > /w/index.html; httpd -f -p 80 -h /w & wait'
    $script:Sleep = 'trap ''exit 0'' TERM; sleep 1000 & wait'
}
AfterAll {
    if ($script:root) {
        Get-ContainerProject -ErrorAction SilentlyContinue | Remove-ContainerProject -Volumes -Confirm:$false -ErrorAction SilentlyContinue
        Remove-TestStorageRoot $script:root
    }
}

Describe 'Start-ContainerProject: a web server, an app and a database' {
    BeforeAll {
        if (-not $script:IsRoot) { return }
        $script:port = Get-FreePort
        $script:p = New-Project @"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Serve)", "db-ok"]
    volumes: [dbdata:/data]
  app:
    image: busybox:latest
    depends_on: [db]
    command: ["sh", "-c", "$($script:Sleep)"]
    deploy:
      replicas: 2
  web:
    image: busybox:latest
    depends_on:
      app: {condition: service_started}
    ports: ["127.0.0.1:$($script:port):80"]
    command: ["sh", "-c", "$($script:Serve)", "web-ok"]
volumes:
  dbdata:
"@
        Start-ContainerProject -Path $script:p.File
        $script:name = $script:p.Name
    }
    AfterAll { if ($script:IsRoot) { Remove-ContainerProject $script:name -Volumes -Confirm:$false -ErrorAction SilentlyContinue } }

    It 'names containers <project>-<service>-<n>, the network <project>_default and the volume <project>_<vol>' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $cs = Get-Container -Project $script:name
        @($cs.Name | Sort-Object) | Should -Be @("$($script:name)-app-1", "$($script:name)-app-2", "$($script:name)-db-1", "$($script:name)-web-1")
        $cs | ForEach-Object { $_.Status | Should -Be Running; $_.Networks | Should -Be @("$($script:name)_default") }
        (Get-ContainerNetwork "$($script:name)_default").Labels['com.docker.compose.network'] | Should -Be 'default'
        (Get-ContainerVolume "$($script:name)_dbdata").Labels['com.docker.compose.volume'] | Should -Be 'dbdata'
        $db = $cs | Where-Object Name -EQ "$($script:name)-db-1"
        $db.Labels['com.docker.compose.project'] | Should -Be $script:name
        $db.Labels['com.docker.compose.service'] | Should -Be 'db'
        $db.Labels['com.docker.compose.container-number'] | Should -Be '1'
        $db.Labels['com.docker.compose.oneoff'] | Should -Be 'False'
        $db.Labels['com.docker.compose.config-hash'] | Should -Match '^[0-9a-f]{64}$'
        $db.Labels['com.docker.compose.project.working_dir'] | Should -Be $script:p.Dir
        ($db.Mounts | Where-Object Destination -EQ '/data').Source | Should -Be "$($script:name)_dbdata"
    }

    It 'reaches the published port on loopback' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Get-Page $script:port | Should -Be 'web-ok'
    }

    It 'lets services find each other by service name; every replica answers the name' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        (Exec $script:name web 'wget -qO- http://db/').Output | Should -Be 'db-ok'
        $ips = (Get-Container -Project $script:name -Service app).IPAddress | Sort-Object
        $ips.Count | Should -Be 2
        $r2 = Invoke-ContainerCommand -Project $script:name -Service app -Index 2 -Command hostname -Quiet
        "$($r2.Output)".Trim() | Should -Be ((Get-Container "$($script:name)-app-2").Hostname)
        $ns = (Exec $script:name web 'nslookup app').Output
        foreach ($ip in $ips) { $ns | Should -Match ([regex]::Escape($ip)) }
    }

    It 'started the services in dependency order' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $cs = Get-Container -Project $script:name
        $t = @{}; foreach ($c in $cs) { $t[$c.Labels['com.docker.compose.service']] = ($cs | Where-Object { $_.Labels['com.docker.compose.service'] -eq $c.Labels['com.docker.compose.service'] }).StartedAt | Sort-Object | Select-Object -First 1 }
        $t['db'] | Should -BeLessOrEqual $t['app']
        $t['app'] | Should -BeLessOrEqual $t['web']
        (Get-Container -Project $script:name -Service web).Labels['com.docker.compose.depends_on'] | Should -Be 'app:service_started:false'
    }

    It 'shows the project with its services (Get-ContainerProject) and merged, prefixed logs' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $proj = Get-ContainerProject $script:name
        $proj.Status | Should -Be 'running(4)'
        @($proj.Services.Name) | Should -Be @('db', 'app', 'web')
        ($proj.Services | Where-Object Name -EQ app).Containers.Count | Should -Be 2
        $proj.Networks | Should -Be @("$($script:name)_default")
        $proj.Volumes | Should -Be @("$($script:name)_dbdata")
        Exec $script:name db 'echo from-db-exec > /proc/1/fd/1' | Out-Null
        $logs = Get-ContainerLog -Project $script:name
        # every line prefixed with its container's name, padded to the longest (docker compose logs)
        @($logs | Where-Object { $_ -match "^$($script:name)-db-1 +\| from-db-exec$" }).Count | Should -Be 1
        @($logs | Where-Object { $_ -notmatch "^$($script:name)-(db|app|web)-\d +\| " }).Count | Should -Be 0
    }

    It 'leaves unchanged services running on a re-up' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $before = Get-Container -Project $script:name | Sort-Object Name
        Start-ContainerProject -Path $script:p.File
        $after = Get-Container -Project $script:name | Sort-Object Name
        $after.Id | Should -Be $before.Id
        $after.StartedAt | Should -Be $before.StartedAt
    }

    It 'recreates only the changed service and keeps the volume''s data' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Exec $script:name db 'echo kept > /data/f' | Out-Null
        $before = @{}; Get-Container -Project $script:name | ForEach-Object { $before[$_.Name] = $_.Id }
        (Get-Content -Raw $script:p.File) -replace '(?m)^    volumes: \[dbdata:/data\]', "    volumes: [dbdata:/data]`n    environment: {CHANGED: 'yes'}" | Set-Content $script:p.File
        Start-ContainerProject -Path $script:p.File
        $after = @{}; Get-Container -Project $script:name | ForEach-Object { $after[$_.Name] = $_.Id }
        $after["$($script:name)-db-1"] | Should -Not -Be $before["$($script:name)-db-1"]
        foreach ($k in "$($script:name)-app-1", "$($script:name)-app-2", "$($script:name)-web-1") { $after[$k] | Should -Be $before[$k] }
        (Exec $script:name db 'echo $CHANGED; cat /data/f').Output -split "`n" | Should -Be @('yes', 'kept')
    }

    It 'scales a service down and up with deploy.replicas' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        (Get-Content -Raw $script:p.File) -replace 'replicas: 2', 'replicas: 3' | Set-Content $script:p.File
        Start-ContainerProject -Path $script:p.File
        @((Get-Container -Project $script:name -Service app).Name | Sort-Object) | Should -Be @(1..3 | ForEach-Object { "$($script:name)-app-$_" })
        (Get-Content -Raw $script:p.File) -replace 'replicas: 3', 'replicas: 2' | Set-Content $script:p.File
        Start-ContainerProject -Path $script:p.File
        @((Get-Container -Project $script:name -Service app).Name | Sort-Object) | Should -Be @(1..2 | ForEach-Object { "$($script:name)-app-$_" })
    }

    It 'stops and restarts the project from the pipeline' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Get-ContainerProject $script:name | Stop-ContainerProject
        (Get-Container -Project $script:name).Status | Sort-Object -Unique | Should -Be 'Exited'
        (Get-ContainerProject $script:name).Status | Should -Be 'exited(4)'
        $r = Get-ContainerProject $script:name | Restart-ContainerProject -PassThru
        $r.Status | Should -Be 'running(4)'
        Get-Page $script:port | Should -Be 'web-ok'
    }

    It 'changes nothing with -WhatIf' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $before = (Get-Container -Project $script:name).Id | Sort-Object
        Remove-ContainerProject $script:name -Volumes -WhatIf
        Stop-ContainerProject $script:name -WhatIf
        Start-ContainerProject -Path $script:p.File -ForceRecreate -WhatIf
        (Get-Container -Project $script:name).Id | Sort-Object | Should -Be $before
        (Get-Container -Project $script:name).Status | Sort-Object -Unique | Should -Be 'Running'
    }
}

Describe 'Re-up with services removed: orphans' {
    It 'warns about an orphan and keeps it; -RemoveOrphans removes it' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  a: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"]}
  b: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"]}
"@
        try {
            Start-ContainerProject -Path $p.File
            Set-Content -LiteralPath $p.File -Value "services:`n  a: {image: busybox:latest, command: [`"sh`", `"-c`", `"$($script:Sleep)`"]}"
            $aId = (Get-Container -Project $p.Name -Service a).Id
            Start-ContainerProject -Path $p.File -WarningVariable w -WarningAction SilentlyContinue
            "$w" | Should -Match "orphan containers \($($p.Name)-b-1\)"
            (Get-Container -Project $p.Name -Service b).Status | Should -Be Running
            Start-ContainerProject -Path $p.File -RemoveOrphans
            Get-Container -Project $p.Name -Service b | Should -BeNullOrEmpty
            (Get-Container -Project $p.Name -Service a).Id | Should -Be $aId
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'Remove-ContainerProject' {
    It 'keeps the named volume (and its data) without -Volumes and removes it with' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  s: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], volumes: ["v:/v"]}
volumes: {v: {}}
"@
        Start-ContainerProject -Path $p.File
        Exec $p.Name s 'echo persisted > /v/f' | Out-Null
        Remove-ContainerProject $p.Name -Confirm:$false
        Get-Container -Project $p.Name | Should -BeNullOrEmpty
        { Get-ContainerNetwork "$($p.Name)_default" } | Should -Throw
        (Get-ContainerVolume "$($p.Name)_v").Name | Should -Be "$($p.Name)_v"
        Start-ContainerProject -Path $p.File
        (Exec $p.Name s 'cat /v/f').Output | Should -Be 'persisted'
        Remove-ContainerProject -Path $p.File -Volumes -Confirm:$false
        Get-ContainerVolume | Where-Object Name -EQ "$($p.Name)_v" | Should -BeNullOrEmpty
        Get-ContainerProject | Where-Object Name -EQ $p.Name | Should -BeNullOrEmpty
        Test-Path (Join-Path $script:root "projects/$($p.Name)") | Should -BeFalse
    }

    It 'fails with ContainerProjectNotFound for an unknown project' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Remove-ContainerProject 'no-such-project' -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'ContainerProjectNotFound,Containers.Cmdlets.Projects.RemoveContainerProjectCommand'
        Get-ContainerProject 'no-such-project' -ErrorVariable e2 -ErrorAction SilentlyContinue
        $e2[0].FullyQualifiedErrorId | Should -Be 'ContainerProjectNotFound,Containers.Cmdlets.Projects.GetContainerProjectCommand'
    }
}

Describe 'Secrets, configs and env_file' {
    It 'mounts file and environment secrets at /run/secrets/<name>, configs at their target, and reads env_file' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $env:CUP_TEST_SECRET = 'from-environment'
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    env_file: [app.env]
    secrets: [filesecret, envsecret]
    configs:
      - source: cfg
        target: /etc/app.conf
      - inline
secrets:
  filesecret: {file: ./secret.txt}
  envsecret: {environment: CUP_TEST_SECRET}
configs:
  cfg: {file: ./app.conf}
  inline: {content: "inline-content"}
"@ @{ 'secret.txt' = 'from-file'; 'app.conf' = 'conf-content'; 'app.env' = "FROM_ENV_FILE=yes`n# comment`nQUOTED=`"a b`"`n" }
        try {
            Start-ContainerProject -Path $p.File
            $o = (Exec $p.Name s 'cat /run/secrets/filesecret; echo; cat /run/secrets/envsecret; echo; cat /etc/app.conf; echo; cat /inline; echo; echo $FROM_ENV_FILE; echo $QUOTED').Output -split "`n"
            $o | Should -Be @('from-file', 'from-environment', 'conf-content', 'inline-content', 'yes', 'a b')
            (Exec $p.Name s 'echo x > /run/secrets/filesecret').ExitCode | Should -Not -Be 0
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue; Remove-Item Env:CUP_TEST_SECRET }
    }
}

Describe 'Profiles and -Service' {
    BeforeAll {
        if (-not $script:IsRoot) { return }
        $script:pp = New-Project @"
services:
  db: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"]}
  app: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], depends_on: [db]}
  other: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"]}
  debug: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], profiles: [debug]}
"@
    }
    AfterEach { if ($script:IsRoot) { Remove-ContainerProject $script:pp.Name -Confirm:$false -ErrorAction SilentlyContinue } }

    It '-Service starts the service and what it depends on, nothing else' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Start-ContainerProject -Path $script:pp.File -Service app
        @((Get-Container -Project $script:pp.Name).Labels | ForEach-Object { $_['com.docker.compose.service'] } | Sort-Object) | Should -Be @('app', 'db')
    }

    It 'starts a profile''s service only with -Profile' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Start-ContainerProject -Path $script:pp.File
        Get-Container -Project $script:pp.Name -Service debug | Should -BeNullOrEmpty
        Start-ContainerProject -Path $script:pp.File -Profile debug
        (Get-Container -Project $script:pp.Name -Service debug).Status | Should -Be Running
    }

    It 'fails with ComposeServiceNotFound for a service that is not active or not there' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Start-ContainerProject -Path $script:pp.File -Service debug -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'ComposeServiceNotFound,Containers.Cmdlets.Projects.StartContainerProjectCommand'
        "$($e[0])" | Should -Match 'profile'
        Get-Container -Project $script:pp.Name | Should -BeNullOrEmpty
    }
}

Describe 'depends_on conditions' {
    It 'waits for service_completed_successfully and fails with ComposeDependencyFailed when it did not' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  init: {image: busybox:latest, command: ["sh", "-c", "sleep 0.3; echo done > /v/init"], volumes: ["v:/v"]}
  app:
    image: busybox:latest
    command: ["sh", "-c", "cat /v/init; $($script:Sleep)"]
    volumes: ["v:/v"]
    depends_on: {init: {condition: service_completed_successfully}}
volumes: {v: {}}
"@
        try {
            Start-ContainerProject -Path $p.File
            (Get-Container -Project $p.Name -Service init).ExitCode | Should -Be 0
            (Get-ContainerLog -Project $p.Name -Service app) | Should -Be "$($p.Name)-app-1 | done"
        }
        finally { Remove-ContainerProject $p.Name -Volumes -Confirm:$false -ErrorAction SilentlyContinue }
        $q = New-Project @"
services:
  init: {image: busybox:latest, command: ["sh", "-c", "exit 3"]}
  app: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], depends_on: {init: {condition: service_completed_successfully}}}
"@
        try {
            Start-ContainerProject -Path $q.File -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be 'ComposeDependencyFailed,Containers.Cmdlets.Projects.StartContainerProjectCommand'
            Get-Container -Project $q.Name -Service app | Should -BeNullOrEmpty
        }
        finally { Remove-ContainerProject $q.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'restarts a dependent with restart: true when its dependency is recreated, and leaves it otherwise' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  db: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], environment: {V: "1"}}
  app: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], depends_on: {db: {condition: service_started, restart: true}}}
  other: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], depends_on: [db]}
"@
        try {
            Start-ContainerProject -Path $p.File
            $app = Get-Container -Project $p.Name -Service app
            $other = Get-Container -Project $p.Name -Service other
            (Get-Content -Raw $p.File) -replace 'V: "1"', 'V: "2"' | Set-Content $p.File
            Start-ContainerProject -Path $p.File
            $app2 = Get-Container -Project $p.Name -Service app
            $app2.Id | Should -Be $app.Id
            $app2.StartedAt | Should -BeGreaterThan $app.StartedAt
            (Get-Container -Project $p.Name -Service other).StartedAt | Should -Be $other.StartedAt
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'fails with ComposeDependencyNoHealthCheck when service_healthy waits for a service without a health check' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  db: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"]}
  app: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], depends_on: {db: {condition: service_healthy}}}
"@
        try {
            Start-ContainerProject -Path $p.File -ErrorVariable e -ErrorAction SilentlyContinue
            $e[0].FullyQualifiedErrorId | Should -Be 'ComposeDependencyNoHealthCheck,Containers.Cmdlets.Projects.StartContainerProjectCommand'
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    # The monitor runs the compose healthcheck (mapped to ContainerCreateOptions.Health) and fills ContainerInfo.Health.
    It 'starts a service_healthy dependent only once its dependency is healthy (health checks)' -Tag 'NeedsHealth' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; sleep 1000 & wait"]
    healthcheck: {test: ["CMD", "test", "-f", "/tmp/ready"], interval: 200ms, retries: 50}
  app:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    depends_on: {db: {condition: service_healthy}}
"@
        try {
            Start-ContainerProject -Path $p.File -WaitTimeout 30 -Wait
            $db = Get-Container -Project $p.Name -Service db
            $db.Health | Should -Be Healthy
            $app = Get-Container -Project $p.Name -Service app
            $app.Status | Should -Be Running
            $app.StartedAt | Should -BeGreaterThan $db.StartedAt.AddSeconds(0.9)
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'Service keys' {
    It 'maps the run keys onto the container' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  s:
    image: busybox:latest
    command: ["sh", "-c", "$($script:Sleep)"]
    hostname: svc-host
    user: "1000"
    working_dir: /tmp
    restart: unless-stopped
    labels: {mine: label}
    cap_drop: [NET_RAW]
    read_only: true
    tmpfs: [/scratch]
    init: false
    stop_signal: SIGUSR1
    stop_grace_period: 3s
    ulimits: {nofile: {soft: 1000, hard: 2000}}
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 50
    extra_hosts: ["gw.example:10.1.2.3"]
    dns: [10.9.9.9]
    sysctls: {net.ipv4.ip_forward: "1"}
    shm_size: 8m
    group_add: ["2000"]
    logging: {driver: json-file, options: {max-size: 1m, max-file: "2"}}
    networks:
      front: {aliases: [fronty]}
networks:
  front: {}
"@
        try {
            Start-ContainerProject -Path $p.File
            $c = Get-Container -Project $p.Name -Service s
            $c.Hostname | Should -Be 'svc-host'
            $c.User | Should -Be '1000'
            $c.WorkingDirectory | Should -Be '/tmp'
            $c.RestartPolicy | Should -Be 'unless-stopped'
            $c.Labels['mine'] | Should -Be 'label'
            $c.Capabilities | Should -Not -Contain 'NET_RAW'
            (Get-Container -Project $p.Name -Service s).Capabilities | Should -Contain 'CHOWN' # the names as the object shows them
            $c.ReadOnly | Should -BeTrue
            $c.StopSignal | Should -Be 'SIGUSR1'
            $c.StopTimeout | Should -Be 3
            $c.Ulimits | Should -Be @('nofile=1000:2000')
            $c.Memory | Should -Be (64MB)
            $c.Cpus | Should -Be 0.5
            $c.PidsLimit | Should -Be 50
            $c.ExtraHosts | Should -Be @('gw.example:10.1.2.3')
            $c.Dns | Should -Be @('10.9.9.9')
            $c.Sysctls | Should -Be @('net.ipv4.ip_forward=1')
            $c.ShmSize | Should -Be (8MB)
            $c.GroupAdd | Should -Be @('2000')
            $c.Networks | Should -Be @("$($p.Name)_front")
            $c.NetworkAliases | Should -Be @('s')
            $c.NetworkAliasesByNetwork["$($p.Name)_front"] | Should -Be @('fronty')
            ($c.Mounts | Where-Object Destination -EQ '/scratch').Type | Should -Be 'tmpfs'
            (Exec $p.Name s 'id -u; pwd; hostname').Output -split "`n" | Should -Be @('1000', '/tmp', 'svc-host')
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'joins another service''s network namespace with network_mode service:x' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  net: {image: busybox:latest, command: ["sh", "-c", "$($script:Serve)", "shared"]}
  side: {image: busybox:latest, command: ["sh", "-c", "$($script:Sleep)"], network_mode: "service:net"}
"@
        try {
            Start-ContainerProject -Path $p.File
            (Get-Container -Project $p.Name -Service side).Network | Should -Be "container:$((Get-Container -Project $p.Name -Service net).Id)"
            (Exec $p.Name side 'wget -qO- http://127.0.0.1/').Output | Should -Be 'shared'
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'refuses a key it cannot honour with ComposeKeyNotSupported naming it, before creating anything (<Key>)' -TestCases @(
        @{ Key = 'runtime'; Yaml = 'runtime: runsc'; Target = 'services.s.runtime' }
        @{ Key = 'volumes.subpath'; Yaml = "volumes: [{type: volume, source: v, target: /v, volume: {subpath: sub}}]`nvolumes: {v: {}}"; Target = 'services.s.volumes.volume.subpath' }
    ) {
        param($Key, $Yaml, $Target)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project "services:`n  s:`n    image: busybox:latest`n    $Yaml`nsecrets: {x: {file: ./compose.yaml}}"
        Start-ContainerProject -Path $p.File -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'ComposeKeyNotSupported,Containers.Cmdlets.Projects.StartContainerProjectCommand'
        $e[0].TargetObject | Should -Be $Target
        $e[0].CategoryInfo.Category | Should -Be 'NotImplemented'
        Get-Container -Project $p.Name | Should -BeNullOrEmpty
        Get-ContainerNetwork | Where-Object Name -EQ "$($p.Name)_default" | Should -BeNullOrEmpty
    }
}

Describe 'Images: build and pull' {
    It 'builds a service''s image (named project-service) when missing and with -Build; -Images Local removes it' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $p = New-Project @"
services:
  b:
    build:
      context: .
      dockerfile_inline: |
        FROM busybox:latest
        ARG WHAT=default
        RUN echo built-`$`${WHAT} > /built
      args: {WHAT: arg}
    command: ["sh", "-c", "$($script:Sleep)"]
"@
        try {
            Start-ContainerProject -Path $p.File
            (Get-ContainerImage "$($p.Name)-b").Names -join ' ' | Should -Match "(^|/)$($p.Name)-b:latest"
            (Exec $p.Name b 'cat /built').Output | Should -Be 'built-arg'
            $id = (Get-Container -Project $p.Name -Service b).Id
            Start-ContainerProject -Path $p.File
            (Get-Container -Project $p.Name -Service b).Id | Should -Be $id
            (Get-Content -Raw $p.File) -replace 'WHAT: arg', 'WHAT: changed' | Set-Content $p.File
            Start-ContainerProject -Path $p.File -Build
            (Get-Container -Project $p.Name -Service b).Id | Should -Not -Be $id
            (Exec $p.Name b 'cat /built').Output | Should -Be 'built-changed'
            Remove-ContainerProject $p.Name -Images Local -Confirm:$false
            Get-ContainerImage "$($p.Name)-b" -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            (Get-ContainerImage busybox:latest).Names -join ' ' | Should -Match '(^|/)busybox:latest'
        }
        finally { Remove-ContainerProject $p.Name -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'pulls a missing image; pull_policy never fails with ImageNotFound' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $up = $false
        try { $null = Invoke-WebRequest -Uri http://127.0.0.1:5000/v2/ -TimeoutSec 3 -UseBasicParsing; $up = $true } catch { }
        if (-not (Test-Prerequisite $up 'the local registry 127.0.0.1:5000 (../shared/anchors/setup.sh) is not running')) { return }
        $n = New-Project "services:`n  s: {image: 127.0.0.1:5000/busybox:test, pull_policy: never, command: [`"sh`", `"-c`", `"$($script:Sleep)`"]}"
        Start-ContainerProject -Path $n.File -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,Containers.Cmdlets.Projects.StartContainerProjectCommand'
        $p = New-Project "services:`n  s: {image: 127.0.0.1:5000/busybox:test, command: [`"sh`", `"-c`", `"$($script:Sleep)`"]}"
        try {
            Start-ContainerProject -Path $p.File
            (Get-Container -Project $p.Name -Service s).Status | Should -Be Running
            Start-ContainerProject -Path $p.File -Pull
            (Get-Container -Project $p.Name -Service s).Status | Should -Be Running
        }
        finally {
            Remove-ContainerProject $p.Name -Images All -Confirm:$false -ErrorAction SilentlyContinue
            Get-ContainerImage 127.0.0.1:5000/busybox:test -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
    }
}

Describe 'Test-ContainerStore and project records' {
    It 'reports a corrupt project record (ProjectRecordCorrupt) and a leftover record (ProjectEmpty); -Repair deals with both' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $bad = Join-Path $script:root 'projects/corruptproj'
        New-Item -ItemType Directory -Force $bad | Out-Null
        Set-Content -LiteralPath "$bad/project.json" -Value '{"Name": "corr'
        $empty = Join-Path $script:root 'projects/emptyproj'
        New-Item -ItemType Directory -Force $empty | Out-Null
        Set-Content -LiteralPath "$empty/project.json" -Value '{"Name": "emptyproj"}'
        $found = Test-ContainerStore | Where-Object Kind -Like 'Project*'
        ($found | Where-Object Kind -EQ ProjectRecordCorrupt).Target | Should -Be "$bad/project.json"
        ($found | Where-Object Kind -EQ ProjectEmpty).Target | Should -Be $empty
        $fixed = Test-ContainerStore -Repair -Confirm:$false | Where-Object Kind -Like 'Project*'
        $fixed.Repaired | Should -Not -Contain $false
        Test-Path $empty | Should -BeFalse
        @(Get-ChildItem $bad -Filter 'project.json.corrupt-*').Count | Should -Be 1
        Remove-Item -Recurse -Force $bad
    }
}

Describe 'Peer: docker-compose 1.29.2 with dockerd' -Tag 'Peer' {
    It 'names the network and volume and labels the containers as docker-compose does' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        if (-not (Test-Prerequisite (Test-Command 'docker-compose') 'docker-compose (apt package docker-compose) is not installed')) { return }
        & docker info *> $null
        if (-not (Test-Prerequisite ($LASTEXITCODE -eq 0) 'dockerd (../shared/anchors/setup.sh) is not running')) { return }
        $yaml = @"
services:
  db: {image: localhost/busybox:test, command: ["sh", "-c", "$($script:Sleep)"], volumes: ["data:/data"]}
  web: {image: localhost/busybox:test, command: ["sh", "-c", "$($script:Sleep)"], depends_on: [db]}
volumes: {data: {}}
"@
        $p = New-Project $yaml
        Add-ContainerImageTag busybox:latest localhost/busybox:test
        $peer = "cuppeer$PID"
        try {
            & timeout 180 docker-compose -p $peer -f $p.File up -d 2>&1 | Out-Null
            $LASTEXITCODE | Should -Be 0
            Start-ContainerProject -Path $p.File -ProjectName $peer
            $theirs = @(& docker ps -a --filter "label=com.docker.compose.project=$peer" --format '{{.Names}}' | Sort-Object)
            $ours = @((Get-Container -Project $peer).Name | Sort-Object)
            # 1.29.2 joins with '_' (<project>_<service>_<n>); docker compose v2 and we with '-'
            ($theirs -replace '_', '-') | Should -Be $ours
            & docker network ls --filter "label=com.docker.compose.project=$peer" --format '{{.Name}}' | Should -Be (Get-ContainerProject $peer).Networks
            & docker volume ls --filter "label=com.docker.compose.project=$peer" --format '{{.Name}}' | Should -Be (Get-ContainerProject $peer).Volumes
            foreach ($svc in 'db', 'web') {
                $tl = (& docker inspect "$($peer)_$($svc)_1" | ConvertFrom-Json).Config.Labels.PSObject.Properties | Where-Object Name -Like 'com.docker.compose.*'
                $ol = (Get-Container -Project $peer -Service $svc).Labels
                foreach ($l in $tl) {
                    if ($l.Name -eq 'com.docker.compose.version') { continue } # the tool's version
                    if ($l.Name -eq 'com.docker.compose.config-hash') { $ol.ContainsKey($l.Name) | Should -BeTrue; continue } # each tool's own hash
                    $ol[$l.Name] | Should -Be $l.Value -Because $l.Name
                }
            }
            $tn = (& docker network inspect "$($peer)_default" | ConvertFrom-Json).Labels
            $on = (Get-ContainerNetwork "$($peer)_default").Labels
            $on['com.docker.compose.network'] | Should -Be $tn.'com.docker.compose.network'
            $on['com.docker.compose.project'] | Should -Be $tn.'com.docker.compose.project'
            $tv = (& docker volume inspect "$($peer)_data" | ConvertFrom-Json).Labels
            (Get-ContainerVolume "$($peer)_data").Labels['com.docker.compose.volume'] | Should -Be $tv.'com.docker.compose.volume'
        }
        finally {
            & timeout 120 docker-compose -p $peer -f $p.File down -v 2>&1 | Out-Null
            Remove-ContainerProject $peer -Volumes -Confirm:$false -ErrorAction SilentlyContinue
        }
    }
}

# The 29 awesome-compose apps need images from Docker Hub (python, node, nginx, mariadb, postgres, ...) that cannot be
# made here, so none runs its own software. What is exercised is each app's topology as written: its networks,
# volumes, secrets, binds, depends_on order, network_mode, capabilities, sysctls, ... with every service's image
# replaced by busybox and its command by a sleep (no build, no health check, no user or working_dir of the missing
# image); published ports go to free loopback ports. Keys the engine refuses are listed per app.
Describe 'The awesome-compose apps, with busybox in place of their images' {
    BeforeDiscovery {
        . $PSScriptRoot/../common.ps1
        $dir = Join-Path $script:Fixtures 'compose/awesome-compose'
        # apps whose files use what the engine does not have: the ErrorId and the key
        $refused = @{
            # runtime: io.containerd.wasmedge.v1 (a WebAssembly runtime instead of runc)
            'wasmedge-kafka-mysql' = @('ComposeKeyNotSupported', 'services.etl.runtime')
            'wasmedge-mysql-nginx' = @('ComposeKeyNotSupported', 'services.backend.runtime')
        }
        $script:awesome = @(Get-ChildItem -Directory $dir -ErrorAction SilentlyContinue | ForEach-Object {
                $f = Get-ChildItem $_.FullName -File | Where-Object Name -match '^compose\.ya?ml$' | Select-Object -First 1
                if ($f) { @{ App = $_.Name; File = $f.FullName; Refused = $refused[$_.Name] } }
            })
    }

    It 'has the 29 apps' {
        @(Get-ChildItem -Directory (Join-Path $script:Fixtures 'compose/awesome-compose') |
            Where-Object { Get-ChildItem $_.FullName -File | Where-Object Name -match '^compose\.ya?ml$' }).Count | Should -Be 29
    }

    It '<App> comes up and goes down' -TestCases $script:awesome {
        param($App, $File, $Refused)
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $name = "aw$($App -replace '[^a-z0-9]', '')".Substring(0, [Math]::Min(14, 2 + ($App -replace '[^a-z0-9]', '').Length))
        $proj = ConvertFrom-ContainerCompose -Path $File -ProjectName $name -Profile '*' -WarningAction SilentlyContinue
        $tree = $proj.ToTree()
        foreach ($svc in @($tree['services'].Keys)) {
            $s = $tree['services'][$svc]
            foreach ($k in 'build', 'healthcheck', 'user', 'working_dir', 'entrypoint', 'pull_policy', 'platform') { [void]$s.Remove($k) }
            $s['image'] = 'busybox:latest'
            $s['command'] = @('sh', '-c', "trap 'exit 0' TERM; sleep 1000 & wait")
            if ($s['depends_on']) { foreach ($d in @($s['depends_on'].Keys)) { $s['depends_on'][$d]['condition'] = 'service_started' } }
            if ($s['ports']) { foreach ($p in $s['ports']) { $p['host_ip'] = '127.0.0.1'; $p['published'] = "$(Get-FreePort)" } }
        }
        $dir = Join-Path $script:root "aw-$name"
        New-Item -ItemType Directory -Force $dir | Out-Null
        # JSON is YAML; $$ stays literal through interpolation
        $json = ($tree | ConvertTo-Json -Depth 30) -replace '\$', '$$$$'
        Set-Content -LiteralPath "$dir/compose.yaml" -Value $json
        try {
            Start-ContainerProject -Path "$dir/compose.yaml" -Profile '*' -ErrorVariable e -ErrorAction SilentlyContinue
            if ($Refused) {
                $e[0].FullyQualifiedErrorId | Should -BeLike "$($Refused[0]),*"
                $e[0].TargetObject | Should -Be $Refused[1]
                return
            }
            $e | Should -BeNullOrEmpty
            $cs = Get-Container -Project $name
            foreach ($svc in $proj.Services) {
                $mine = @($cs | Where-Object { $_.Labels['com.docker.compose.service'] -eq $svc.Name })
                $want = if ($svc.ContainerName) { @($svc.ContainerName) } else { @(1..([Math]::Max(1, [int]($svc.Deploy.Replicas ?? $svc.Scale ?? 1))) | ForEach-Object { "$name-$($svc.Name)-$_" }) }
                @($mine.Name | Sort-Object) | Should -Be @($want | Sort-Object) -Because "service $($svc.Name)"
                $mine.Status | Sort-Object -Unique | Should -Be 'Running' -Because "service $($svc.Name)"
            }
            $usedNets = @($proj.Services | Where-Object { -not $_.NetworkMode } | ForEach-Object { $_.Networks.Name }) | Sort-Object -Unique
            $wantNets = @($proj.Networks | Where-Object { $usedNets -contains $_.Key -and -not $_.External } | ForEach-Object Name) | Sort-Object
            @((Get-ContainerProject $name).Networks | Sort-Object) | Should -Be $wantNets
        }
        finally {
            Remove-ContainerProject $name -Volumes -Confirm:$false -ErrorAction SilentlyContinue
            Get-ContainerProject $name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
    }
}
