using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Runtime;

/// <summary>
/// Standard input of an attached run (docker run -i). The monitor's own stdin hands a spare its state
/// directory, so the input goes through a FIFO in the state directory instead, named by the spec's
/// <c>stdin</c> key: the monitor opens it for reading and makes it the first process's fd 0 (a restart by
/// the policy, or a later Start-Container, gets /dev/null: the input belongs to this attachment).
/// <para>
/// The engine holds the FIFO open read-write from before the start until it has opened its write end after the
/// start answered, so the process never reads an end of file before the engine is there (a FIFO with no writer
/// reads as EOF); then it drops that, so a process that exits early makes the writes fail (EPIPE) instead of
/// blocking. The FIFO file itself is removed as soon as both ends are open.
/// </para>
/// </summary>
public sealed partial class ContainerRuntime
{
    private const string StdinFifoName = "stdin";

    private sealed class StdinPipe(string path, SafeFileHandle holder) : IDisposable
    {
        public string Path { get; } = path;
        public SafeFileHandle Holder { get; } = holder;

        public void Dispose()
        {
            Holder.Dispose();
            try { File.Delete(Path); }
            catch (IOException) { }
        }
    }

    /// <summary>Makes the FIFO and holds it open read-write (never blocks), before the spec names it.</summary>
    private static StdinPipe CreateStdinPipe(string dir)
    {
        string path = Path.Combine(dir, StdinFifoName);
        Containers.Native.Sys.Fifo.Create(path);
        try { return new StdinPipe(path, File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite)); }
        catch { File.Delete(path); throw; }
    }

    /// <summary>After the start answered (the monitor has the read end): opens the write end, lets go of the holder and the file, writes the input on a task and closes it.</summary>
    private static Task FeedStdinPipe(StdinPipe pipe, Stream input, CancellationToken ct)
    {
        FileStream writer;
        try { writer = new FileStream(File.OpenHandle(pipe.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite), FileAccess.Write, 0); }
        finally { pipe.Dispose(); }
        return Task.Run(() => Feed(writer, input, ct), CancellationToken.None);
    }

    /// <summary>The spec record naming the FIFO, appended to the start's spec.</summary>
    private static byte[] AppendStdin(StdinPipe pipe)
    {
        var w = new SpecWriter();
        w.Add("stdin", pipe.Path);
        return w.ToArray();
    }
}
