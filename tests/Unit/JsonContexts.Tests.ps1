# The compile-time JSON metadata of the state records and OCI documents (src/Containers.Engine/State/JsonContexts.cs)
# must read and write the bytes the reflection-based serializer did: stores written before stay readable, and
# what is written now reads in an older session. Every property of each type gets a value that is not its default.
BeforeAll {
    . (Join-Path $PSScriptRoot '../common.ps1')
    $script:Engine = [Containers.Engine.State.Json].Assembly
    $script:Reflection = @{}
    foreach ($o in @([Containers.Engine.State.Json]::Options, [Containers.Engine.Spec.SpecJson]::Options)) {
        $copy = [System.Text.Json.JsonSerializerOptions]::new($o)
        $copy.TypeInfoResolver = [System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver]::new()
        $script:Reflection[$o] = $copy
    }

    function New-Sample([type] $Type, [int] $Depth = 0) {
        # a value of $Type with every settable property set to something that is not its default
        if ($Type -eq [string]) { return "v-$($Type.Name)-é<&>`"/\`n" }
        if ($Type -eq [bool]) { return $true }
        if ($Type -eq [int]) { return 42 }
        if ($Type -eq [long]) { return 1234567890123 }
        if ($Type -eq [ulong]) { return [ulong]::MaxValue - 7 }
        if ($Type -eq [uint]) { return [uint]::MaxValue - 9 }
        if ($Type -eq [double]) { return 1.5 }
        if ($Type -eq [datetime]) { return [datetime]::new(2024, 5, 6, 7, 8, 9, 123, [DateTimeKind]::Utc) }
        if ($Type -eq [timespan]) { return [timespan]::FromSeconds(90.5) }
        if ($Type -eq [System.Text.Json.JsonElement]) { return [System.Text.Json.JsonDocument]::Parse('{"a":[1,"x",null,true]}').RootElement.Clone() }
        if ($Type.IsEnum) { return [Enum]::GetValues($Type)[-1] }
        $u = [Nullable]::GetUnderlyingType($Type)
        if ($u) { return New-Sample $u $Depth }
        if ($Type.IsGenericType) {
            $def = $Type.GetGenericTypeDefinition(); $args_ = $Type.GetGenericArguments()
            if ($def -in [System.Collections.Generic.Dictionary`2], [System.Collections.Generic.IDictionary`2], [System.Collections.Generic.IReadOnlyDictionary`2]) {
                $d = [Activator]::CreateInstance([System.Collections.Generic.Dictionary`2].MakeGenericType($args_))
                $d.Add((New-Sample $args_[0] ($Depth + 1)), (New-Sample $args_[1] ($Depth + 1)))
                return $d
            }
            if ($def -in [System.Collections.Generic.List`1], [System.Collections.Generic.IReadOnlyList`1], [System.Collections.Generic.IList`1], [System.Collections.Generic.IEnumerable`1]) {
                $l = [Activator]::CreateInstance([System.Collections.Generic.List`1].MakeGenericType($args_))
                $l.Add((New-Sample $args_[0] ($Depth + 1)))
                return , $l
            }
        }
        if ($Type.IsArray) { $a = [Array]::CreateInstance($Type.GetElementType(), 1); $a[0] = New-Sample $Type.GetElementType() ($Depth + 1); return , $a }
        if ($Depth -gt 4) { return $null }
        $ctor = $Type.GetConstructors() | Sort-Object { $_.GetParameters().Count } | Select-Object -First 1
        $o = $ctor.Invoke(@($ctor.GetParameters() | ForEach-Object { New-Sample $_.ParameterType ($Depth + 1) }))
        foreach ($p in $Type.GetProperties()) {
            if ($p.SetMethod -and $p.SetMethod.IsPublic -and $p.GetIndexParameters().Count -eq 0) { $p.SetValue($o, (New-Sample $p.PropertyType ($Depth + 1))) }
        }
        $o
    }

    function Get-Bytes([object] $Value, [type] $Type, [System.Text.Json.JsonSerializerOptions] $Options) {
        [System.Text.Encoding]::UTF8.GetString([System.Text.Json.JsonSerializer]::SerializeToUtf8Bytes($Value, $Type, $Options))
    }
}

Describe 'Compile-time JSON metadata' {
    It '<Name> is written byte for byte as by reflection and reads back the same' -ForEach @(
        @{ Name = 'Containers.Engine.Runtime.ContainerConfig'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Images.ImageStore+ImageMeta'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Images.ImageStore+Repositories'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Snapshots.LayerInfo'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Volumes.VolumeStore+VolumeRecord'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Networking.NetworkRecord'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Networking.ContainerNetRecord'; Opt = 'State' }
        @{ Name = 'Containers.Engine.UserNamespaces.HostSettings'; Opt = 'State' }
        @{ Name = 'Containers.Engine.Spec.ImageConfig'; Opt = 'Spec' }
        @{ Name = 'Containers.Engine.Spec.ContainerConfig'; Opt = 'Spec' }
        @{ Name = 'Containers.Engine.Spec.ImageManifest'; Opt = 'Spec' }
        @{ Name = 'Containers.Engine.Spec.ImageIndex'; Opt = 'Spec' }
    ) {
        $type = $script:Engine.GetType($Name, $true)
        $options = if ($Opt -eq 'State') { [Containers.Engine.State.Json]::Options } else { [Containers.Engine.Spec.SpecJson]::Options }
        $reflection = $script:Reflection[$options]
        # the type comes from the generated metadata, not from the reflection fallback
        $options.GetTypeInfo($type).OriginatingResolver.GetType().Name | Should -Be $(if ($Opt -eq 'State') { 'StateJsonContext' } else { 'SpecJsonContext' })
        $sample = New-Sample $type
        $old = Get-Bytes $sample $type $reflection
        $new = Get-Bytes $sample $type $options
        $new | Should -BeExactly $old
        $old.Length | Should -BeGreaterThan 20
        # a record written by reflection (an existing store) reads back into the same object
        $readBack = [System.Text.Json.JsonSerializer]::Deserialize($old, $type, $options)
        Get-Bytes $readBack $type $reflection | Should -BeExactly $old
        # and one written now reads in a session that still uses reflection
        Get-Bytes ([System.Text.Json.JsonSerializer]::Deserialize($new, $type, $reflection)) $type $reflection | Should -BeExactly $old
    }
}
