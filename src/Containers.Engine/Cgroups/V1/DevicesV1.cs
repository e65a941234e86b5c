namespace Containers.Engine.Cgroups.V1;

/// <summary>
/// v1 devices controller: "a" into devices.deny removes every permission, then each allow rule goes to
/// devices.allow (deny rules to devices.deny), one rule per write, in order.
/// </summary>
public static class DevicesV1
{
    /// <summary>The writes, in order, as (file, line) pairs.</summary>
    public static IReadOnlyList<(string File, string Line)> Render(CgroupResources r) =>
        DefaultDevices.For(r).Select(d => (d.Allow ? "devices.allow" : "devices.deny", RuleText(d))).ToList();

    /// <summary>The kernel's rule syntax: "a" alone for all devices, else "c 1:3 rwm".</summary>
    public static string RuleText(DeviceRule d) => d.Type == 'a' ? "a" : d.ToString();

    internal static void Apply(CgroupFs fs, string dir, CgroupResources r)
    {
        foreach (var (file, line) in Render(r)) fs.Write(dir, file, line);
    }
}
