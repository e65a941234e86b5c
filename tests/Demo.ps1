# build.ps1 -Task Demo: the module doing its main job, printing the objects it returns.
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
Import-Module $ModulePath -Force
$root = "/var/tmp/containers-demo"
$env:PSCONTAINERS_ROOT = $root

'== Get-ContainerHost'
Get-ContainerHost | Format-List | Out-String -Width 120

# An image from the host's busybox-static: one binary plus applet links and a page to serve.
$rootfs = Join-Path ([IO.Path]::GetTempPath()) "containers-demo-rootfs-$PID"
New-Item -ItemType Directory -Force -Path "$rootfs/bin", "$rootfs/etc", "$rootfs/tmp", "$rootfs/www" | Out-Null
Copy-Item /bin/busybox "$rootfs/bin/busybox"
foreach ($a in 'sh', 'ls', 'cat', 'echo', 'httpd', 'wget', 'ps', 'hostname', 'sleep', 'id', 'timeout') {
    New-Item -ItemType SymbolicLink -Force -Path "$rootfs/bin/$a" -Target busybox | Out-Null
}
Set-Content "$rootfs/etc/passwd" "root:x:0:0:root:/root:/bin/sh`nwww:x:33:33:www:/www:/bin/false"
Set-Content "$rootfs/etc/group" "root:x:0:`nwww:x:33:"
Set-Content "$rootfs/www/index.html" '<h1>hello from a container</h1>'
try {
    '== Import-ContainerImage -RootFs (an image made from busybox-static)'
    Import-ContainerImage -RootFs -LiteralPath $rootfs -Name demo/busybox:1 -Change 'CMD ["sh"]' | Format-Table | Out-String -Width 120

    '== Invoke-ContainerImage (attached: output and exit code)'
    Invoke-ContainerImage demo/busybox:1 -Command sh, -c, 'echo "hello from $(hostname)"; id; exit 3' -Hostname demo -Remove | Format-List | Out-String -Width 120

    '== Invoke-ContainerImage -Detach: a web server (busybox httpd) on the default bridge network, port 18080 published on loopback'
    $web = Invoke-ContainerImage demo/busybox:1 -Name demo-web -Detach -Init -Port 127.0.0.1:18080:80 -Command httpd, -f, -v, -p, 80, -h, /www
    $web | Format-Table | Out-String -Width 120
    Get-Container demo-web | Select-Object Name, Networks, IPAddress, Ports | Format-List | Out-String -Width 120

    '== From the host, through the published port'
    Start-Sleep -Milliseconds 300
    (Invoke-WebRequest -Uri http://127.0.0.1:18080/ -UseBasicParsing -TimeoutSec 5).Content

    '== Invoke-ContainerImage: a second container fetches the page by the name of the first (DNS on the network)'
    Invoke-ContainerImage demo/busybox:1 -Remove -Command timeout, 5, wget, -q, -O, -, http://demo-web/ | Format-List | Out-String -Width 120

    '== Invoke-ContainerCommand (exec) in the web server'
    Invoke-ContainerCommand demo-web -Command sh, -c, 'hostname; ls /www' | Format-List | Out-String -Width 120

    '== Get-ContainerProcess / Measure-Container'
    Get-ContainerProcess demo-web | Format-Table | Out-String -Width 120
    Measure-Container demo-web | Format-List | Out-String -Width 120

    '== Get-ContainerLog'
    Get-ContainerLog demo-web -Timestamps | Out-String -Width 120

    '== Get-Container | Stop-Container -PassThru | Remove-Container'
    Get-Container | Format-Table | Out-String -Width 120
    Get-Container demo-web | Stop-Container -PassThru | Format-Table | Out-String -Width 120
    Get-Container -All -Status Exited | Remove-Container
    "containers left: $(@(Get-Container -All).Count)"
}
finally {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-ContainerImage demo/busybox:1 -Force -ErrorAction SilentlyContinue | Out-Null
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $rootfs -ErrorAction SilentlyContinue
}
