/**
 * Step 8's trace: one event per readiness the OS reported, before the reactor handles it.
 *
 * @module
 */
import { EVENT_ERROR, EVENT_HANGUP, EVENT_READABLE, EVENT_WRITABLE } from "../../sys/abi.ts";
import type { EventBuffer } from "../../sys/poller.ts";
import { type TraceHook, traceEvent } from "../trace.ts";

function describe(flags: number): string {
  const names: string[] = [];
  if ((flags & EVENT_READABLE) !== 0) names.push("readable");
  if ((flags & EVENT_WRITABLE) !== 0) names.push("writable");
  if ((flags & EVENT_ERROR) !== 0) names.push("error");
  if ((flags & EVENT_HANGUP) !== 0) names.push("hang-up");
  return names.join("+");
}

/** Emits an `os-event` trace for each of the first `count` events. */
export function traceOsEvents(trace: TraceHook, events: EventBuffer, count: number, driver: string): void {
  for (let index = 0; index < count; index++) {
    if (events.isWaker(index)) {
      trace(traceEvent("os-event", { detail: `poller woken from another thread (${driver} driver)` }));
    } else {
      trace(
        traceEvent("os-event", { token: events.token(index), detail: `${describe(events.flags(index))} (${driver} driver)` }),
      );
    }
  }
}
