/**
 * The echo server's counters: datagrams and bytes in and out, drops by cause, restarts. Kept in
 * a `Float64Array` (exact up to 2^53) that can live in shared memory, so that the main thread
 * can add up the counters of worker threads without asking them.
 *
 * @module
 */

/** Counter slots, in order. */
export const Counter = {
  datagramsIn: 0,
  bytesIn: 1,
  datagramsOut: 2,
  bytesOut: 3,
  /** Larger than `--max-datagram`: dropped, never echoed truncated. */
  droppedOversized: 4,
  /** To port 0 or a well-known service port: refused by the reflection guard. */
  droppedRefused: 5,
  /** Over the source's `--rate-limit`. */
  droppedRateLimited: 6,
  /** Refused by the OS when sent (e.g. an address it cannot reach). */
  droppedSendError: 7,
  /** Oldest replies dropped because the send queue was full. */
  droppedOverload: 8,
  /** Echo loops restarted after a failure. */
  restarts: 9,
  /** Tasks alive on the runtime, as last sampled. */
  tasksAlive: 10,
  /**
   * Sends that met a transient shortage of kernel memory (ENOBUFS, ENOMEM) and were tried
   * again after a short pause: not drops, the replies still go (or wait in the queue).
   */
  sendRetries: 11,
  /** Receives that met a transient shortage of kernel memory and were tried again. */
  receiveRetries: 12,
  /**
   * Replies sent whose destination answered with an ICMP error (port or host unreachable),
   * read from the socket's error queue: counted here instead of `datagramsOut`.
   */
  droppedUnreachable: 13,
  /**
   * Datagrams the kernel dropped before the server could receive them (its receive buffer was
   * full). Not part of `datagramsIn`: the server never saw them.
   */
  droppedByKernel: 14,
} as const;

/** The name of a counter, e.g. `"datagramsIn"`. */
export type CounterName = keyof typeof Counter;

/** The number of slots a stats block takes. */
export const COUNTER_SLOTS = 16;

/** The bytes a stats block takes in shared memory. */
export const STATS_BYTES = COUNTER_SLOTS * 8;

/** One server's (or one worker's) counters. */
export class EchoStats {
  readonly counters: Float64Array;

  constructor(backing?: { buffer: ArrayBufferLike; byteOffset: number }) {
    this.counters =
      backing === undefined
        ? new Float64Array(COUNTER_SLOTS)
        : new Float64Array(backing.buffer, backing.byteOffset, COUNTER_SLOTS);
  }

  get(name: CounterName): number {
    return this.counters[Counter[name]]!;
  }

  /** The sum of several blocks (the workers'), as a new block. */
  static sum(blocks: readonly EchoStats[]): EchoStats {
    const total = new EchoStats();
    for (const block of blocks) for (let slot = 0; slot < COUNTER_SLOTS; slot++) total.counters[slot]! += block.counters[slot]!;
    return total;
  }

  /** A copy of the counters now, to compute rates against later. */
  snapshot(): EchoStats {
    const copy = new EchoStats();
    copy.counters.set(this.counters);
    return copy;
  }

  get drops(): number {
    return (
      this.get("droppedOversized") +
      this.get("droppedRefused") +
      this.get("droppedRateLimited") +
      this.get("droppedSendError") +
      this.get("droppedOverload") +
      this.get("droppedUnreachable")
    );
  }
}

function rate(now: EchoStats, before: EchoStats, name: CounterName, seconds: number): string {
  const perSecond = (now.get(name) - before.get(name)) / seconds;
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

function dropsOf(now: EchoStats, before: EchoStats | null): string {
  const of = (name: CounterName) => now.get(name) - (before?.get(name) ?? 0);
  return (
    `oversized ${of("droppedOversized")}, refused ${of("droppedRefused")}, rate-limited ${of("droppedRateLimited")}, ` +
    `send-error ${of("droppedSendError")}, overload ${of("droppedOverload")}, unreachable ${of("droppedUnreachable")}`
  );
}

/** Retries, then what the kernel dropped before the server saw it (not part of `in`). */
function retriesOf(now: EchoStats, before: EchoStats | null): string {
  const of = (name: CounterName) => now.get(name) - (before?.get(name) ?? 0);
  return `send-retry ${of("sendRetries")}, recv-retry ${of("receiveRetries")}, dropped by kernel ${of("droppedByKernel")}`;
}

/** The `--stats` line: rates over the last interval, drops in it, tasks alive. */
export function formatStatsLine(now: EchoStats, before: EchoStats, seconds: number): string {
  return (
    `stats: in ${rate(now, before, "datagramsIn", seconds)} datagrams/s ${rate(now, before, "bytesIn", seconds)} B/s, ` +
    `out ${rate(now, before, "datagramsOut", seconds)} datagrams/s ${rate(now, before, "bytesOut", seconds)} B/s, ` +
    `drops ${dropsOf(now, before)}, ${retriesOf(now, before)}, tasks ${now.get("tasksAlive")}`
  );
}

/** The line printed at exit. */
export function formatTotals(total: EchoStats): string {
  return (
    `totals: in ${total.get("datagramsIn")} datagrams ${total.get("bytesIn")} bytes, ` +
    `out ${total.get("datagramsOut")} datagrams ${total.get("bytesOut")} bytes, ` +
    `drops ${dropsOf(total, null)}, ${retriesOf(total, null)}, restarts ${total.get("restarts")}`
  );
}

/**
 * The counters as `--log-format json` writes them: snake-case names (`datagrams_in`), each the
 * difference from `before` (a stats line's interval), or the total without it.
 */
export function countersOf(now: EchoStats, before: EchoStats | null): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const name of Object.keys(Counter) as CounterName[]) {
    if (name === "tasksAlive") continue;
    fields[name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)] = now.get(name) - (before?.get(name) ?? 0);
  }
  return fields;
}
