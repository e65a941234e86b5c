# Port ranges in -Port and -PublishAll (docker -p 8000-8001:80-81, -P) on New-Container and Invoke-ContainerImage. Real
# containers as root; every published port is bound on 127.0.0.1 only and reached from the host over loopback. The
# range rules are docker's (compared with docker create, which checks them without starting anything).
BeforeAll {
    . $PSScriptRoot/../common.ps1
    $script:root = New-TestStorageRoot 'runports'
    $script:rootfs = New-BusyboxRootFs (Join-Path $script:root 'rootfs')
    foreach ($n in 'a', 'b') {
        New-Item -ItemType Directory -Force -Path "$($script:rootfs)/www/$n" | Out-Null
        Set-Content -LiteralPath "$($script:rootfs)/www/$n/index.html" -Value "site-$n" -NoNewline
    }
    $PSDefaultParameterValues = @{ '*-Container*:StorageRoot' = $script:root; 'Invoke-ContainerImage:StorageRoot' = $script:root }
    $script:img = 'runports/web:1'
    if ($script:IsRoot) {
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name $script:img -Change 'EXPOSE 8080 8081', 'EXPOSE 5353/udp' -StorageRoot $script:root | Out-Null
    }
    $script:haveDocker = (Test-Command 'docker') -and ((& timeout 30 docker image inspect localhost/busybox:test 2>$null) -and $LASTEXITCODE -eq 0)
    $script:New = 'Containers.Cmdlets.Runtime.NewContainerCommand'
    $script:Run = 'Containers.Cmdlets.Runtime.InvokeContainerImageCommand'
    $script:serve = 'httpd -p 8080 -h /www/a; httpd -f -p 8081 -h /www/b'
    function script:FreePortPair {
        # two consecutive free TCP ports on 127.0.0.1
        for ($i = 0; $i -lt 50; $i++) {
            $p = Get-Random -Minimum 20000 -Maximum 60000
            $ok = $true
            foreach ($q in $p, ($p + 1)) {
                $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $q)
                try { $l.Start(); $l.Stop() } catch { $ok = $false }
            }
            if ($ok) { return $p }
        }
        throw 'no free port pair'
    }
    function script:Get-Page([int] $Port) {
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ([DateTime]::UtcNow -lt $deadline) {
            try { return (Invoke-WebRequest -Uri "http://127.0.0.1:$Port/" -TimeoutSec 2).Content } catch { Start-Sleep -Milliseconds 100 }
        }
        $null
    }
    function script:DockerBindings([string[]] $Arguments) {
        $id = & timeout 60 docker create --pull never @Arguments localhost/busybox:test true 2>&1
        if ($LASTEXITCODE -ne 0) { return [pscustomobject]@{ Ok = $false; Text = "$id" } }
        try { [pscustomobject]@{ Ok = $true; Text = (& docker inspect -f '{{json .HostConfig.PortBindings}}' $id) } }
        finally { & timeout 60 docker rm $id 2>&1 | Out-Null }
    }
}
AfterAll {
    if ($script:root) { Remove-TestStorageRoot $script:root }
}

Describe 'Port ranges' {
    AfterEach { Get-Container -All | Remove-Container -Force -Volumes }

    It 'maps host range H-H+1 to container range 8080-8081 pairwise, each one served' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $h = FreePortPair
        $c = Invoke-ContainerImage $script:img -Detach -Port "127.0.0.1:$h-$($h + 1):8080-8081" -Command sh, -c, $script:serve
        @($c.Ports | Sort-Object ContainerPort | ForEach-Object { "$($_.HostIp):$($_.HostPort)->$($_.ContainerPort)/$($_.Protocol)" }) |
            Should -Be @("127.0.0.1:$h->8080/tcp", "127.0.0.1:$($h + 1)->8081/tcp")
        Get-Page $h | Should -Be 'site-a'
        Get-Page ($h + 1) | Should -Be 'site-b'
    }

    It 'gives each port of a container range alone a free host port' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -Port '127.0.0.1::8080-8081' -Command sh, -c, $script:serve
        $p = @($c.Ports | Sort-Object ContainerPort)
        $p.ContainerPort | Should -Be @(8080, 8081)
        $p.HostPort | ForEach-Object { $_ | Should -BeGreaterThan 0 }
        Get-Page $p[1].HostPort | Should -Be 'site-b'
    }

    It 'expands a udp range as docker does: 127.0.0.1:H-H+1:80-81/udp' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $h = FreePortPair
        $c = New-Container $script:img -Port "127.0.0.1:$h-$($h + 1):80-81/udp" -Command sleep, 30
        $c = Start-Container $c.Id -PassThru
        @($c.Ports | Sort-Object ContainerPort | ForEach-Object { "$($_.ContainerPort)/$($_.Protocol)=$($_.HostIp):$($_.HostPort)" }) | Should -Be @("80/udp=127.0.0.1:$h", "81/udp=127.0.0.1:$($h + 1)")
        if (Test-Prerequisite $script:haveDocker 'needs docker with localhost/busybox:test') {
            $d = DockerBindings @('-p', "127.0.0.1:$h-$($h + 1):80-81/udp")
            $d.Ok | Should -BeTrue
            $d.Text | Should -Be "{`"80/udp`":[{`"HostIp`":`"127.0.0.1`",`"HostPort`":`"$h`"}],`"81/udp`":[{`"HostIp`":`"127.0.0.1`",`"HostPort`":`"$($h + 1)`"}]}"
        }
    }

    It 'refuses ranges of different lengths with InvalidPortRange (<Spec>), as docker does' -TestCases @(
        @{ Spec = '8000-8002:80-81' }, @{ Spec = '127.0.0.1:8000-8001:80-82/udp' }, @{ Spec = '8000:80-81' }, @{ Spec = '8002-8000:80-82' }
    ) {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        { New-Container $script:img -Port $Spec -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidPortRange,$($script:New)"
        { Invoke-ContainerImage $script:img -Remove -Port $Spec -Command true -ErrorAction Stop } | Should -Throw -ErrorId "InvalidPortRange,$($script:Run)"
        @(Get-Container -All).Count | Should -Be 0
        if (Test-Prerequisite $script:haveDocker 'needs docker with localhost/busybox:test') {
            (DockerBindings @('-p', $Spec)).Ok | Should -BeFalse
        }
    }
}

Describe '-PublishAll (docker -P)' {
    AfterEach { Get-Container -All | Remove-Container -Force -Volumes }

    It 'publishes every EXPOSEd port on a free host port of -PublishAllAddress' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $c = Invoke-ContainerImage $script:img -Detach -PublishAll -PublishAllAddress 127.0.0.1 -Command sh, -c, $script:serve
        $p = @($c.Ports | Sort-Object ContainerPort)
        @($p | ForEach-Object { "$($_.ContainerPort)/$($_.Protocol)@$($_.HostIp)" }) | Should -Be @('5353/udp@127.0.0.1', '8080/tcp@127.0.0.1', '8081/tcp@127.0.0.1')
        $p.HostPort | ForEach-Object { $_ | Should -BeGreaterThan 0 }
        Get-Page ($p | Where-Object ContainerPort -eq 8080).HostPort | Should -Be 'site-a'
    }

    It 'keeps a port -Port already publishes and adds the others' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        $h = FreePortPair
        $c = Invoke-ContainerImage $script:img -Detach -Port "127.0.0.1:${h}:8080" -PublishAll -PublishAllAddress 127.0.0.1 -Command sh, -c, $script:serve
        @($c.Ports | Where-Object ContainerPort -eq 8080).HostPort | Should -Be @($h)
        @($c.Ports).Count | Should -Be 3
    }

    It 'publishes nothing for an image without EXPOSE, and refuses -PublishAllAddress alone and -Network none' {
        if (-not (Test-Prerequisite $script:IsRoot 'needs root')) { return }
        Import-ContainerImage -RootFs -LiteralPath $script:rootfs -Name runports/plain:1 | Out-Null
        $c = Invoke-ContainerImage runports/plain:1 -Detach -PublishAll -PublishAllAddress 127.0.0.1 -Command sleep, 30
        @($c.Ports).Count | Should -Be 0
        { New-Container $script:img -PublishAllAddress 127.0.0.1 -Command true -ErrorAction Stop } | Should -Throw -ErrorId "PublishAllAddressWithoutPublishAll,$($script:New)"
        { New-Container $script:img -PublishAll -Network none -Command true -ErrorAction Stop } | Should -Throw -ErrorId "PortsNeedBridgeNetwork,$($script:New)"
    }
}
