/**
 * The entry of the metrics server thread: `Bun.serve` on a thread of its own, answering
 * `GET /metrics` from the shared blocks it was given (see `shared.ts`). A scrape reads shared
 * memory and writes text here; it never waits for the runtime's thread, which may be blocked in
 * the poller (the inline driver) or busy with a flood.
 *
 * @module
 */
import { workerData } from "node:worker_threads";
import { ServerState, STATUS_BYTES } from "../console/protocol.ts";
import { EXPOSITION_CONTENT_TYPE, formatExposition } from "./exposition.ts";
import type { MetricsServerData } from "./serve.ts";
import { readSharedBlock } from "./shared.ts";

const encoder = new TextEncoder();

function main(data: MetricsServerData): void {
  const status = new Int32Array(data.status, 0, 3);
  try {
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
    status[1] = server.port ?? 0;
    Atomics.store(status, 0, ServerState.listening);
  } catch (error) {
    const message = encoder.encode(error instanceof Error ? error.message : String(error)).subarray(0, STATUS_BYTES - 16);
    new Uint8Array(data.status, 16).set(message);
    status[2] = message.length;
    Atomics.store(status, 0, ServerState.failed);
  }
  Atomics.notify(status, 0);
}

main(workerData as MetricsServerData);
