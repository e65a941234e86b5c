using System.Management.Automation;
using Containers.Cmdlets.Base;
using Containers.Engine.Compose;
using Containers.Engine.Projects;
using Containers.Engine.State;

namespace Containers.Cmdlets.Projects;

/// <summary>
/// Base of the project cmdlets (docker compose): the compose files (-Path, -ProjectName, -EnvFile, -Profile)
/// are loaded by ComposeLoader as ConvertFrom-ContainerCompose loads them; the runner does the rest.
/// </summary>
public abstract class ProjectCmdletBase : ContainersCmdlet
{
    protected const string FileSet = "File";
    protected const string NameSet = "Name";

    private ProjectRunner? _runner;
    protected ProjectRunner Runner => _runner ??= new ProjectRunner(Root);

    /// <summary>Loads the project from the files (none given: compose.yaml and its override from the current folder up).</summary>
    protected ComposeProject LoadProject(string[]? paths, string? projectName, string[]? envFiles, string[]? profiles)
    {
        string cwd = SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var warnings = new List<string>();
        try
        {
            return ComposeLoader.Load(new ComposeLoadOptions
            {
                Paths = (paths ?? []).Select(p => SessionState.Path.GetUnresolvedProviderPathFromPSPath(p)).ToList(),
                ProjectName = projectName,
                EnvFiles = (envFiles ?? []).Select(f => SessionState.Path.GetUnresolvedProviderPathFromPSPath(f)).ToList(),
                Profiles = profiles ?? [],
                WorkingDirectory = cwd,
                Warning = warnings.Add,
            });
        }
        catch (Exception ex) when (ex is Engine.Errors.ContainersException or IOException or UnauthorizedAccessException)
        {
            Fail(ex, paths?.FirstOrDefault() ?? cwd);
            throw; // not reached
        }
        finally
        {
            foreach (string w in warnings) WriteWarning(w);
        }
    }

    /// <summary>
    /// A sink that writes warnings and verbose messages directly: the project's engine work runs on the pipeline
    /// thread (so that Ctrl+C and ShouldProcess work as usual). What another thread reports (a pull's workers)
    /// waits in a queue for the next report from the pipeline thread, or <see cref="Flush"/>.
    /// </summary>
    protected sealed class DirectSink(PSCmdlet cmdlet) : IProgressSink
    {
        private readonly int _thread = Environment.CurrentManagedThreadId;
        private readonly System.Collections.Concurrent.ConcurrentQueue<(bool Warn, string Text)> _later = new();
        public void Report(ProgressReport report) { }
        public void Warn(string message) => Write(true, message);
        public void Verbose(string message) => Write(false, message);
        private void Write(bool warn, string text)
        {
            _later.Enqueue((warn, text));
            if (Environment.CurrentManagedThreadId == _thread) Flush();
        }
        public void Flush()
        {
            while (_later.TryDequeue(out var m))
                if (m.Warn) cmdlet.WriteWarning(m.Text); else cmdlet.WriteVerbose(m.Text);
        }
    }
}
