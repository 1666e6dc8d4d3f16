// Socket activation: the compiled executable started by Debian's systemd-socket-activate (the
// sockets bound by it, passed as LISTEN_FDS from descriptor 3), and what it refuses to serve.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, readFileSync } from "node:fs";
import { createSocket, type Socket } from "node:dgram";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { runProcess } from "../helpers.ts";
import { makeNetwork } from "../netns.ts";
import { ensureBuilt } from "./server.ts";

const clients = join(import.meta.dir, "..", "clients");
const READY_MS = 20_000;
let binary: string;

beforeAll(async () => {
  binary = await ensureBuilt();
});

/** A port free for UDP and TCP on both loopbacks now (the OS picked it for a UDP socket). */
async function freePort(): Promise<number> {
  const probe = createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  const port = probe.address().port;
  probe.close();
  return port;
}

/** `systemd-socket-activate ARGS… udp-echo ECHO_ARGS…`, its output collected. */
function activate(listen: string[], echoArgs: string[] = []) {
  const child = Bun.spawn(["systemd-socket-activate", ...listen, binary, ...echoArgs], {
    cwd: dirname(binary),
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: "/usr/bin:/bin" },
  });
  const output = { stdout: "", stderr: "" };
  const reading = Promise.all([
    (async () => {
      for await (const chunk of child.stdout) output.stdout += new TextDecoder().decode(chunk);
    })(),
    (async () => {
      for await (const chunk of child.stderr) output.stderr += new TextDecoder().decode(chunk);
    })(),
  ]);
  return {
    child,
    output,
    /** Waits for a line of the server's stdout, or of systemd-socket-activate's stderr. */
    async waitFor(pattern: RegExp, what: string, stream: "stdout" | "stderr" = "stdout"): Promise<void> {
      const deadline = performance.now() + READY_MS;
      while (!pattern.test(output[stream])) {
        if (child.exitCode !== null || performance.now() > deadline) {
          await reading;
          throw new Error(`no ${what} (exit ${child.exitCode}):\n${output.stdout}\n${output.stderr}`);
        }
        await Bun.sleep(10);
      }
    },
    async stop(): Promise<number> {
      if (child.exitCode === null) child.kill("SIGTERM");
      const code = await child.exited;
      await reading;
      return code;
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
    },
  };
}

/** Starts `activate`'s program: sends one datagram once systemd-socket-activate listens. */
async function poke(server: ReturnType<typeof activate>, port: number): Promise<void> {
  await server.waitFor(/^Listening on /m, "listening socket", "stderr");
  const client = createSocket("udp4");
  await new Promise<void>((resolve) => client.send("start", port, "127.0.0.1", () => resolve()));
  client.close();
}

/**
 * Sends `payload` once to `host:port` and waits for its echo. Once; the socket is bound before
 * the server starts (by systemd-socket-activate, or the script that passes it), so the datagram
 * waits in it however long the server takes to start; a second copy would be echoed too.
 */
async function echoed(family: "udp4" | "udp6", host: string, port: number, payload: string): Promise<string> {
  const client: Socket = createSocket(family);
  try {
    const reply = new Promise<string>((resolve) => client.on("message", (message) => resolve(message.toString())));
    client.send(payload, port, host);
    const answer = await Promise.race([reply, Bun.sleep(READY_MS).then(() => null)]);
    if (answer === null) throw new Error(`no echo from ${host}:${port} within ${READY_MS} ms`);
    return answer;
  } finally {
    client.close();
  }
}

describe("udp-echo started by systemd-socket-activate", () => {
  setDefaultTimeout(60_000);

  test("serves the IPv4 and the IPv6 socket passed, one worker each, offload on, and echoes the datagram that started it", async () => {
    const port = await freePort();
    await using server = activate(["--datagram", "-l", `127.0.0.1:${port}`, "-l", `[::1]:${port}`]);
    // systemd-socket-activate starts the program on the first datagram, which waits for it.
    await server.waitFor(/^Listening on \[::1\]:\d+ as 4\.$/m, "both sockets listening", "stderr");
    expect(await echoed("udp4", "127.0.0.1", port, "first")).toBe("first");
    await server.waitFor(/^udp-echo listening on /m, "ready line");
    expect(server.output.stdout).toContain(
      `udp-echo listening on 127.0.0.1:${port} and [::1]:${port} (socket activation, epoll, inline reactor, 2 workers, offload on)`,
    );
    expect(await echoed("udp6", "::1", port, "over IPv6")).toBe("over IPv6");
    expect(await server.stop()).toBe(0);
    expect(server.output.stdout).toMatch(/^totals: in 2 datagrams 14 bytes, out 2 datagrams 14 bytes/m);
    expect(server.output.stdout).toContain("totals by worker: worker 0: in 1 out 1, worker 1: in 1 out 1");
  });

  test("a passed socket on 0.0.0.0 replies from the address each client used: connected clients get their echo", async () => {
    const port = await freePort();
    await using server = activate(["--datagram", "-l", `0.0.0.0:${port}`]);
    await server.waitFor(/^Listening on /m, "listening socket", "stderr");
    expect(await echoed("udp4", "127.0.0.1", port, "first")).toBe("first");
    await server.waitFor(/^udp-echo listening on /m, "ready line");
    const addresses = ["127.0.0.2", "127.0.0.3"];
    const result = await runProcess(["python3", join(clients, "connected-client.py"), String(port), "4", ...addresses]);
    expect(result.stdout.trim().split("\n")).toEqual(addresses.map((address) => `ok ${address} 4`));
    expect(await server.stop()).toBe(0);
  });

  test("reads the error queue of a passed socket: a reply to a client that left counts as unreachable", async () => {
    const port = await freePort();
    await using server = activate(["--datagram", "-l", `127.0.0.1:${port}`], ["--stats", "0.2"]);
    // The first client sends and leaves before the server has started: its echo meets a closed port.
    await server.waitFor(/^Listening on /m, "listening socket", "stderr");
    const departed = createSocket("udp4");
    await new Promise<void>((resolve) => departed.send("gone", port, "127.0.0.1", () => resolve()));
    departed.close();
    expect(await echoed("udp4", "127.0.0.1", port, "here")).toBe("here");
    await server.waitFor(/^stats: .*unreachable 1,/m, "stats line counting the unreachable reply");
    expect(await server.stop()).toBe(0);
    expect(server.output.stdout).toMatch(/^totals: .*out 1 datagrams .*unreachable 1,/m);
  });

  test("with --workers 1 and two sockets passed, it says each worker serves one and exits 2", async () => {
    const port = await freePort();
    await using server = activate(["--datagram", "-l", `127.0.0.1:${port}`, "-l", `[::1]:${port}`], ["--workers", "1"]);
    await poke(server, port);
    expect(await server.child.exited).toBe(2);
    await server.stop();
    expect(server.output.stderr).toContain(
      "udp-echo: socket activation: --workers 1, but 2 sockets were passed: each worker serves one passed socket",
    );
  });

  test("refuses a TCP socket with one line that names it, exit 2", async () => {
    const port = await freePort();
    await using server = activate(["-l", `127.0.0.1:${port}`]);
    // A stream socket starts the program on the first connection.
    await server.waitFor(/^Listening on /m, "listening socket", "stderr");
    const connection = connect(port, "127.0.0.1");
    connection.on("error", () => {});
    try {
      expect(await server.child.exited).toBe(2);
    } finally {
      connection.destroy();
    }
    await server.stop();
    expect(server.output.stderr).toEndWith("udp-echo: socket activation: descriptor 3 is a TCP socket, not a UDP socket\n");
  });

  test("--port cannot choose the address of passed sockets: one line, exit 2", async () => {
    const port = await freePort();
    await using server = activate(["--datagram", "-l", `127.0.0.1:${port}`], ["--port", "7"]);
    await poke(server, port);
    expect(await server.child.exited).toBe(2);
    await server.stop();
    expect(server.output.stderr).toContain("udp-echo: socket activation: --port cannot choose the address of passed sockets");
  });
});

describe("contrib/systemd/udp-echo.service's command line", () => {
  test("under systemd-socket-activate it echoes, logs JSON and serves metrics that count the echo", async () => {
    const unit = readFileSync(join(import.meta.dir, "..", "..", "contrib", "systemd", "udp-echo.service"), "utf8");
    // The unit's flags as they are, but the metrics on a free port rather than 9707.
    const args = /^ExecStart=\S+ (.*)$/m
      .exec(unit)![1]!
      .split(/\s+/)
      .map((arg) => arg.replace(/:9707$/, ":0"));
    expect(args).toContain("127.0.0.1:0");
    const port = await freePort();
    await using server = activate(["--datagram", "-l", `[::1]:${port}`], args);
    await server.waitFor(/^Listening on /m, "listening socket", "stderr");
    expect(await echoed("udp6", "::1", port, "unit")).toBe("unit");
    await server.waitFor(/"event":"ready"/, "ready line");
    const lines = server.output.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.event)).toEqual(["metrics", "ready"]);
    expect(lines[1]).toMatchObject({ addresses: [`[::1]:${port}`], socket_activation: true, workers: 1 });
    const scrape = await (await fetch(lines[0]!.url as string)).text();
    expect(scrape).toMatch(/^udp_echo_sent_datagrams_total 1$/m);
    expect(await server.stop()).toBe(0);
    expect(JSON.parse(server.output.stdout.trim().split("\n").at(-1)!)).toMatchObject({ event: "totals", datagrams_out: 1 });
  });
});

describe("udp-echo on port 7, activated, unprivileged (a network namespace of its own)", () => {
  test("on [::]:7 (dual-stack), connected clients at 127.0.0.2, 127.0.0.3 and ::1 get their echo from the address used", async () => {
    using net = makeNetwork({ namespaces: ["a"], links: [] });
    // The copy's directory is private to root: the unprivileged user must be able to run it.
    chmodSync(dirname(binary), 0o755);
    // systemd-socket-activate (root) binds port 7; udp-echo runs as nobody with no capabilities.
    using server = net.spawn("a", [
      "systemd-socket-activate",
      "--datagram",
      "-l",
      "[::]:7",
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--inh-caps=-all",
      binary,
      "--stats",
      "60",
    ]);
    // The first datagram starts it; it waits in the socket however long the start takes.
    const first = await net.run("a", [
      "python3",
      "-c",
      "import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.settimeout(20); " +
        "s.sendto(b'start', ('::1', 7)); print(s.recv(16).decode())",
    ]);
    expect(first.stdout.trim()).toBe("start");
    expect(await server.readLine(20_000)).toMatch(/^udp-echo listening on \[::\]:7 \(socket activation, /);
    const addresses = ["127.0.0.2", "127.0.0.3", "::1"];
    const result = await net.run("a", ["python3", join(clients, "connected-client.py"), "7", "4", ...addresses]);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim().split("\n")).toEqual(addresses.map((address) => `ok ${address} 4`));
  });
});

describe("udp-echo given a descriptor it cannot serve", () => {
  test.each([
    ["udp-unbound", 'descriptor 3 ("passed") is a UDP socket bound to no address'],
    ["unix", 'descriptor 3 ("passed") is a Unix socket, not a UDP socket'],
    ["file", 'descriptor 3 ("passed") is not a socket'],
  ])("refuses %s with a line that names it, exit 2", async (kind, reason) => {
    const result = await runProcess(["python3", join(clients, "pass-socket.py"), kind, binary], { timeoutMs: READY_MS });
    expect(result.stderr).toBe(`udp-echo: socket activation: ${reason}\n`);
    expect(result.exitCode).toBe(2);
  });
});

describe("udp-echo given a blocking socket", () => {
  test("makes it non-blocking: after echoing, SIGTERM still stops it with its totals", async () => {
    const child = Bun.spawn(["python3", join(clients, "pass-socket.py"), "udp-blocking", binary], {
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      const stderr = child.stderr.getReader();
      const first = new TextDecoder().decode((await stderr.read()).value);
      stderr.releaseLock();
      const port = Number(/^port (\d+)/.exec(first)?.[1]);
      expect(await echoed("udp4", "127.0.0.1", port, "blocking?")).toBe("blocking?");
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
      expect(await new Response(child.stdout).text()).toMatch(/^totals: in \d+ datagrams/m);
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("udp-echo on a privileged port without socket activation", () => {
  test("port 7 as an unprivileged user fails with one line that says why (EACCES) and what to do, exit 1", async () => {
    // The copy's directory is private to root: the unprivileged user must be able to run it.
    chmodSync(dirname(binary), 0o755);
    const result = await runProcess(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", binary, "--port", "7"],
      { timeoutMs: READY_MS },
    );
    expect(result.stderr).toBe(
      "udp-echo: Cannot bind UDP socket to 127.0.0.1:7: permission denied (EACCES): a port below 1024 needs privilege: " +
        "start udp-echo by socket activation (contrib/systemd/udp-echo.socket, or systemd-socket-activate --datagram " +
        "-l PORT udp-echo) or grant it CAP_NET_BIND_SERVICE\n",
    );
    expect(result.exitCode).toBe(1);
  });
});
