/**
 * The entry of the console's server thread: `Bun.serve` on its own thread, so that it answers
 * while the runtime's thread blocks in the poller (the inline driver never returns to Bun's
 * event loop). The runtime's thread posts a snapshot (JSON text) a few times a second; this
 * thread passes it to every viewer as a server-sent event.
 *
 * Read-only: `GET /` (the page), `GET /events` (the stream), `GET /snapshot` (the latest
 * snapshot, for scripts); any other method is refused with 405. At most `maxViewers` streams
 * at once; one more is refused with 503 and a message that says why. A viewer that reads too
 * slowly misses snapshots instead of making this thread buffer them (`viewers.ts`).
 *
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { CONSOLE_PAGE } from "./page.ts";
import { reportListening } from "../server-thread/handshake.ts";
import type { ConsoleServerData } from "./protocol.ts";
import { Viewers } from "./viewers.ts";

function main(data: ConsoleServerData): void {
  const viewers = new Viewers(data.maxViewers);

  parentPort!.on("message", (snapshot: string) => viewers.publish(snapshot));

  function stream(): Response {
    const body = viewers.open();
    if (body === null) {
      return new Response(
        `console: too many viewers (the limit is ${data.maxViewers}); close another console page and reload\n`,
        { status: 503, headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5" } },
      );
    }
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" },
    });
  }

  reportListening(data.status, () => {
    const server = Bun.serve({
      hostname: data.host,
      port: data.port,
      idleTimeout: 0,
      fetch(request) {
        if (request.method !== "GET" && request.method !== "HEAD") {
          return new Response("console: read-only, GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
        }
        switch (new URL(request.url).pathname) {
          case "/":
            return new Response(CONSOLE_PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
          case "/events":
            return stream();
          case "/snapshot":
            return new Response(viewers.latest, { headers: { "content-type": "application/json", "cache-control": "no-store" } });
          default:
            return new Response("console: not found\n", { status: 404 });
        }
      },
    });
    return server.port ?? 0;
  });
}

main(workerData as ConsoleServerData);
