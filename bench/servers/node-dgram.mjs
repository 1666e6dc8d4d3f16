// The benchmark's node:dgram echo server, run with Node.js.
// Usage: node bench/servers/node-dgram.mjs HOST PORT
import dgram from "node:dgram";

const [host = "127.0.0.1", port = "0"] = process.argv.slice(2);
const socket = dgram.createSocket({
  type: host.includes(":") ? "udp6" : "udp4",
  recvBufferSize: 4 << 20,
  sendBufferSize: 4 << 20,
});
socket.on("message", (message, peer) => socket.send(message, peer.port, peer.address));
socket.on("error", () => {}); // a departed client (ECONNREFUSED) must not end the benchmark
socket.bind(Number(port), host, () => console.log(`node-dgram listening on ${host}:${socket.address().port}`));
