namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>A container's writable (overlay upper) directory: a build step commits it as a layer.</summary>
    public string UpperDirOf(string nameOrId) => Path.Combine(Find(nameOrId).Dir, "upper");

    /// <summary>How the container's writable layer's owners map back to the container's ids (null: in the host's user namespace).</summary>
    public Func<(int Uid, int Gid), (int Uid, int Gid)>? IdMapOf(string nameOrId) => ToContainerIds(Find(nameOrId).Config);

    /// <summary>The image's layer directories, bottom first (for a build's host-side reads, always through RootedFs).</summary>
    internal static ContainerConfig ForLayers(IReadOnlyList<string> layerPaths) => new() { LowerDirs = layerPaths.ToList() };

    /// <summary>USER or --chown (name[:group]) resolved in the image's /etc/passwd and /etc/group.</summary>
    public static (uint Uid, uint Gid) ResolveOwner(IReadOnlyList<string> layerPaths, string spec)
    {
        var c = ForLayers(layerPaths);
        string dir = "/nonexistent-build-container";
        int colon = spec.IndexOf(':');
        if (colon < 0)
        {
            // docker: a user without a group uses the user's numeric id as the group
            var ids = UserResolver.Resolve(c, dir, spec);
            return (ids.Uid, ids.Uid);
        }
        var r = UserResolver.Resolve(c, dir, spec);
        return (r.Uid, r.Gid);
    }
}
