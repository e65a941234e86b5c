# The seed's application end to end (issue 13, item 6): examples/seed/compose.yaml brings up MariaDB and WordPress
# from the seed images (tests/SeedImages.ps1, built once per test run) on a project network, the database on a
# named volume and healthy before WordPress starts, WordPress on a published loopback port. Over HTTP the test
# installs WordPress (its install form), logs in and creates a post (the REST API in that cookie session) and reads it on the
# front page; the post survives Stop/Start and Remove without -Volumes + Start, and is gone after Remove -Volumes.
# The images' builds reach the Debian mirror: tagged Network. HTTP only to 127.0.0.1.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../SeedImages.ps1
    $script:seed = $null
    $script:file = Join-Path (Split-Path (Split-Path $PSScriptRoot -Parent) -Parent) 'examples/seed/compose.yaml'
    $script:name = 'seedapp-' + [Guid]::NewGuid().ToString('N').Substring(0, 6)
    $script:oldPort = $env:WORDPRESS_PORT
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start()
    $script:port = $l.LocalEndpoint.Port; $l.Stop()
    # the compose file publishes 127.0.0.1:${WORDPRESS_PORT:-8080}:80; WordPress keeps that address as its site URL
    $env:WORDPRESS_PORT = "$($script:port)"
    $script:base = "http://127.0.0.1:$($script:port)"
    $script:title = 'Seed post ' + [Guid]::NewGuid().ToString('N').Substring(0, 8)
    $script:postId = $null

    function script:Up {
        Start-ContainerProject -Path $script:file -ProjectName $script:name -WaitTimeout 300 -StorageRoot $script:seed.StorageRoot
    }
    function script:Show-Logs {
        Get-ContainerLog -Project $script:name -StorageRoot $script:seed.StorageRoot -ErrorAction SilentlyContinue | Select-Object -Last 40 | Out-Host
    }
    # GET until the answer is 200 and its content matches (WordPress answers a few moments after Apache starts)
    function script:Wait-Page([string] $Path, [string] $Match, [int] $Seconds = 90) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        $last = $null
        while ([DateTime]::UtcNow -lt $deadline) {
            try {
                $last = Invoke-WebRequest -Uri ($script:base + $Path) -TimeoutSec 20 -SkipHttpErrorCheck
                if ($last.StatusCode -eq 200 -and $last.Content -match $Match) { return $last }
            }
            catch { $last = $null }
            Start-Sleep -Milliseconds 500
        }
        Show-Logs
        $text = if ($last) { "$($last.StatusCode): " + ([string]$last.Content).Substring(0, [math]::Min(400, ([string]$last.Content).Length)) } else { 'no answer' }
        throw "GET $Path did not answer 200 with content matching '$Match' within $Seconds s (last: $text)"
    }
}
AfterAll {
    if ($script:seed) {
        Remove-ContainerProject $script:name -Volumes -Confirm:$false -StorageRoot $script:seed.StorageRoot -ErrorAction SilentlyContinue
    }
    $env:WORDPRESS_PORT = $script:oldPort
}

Describe 'The seed application: WordPress and MariaDB from examples/seed/compose.yaml' -Tag 'Network' {
    BeforeAll {
        if ($script:IsRoot) { $script:seed = Get-SeedImages }
    }
    BeforeEach {
        if (-not (Test-Prerequisite $script:IsRoot 'runs containers as root')) { Set-ItResult -Skipped -Because 'not root' }
    }

    It 'starts the database healthy before WordPress, on the project network with the named volume' {
        $r = $script:seed.StorageRoot
        Up
        $db = Get-Container -Project $script:name -Service db -StorageRoot $r
        $wp = Get-Container -Project $script:name -Service wordpress -StorageRoot $r
        $db.Status | Should -Be Running
        $wp.Status | Should -Be Running
        # service_healthy: WordPress was started only after the database's check passed
        $db.Health | Should -Be Healthy
        $wp.StartedAt | Should -BeGreaterThan $db.StartedAt
        ($db.Mounts | Where-Object Destination -EQ '/var/lib/mysql').Source | Should -Be "$($script:name)_dbdata"
        (Get-ContainerProject $script:name -StorageRoot $r).Networks | Should -Contain "$($script:name)_backend"
    }

    It 'installs WordPress through its install form over HTTP' {
        $page = Wait-Page '/wp-admin/install.php' 'weblog_title'
        $page.StatusCode | Should -Be 200
        $form = @{
            weblog_title = 'Seed application'; user_name = 'seedadmin'; admin_password = 'seed-admin-pw'
            admin_password2 = 'seed-admin-pw'; pw_weak = '1'; admin_email = 'admin@example.invalid'; blog_public = '0'
        }
        $r = Invoke-WebRequest -Uri "$($script:base)/wp-admin/install.php?step=2" -Method Post -Body $form -TimeoutSec 120 -SkipHttpErrorCheck
        if ($r.Content -notmatch 'Success!') { Show-Logs; Write-Host $r.Content }
        $r.StatusCode | Should -Be 200
        $r.Content | Should -Match 'Success!'
        # installed: the install page says so, and the front page carries the site's title
        (Wait-Page '/wp-admin/install.php' 'Already Installed').StatusCode | Should -Be 200
        (Wait-Page '/' 'Seed application').StatusCode | Should -Be 200
    }

    It 'logs in as the admin and creates a post that the front page shows' {
        # the password works on the login form (a cookie session; wp-login.php answers 302 to wp-admin)
        $s = $null
        Invoke-WebRequest -Uri "$($script:base)/wp-login.php" -SessionVariable s -TimeoutSec 30 | Out-Null
        # -MaximumRedirection 0 returns the 302 and also writes "maximum redirection count exceeded": not a failure here
        $login = Invoke-WebRequest -Uri "$($script:base)/wp-login.php" -Method Post -WebSession $s -MaximumRedirection 0 -SkipHttpErrorCheck -TimeoutSec 30 -ErrorAction SilentlyContinue `
            -Body @{ log = 'seedadmin'; pwd = 'seed-admin-pw'; 'wp-submit' = 'Log In'; testcookie = '1'; redirect_to = "$($script:base)/wp-admin/" }
        $login.StatusCode | Should -Be 302
        "$($login.Headers['Location'])" | Should -Match '/wp-admin/'
        $dash = Invoke-WebRequest -Uri "$($script:base)/wp-admin/" -WebSession $s -TimeoutSec 60
        $dash.Content | Should -Match 'Dashboard'
        # the post, through the REST API in that session (cookie authentication wants the session's REST nonce)
        $nonce = (Invoke-WebRequest -Uri "$($script:base)/wp-admin/admin-ajax.php?action=rest-nonce" -WebSession $s -TimeoutSec 30).Content.Trim()
        $nonce | Should -Match '^[0-9a-f]{10}$'
        $body = @{ title = $script:title; content = 'Written through the REST API by the seed application test.'; status = 'publish' } | ConvertTo-Json
        $post = Invoke-RestMethod -Uri "$($script:base)/?rest_route=/wp/v2/posts" -Method Post -WebSession $s -Headers @{ 'X-WP-Nonce' = $nonce } `
            -ContentType 'application/json' -Body $body -TimeoutSec 60
        $post.status | Should -Be 'publish'
        $script:postId = [int] $post.id
        $script:postId | Should -BeGreaterThan 0
        $page = Wait-Page "/?p=$($script:postId)" ([regex]::Escape($script:title))
        $page.StatusCode | Should -Be 200
        $page.Content | Should -Match 'Written through the REST API by the seed application test'
    }

    It 'keeps the post over Stop-ContainerProject and Start-ContainerProject' {
        $r = $script:seed.StorageRoot
        Stop-ContainerProject $script:name -StorageRoot $r
        @(Get-Container -Project $script:name -StorageRoot $r | Where-Object Status -EQ Running) | Should -BeNullOrEmpty
        Up
        (Get-Container -Project $script:name -Service db -StorageRoot $r).Health | Should -Be Healthy
        (Wait-Page "/?p=$($script:postId)" ([regex]::Escape($script:title))).StatusCode | Should -Be 200
    }

    It 'keeps the post over Remove-ContainerProject without -Volumes and a new start' {
        $r = $script:seed.StorageRoot
        $before = (Get-Container -Project $script:name -Service db -StorageRoot $r).Id
        Remove-ContainerProject $script:name -Confirm:$false -StorageRoot $r
        @(Get-Container -Project $script:name -StorageRoot $r -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        Get-ContainerVolume "$($script:name)_dbdata" -StorageRoot $r | Should -Not -BeNullOrEmpty
        Up
        (Get-Container -Project $script:name -Service db -StorageRoot $r).Id | Should -Not -Be $before
        (Wait-Page "/?p=$($script:postId)" ([regex]::Escape($script:title))).StatusCode | Should -Be 200
    }

    It 'loses the post with Remove-ContainerProject -Volumes: a new start is a fresh install' {
        $r = $script:seed.StorageRoot
        Remove-ContainerProject $script:name -Volumes -Confirm:$false -StorageRoot $r
        Get-ContainerVolume "$($script:name)_dbdata" -StorageRoot $r -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Up
        # a fresh database: WordPress is not installed, so the post's address leads to the install form
        $page = Wait-Page "/?p=$($script:postId)" 'weblog_title'
        $page.StatusCode | Should -Be 200
        $page.Content | Should -Not -Match ([regex]::Escape($script:title))
        (Wait-Page '/wp-admin/install.php' 'weblog_title').Content | Should -Not -Match 'Already Installed'
        Remove-ContainerProject $script:name -Volumes -Confirm:$false -StorageRoot $r
        @(Get-Container -Project $script:name -StorageRoot $r -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }
}
