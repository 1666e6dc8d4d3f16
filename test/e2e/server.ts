// Starts the compiled echo server (dist/udp-echo) for end-to-end tests, from a directory of
// its own, and reads its output.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { buildExecutable, executable } from "../../scripts/build.ts";

let built: Promise<string> | null = null;

/**
 * Builds dist/udp-echo once per test run and copies it, alone, into a fresh temporary
 * directory; resolves to the copy's path. Servers run from there, with a PATH that has no Bun
 * or Zig, so the tests show that the executable needs nothing but itself.
 */
export function ensureBuilt(): Promise<string> {
  built ??= buildExecutable().then(() => {
    const dir = mkdtempSync(join(tmpdir(), "udp-echo-"));
    const binary = join(dir, "udp-echo");
    copyFileSync(executable, binary);
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    return binary;
  });
  return built;
}

/** A running server: its port, its output so far, and how to stop it. */
export interface RunningServer {
  readonly port: number;
  readonly process: ReturnType<typeof Bun.spawn>;
  readonly readyLine: string;
  /** Everything the server has printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and waits for the exit; returns the exit code and all output. */
  stop(signal?: NodeJS.Signals): Promise<{ exitCode: number | null; stdout: string; stderr: string; elapsedMs: number }>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function collect(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) sink.text += decoder.decode(chunk, { stream: true });
}

/** Runs the executable's copy with `args`; resolves once it prints its ready line. */
export async function startServer(
  args: string[],
  options: { readyTimeoutMs?: number; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const binary = await ensureBuilt();
  const dir = dirname(binary);
  const env = { PATH: "/usr/bin:/bin", ...options.env };
  const child = Bun.spawn([binary, ...args], { cwd: dir, stdout: "pipe", stderr: "pipe", env });
  const out = { text: "" };
  const err = { text: "" };
  const reading = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
  const deadline = performance.now() + (options.readyTimeoutMs ?? 10_000);
  let match: RegExpMatchArray | null = null;
  // The ready line, as text or (--log-format json) in a JSON object's message.
  while ((match = /^(?:\{.*"message":")?udp-echo listening on (?:\[.*?\]|[^ ]+):(\d+) .*$/m.exec(out.text)) === null) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await reading;
      throw new Error(`the server did not get ready (exit ${child.exitCode}):\n${out.text}\n${err.text}`);
    }
    await Bun.sleep(5);
  }
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    const started = performance.now();
    if (child.exitCode === null) child.kill(signal);
    const exitCode = await child.exited;
    const elapsedMs = performance.now() - started;
    await reading;
    return { exitCode, stdout: out.text, stderr: err.text, elapsedMs };
  };
  return {
    port: Number(match[1]),
    process: child,
    readyLine: match[0],
    stdout: () => out.text,
    stderr: () => err.text,
    stop,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null) await stop("SIGKILL");
    },
  };
}

/** Runs the executable to completion (for flags that exit at once). */
export async function runServer(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const binary = await ensureBuilt();
  const child = Bun.spawn([binary, ...args], {
    cwd: dirname(binary),
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: "/usr/bin:/bin" },
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { exitCode, stdout, stderr };
}
