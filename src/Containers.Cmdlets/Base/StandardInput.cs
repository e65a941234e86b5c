using System.Collections;
using System.Management.Automation;
using System.Text;

namespace Containers.Cmdlets.Base;

/// <summary>
/// -InputObject / -InputFile of Invoke-ContainerCommand and Invoke-ContainerImage (docker exec -i, run -i):
/// decides whether the pipeline feeds one process's stdin, and collects that input across ProcessRecord calls.
/// Strings and other objects (by ToString) become lines, each followed by "\n"; byte[] and single bytes
/// (a byte[] piped unrolled) are written as they are.
/// </summary>
internal sealed class StandardInput
{
    private readonly MemoryStream _buf = new();

    /// <summary>
    /// True when the call's input is stdin: -InputObject given as an argument, or pipeline input while the
    /// target (-Name, -Image, -RootFs) was given as an argument. Otherwise pipeline objects bind the target by
    /// property name and each record runs on its own, as before (-InputObject, bound by value from any
    /// object, is then ignored). Call in BeginProcessing: only the arguments are bound then.
    /// </summary>
    public static bool Expected(PSCmdlet cmdlet, params string[] targetParameters)
    {
        var bound = cmdlet.MyInvocation.BoundParameters;
        if (bound.ContainsKey("InputObject")) return true;
        return cmdlet.MyInvocation.ExpectingInput && targetParameters.Any(bound.ContainsKey);
    }

    public void Add(object? o)
    {
        if (o is PSObject ps) o = ps.BaseObject;
        switch (o)
        {
            case null:
                return;
            case byte[] b:
                _buf.Write(b);
                return;
            case byte one:
                _buf.WriteByte(one);
                return;
            case string s:
                Line(s);
                return;
            case IDictionary:
                Line(o.ToString() ?? "");
                return;
            case IEnumerable e:
                foreach (var x in e) Add(x);
                return;
            default:
                Line(o.ToString() ?? "");
                return;
        }
    }

    private void Line(string s)
    {
        _buf.Write(Encoding.UTF8.GetBytes(s));
        _buf.WriteByte((byte)'\n');
    }

    /// <summary>The collected input, read from its start.</summary>
    public Stream ToStream()
    {
        _buf.Position = 0;
        return _buf;
    }
}
