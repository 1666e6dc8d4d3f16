// Network namespaces for tests on real interfaces: veth pairs, several addresses a side,
// multicast on, a chosen MTU, and commands run inside with `ip netns exec`.
//
// Only the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32) are accepted as
// addresses; multicast groups in tests are 239.0.0.0/8 and ff15::/16. Nothing leaves the
// namespaces: they are joined only by the veth pairs made here.
//
//   using net = makeNetwork({
//     namespaces: ["a", "b"],
//     links: [{ mtu: 1280, ends: [
//       { namespace: "a", addresses: ["192.0.2.1/24", "2001:db8::1/64"] },
//       { namespace: "b", addresses: ["192.0.2.2/24", "2001:db8::2/64"] },
//     ] }],
//   });
//   const result = await net.run("b", [process.execPath, "test/fixtures/some-fixture.ts"]);
//   const report = JSON.parse(result.stdout);
//
// A namespace that cannot be made is an error that says why (tests are never skipped for it).
// Namespaces are deleted on dispose, by a watchdog when this process ends without disposing them
// (even by SIGKILL), and, as a last resort, by the next network made after a run whose watchdog
// was killed too (their names carry the pid of the process that made them).
import { readdirSync } from "node:fs";
import { runProcess, type Finished } from "./helpers.ts";

/** One end of a veth pair: the namespace it is in and the addresses (with prefix length) it gets. */
export interface LinkEnd {
  readonly namespace: string;
  /** Interface name inside the namespace; `veth<link index>` if not given. */
  readonly name?: string;
  /**
   * `192.0.2.1/24`, `2001:db8::1/64`: IPv6 addresses are added with `nodad` (usable at once),
   * IPv4 ones with their subnet's broadcast address (`brd +`).
   */
  readonly addresses: readonly string[];
}

/** A veth pair between two namespaces. */
export interface Link {
  readonly ends: readonly [LinkEnd, LinkEnd];
  /** The MTU of both ends; the kernel's default (1500) if not given. */
  readonly mtu?: number;
}

/** What `makeNetwork` builds: namespaces (short names, unique per test) and the links between them. */
export interface NetworkPlan {
  readonly namespaces: readonly string[];
  readonly links: readonly Link[];
}

/** A long-lived process inside a namespace (a listener), read line by line. */
export interface NamespaceChild extends Disposable {
  readonly process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** The next line of standard output; throws with the child's stderr if it ends or `timeoutMs` passes first. */
  readLine(timeoutMs?: number): Promise<string>;
  /** Waits for the child to exit (killed after `timeoutMs`, default 30 s) and returns what it left. */
  finish(timeoutMs?: number): Promise<Finished>;
}

/** Namespaces made by `makeNetwork`; deleted by `[Symbol.dispose]()` (use `using`). */
export interface Network extends Disposable {
  /** The real name of namespace `name` (for `ip -n`), e.g. `bunreactor-1234-1-a`. */
  namespace(name: string): string;
  /** Runs `ip ARGS...` inside namespace `name` (extra routes, sysctls), throwing with ip's stderr if it fails. */
  ip(name: string, ...args: string[]): string;
  /** Runs `command` inside namespace `name` to its end (killed after `timeoutMs`, default 60 s). */
  run(name: string, command: string[], options?: { timeoutMs?: number }): Promise<Finished>;
  /** Starts `command` inside namespace `name`; killed on dispose of the child or of the network. */
  spawn(name: string, command: string[]): NamespaceChild;
}

const PREFIX = "bunreactor-";
const DOCUMENTATION = [/^192\.0\.2\.\d+\/\d+$/, /^198\.51\.100\.\d+\/\d+$/, /^2001:0?db8:[0-9a-f:]*\/\d+$/i];
let networks = 0;
let watchdog: Bun.Subprocess | undefined;

/**
 * Makes the namespaces and links of `plan` (loopback up in each), or throws saying which step
 * failed and why, deleting whatever it had made. Needs root and iproute2, as `.ci/run` has.
 */
export function makeNetwork(plan: NetworkPlan): Network {
  checkPlan(plan);
  removeStale();
  watchdog ??= startWatchdog();
  const id = `${PREFIX}${process.pid}-${++networks}-`;
  const names = new Map(plan.namespaces.map((name) => [name, `${id}${name}`]));
  const made: string[] = [];
  const children = new Set<NamespaceChild>();
  const real = (name: string) => {
    const found = names.get(name);
    if (found === undefined) throw new Error(`No namespace "${name}" in this network (it has ${plan.namespaces.join(", ")})`);
    return found;
  };
  const remove = () => {
    for (const child of children) child[Symbol.dispose]();
    for (const name of made.splice(0)) {
      Bun.spawnSync(["ip", "netns", "del", name]);
    }
  };
  try {
    for (const name of names.values()) {
      ip(["netns", "add", name], `Cannot make network namespace ${name} (tests on real interfaces need root and iproute2)`);
      made.push(name);
      ip(["-n", name, "link", "set", "lo", "up"], `Cannot bring up loopback in ${name}`);
    }
    plan.links.forEach((link, index) => addLink(link, index, real));
  } catch (error) {
    remove();
    throw error;
  }
  return {
    namespace: real,
    ip: (name, ...args) => ip(["-n", real(name), ...args], `ip ${args.join(" ")} failed in ${real(name)}`),
    run: (name, command, options = {}) => runProcess(["ip", "netns", "exec", real(name), ...command], options),
    spawn(name, command) {
      const child = spawnChild(["ip", "netns", "exec", real(name), ...command], () => children.delete(child));
      children.add(child);
      return child;
    },
    [Symbol.dispose]: remove,
  };
}

/**
 * A shell that deletes this process's namespaces when this process ends, however it ends (a
 * failed test, `process.exit`, SIGKILL): it waits for end of file on a pipe only this process
 * holds open. `bun test` runs no exit handlers, so one could not do it.
 */
function startWatchdog(): Bun.Subprocess {
  const script = `cat >/dev/null; for f in /run/netns/${PREFIX}${process.pid}-*; do [ -e "$f" ] && ip netns del "\${f##*/}"; done`;
  const child = Bun.spawn(["sh", "-c", script], { stdin: "pipe", stdout: "ignore", stderr: "ignore", detached: true });
  child.unref();
  child.stdin.unref();
  return child;
}

function checkPlan(plan: NetworkPlan): void {
  const seen = new Set<string>();
  for (const name of plan.namespaces)
    if (!/^[a-z0-9]{1,12}$/.test(name) || seen.has(name))
      throw new Error(`Namespace name "${name}" must be 1-12 lowercase letters or digits, and unique in its network`);
    else seen.add(name);
  for (const link of plan.links) {
    if (link.mtu !== undefined && !(Number.isInteger(link.mtu) && link.mtu >= 68 && link.mtu <= 65535))
      throw new Error(`Link MTU ${link.mtu} must be an integer from 68 to 65535`);
    for (const end of link.ends) {
      if (!plan.namespaces.includes(end.namespace)) throw new Error(`Link end in unknown namespace "${end.namespace}"`);
      for (const address of end.addresses)
        if (!DOCUMENTATION.some((range) => range.test(address)))
          throw new Error(`Address ${address} is not in 192.0.2.0/24, 198.51.100.0/24 or 2001:db8::/32 (with a prefix length)`);
    }
  }
}

function addLink(link: Link, index: number, real: (name: string) => string): void {
  const [a, b] = link.ends;
  const nameA = a.name ?? `veth${index}`;
  const nameB = b.name ?? `veth${index}`;
  const nsA = real(a.namespace);
  const nsB = real(b.namespace);
  // Made directly inside the namespaces, so the names never meet in the host's namespace.
  ip(["link", "add", nameA, "netns", nsA, "type", "veth", "peer", "name", nameB, "netns", nsB], `Cannot make veth pair ${index}`);
  for (const [ns, name, end] of [[nsA, nameA, a] as const, [nsB, nameB, b] as const]) {
    const mtu = link.mtu === undefined ? [] : ["mtu", String(link.mtu)];
    ip(["-n", ns, "link", "set", name, "multicast", "on", ...mtu, "up"], `Cannot bring up ${name} in ${ns}`);
    for (const address of end.addresses) {
      // IPv6 without duplicate address detection, usable at once; IPv4 with its subnet's
      // broadcast address (brd +), which the kernel otherwise does not treat as broadcast.
      const dad = address.includes(":") ? ["nodad"] : ["brd", "+"];
      ip(["-n", ns, "addr", "add", address, "dev", name, ...dad], `Cannot add ${address} to ${name} in ${ns}`);
    }
  }
}

function ip(args: string[], failure: string): string {
  let result;
  try {
    result = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  } catch (error) {
    throw new Error(`${failure}: cannot run ip: ${(error as Error).message}`);
  }
  if (result.exitCode !== 0) throw new Error(`${failure}: \`ip ${args.join(" ")}\` said: ${result.stderr.toString().trim()}`);
  return result.stdout.toString();
}

/** Namespaces this helper made in a process that no longer runs (killed before it could delete them). */
function removeStale(): void {
  let existing: string[];
  try {
    existing = readdirSync("/run/netns");
  } catch {
    return;
  }
  for (const name of existing) {
    const pid = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    Bun.spawnSync(["ip", "netns", "del", name]);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function spawnChild(command: string[], forget: () => void): NamespaceChild {
  const child = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  const stderr = new Response(child.stderr).text();
  let buffered = "";
  let ended = false;
  const failure = async (why: string) => new Error(`${command.join(" ")}: ${why}; stderr: ${await Promise.race([stderr, ""])}`);
  return {
    process: child,
    async readLine(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          return line;
        }
        if (ended) throw await failure("ended before printing a line");
        const left = deadline - Date.now();
        let timer: Timer | undefined;
        const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), Math.max(0, left))));
        const chunk = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
        if (chunk === "timeout") throw await failure(`printed no line within ${timeoutMs} ms`);
        if (chunk.done) ended = true;
        else buffered += decoder.decode(chunk.value, { stream: true });
      }
    },
    async finish(timeoutMs = 30_000) {
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        let rest = buffered;
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
        const exitCode = await child.exited;
        buffered = "";
        return { exitCode, stdout: rest, stderr: await stderr, bytes: new TextEncoder().encode(rest) };
      } finally {
        clearTimeout(timer);
        forget();
      }
    },
    [Symbol.dispose]() {
      child.kill("SIGKILL");
      forget();
    },
  };
}
