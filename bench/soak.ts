/**
 * The soak: a long flood against the compiled echo server, watching its resident memory and
 * its open descriptors once a second. Both must stay flat: a leak of either shows as a slope.
 *
 * Usage: bun bench/soak.ts [--seconds 60] [--size 64] [-- extra udp-echo flags]
 *
 * Prints one line per sample and a summary: RSS and descriptor count after warm-up (the first
 * 5 s) and at the end, their growth, and the echoes the load generator verified.
 *
 * @module
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildExecutable, buildNative, executable, run } from "../scripts/build.ts";

const root = join(import.meta.dir, "..");
const { values, positionals } = parseArgs({
  options: { seconds: { type: "string", default: "60" }, size: { type: "string", default: "64" } },
  allowPositionals: true,
});
const seconds = Number(values.seconds);
const warmupSeconds = Math.min(5, seconds / 4);

buildNative();
run([join(root, "scripts", "zig"), "build", "bench", "--summary", "none"], join(root, "zig"));
await buildExecutable();

const server = Bun.spawn([executable, "--port", "0", ...positionals], { stdout: "pipe", stderr: "inherit" });
const reader = server.stdout.getReader();
let output = "";
while (!/listening on [\d.]+:(\d+)/.test(output)) {
  const { value, done } = await reader.read();
  if (done) throw new Error(`udp-echo exited: ${output}`);
  output += new TextDecoder().decode(value);
}
const port = /listening on [\d.]+:(\d+)/.exec(output)![1]!;

async function sample(): Promise<{ rssMb: number; fds: number }> {
  const status = await Bun.file(`/proc/${server.pid}/status`).text();
  return { rssMb: Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024, fds: readdirSync(`/proc/${server.pid}/fd`).length };
}

const flood = Bun.spawn(
  [join(root, "zig", "zig-out", "bin", "loadgen"), "throughput", "127.0.0.1", port, values.size!, String(seconds), "8", "32"],
  { stdout: "pipe", stderr: "inherit" },
);
const started = performance.now();
const samples: { at: number; rssMb: number; fds: number }[] = [];
while (flood.exitCode === null) {
  await Bun.sleep(1000);
  const at = (performance.now() - started) / 1000;
  const { rssMb, fds } = await sample();
  samples.push({ at, rssMb, fds });
  console.log(`${at.toFixed(0).padStart(4)} s  RSS ${rssMb.toFixed(1)} MB  descriptors ${fds}`);
}
const load = JSON.parse(await new Response(flood.stdout).text()) as {
  echoes: number;
  errors: number;
  lost: number;
  echoes_per_sec: number;
};
server.kill("SIGTERM");
await server.exited;

const warm = samples.find((entry) => entry.at >= warmupSeconds) ?? samples[0]!;
const last = samples.at(-1)!;
const peak = Math.max(...samples.map((entry) => entry.rssMb));
console.log(
  [
    "",
    `soak of ${seconds} s, ${values.size}-byte datagrams: ${load.echoes} echoes verified (${load.echoes_per_sec.toFixed(0)}/s), ` +
      `${load.errors} corrupted, ${load.lost} lost`,
    `RSS after ${warm.at.toFixed(0)} s: ${warm.rssMb.toFixed(1)} MB; at the end: ${last.rssMb.toFixed(1)} MB; ` +
      `growth ${(last.rssMb - warm.rssMb).toFixed(1)} MB; peak ${peak.toFixed(1)} MB`,
    `descriptors after ${warm.at.toFixed(0)} s: ${warm.fds}; at the end: ${last.fds}; ` +
      `range ${Math.min(...samples.map((entry) => entry.fds))}–${Math.max(...samples.map((entry) => entry.fds))}`,
  ].join("\n"),
);
