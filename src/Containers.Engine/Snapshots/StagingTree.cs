using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Snapshots;

/// <summary>
/// The staging directory of one layer unpack as the writer thread sees it: a root descriptor, and the
/// directories the layer made resolved from it with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (they are always
/// real directories this layer made, so a link anywhere on the way is a bug in the entry model, and the
/// kernel refuses it instead of following it out). Every operation is a *at call on one name in such a
/// directory, never following that name.
/// <para>
/// Resolved directories are cached by relative path (an unpack mostly writes many entries into one
/// directory in a row); <see cref="Forget"/> drops a removed directory and everything under it. Used by one
/// thread only.
/// </para>
/// </summary>
internal sealed class StagingTree : IDisposable
{
    private const int MaxCached = 256;
    private readonly RootedFs _fs;
    private readonly Dictionary<string, SafeFileHandle> _dirs = new(StringComparer.Ordinal);

    public StagingTree(string dir) => _fs = RootedFs.Open(dir, RootedFs.Resolution.NoSymlinks);

    /// <summary>The root (the layer's top directory, O_RDONLY).</summary>
    public SafeFileHandle Root => _fs.Root;

    /// <summary>The directory <paramref name="rel"/> ("" is the root). Valid until the next call.</summary>
    public SafeFileHandle Dir(string rel)
    {
        if (rel.Length == 0) return _fs.Root;
        if (_dirs.TryGetValue(rel, out var h)) return h;
        if (_dirs.Count >= MaxCached) Clear();
        h = _fs.Open(rel, FileSys.O_PATH | FileSys.O_DIRECTORY);
        _dirs[rel] = h;
        return h;
    }

    /// <summary>A directory of its own (not cached) for calls that need two at once.</summary>
    public SafeFileHandle OpenDir(string rel) => _fs.Open(rel.Length == 0 ? "." : rel, FileSys.O_PATH | FileSys.O_DIRECTORY);

    /// <summary>Drops <paramref name="rel"/> and every directory under it (they were removed).</summary>
    public void Forget(string rel)
    {
        string prefix = rel + "/";
        foreach (var k in _dirs.Keys.Where(k => k == rel || k.StartsWith(prefix, StringComparison.Ordinal)).ToList())
        {
            _dirs[k].Dispose();
            _dirs.Remove(k);
        }
    }

    private void Clear()
    {
        foreach (var h in _dirs.Values) h.Dispose();
        _dirs.Clear();
    }

    public void Dispose()
    {
        Clear();
        _fs.Dispose();
    }

    /// <summary>Splits a relative path into its parent ("" at the top) and its name.</summary>
    public static (string Parent, string Name) Split(string rel)
    {
        int i = rel.LastIndexOf('/');
        return i < 0 ? ("", rel) : (rel[..i], rel[(i + 1)..]);
    }
}
