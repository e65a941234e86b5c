# Writes the C# of a binary module of our shape (ImportFloor.ps1 runs it in a child pwsh): the built module's cmdlets
# (names, CmdletAttribute, OutputType), their parameter properties with every attribute; our own types replaced by
# string, our completers and transformations by empty ones of its own, empty bodies, except that Invoke-ContainerImage
# writes one object typed as ours for `-Command true` (the same format view formats it).
param([Parameter(Mandatory)] [string] $ModulePath, [Parameter(Mandatory)] [string] $Out)
Import-Module $ModulePath
$asm = [Containers.Cmdlets.Base.ModuleInitializer].Assembly
$ours = 'Containers', 'Containers.Engine', 'Containers.Native'
function Lit($v, [type] $t) {
    if ($null -eq $v) { return 'null' }
    if ($v -is [System.Collections.ObjectModel.ReadOnlyCollection[System.Reflection.CustomAttributeTypedArgument]]) {
        $et = $t.GetElementType(); return "new $(TypeName $et)[] { " + (($v | ForEach-Object { Lit $_.Value $_.ArgumentType }) -join ', ') + ' }'
    }
    if ($v -is [type]) { if ($v -eq [void]) { return "typeof(void)" }; return "typeof($(TypeName $v))" }
    if ($t.IsEnum) { return "($(TypeName $t))$([long]$v)" }
    if ($v -is [string]) { return '@"' + $v.Replace('"', '""') + '"' }
    if ($v -is [bool]) { return $v.ToString().ToLower() }
    if ($v -is [long]) { return "${v}L" }
    if ($v -is [double]) { return "${v}d" }
    return "($(TypeName $t))($v)"
}
function TypeName([type] $t) {
    if ($t.IsArray) { return (TypeName $t.GetElementType()) + '[]' }
    if ($t.IsGenericType -and $t.GetGenericTypeDefinition() -eq [Nullable`1]) { return (TypeName $t.GetGenericArguments()[0]) + '?' }
    if ($t.Assembly.GetName().Name -in $ours) {
        if ([System.Management.Automation.ArgumentTransformationAttribute].IsAssignableFrom($t)) { return 'DummyTransform' }
        if ([System.Management.Automation.IArgumentCompleter].IsAssignableFrom($t)) { return 'DummyCompleter' }
        if ($t.IsValueType -and -not $t.IsEnum) { return 'int' }
        return 'string'
    }
    if ($t.IsGenericType) { return $t.FullName.Split('`')[0] + '<' + (($t.GetGenericArguments() | ForEach-Object { TypeName $_ }) -join ',') + '>' }
    return 'global::' + $t.FullName.Replace('+', '.')
}
function Attr($ca) {
    $n = $ca.AttributeType
    if ($n.Name -in 'NullableAttribute', 'NullableContextAttribute') { return $null }
    $args = @($ca.ConstructorArguments | ForEach-Object { Lit $_.Value $_.ArgumentType }) + @($ca.NamedArguments | ForEach-Object { "$($_.MemberName) = $(Lit $_.TypedValue.Value $_.TypedValue.ArgumentType)" })
    "[$(TypeName $n)($($args -join ', '))]"
}
$sb = [System.Text.StringBuilder]::new()
$null = $sb.AppendLine('using System.Management.Automation; namespace Shape;')
$null = $sb.AppendLine('public sealed class DummyCompleter : IArgumentCompleter { public IEnumerable<CompletionResult> CompleteArgument(string c, string p, string w, System.Management.Automation.Language.CommandAst a, System.Collections.IDictionary f) => Array.Empty<CompletionResult>(); }')
$null = $sb.AppendLine('public sealed class DummyTransform : ArgumentTransformationAttribute { public override object Transform(EngineIntrinsics e, object i) => i; }')
$i = 0
foreach ($t in $asm.GetExportedTypes() | Where-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) }) {
    foreach ($ca in $t.CustomAttributes) { $a = Attr $ca; if ($a) { $null = $sb.AppendLine($a) } }
    $null = $sb.AppendLine("public sealed class C$i : PSCmdlet {"); $i++
    foreach ($p in $t.GetProperties() | Where-Object { $_.GetCustomAttributes([System.Management.Automation.ParameterAttribute], $true) }) {
        foreach ($ca in $p.CustomAttributes) { $a = Attr $ca; if ($a) { $null = $sb.AppendLine("  $a") } }
        $null = $sb.AppendLine("  public $(TypeName $p.PropertyType) $($p.Name) { get; set; }")
    }
    if ($t.Name -eq 'InvokeContainerImageCommand') {
        $null = $sb.AppendLine('  protected override void ProcessRecord() { var o = new PSObject(); o.TypeNames.Insert(0, "Containers.Engine.Model.ContainerProcessResult"); o.Properties.Add(new PSNoteProperty("ContainerName", "c0ffee")); o.Properties.Add(new PSNoteProperty("ExitCode", 0)); o.Properties.Add(new PSNoteProperty("Output", "")); WriteObject(o); }')
    } else { $null = $sb.AppendLine('  protected override void ProcessRecord() { }') }
    $null = $sb.AppendLine('}')
}
Set-Content -LiteralPath $Out -Value $sb.ToString()
