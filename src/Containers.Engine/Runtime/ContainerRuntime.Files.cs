using System.Formats.Tar;
using Containers.Engine.Errors;
using Containers.Engine.Model;
using Containers.Native.Proc;

namespace Containers.Engine.Runtime;

public sealed partial class ContainerRuntime
{
    /// <summary>
    /// Runs <paramref name="work"/> with the container's file system as a directory: a running container's
    /// root as its processes see it (/proc/&lt;pid&gt;/root, volumes included), else a read-only overlay of the
    /// writable layer over the image layers, mounted for the call and unmounted after it.
    /// </summary>
    private T WithRootFs<T>(Record rec, bool preferLive, Func<string, T> work)
    {
        if (preferLive && rec.Status is ContainerStatus.Running or ContainerStatus.Paused && ProcessOps.IsAlive(rec.Pid, rec.PidStart))
            return work($"/proc/{rec.Pid}/root");
        string mnt = Path.Combine(rec.Dir, "export");
        Directory.CreateDirectory(mnt);
        var layers = new[] { Path.Combine(rec.Dir, "upper"), SharedRuntimeDirs().MountPoints }.Concat(Enumerable.Reverse(rec.Config.LowerDirs));
        ProcessOps.Mount("overlay", mnt, "overlay", 1 /* MS_RDONLY */, "lowerdir=" + string.Join(':', layers));
        try { return work(mnt); }
        finally
        {
            ProcessOps.Unmount(mnt);
            try { Directory.Delete(mnt); } catch (IOException) { }
        }
    }

    /// <summary>Export-Container: the container's file system (image layers + its changes) as one flat tar.</summary>
    public void Export(string nameOrId, Stream output, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        using (Lock(rec.Id, ct))
        {
            rec = Load(rec.Id)!;
            Guard(rec, "export");
            WithRootFs(rec, preferLive: false, dir =>
            {
                TarFile.CreateFromDirectory(dir, output, includeBaseDirectory: false);
                return true;
            });
        }
    }

    /// <summary>Copies a file or directory out of the container to a host path.</summary>
    public void CopyOut(string nameOrId, string containerPath, string hostPath, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        WithRootFs(rec, preferLive: true, root =>
        {
            string src = Inside(root, containerPath);
            if (Directory.Exists(src)) CopyTree(src, Directory.Exists(hostPath) ? Path.Combine(hostPath, Path.GetFileName(src.TrimEnd('/'))) : hostPath);
            else if (File.Exists(src)) File.Copy(src, Directory.Exists(hostPath) ? Path.Combine(hostPath, Path.GetFileName(src)) : hostPath, true);
            else throw ContainersException.NotFound("ContainerPathNotFound", RuntimeMessages.PathNotFound(containerPath), containerPath);
            return true;
        });
    }

    /// <summary>Copies a host file or directory into the container (its writable layer, or the live root when running).</summary>
    public void CopyIn(string nameOrId, string hostPath, string containerPath, CancellationToken ct = default)
    {
        var rec = Find(nameOrId);
        if (!Path.Exists(hostPath)) throw ContainersException.NotFound("PathNotFound", RuntimeMessages.PathNotFound(hostPath), hostPath);
        bool live = rec.Status is ContainerStatus.Running or ContainerStatus.Paused && ProcessOps.IsAlive(rec.Pid, rec.PidStart);
        string root = live ? $"/proc/{rec.Pid}/root" : Path.Combine(rec.Dir, "upper");
        string dest = Inside(root, containerPath);
        if (!live)
        {
            // a stopped container: write into its writable layer (the parent directories as the image has them)
            Directory.CreateDirectory(Path.GetDirectoryName(dest.TrimEnd('/'))!);
        }
        bool destIsDir = Directory.Exists(dest) || containerPath.EndsWith('/')
            || (!live && WithRootFs(rec, false, r => Directory.Exists(Inside(r, containerPath))));
        if (Directory.Exists(hostPath)) CopyTree(hostPath, destIsDir ? Path.Combine(dest, Path.GetFileName(hostPath.TrimEnd('/'))) : dest);
        else
        {
            if (destIsDir) { Directory.CreateDirectory(dest); dest = Path.Combine(dest, Path.GetFileName(hostPath)); }
            File.Copy(hostPath, dest, true);
        }
    }

    /// <summary>A container path under a root directory; ".." cannot climb out.</summary>
    private static string Inside(string root, string containerPath)
    {
        var parts = new List<string>();
        foreach (var p in containerPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return parts.Count == 0 ? root : Path.Combine(root, Path.Combine(parts.ToArray()));
    }

    private static void CopyTree(string src, string dst)
    {
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.EnumerateFiles(src)) File.Copy(f, Path.Combine(dst, Path.GetFileName(f)), true);
        foreach (var d in Directory.EnumerateDirectories(src)) CopyTree(d, Path.Combine(dst, Path.GetFileName(d)));
    }
}
