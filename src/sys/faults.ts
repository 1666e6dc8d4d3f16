/**
 * Fault injection in the native library, for the chaos test (`npm run chaos`): only a library
 * built with `zig build -Dfault-injection` has it (`zig/src/fault.zig`); a normal build
 * refuses to start it.
 *
 * @module
 */
import { check } from "./errors.ts";
import { native } from "./ffi.ts";

/** Where faults are injected, in the library's order (`fault.Point`). */
export const FAULT_POINTS = ["recv", "send", "wait"] as const;

/** What they do, in the library's order (`fault.Fault`). */
export const FAULT_KINDS = ["EINTR", "EAGAIN", "ENOBUFS", "ENOMEM", "partial"] as const;

/** Faults injected so far, by point and kind: `counts.send.ENOBUFS`. */
export type FaultCounts = Record<(typeof FAULT_POINTS)[number], Record<(typeof FAULT_KINDS)[number], number>>;

/**
 * Starts injecting faults into the receive, send and wait calls: `ratePpm` per million calls,
 * chosen by `seed` (the same seed, the same faults in the same order of calls); 0 stops.
 * Throws `ENOSYS` if the library was built without fault injection.
 *
 * @example
 * configureFaults(42, 10_000); // one call in a hundred fails
 */
export function configureFaults(seed: number, ratePpm: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`fault seed ${seed} is not a whole number >= 0`);
  if (!Number.isInteger(ratePpm) || ratePpm < 0 || ratePpm > 1_000_000) {
    throw new RangeError(`fault rate ${ratePpm} is not a whole number of faults per million calls from 0 to 1000000`);
  }
  check(
    native.br_fault_configure(seed, ratePpm),
    "br_fault_configure",
    () => "Cannot inject faults: the library was built without them (build it with `zig build -Dfault-injection`)",
  );
}

/**
 * The faults injected since {@link configureFaults}, by point and kind.
 *
 * @example
 * const counts = faultCounts();
 * console.log(`${counts.send.ENOBUFS} sends failed with ENOBUFS`);
 */
export function faultCounts(): FaultCounts {
  const counts = {} as FaultCounts;
  FAULT_POINTS.forEach((point, pointIndex) => {
    counts[point] = {} as FaultCounts[typeof point];
    FAULT_KINDS.forEach((kind, kindIndex) => {
      counts[point][kind] = check(native.br_fault_count(pointIndex, kindIndex), "br_fault_count", () => "Cannot count faults");
    });
  });
  return counts;
}

/**
 * Makes every segmented send (UDP GSO) fail with `EIO` while `on`, as on a device that cannot
 * checksum segments, whatever the rate of {@link configureFaults}. Throws `ENOSYS` if the
 * library was built without fault injection.
 *
 * @example
 * refuseSegmentedSends(true); // a batch entry with a segment size now meets EIO
 */
export function refuseSegmentedSends(on: boolean): void {
  check(
    native.br_fault_refuse_segmented(on ? 1 : 0),
    "br_fault_refuse_segmented",
    () => "Cannot refuse segmented sends: the library was built without fault injection (`zig build -Dfault-injection`)",
  );
}
