/**
 * Keeps a long-running loop alive: if it throws, the failure is reported once, with its cause,
 * and the loop starts again; past a limit of restarts per second it gives up and the error
 * goes to whoever awaits the supervisor.
 *
 * @module
 */
import { type Async, now } from "../index.ts";

/** Options of {@link supervise}. */
export interface SuperviseOptions {
  /** What is supervised, for messages: `"the echo reader"`. */
  readonly name: string;
  /** The most restarts allowed within one second. */
  readonly restartsPerSecondMax: number;
  /** Receives one line per failure. */
  readonly report: (line: string) => void;
  /** Called after each restart (e.g. to count it). */
  readonly onRestart?: () => void;
}

/** Thrown when a supervised loop fails more often than allowed. */
export class RestartLimitError extends Error {
  override readonly name = "RestartLimitError";
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const where = error.stack
    ?.split("\n")
    .find((line) => line.trim().startsWith("at "))
    ?.trim();
  return where === undefined ? `${error.name}: ${error.message}` : `${error.name}: ${error.message} (${where})`;
}

/**
 * Runs `start()` and, each time the loop it returns throws, reports the failure and starts it
 * again. Returns when the loop returns.
 *
 * @example
 * ```ts
 * yield* supervise(() => echoReader(socket, queue, policy), { name: "the echo reader", restartsPerSecondMax: 5, report: console.error });
 * ```
 */
export function* supervise(start: () => Async<unknown>, options: SuperviseOptions): Async<void> {
  const restarts: number[] = [];
  for (;;) {
    try {
      yield* start();
      return;
    } catch (error) {
      const at = now();
      while (restarts.length > 0 && at - restarts[0]! > 1000) restarts.shift();
      if (restarts.length >= options.restartsPerSecondMax) {
        throw new RestartLimitError(
          `${options.name} failed ${restarts.length + 1} times within a second; giving up. Last failure: ${describe(error)}`,
          { cause: error },
        );
      }
      restarts.push(at);
      options.report(`${options.name} failed and was restarted: ${describe(error)}`);
      options.onRestart?.();
    }
  }
}
