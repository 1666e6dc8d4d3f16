// Shared by the runtime tests: both drivers, and a runtime that records its trace.
import { Runtime, type RuntimeOptions } from "../src/runtime/runtime.ts";
import type { TraceEvent } from "../src/runtime/trace.ts";
import type { DriverName } from "../src/runtime/driver.ts";

/** Every runtime behaviour is tested under both drivers. */
export const drivers: DriverName[] = ["inline", "thread"];

/** A runtime whose trace events are kept in `events`, closed by `using`. */
export function tracedRuntime(driver: DriverName, options: RuntimeOptions = {}): Runtime & { events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  const runtime = new Runtime({ ...options, driver, trace: (event) => events.push(event) }) as Runtime & { events: TraceEvent[] };
  runtime.events = events;
  return runtime;
}

/** A runtime under `driver` that collects unjoined task errors instead of printing them. */
export function quietRuntime(driver: DriverName): Runtime & { errors: unknown[] } {
  const errors: unknown[] = [];
  const runtime = new Runtime({ driver, onUnjoinedError: (error) => errors.push(error) }) as Runtime & { errors: unknown[] };
  runtime.errors = errors;
  return runtime;
}
