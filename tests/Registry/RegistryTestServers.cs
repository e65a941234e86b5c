// Test-only servers on 127.0.0.1 for the registry tests (compiled with Add-Type):
//  - TokenServer: the realm of a distribution registry configured with `auth: token`; issues ES256 JWTs
//    with an x5c chain leading to the registry's rootcertbundle, after checking Basic credentials.
//  - CutProxy: a TCP proxy that drops the connection once, after N bytes of a response, and counts the
//    blob GET requests that pass through it.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace RegistryTests
{
    public sealed class TokenServer : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        private readonly ECDsa _key;
        private readonly string _x5c;
        private readonly string _issuer, _service, _user, _password;
        public int Port { get; }
        public int Requests;
        public int Denied;

        public TokenServer(int port, string keyPemPath, string certPemPath, string issuer, string service, string user, string password)
        {
            Port = port; _issuer = issuer; _service = service; _user = user; _password = password;
            _key = ECDsa.Create();
            _key.ImportFromPem(File.ReadAllText(keyPemPath));
            var cert = X509Certificate2.CreateFromPem(File.ReadAllText(certPemPath));
            _x5c = Convert.ToBase64String(cert.RawData);
            _listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
            _listener.Start();
            Task.Run(Loop);
        }

        private async Task Loop()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync(); } catch { return; }
                try { Handle(ctx); } catch { try { ctx.Response.StatusCode = 500; ctx.Response.Close(); } catch { } }
            }
        }

        private void Handle(HttpListenerContext ctx)
        {
            Interlocked.Increment(ref Requests);
            var q = ctx.Request.QueryString;
            string auth = ctx.Request.Headers["Authorization"] ?? "";
            bool authenticated = false;
            if (auth.StartsWith("Basic ", StringComparison.Ordinal))
            {
                string s = Encoding.UTF8.GetString(Convert.FromBase64String(auth.Substring(6)));
                if (s != _user + ":" + _password)
                {
                    Interlocked.Increment(ref Denied);
                    ctx.Response.StatusCode = 401;
                    var b = Encoding.UTF8.GetBytes("{\"details\":\"incorrect username or password\"}");
                    ctx.Response.OutputStream.Write(b, 0, b.Length);
                    ctx.Response.Close();
                    return;
                }
                authenticated = true;
            }
            var access = new StringBuilder();
            string[] scopes = q.GetValues("scope") ?? new string[0];
            foreach (string scopeList in scopes)
            foreach (string scope in scopeList.Split(' '))
            {
                string[] p = scope.Split(':');
                if (p.Length != 3 || !authenticated) continue;
                if (access.Length > 0) access.Append(',');
                var actions = new List<string>();
                foreach (string a in p[2].Split(',')) actions.Add("\"" + a + "\"");
                access.Append("{\"type\":\"" + p[0] + "\",\"name\":\"" + p[1] + "\",\"actions\":[" + string.Join(",", actions) + "]}");
            }
            long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            string header = "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"x5c\":[\"" + _x5c + "\"]}";
            string claims = "{\"iss\":\"" + _issuer + "\",\"sub\":\"" + (authenticated ? _user : "") + "\",\"aud\":\"" + _service + "\",\"exp\":" + (now + 300)
                + ",\"nbf\":" + (now - 10) + ",\"iat\":" + now + ",\"jti\":\"" + Guid.NewGuid().ToString("N") + "\",\"access\":[" + access + "]}";
            string signingInput = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(claims));
            byte[] sig = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
            string token = signingInput + "." + B64(sig);
            byte[] body = Encoding.UTF8.GetBytes("{\"token\":\"" + token + "\",\"access_token\":\"" + token + "\",\"expires_in\":300}");
            ctx.Response.ContentType = "application/json";
            ctx.Response.OutputStream.Write(body, 0, body.Length);
            ctx.Response.Close();
        }

        private static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public void Dispose()
        {
            try { _listener.Stop(); _listener.Close(); } catch { }
            _key.Dispose();
        }
    }

    public sealed class CutProxy : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly int _targetPort;
        private long _cutAfter;
        private int _cutsLeft;
        public int Port { get; }
        public int Cuts;
        public int BlobGets;
        public int RangeRequests;

        public CutProxy(int targetPort, long cutAfterBytes, int cuts)
        {
            _targetPort = targetPort; _cutAfter = cutAfterBytes; _cutsLeft = cuts;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            Task.Run(Accept);
        }

        private async Task Accept()
        {
            while (true)
            {
                TcpClient c;
                try { c = await _listener.AcceptTcpClientAsync(); } catch { return; }
                _ = Task.Run(() => Serve(c));
            }
        }

        private async Task Serve(TcpClient client)
        {
            using (client)
            using (var server = new TcpClient())
            {
                try
                {
                    await server.ConnectAsync(IPAddress.Loopback, _targetPort);
                    var cs = client.GetStream();
                    var ss = server.GetStream();
                    var up = Task.Run(async () =>
                    {
                        var buf = new byte[65536];
                        int n;
                        while ((n = await cs.ReadAsync(buf, 0, buf.Length)) > 0)
                        {
                            string text = Encoding.ASCII.GetString(buf, 0, n);
                            int idx = 0;
                            while ((idx = text.IndexOf("GET /v2/", idx, StringComparison.Ordinal)) >= 0)
                            {
                                int eol = text.IndexOf('\n', idx);
                                string line = eol > 0 ? text.Substring(idx, eol - idx) : text.Substring(idx);
                                if (line.Contains("/blobs/sha256:")) Interlocked.Increment(ref BlobGets);
                                idx += 8;
                            }
                            if (text.IndexOf("\nRange: bytes=", StringComparison.OrdinalIgnoreCase) >= 0) Interlocked.Increment(ref RangeRequests);
                            await ss.WriteAsync(buf, 0, n);
                        }
                        server.Client.Shutdown(SocketShutdown.Send);
                    });
                    var down = Task.Run(async () =>
                    {
                        var buf = new byte[65536];
                        long total = 0;
                        int n;
                        while ((n = await ss.ReadAsync(buf, 0, buf.Length)) > 0)
                        {
                            if (Volatile.Read(ref _cutsLeft) > 0 && total + n > _cutAfter)
                            {
                                if (Interlocked.Decrement(ref _cutsLeft) >= 0)
                                {
                                    int part = (int)Math.Max(0, _cutAfter - total);
                                    await cs.WriteAsync(buf, 0, part);
                                    Interlocked.Increment(ref Cuts);
                                    client.Client.LingerState = new LingerOption(true, 0);
                                    client.Close();
                                    server.Close();
                                    return;
                                }
                            }
                            total += n;
                            await cs.WriteAsync(buf, 0, n);
                        }
                        client.Client.Shutdown(SocketShutdown.Send);
                    });
                    await Task.WhenAny(up, down);
                    await down;
                }
                catch { }
            }
        }

        public void Dispose()
        {
            try { _listener.Stop(); } catch { }
        }
    }
}
