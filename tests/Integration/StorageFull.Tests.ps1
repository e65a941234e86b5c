# A full storage root during import or pull: ErrorId StorageFull (ResourceUnavailable) naming the root,
# not LayerCorrupt; what the operation had stored is removed, so Test-ContainerStore is clean and the
# space is free again. The root is a small ext4 file system on a loop device this file makes and removes.
BeforeAll {
    . $PSScriptRoot/../common.ps1
    . $PSScriptRoot/../Registry/RegistryTest.ps1
    $script:Work = New-TestStorageRoot 'full-work'
    $script:Mnt = $null
    $script:Reg = $null
    if ($IsRoot) {
        $script:Disk = "$Work/disk.img"
        & truncate -s 32M $Disk
        & mkfs.ext4 -q -F -m 0 $Disk
        $script:Mnt = New-TestStorageRoot 'full'
        & mount -o loop $Disk $Mnt
        if ($LASTEXITCODE -ne 0) { throw "mount -o loop $Disk failed" }
        # one small layer that fits, and one of 48 MB of random data that does not
        New-Item -ItemType Directory -Force "$Work/l-small", "$Work/l-big" | Out-Null
        [IO.File]::WriteAllText("$Work/l-small/hello", 'fits')
        $rand = [IO.File]::Create("$Work/l-big/big.bin")
        try { foreach ($i in 1..48) { $rand.Write([Security.Cryptography.RandomNumberGenerator]::GetBytes(1MB)) } } finally { $rand.Dispose() }
        $script:Big = New-TestOciLayout -Path "$Work/oci-big" -LayerDirs "$Work/l-small", "$Work/l-big" -Tag big
        $script:Reg = Start-TestRegistry -Dir "$Work/registry" -Auth None
        $env:PSCONTAINERS_AUTH_FILE = "$Work/auth.json"
        Copy-TestImage "oci:$Work/oci-big:big" "docker://$($Reg.Address)/big:1" $Reg
    }
    function script:FreeBytes { [long](& df --output=avail -B1 $Mnt | Select-Object -Last 1).Trim() }
}

AfterAll {
    Stop-TestRegistry $script:Reg
    Remove-Item Env:PSCONTAINERS_AUTH_FILE -ErrorAction SilentlyContinue
    if ($script:Mnt) {
        & umount $script:Mnt
        Remove-TestStorageRoot $script:Mnt
    }
    Remove-TestStorageRoot $script:Work
}

Describe 'A full storage root' {
    It '<Op> fails with StorageFull naming the root and leaves the store clean' -TestCases @(
        @{ Op = 'Import-ContainerImage'; Cmd = 'Containers.Cmdlets.Images.ImportContainerImageCommand' }
        @{ Op = 'Request-ContainerImage'; Cmd = 'Containers.Cmdlets.Registry.RequestContainerImageCommand' }
    ) {
        if (-not (Test-Prerequisite -Condition $IsRoot -Because 'a loop-mounted file system needs root')) { return }
        # the root exists and works before (its directories are made by the first use)
        Get-ContainerImage -StorageRoot $Mnt | Should -BeNullOrEmpty
        $free = FreeBytes
        $err = $null
        try {
            if ($Op -eq 'Import-ContainerImage') { Import-ContainerImage -LiteralPath $Big.Path -StorageRoot $Mnt -ErrorAction Stop | Out-Null }
            else { Request-ContainerImage "$($Reg.Address)/big:1" -StorageRoot $Mnt -ErrorAction Stop | Out-Null }
        }
        catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeExactly "StorageFull,$Cmd"
        "$($err.CategoryInfo.Category)" | Should -Be 'ResourceUnavailable'
        $err.TargetObject | Should -Be $Mnt
        $err.Exception.Message | Should -BeLike "*$Mnt*"
        @(Test-ContainerStore -StorageRoot $Mnt).Count | Should -Be 0
        @(Get-ChildItem "$Mnt/layers", "$Mnt/blobs/sha256" -ErrorAction SilentlyContinue).Count | Should -Be 0
        # the space is free again (within a few blocks of directories made on the way)
        (FreeBytes) | Should -BeGreaterThan ($free - 1MB)
    }
}
