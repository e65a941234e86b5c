// A registry that lies, on 127.0.0.1 only, for the hostile-registry tests (compiled with Add-Type):
// answers /v2/ and serves manifests and config blobs that never end, or that declare a huge length.
// It counts the bytes it managed to send, so a test can tell that the client gave up early.
using System;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace HostileRegistryTests
{
    public sealed class HostileRegistry : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        public int Port { get; }
        public long BytesSent;
        /// <summary>Never sends more than this in one response, so a client that does not give up ends anyway.</summary>
        public long Cap = 512L << 20;

        public HostileRegistry()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener.Prefixes.Add("http://127.0.0.1:" + Port + "/");
            _listener.Start();
            Task.Run(Loop);
        }

        private async Task Loop()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); } catch { return; }
                _ = Task.Run(() => Handle(ctx));
            }
        }

        private void Handle(HttpListenerContext ctx)
        {
            string path = ctx.Request.Url.AbsolutePath;
            var resp = ctx.Response;
            try
            {
                if (path == "/v2/" || path == "/v2")
                {
                    byte[] ok = Encoding.ASCII.GetBytes("{}");
                    resp.ContentType = "application/json";
                    resp.OutputStream.Write(ok, 0, ok.Length);
                }
                else if (path.EndsWith("/manifests/endless", StringComparison.Ordinal))
                {
                    resp.ContentType = "application/vnd.oci.image.manifest.v1+json";
                    resp.SendChunked = true;
                    Endless(resp, "{\"schemaVersion\":2,\"x\":\"");
                }
                else if (path.EndsWith("/manifests/declared", StringComparison.Ordinal))
                {
                    resp.ContentType = "application/vnd.oci.image.manifest.v1+json";
                    resp.ContentLength64 = 1L << 30;
                    byte[] start = Encoding.ASCII.GetBytes("{\"schemaVersion\":2");
                    resp.OutputStream.Write(start, 0, start.Length);
                    Interlocked.Add(ref BytesSent, start.Length);
                }
                else if (path.EndsWith("/manifests/endless-config", StringComparison.Ordinal))
                {
                    // a valid manifest whose config blob never ends
                    string m = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
                        "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + new string('a', 64) + "\",\"size\":2}," +
                        "\"layers\":[]}";
                    byte[] b = Encoding.ASCII.GetBytes(m);
                    resp.ContentType = "application/vnd.oci.image.manifest.v1+json";
                    resp.OutputStream.Write(b, 0, b.Length);
                }
                else if (path.Contains("/blobs/"))
                {
                    resp.ContentType = "application/octet-stream";
                    resp.SendChunked = true;
                    Endless(resp, "{\"x\":\"");
                }
                else resp.StatusCode = 404;
            }
            catch { }
            finally { try { resp.Close(); } catch { } }
        }

        private void Endless(HttpListenerResponse resp, string prefix)
        {
            byte[] head = Encoding.ASCII.GetBytes(prefix);
            resp.OutputStream.Write(head, 0, head.Length);
            byte[] chunk = Encoding.ASCII.GetBytes(new string('A', 64 * 1024));
            for (long sent = 0; sent < Cap; sent += chunk.Length)
            {
                resp.OutputStream.Write(chunk, 0, chunk.Length);
                Interlocked.Add(ref BytesSent, chunk.Length);
            }
        }

        public void Dispose()
        {
            try { _listener.Stop(); _listener.Close(); } catch { }
        }
    }
}
