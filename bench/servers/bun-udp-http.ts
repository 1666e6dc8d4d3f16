// The fairness benchmark's reference app: what examples/embedded-http.ts does, with Bun's own
// APIs only: a UDP echo on Bun.udpSocket and Bun.serve with the same two routes (`GET /stats`
// as JSON, anything else 404), in one process on Bun's event loop.
// Usage: bun bench/servers/bun-udp-http.ts [UDP_PORT] [HTTP_PORT] [HOST]
//
// The error handler and the try/catch keep the echo alive when a client leaves with datagrams
// in flight (ECONNREFUSED), as in bench/servers/bun-udp.ts.
const [udpPort = "7777", httpPort = "8080", host = "127.0.0.1"] = process.argv.slice(2);

const stats = { datagrams: 0, bytes: 0, sendErrors: 0 };

const socket = await Bun.udpSocket({
  hostname: host,
  port: Number(udpPort),
  socket: {
    data(self, data, peerPort, peerAddress) {
      stats.datagrams++;
      stats.bytes += data.byteLength;
      try {
        if (!self.send(data, peerPort, peerAddress)) stats.sendErrors++;
      } catch {
        stats.sendErrors++;
      }
    },
    error() {
      stats.sendErrors++;
    },
  },
});

const http = Bun.serve({
  hostname: host,
  port: Number(httpPort),
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/stats") return Response.json({ ...stats, tasks: 0 });
    return new Response("not found: try /stats\n", { status: 404 });
  },
});

console.log(`bun-udp-http listening on udp ${host}:${socket.port}, http ${host}:${http.port}`);
export {};
