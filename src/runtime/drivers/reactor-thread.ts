/**
 * The reactor thread (a Bun `Worker`): step 8 on a thread of its own, as in the seed. It
 * blocks in the poller until the OS reports events, hands them to the executor through the
 * {@link Handoff}, and waits until the executor has taken them and asks it to wait again (a
 * busy executor checks the OS itself meanwhile: the handoff's PAUSED state).
 * Registrations are edge-triggered, so nothing is lost while it waits for the executor: the
 * kernel keeps new readiness queued for the next wait.
 *
 * @module
 */
import { workerData } from "node:worker_threads";
import { SystemError } from "../../sys/errors.ts";
import { Poller } from "../../sys/poller.ts";
import { COUNT, Handoff, type HandoffInit, HandoffState, STARTED, STATE } from "./handoff.ts";

const init = workerData as HandoffInit;
const handoff = new Handoff(init.memory, init.capacity);
const poller = Poller.borrow(init.poller);

function run(): void {
  for (;;) {
    let state = handoff.state;
    while (state === HandoffState.ready || state === HandoffState.paused) {
      Atomics.wait(handoff.control, STATE, state);
      state = handoff.state;
    }
    if (state !== HandoffState.waiting) return;
    let count: number;
    try {
      count = poller.wait(handoff.events, -1);
    } catch (error) {
      handoff.control[COUNT] = error instanceof SystemError ? error.errno : 0;
      handoff.transition(HandoffState.waiting, HandoffState.failed);
      return;
    }
    handoff.control[COUNT] = count;
    if (!handoff.transition(HandoffState.waiting, HandoffState.ready)) return;
  }
}

Atomics.store(handoff.control, STARTED, 1);
run();
// Asked to stop: say it has. (After a failure the state stays FAILED, for the executor to see.)
handoff.transition(HandoffState.stop, HandoffState.stopped);
