// The benchmark's Bun.udpSocket echo server: Bun's own UDP API, on Bun's event loop.
// Usage: bun bench/servers/bun-udp.ts HOST PORT
//
// A plain echo on Bun.udpSocket exits on the ECONNREFUSED that follows a client leaving with
// datagrams in flight; the error handler and the try/catch keep this one alive for the runs.
const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const socket = await Bun.udpSocket({
  hostname: host,
  port: Number(port),
  socket: {
    data(self, data, peerPort, peerAddress) {
      try {
        self.send(data, peerPort, peerAddress);
      } catch {
        // a departed client: nothing to do
      }
    },
    error() {},
  },
});
console.log(`bun-udp listening on ${host}:${socket.port}`);
export {};
