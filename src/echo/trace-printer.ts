/**
 * `--trace`: prints the runtime's trace events as they happen, for a person learning how the
 * flow goes, then only counts them, so that a busy server does not flood the terminal.
 *
 * @module
 */
import { formatTraceEvent, type TraceEvent, type TraceHook } from "../index.ts";

/** Prints the first `limit` events, then counts the rest by step. */
export class TracePrinter {
  readonly #limit: number;
  readonly #write: (line: string) => void;
  readonly #prefix: string;
  readonly #counts = new Map<number, number>();
  #printed = 0;

  constructor(write: (line: string) => void, options: { readonly limit?: number; readonly prefix?: string } = {}) {
    this.#write = write;
    this.#limit = options.limit ?? 200;
    this.#prefix = options.prefix ?? "trace";
  }

  /** The hook to give the runtime. */
  readonly hook: TraceHook = (event: TraceEvent) => {
    this.#counts.set(event.step, (this.#counts.get(event.step) ?? 0) + 1);
    if (this.#printed < this.#limit) {
      this.#printed++;
      this.#write(`${this.#prefix} ${formatTraceEvent(event)}`);
      if (this.#printed === this.#limit) {
        this.#write(`${this.#prefix} (the first ${this.#limit} events are shown; the rest are counted and summed up at exit)`);
      }
    }
  };

  /** One line: how many events each step had. */
  summary(): string {
    const steps = [...this.#counts.entries()].sort(([a], [b]) => a - b);
    return `${this.#prefix} events by step: ${steps.map(([step, count]) => `${step}:${count}`).join(" ")}`;
  }
}
