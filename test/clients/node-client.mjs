// A UDP echo client on Node's node:dgram (run with `node`, not Bun), for the end-to-end tests.
// Usage: node node-client.mjs HOST PORT SIZE [SIZE ...]
import dgram from "node:dgram";
import { randomBytes } from "node:crypto";

const [host, portText, ...sizes] = process.argv.slice(2);
const port = Number(portText);
const socket = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4", recvBufferSize: 1 << 20 });
const timer = setTimeout(() => {
  console.error("timed out waiting for an echo");
  process.exit(1);
}, 5000);

for (const size of sizes.map(Number)) {
  const payload = randomBytes(size);
  const echoed = await new Promise((resolve) => {
    socket.once("message", (message, peer) => resolve({ message, peer }));
    socket.send(payload, port, host);
  });
  if (!echoed.message.equals(payload)) {
    console.error(`size ${size}: echo differs (${echoed.message.length} bytes back)`);
    process.exit(1);
  }
  if (echoed.peer.port !== port) {
    console.error(`size ${size}: echo came from port ${echoed.peer.port}`);
    process.exit(1);
  }
  console.log(`ok ${size}`);
}
clearTimeout(timer);
socket.close();
