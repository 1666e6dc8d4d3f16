/**
 * The echo server's command line: parsed with `node:util`'s `parseArgs`, every value checked,
 * and every mistake reported as one line that names the flag and the value.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { socketAddress } from "../index.ts";
import { CPUS_MAX } from "../internals.ts";

/** Everything the server needs to know, checked. */
export interface EchoConfig {
  readonly host: string;
  readonly port: number;
  readonly workers: number;
  readonly reactor: "inline" | "thread";
  /** Seconds between stats lines, or null for none. */
  readonly statsSeconds: number | null;
  readonly maxDatagram: number;
  readonly trace: boolean;
  /** Datagrams per second per source, or null for no limit. */
  readonly rateLimit: number | null;
  readonly reflectionGuard: boolean;
  /** `--console [HOST:]PORT`: where to serve the live console, or null for none. */
  readonly console: { readonly host: string; readonly port: number } | null;
  /** `--metrics [HOST:]PORT`: where to serve Prometheus metrics, or null for none. */
  readonly metrics: { readonly host: string; readonly port: number } | null;
  /** `--log-format`: lines as text, or one JSON object per line. */
  readonly logFormat: "text" | "json";
  /** `--trace-file FILE`: where to write the Chrome trace, or null for none. */
  readonly traceFile: string | null;
  /** UDP GRO/GSO: on where the OS allows (`auto`), or never (`off`). */
  readonly offload: "auto" | "off";
  /** `--cpu LIST`: the CPU of each worker's event loop (the other threads on the rest), or null. */
  readonly cpus: readonly number[] | null;
  /** The flags the command line named (`--port`, …), to tell a default from a choice. */
  readonly given: readonly string[];
}

/** What the server does when a flag is not given. */
export const DEFAULTS: EchoConfig = {
  host: "127.0.0.1",
  port: 7777,
  workers: 1,
  reactor: "inline",
  statsSeconds: null,
  maxDatagram: 65507,
  trace: false,
  rateLimit: null,
  reflectionGuard: true,
  console: null,
  metrics: null,
  logFormat: "text",
  traceFile: null,
  offload: "auto",
  cpus: null,
  given: [],
};

/** Limits of the numeric flags. */
export const LIMITS = {
  workersMax: 64,
  statsSecondsMin: 0.1,
  statsSecondsMax: 86_400,
  maxDatagramMax: 65_535,
  rateLimitMax: 1_000_000_000,
} as const;

/** The `--help` text. */
export const USAGE = `Usage: udp-echo [options]

A UDP echo server (RFC 862): every datagram is sent back, byte for byte, to its sender.

Options:
  --host ADDRESS          IP address to listen on (default 127.0.0.1; IPv6 such as ::1 works)
  --port PORT             UDP port, 0 to 65535 (default 7777; 0 picks a free port)
  --workers N             reactors, each with its own SO_REUSEPORT socket on the port (default 1;
                          with socket activation, one per socket passed)
  --reactor inline|thread wait for the OS on the executor's thread, or on a reactor thread
                          (default inline)
  --stats SECONDS         print datagrams and bytes per second, drops and tasks every SECONDS
  --max-datagram BYTES    drop (never truncate) datagrams larger than this (default 65507)
  --rate-limit PPS        datagrams per second allowed from each source address (default: none)
  --no-reflection-guard   also answer port 0 and well-known service ports (for testing only)
  --offload auto|off      receive bursts coalesced (UDP GRO) and echo each with one send (GSO)
                          where the OS allows, or never (default auto)
  --cpu LIST              run each worker's event loop alone on one CPU of LIST (0 or 2,3 for
                          --workers 2), and the process's other threads (the JIT compiler's,
                          the garbage collector's, the console's) on its other CPUs (Linux)
  --trace                 print the steps of the runtime's flow as they happen
  --console [HOST:]PORT   serve a live console of the runtime on http://HOST:PORT/ (HOST
                          default 127.0.0.1; another than loopback prints a warning)
  --metrics [HOST:]PORT   serve Prometheus metrics on http://HOST:PORT/metrics (HOST default
                          127.0.0.1; another than loopback prints a warning)
  --log-format text|json  the ready line, warnings, stats and totals as text, or as one JSON
                          object per line (default text)
  --trace-file FILE       write the trace as Chrome Trace Event JSON (open it in Perfetto),
                          at most 100000 events, then counts those it drops
  --help                  print this help
  --version               print the version

Started by a service manager with sockets passed (systemd's LISTEN_FDS), it serves those
instead of binding: see contrib/systemd/ and docs/operations.md.

Stop it with Ctrl-C (SIGINT) or SIGTERM: it prints its totals and exits with status 0.`;

/** A mistake on the command line: the message names the flag and the value. Exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** What the command line asks for. */
export type Command =
  { readonly kind: "serve"; readonly config: EchoConfig } | { readonly kind: "help" } | { readonly kind: "version" };

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`invalid value for ${flag}: "${text}" is not a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

function cpuList(text: string): number[] {
  const cpus = text.split(",").map((part) => wholeNumber("--cpu", part, 0, CPUS_MAX - 1));
  const twice = cpus.find((cpu, index) => cpus.indexOf(cpu) !== index);
  if (twice !== undefined)
    throw new UsageError(`invalid value for --cpu: "${text}" names CPU ${twice} twice (one event loop each)`);
  return cpus;
}

function seconds(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < LIMITS.statsSecondsMin || value > LIMITS.statsSecondsMax) {
    throw new UsageError(
      `invalid value for ${flag}: "${text}" is not a number of seconds from ${LIMITS.statsSecondsMin} to ${LIMITS.statsSecondsMax}`,
    );
  }
  return value;
}

function host(text: string): string {
  try {
    socketAddress(text, 0);
    return text;
  } catch {
    throw new UsageError(`invalid value for --host: "${text}" is not an IPv4 or IPv6 address`);
  }
}

/** `--console` and `--metrics`: `PORT`, `HOST:PORT` or `[IPV6]:PORT`. */
function serverAddress(flag: string, text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]:|([^:]+):)?(\d+)$/.exec(text);
  if (match === null) {
    throw new UsageError(`invalid value for ${flag}: "${text}" is not PORT, HOST:PORT or [IPV6]:PORT`);
  }
  const hostText = match[1] ?? match[2] ?? "127.0.0.1";
  try {
    socketAddress(hostText, 0);
  } catch {
    throw new UsageError(`invalid value for ${flag}: "${hostText}" is not an IPv4 or IPv6 address`);
  }
  return { host: hostText, port: wholeNumber(flag, match[3]!, 0, 65535) };
}

function logFormat(text: string): "text" | "json" {
  if (text !== "text" && text !== "json")
    throw new UsageError(`invalid value for --log-format: "${text}" is neither "text" nor "json"`);
  return text;
}

function offload(text: string): "auto" | "off" {
  if (text !== "auto" && text !== "off")
    throw new UsageError(`invalid value for --offload: "${text}" is neither "auto" nor "off"`);
  return text;
}

function reactor(text: string): "inline" | "thread" {
  if (text !== "inline" && text !== "thread")
    throw new UsageError(`invalid value for --reactor: "${text}" is neither "inline" nor "thread"`);
  return text;
}

function nonEmpty(flag: string, text: string): string {
  if (text === "") throw new UsageError(`invalid value for ${flag}: the file name is empty`);
  return text;
}

/** Translates `parseArgs`' own errors into the same one-line form. */
function parseError(error: unknown): UsageError {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  // parseArgs names an option with a short alias as '-h, --help': keep the long name.
  const option = /'(?:-[A-Za-z], )?(-{1,2}[A-Za-z][\w-]*)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return new UsageError(`unknown option ${option ?? message}`);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (message.includes("does not take an argument")) return new UsageError(`option ${option} takes no value`);
      return new UsageError(`option ${option} needs a value`);
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return new UsageError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? message}: udp-echo takes options only`);
    default:
      return new UsageError(message);
  }
}

/**
 * `parseArgs` reads `--port -1` as an option followed by another option; join such a value to
 * its flag (`--port=-1`) so that it is checked, and refused, as a value.
 */
function joinNegativeValues(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    const next = args[index + 1];
    if (/^--[a-z-]+$/.test(arg) && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      index++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/**
 * Parses the arguments after the program name.
 *
 * @example
 * ```ts
 * parseCommandLine(["--port", "0", "--workers", "2"]); // { kind: "serve", config: { port: 0, workers: 2, … } }
 * ```
 */
export function parseCommandLine(args: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args),
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        workers: { type: "string" },
        reactor: { type: "string" },
        stats: { type: "string" },
        "max-datagram": { type: "string" },
        "rate-limit": { type: "string" },
        "no-reflection-guard": { type: "boolean" },
        offload: { type: "string" },
        trace: { type: "boolean" },
        console: { type: "string" },
        metrics: { type: "string" },
        "log-format": { type: "string" },
        "trace-file": { type: "string" },
        cpu: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    throw parseError(error);
  }
  const values = parsed.values;
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };
  const config: EchoConfig = {
    host: values.host === undefined ? DEFAULTS.host : host(values.host),
    port: values.port === undefined ? DEFAULTS.port : wholeNumber("--port", values.port, 0, 65535),
    workers: values.workers === undefined ? DEFAULTS.workers : wholeNumber("--workers", values.workers, 1, LIMITS.workersMax),
    reactor: values.reactor === undefined ? DEFAULTS.reactor : reactor(values.reactor),
    statsSeconds: values.stats === undefined ? null : seconds("--stats", values.stats),
    maxDatagram:
      values["max-datagram"] === undefined
        ? DEFAULTS.maxDatagram
        : wholeNumber("--max-datagram", values["max-datagram"], 1, LIMITS.maxDatagramMax),
    trace: values.trace === true,
    rateLimit:
      values["rate-limit"] === undefined ? null : wholeNumber("--rate-limit", values["rate-limit"], 1, LIMITS.rateLimitMax),
    reflectionGuard: values["no-reflection-guard"] !== true,
    console: values.console === undefined ? null : serverAddress("--console", values.console),
    metrics: values.metrics === undefined ? null : serverAddress("--metrics", values.metrics),
    logFormat: values["log-format"] === undefined ? DEFAULTS.logFormat : logFormat(values["log-format"]),
    traceFile: values["trace-file"] === undefined ? null : nonEmpty("--trace-file", values["trace-file"]),
    offload: values.offload === undefined ? DEFAULTS.offload : offload(values.offload),
    cpus: values.cpu === undefined ? null : cpuList(values.cpu),
    given: Object.keys(values).map((name) => `--${name}`),
  };
  if (config.workers > 1 && (config.console !== null || config.traceFile !== null)) {
    throw new UsageError(
      `${config.console !== null ? "--console" : "--trace-file"} shows one runtime: use it with --workers 1 (not ${config.workers})`,
    );
  }
  if (config.cpus !== null && config.given.includes("--workers") && config.cpus.length !== config.workers) {
    throw new UsageError(cpuCountMismatch(config.cpus, config.workers));
  }
  return { kind: "serve", config };
}

/**
 * The mistake of a `--cpu` list whose length is not the number of workers (on the command line,
 * or the sockets a service manager passed).
 *
 * @example
 * ```ts
 * cpuCountMismatch([1], 2); // "--cpu 1 names 1 CPU, but there are 2 workers: name one CPU for each worker's event loop"
 * ```
 */
export function cpuCountMismatch(cpus: readonly number[], workers: number): string {
  return (
    `--cpu ${cpus.join(",")} names ${cpus.length} CPU${cpus.length === 1 ? "" : "s"}, but there ` +
    `${workers === 1 ? "is 1 worker" : `are ${workers} workers`}: name one CPU for each worker's event loop`
  );
}
