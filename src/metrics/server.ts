/**
 * The entry of the metrics server thread: `Bun.serve` on a thread of its own, answering
 * `GET /metrics` from the shared blocks it was given (see `shared.ts`). A scrape reads shared
 * memory and writes text here; it never waits for the runtime's thread, which may be blocked in
 * the poller (the inline driver) or busy with a flood.
 *
 * @module
 */
import { workerData } from "node:worker_threads";
import { reportListening } from "../server-thread/handshake.ts";
import { EXPOSITION_CONTENT_TYPE, formatExposition } from "./exposition.ts";
import type { MetricsServerData } from "./serve.ts";
import { readSharedBlock } from "./shared.ts";

function main(data: MetricsServerData): void {
  reportListening(data.status, () => {
    const server = Bun.serve({
      hostname: data.host,
      port: data.port,
      fetch(request) {
        if (request.method !== "GET" && request.method !== "HEAD") {
          return new Response("metrics: read-only, GET only\n", { status: 405, headers: { allow: "GET, HEAD" } });
        }
        switch (new URL(request.url).pathname) {
          case "/metrics":
            return new Response(formatExposition(data.blocks.flatMap(readSharedBlock)), {
              headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" },
            });
          case "/":
            return new Response("metrics: see /metrics (Prometheus text format)\n", {
              headers: { "content-type": "text/plain" },
            });
          default:
            return new Response("metrics: not found; the metrics are at /metrics\n", { status: 404 });
        }
      },
    });
    return server.port ?? 0;
  });
}

main(workerData as MetricsServerData);
