using Containers.Engine.Errors;
using Containers.Engine.Images;
using Containers.Engine.State;

namespace Containers.Engine.Projects;

/// <summary>
/// A project's record: &lt;root&gt;/projects/&lt;name&gt;/project.json (name, folder, files, times) and, beside it,
/// files/ with the content of secrets and configs that come from the environment or inline content (bound
/// read-only into the containers). Written by an up, removed by a down. The containers, networks and volumes
/// themselves are found by their com.docker.compose.project label.
/// </summary>
public sealed class ProjectStore(StorageRoot root)
{
    public sealed class ProjectRecord
    {
        public string Name { get; set; } = "";
        public string? WorkingDirectory { get; set; }
        public List<string> ConfigFiles { get; set; } = new();
        public DateTime Created { get; set; }
        public DateTime Updated { get; set; }
    }

    public const string RecordFile = "project.json";

    public string Dir(string name) => root.Sub("projects", name);

    public StoreLock Lock(string name, CancellationToken ct) => StoreLock.Acquire(root, "project-" + name, true, TimeSpan.FromMinutes(10), ct);

    /// <summary>The record, null when absent; ProjectRecordCorrupt when it does not parse.</summary>
    public ProjectRecord? Read(string name)
        => AtomicFile.ReadRecord<ProjectRecord>(Path.Combine(Dir(name), RecordFile), "ProjectRecordCorrupt", "project record");

    public IEnumerable<ProjectRecord> List()
    {
        string dir = root.Sub("projects");
        if (!Directory.Exists(dir)) yield break;
        foreach (var d in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            ProjectRecord? r;
            try { r = Read(Path.GetFileName(d)); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt) { r = SkippedRecords.Skip<ProjectRecord>(ex); }
            if (r is not null) yield return r;
        }
    }

    public void Write(ProjectRecord r)
    {
        Directory.CreateDirectory(Dir(r.Name));
        AtomicFile.WriteJson(Path.Combine(Dir(r.Name), RecordFile), r);
    }

    /// <summary>Writes one secret's or config's content (mode 0444) and returns its path.</summary>
    public string WriteFile(string project, string kind, string name, string content)
    {
        string dir = Path.Combine(Dir(project), "files", kind);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        AtomicFile.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return path;
    }

    public void Delete(string name)
    {
        string dir = Dir(name);
        if (!Directory.Exists(dir)) return;
        string tmp = root.NewTempPath("project");
        Directory.Move(dir, tmp);
        Directory.Delete(tmp, recursive: true);
    }

    /// <summary>
    /// Test-ContainerStore's findings about projects: a record that does not parse (ProjectRecordCorrupt,
    /// Error; -Repair moves it aside), a project folder without a record (ProjectLeftover, Garbage: an up
    /// killed before it wrote one) and a record whose project has nothing left in the store (ProjectEmpty,
    /// Garbage: its containers, networks and volumes were removed one by one). -Repair removes the garbage.
    /// </summary>
    public IReadOnlyList<StoreProblem> Check(bool repair, ISet<string> projectsInUse)
    {
        var problems = new List<StoreProblem>();
        string dir = root.Sub("projects");
        if (!Directory.Exists(dir)) return problems;
        foreach (var d in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(d);
            string rec = Path.Combine(d, RecordFile);
            if (!File.Exists(rec))
            {
                if (projectsInUse.Contains(name)) continue;
                bool gone = repair && TryDelete(name);
                problems.Add(new StoreProblem { Kind = "ProjectLeftover", Severity = "Garbage", Target = d, Repaired = gone,
                    Message = gone ? "A project folder without a record was removed." : "A project folder without a record (an up that was killed); -Repair removes it." });
                continue;
            }
            try { Read(name); }
            catch (ContainersException ex) when (ex.Kind == ErrorKind.Corrupt)
            {
                string aside = rec + ".corrupt-" + DateTime.UtcNow.ToString("yyyyMMddTHHmmssZ", System.Globalization.CultureInfo.InvariantCulture);
                bool moved = false;
                if (repair) { try { File.Move(rec, aside); moved = true; } catch (IOException) { } }
                problems.Add(new StoreProblem { Kind = "ProjectRecordCorrupt", Severity = "Error", Target = rec, Repaired = moved,
                    Message = moved ? $"The record does not parse; it was moved aside to '{Path.GetFileName(aside)}' for inspection."
                                    : "The record does not parse; listings skip it. -Repair moves it aside (renamed <file>.corrupt-<time>)." });
                continue;
            }
            if (!projectsInUse.Contains(name))
            {
                bool gone = repair && TryDelete(name);
                problems.Add(new StoreProblem { Kind = "ProjectEmpty", Severity = "Garbage", Target = d, Repaired = gone,
                    Message = gone ? "The record of a project with no container, network or volume left was removed."
                                   : "The project has no container, network or volume left; -Repair removes its record." });
            }
        }
        return problems;
    }

    private bool TryDelete(string name)
    {
        try { Delete(name); return true; }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return false; }
    }
}
