using System.Buffers;
using System.Runtime.ExceptionServices;
using Containers.Native.Sys;
using Microsoft.Win32.SafeHandles;

namespace Containers.Engine.Snapshots;

/// <summary>
/// The file-system half of a layer unpack, on a thread of its own: the unpacker's thread inflates, hashes
/// and parses the tar and decides (path checks, refusals) while this one creates the files, in exactly
/// the order they were posted, so hard links, whiteouts and replaced entries behave as in one thread.
/// Bounded by the file data it holds. The first failure stops it: it is rethrown, with its own type, by
/// the next <see cref="Post"/> or by <see cref="Finish"/>; operations posted after it are dropped.
/// </summary>
internal sealed class LayerWriter : IDisposable
{
    /// <summary>One step; <see cref="Release"/> runs after <see cref="Run"/>, or instead of it once stopped.</summary>
    internal abstract class Op
    {
        public int Cost = 256;
        /// <summary>The tar entry this step makes (named in the error when it fails).</summary>
        public string? Entry;
        public abstract void Run();
        public virtual void Release() { }
    }

    private sealed class ActionOp(Action run) : Op
    {
        public override void Run() => run();
    }

    private const long MaxQueuedBytes = 16 << 20;

    private readonly object _gate = new();
    private Queue<Op> _queue = new();
    private Queue<Op> _spare = new();
    private long _queuedBytes;
    private bool _completed, _stopped, _writerWaiting, _posterWaiting;
    private Exception? _error;
    private readonly Thread _thread;

    public LayerWriter()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "layer-write" };
        _thread.Start();
    }

    public void Post(string entry, Action run) => Post(new ActionOp(run) { Entry = entry });

    /// <summary>The entry whose step failed first (null while none did).</summary>
    public string? FailedEntry { get; private set; }

    public void Post(Op op)
    {
        lock (_gate)
        {
            while (_error is null && !_stopped && _queuedBytes >= MaxQueuedBytes)
            {
                _posterWaiting = true;
                Monitor.Wait(_gate);
            }
            if (_error is not null || _stopped)
            {
                op.Release();
                ThrowIfFailed();
                return;
            }
            _queue.Enqueue(op);
            _queuedBytes += op.Cost;
            if (_writerWaiting) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until everything posted is done; rethrows the first failure.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
        ThrowIfFailed();
    }

    private void ThrowIfFailed()
    {
        if (_error is not null) ExceptionDispatchInfo.Capture(_error).Throw();
    }

    private void Loop()
    {
        while (true)
        {
            Queue<Op> batch;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_completed && !_stopped)
                {
                    _writerWaiting = true;
                    Monitor.Wait(_gate);
                    _writerWaiting = false;
                }
                if (_queue.Count == 0) return;
                batch = _queue;
                _queue = _spare;
                _spare = batch;
            }
            long done = 0;
            while (batch.TryDequeue(out var op))
            {
                done += op.Cost;
                bool skip;
                lock (_gate) skip = _error is not null || _stopped;
                try { if (!skip) op.Run(); }
                catch (Exception ex)
                {
                    lock (_gate)
                    {
                        if (_error is null) { _error = ex; FailedEntry = op.Entry; }
                        Monitor.PulseAll(_gate);
                    }
                }
                finally { op.Release(); }
            }
            lock (_gate)
            {
                _queuedBytes -= done;
                if (_posterWaiting) { _posterWaiting = false; Monitor.PulseAll(_gate); }
            }
        }
    }

    /// <summary>Stops after the operation running now (the rest is released, not run) and waits for the thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopped = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
    }

    /// <summary>A regular file written in pieces: open, chunks, then owner/mode/xattrs/times and close.</summary>
    internal sealed class FileJob
    {
        public SafeFileHandle? Fd;
        public void Close()
        {
            Fd?.Dispose();
            Fd = null;
        }
    }

    /// <summary>Creates the file as <paramref name="name"/> in the directory <paramref name="dir"/> gives (never through a link).</summary>
    internal sealed class OpenOp(FileJob job, Func<SafeFileHandle> dir, string name, string path) : Op
    {
        public override void Run()
            => job.Fd = RootedFs.OpenAt(dir(), name, FileSys.O_WRONLY | FileSys.O_CREAT | FileSys.O_EXCL, 0x180, path);
    }

    internal sealed class ChunkOp : Op
    {
        private readonly FileJob _job;
        private readonly byte[] _buf;
        private readonly int _len;
        private readonly string _path;

        /// <summary>Takes ownership of <paramref name="pooled"/> (from ArrayPool.Shared).</summary>
        public ChunkOp(FileJob job, byte[] pooled, int len, string path)
        {
            _job = job; _buf = pooled; _len = len; _path = path;
            Cost = Math.Max(256, len);
        }

        public override void Run() => LayerFs.WriteAll((int)_job.Fd!.DangerousGetHandle(), _buf.AsSpan(0, _len), _path);
        public override void Release() => ArrayPool<byte>.Shared.Return(_buf);
    }

    internal sealed class CloseOp(FileJob job, Action<SafeFileHandle> finish) : Op
    {
        public override void Run() => finish(job.Fd!);
        public override void Release() => job.Close();
    }
}
