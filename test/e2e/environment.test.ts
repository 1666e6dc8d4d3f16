// End-to-end: the compiled executable in environments a hardened server or a shell pipeline
// gives it: no usable TMPDIR (where Bun extracts embedded libraries), a read-only /tmp, and a
// standard output whose reader goes away.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runProcess, waitFor } from "../helpers.ts";
import { ensureBuilt, startServer } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");

/** Whether this machine lets us make a private mount namespace (root, or user namespaces). */
const canUnshare = Bun.spawnSync(["unshare", "-m", "true"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;

beforeAll(async () => {
  await ensureBuilt();
});

/** Sends one datagram from Python and expects it back. */
async function expectEcho(port: number): Promise<void> {
  const result = await runProcess(["python3", join(clients, "python-client.py"), "127.0.0.1", String(port), "100"]);
  expect(result.stdout.trim()).toBe("ok 100");
}

describe("udp-echo where its native library cannot be extracted", () => {
  test("TMPDIR=/nonexistent: it loads the library from memory and echoes", async () => {
    await using server = await startServer(["--port", "0"], { env: { TMPDIR: "/nonexistent" } });
    await expectEcho(server.port);
    const { exitCode, stderr } = await server.stop();
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
  });

  test.each([
    ["--reactor", "thread"],
    ["--workers", "2"],
  ])("TMPDIR=/nonexistent with %s %s: every thread loads the library", async (flag, value) => {
    await using server = await startServer(["--port", "0", flag, value], { env: { TMPDIR: "/nonexistent" } });
    await expectEcho(server.port);
    const { exitCode, stderr } = await server.stop();
    expect(stderr).toBe("");
    expect(exitCode).toBe(0);
  });

  // A private mount namespace: /tmp read-only, as on a hardened server's read-only root.
  test.skipIf(!canUnshare)("a read-only /tmp: it still starts and exits 0", async () => {
    const binary = await ensureBuilt();
    const script = 'mount --bind /tmp /tmp && mount -o remount,ro,bind /tmp && exec "$0" --version';
    const result = await runProcess(["unshare", "-m", "sh", "-c", script, binary]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toStartWith("udp-echo 0.1.0");
    expect(result.exitCode).toBe(0);
  });

  // /proc/<pid>/fd hidden: the anonymous memory file cannot be opened by path either.
  test.skipIf(!canUnshare)("nowhere to load from: one line saying what to change, exit 1", async () => {
    const binary = await ensureBuilt();
    const script = 'mount -t tmpfs tmpfs /proc/$$/fd && TMPDIR=/nonexistent exec "$0" --port 0';
    const result = await runProcess(["unshare", "-m", "sh", "-c", script, binary]);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^udp-echo: cannot load its native library: .*set TMPDIR to a writable directory\.\n$/);
    expect(result.exitCode).toBe(1);
  });
});

describe("udp-echo when the reader of its standard output goes away", () => {
  test("`udp-echo --stats 0.2 | head -1`: it keeps serving, and SIGTERM exits 0 without a stack trace", async () => {
    const binary = await ensureBuilt();
    const dir = mkdtempSync(join(tmpdir(), "udp-echo-pipe-"));
    // Set once known, so that a failed step still ends the server (it holds the shell's pipe open).
    let pid: number | null = null;
    let shell: ReturnType<typeof Bun.spawn> | null = null;
    const [errFile, pidFile, statusFile] = ["stderr", "pid", "status"].map((name) => join(dir, name));
    try {
      // The server's stdout is a pipe into `head -1`, which exits after the ready line.
      const script = '{ "$0" --port 0 --stats 0.2 2>"$1" & echo $! >"$2"; wait $!; echo $? >"$3"; } | head -1';
      const sh = Bun.spawn(["sh", "-c", script, binary, errFile!, pidFile!, statusFile!], {
        cwd: dirname(binary),
        stdout: "pipe",
      });
      shell = sh;
      // Only the first line: the shell keeps the pipe open until the server ends.
      const reader = sh.stdout.getReader();
      let readyLine = "";
      while (!readyLine.includes("\n")) readyLine += new TextDecoder().decode((await reader.read()).value);
      const port = Number(/:(\d+) \(/.exec(readyLine)?.[1]);
      expect(port).toBeGreaterThan(0);
      await waitFor("the server's pid", () => existsSync(pidFile!) && readFileSync(pidFile!, "utf8").trim() !== "");
      const server = Number(readFileSync(pidFile!, "utf8"));
      pid = server;
      // `head` is gone: wait until a stats line has met the closed pipe. The server's writes are
      // one write(2) a line, and it makes no other while idle: the ready line, then the first
      // stats line, which fails with EPIPE and silences standard output (src/echo/output.ts).
      // Without /proc (macOS), wait the time of four stats intervals instead.
      if (process.platform === "linux") {
        const writes = () => Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${server}/io`, "utf8"))?.[1]);
        await waitFor("a stats line written into the closed pipe", () => writes() >= 2);
      } else {
        await Bun.sleep(800);
      }
      await expectEcho(port);
      process.kill(server, "SIGTERM");
      await sh.exited;
      expect(readFileSync(errFile!, "utf8")).toBe("");
      expect(existsSync(statusFile!) && readFileSync(statusFile!, "utf8").trim()).toBe("0");
    } finally {
      if (pid !== null && shell?.exitCode === null) process.kill(pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
