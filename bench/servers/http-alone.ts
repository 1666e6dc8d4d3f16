// The fairness benchmark's two-process control, its HTTP half: Bun.serve alone, with the same
// routes as examples/embedded-http.ts (`GET /stats` as JSON of the same shape, anything else
// 404); the echo runs in another process (the compiled udp-echo), as an app would run it
// beside its HTTP server if it did not embed the runtime.
// Usage: bun bench/servers/http-alone.ts [HTTP_PORT] [HOST]
const [httpPort = "8080", host = "127.0.0.1"] = process.argv.slice(2);

const stats = { datagrams: 0, bytes: 0, sendErrors: 0 };

const http = Bun.serve({
  hostname: host,
  port: Number(httpPort),
  fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/stats") return Response.json({ ...stats, tasks: 0 });
    return new Response("not found: try /stats\n", { status: 404 });
  },
});

console.log(`http-alone listening on http ${host}:${http.port}`);
export {};
