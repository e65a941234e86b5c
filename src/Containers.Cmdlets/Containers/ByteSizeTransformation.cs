using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace Containers.Cmdlets.Runtime;

/// <summary>
/// Lets a size parameter take docker's written sizes as well as numbers: "32m", "1g", "512k", "100b", "1.5g"
/// (units b, k, m, g, t, p, case-insensitive, an optional "b"/"ib" after the unit, powers of 1024 as docker's
/// RAMInBytes). Numbers, 32MB included (PowerShell has made it a number already), pass through unchanged.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ByteSizeTransformationAttribute : ArgumentTransformationAttribute
{
    private static readonly Regex SizeRx = new(@"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object v = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (v is not string s) return inputData;
        if (long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return n;
        var m = SizeRx.Match(s);
        if (m.Success)
        {
            int pow = "bkmgtp".IndexOf(m.Groups[2].Value.Length == 0 ? 'b' : char.ToLowerInvariant(m.Groups[2].Value[0]));
            decimal bytes = decimal.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            for (int i = 0; i < pow; i++) bytes *= 1024;
            if (bytes <= long.MaxValue) return (long)bytes;
        }
        throw new ArgumentTransformationMetadataException(
            $"'{s}' is not a size: give a number of bytes or a number with one of docker's units b, k, m, g (e.g. 32m, 1g, 512k).");
    }
}
