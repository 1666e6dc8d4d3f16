// contrib/systemd/: the units pass Debian's systemd-analyze verify, ask only for flags udp-echo
// accepts, and docs/operations.md reports the exposure score systemd-analyze security gives.
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCommandLine } from "../src/echo/config.ts";
import { runProcess } from "./helpers.ts";
import { ensureBuilt } from "./e2e/server.ts";

const root = join(import.meta.dir, "..");
const units = join(root, "contrib", "systemd");
const INSTALLED = "/usr/local/bin/udp-echo";

/** The units in a temporary directory, ExecStart pointing at the built executable (verify checks that it exists). */
async function unitsHere(): Promise<{ dir: string; [Symbol.dispose](): void }> {
  const binary = await ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), "udp-echo-units-"));
  copyFileSync(join(units, "udp-echo.socket"), join(dir, "udp-echo.socket"));
  const service = readFileSync(join(units, "udp-echo.service"), "utf8");
  expect(service).toContain(`ExecStart=${INSTALLED} `);
  writeFileSync(join(dir, "udp-echo.service"), service.replace(`ExecStart=${INSTALLED}`, `ExecStart=${binary}`));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("contrib/systemd units", () => {
  test("systemd-analyze verify passes on the socket and the service, without a warning", async () => {
    using here = await unitsHere();
    const result = await runProcess(
      ["systemd-analyze", "verify", "--man=no", join(here.dir, "udp-echo.socket"), join(here.dir, "udp-echo.service")],
      { timeoutMs: 60_000 },
    );
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  }, 60_000);

  test("the socket listens on UDP port 7 for IPv4 and IPv6", () => {
    const socket = readFileSync(join(units, "udp-echo.socket"), "utf8");
    expect(socket).toMatch(/^ListenDatagram=\[::\]:7$/m);
    expect(socket).toMatch(/^BindIPv6Only=both$/m);
  });

  test("the service's ExecStart passes only flags udp-echo accepts, and no address (the socket brings it)", () => {
    const service = readFileSync(join(units, "udp-echo.service"), "utf8");
    const args = /^ExecStart=\S+ (.*)$/m.exec(service)![1]!.split(/\s+/);
    const command = parseCommandLine(args);
    expect(command.kind).toBe("serve");
    expect(args).not.toContain("--host");
    expect(args).not.toContain("--port");
  });

  test("docs/operations.md reports the exposure systemd-analyze security gives the service", async () => {
    using here = await unitsHere();
    const result = await runProcess(["systemd-analyze", "security", "--offline=yes", join(here.dir, "udp-echo.service")], {
      timeoutMs: 60_000,
    });
    const measured = /Overall exposure level for udp-echo\.service: (\d+\.\d)/.exec(result.stdout)?.[1];
    expect(measured).toBeDefined();
    const documented = /`systemd-analyze security` rates the service's exposure at \*\*(\d+\.\d)\*\*/.exec(
      readFileSync(join(root, "docs", "operations.md"), "utf8"),
    )?.[1];
    expect(documented).toBe(measured!);
  }, 60_000);
});
