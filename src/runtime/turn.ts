/**
 * The turn's timing: how long one turn of the executor may poll tasks (its time budget), when it
 * must end (its deadline), and the prediction that ends a task's poll before the step that would
 * pass it. The executor (`executor.ts`) asks this module between tasks and, through a task's
 * `cx.outOfTime()`, between the ready awaits of one poll; it keeps the run queue itself.
 *
 * ```text
 * turn: deadline = now + budget ─▶ pass ─▶ park(0) ─▶ pass ─▶ … until no task is ready,
 *       the deadline has passed, or a poll was cut short by the prediction
 * pass: task, task, task … each polled unless the deadline has passed before it
 * poll: ready await, ready await … each ends the poll if now + step ≥ deadline
 * ```
 *
 * @module
 */

/**
 * Checks a turn budget: a positive number of milliseconds, or `Infinity`; returns it.
 *
 * @example
 * ```ts
 * checkTurnBudget(1); // 1
 * checkTurnBudget(0); // RangeError: turnBudgetMs 0 is not a positive number of milliseconds (or Infinity)
 * ```
 */
export function checkTurnBudget(turnBudgetMs: number): number {
  if (typeof turnBudgetMs !== "number" || !(turnBudgetMs > 0)) {
    throw new RangeError(`turnBudgetMs ${String(turnBudgetMs)} is not a positive number of milliseconds (or Infinity)`);
  }
  return turnBudgetMs;
}

/**
 * The most steps (ready awaits, and tasks begun) between two reads of the clock. While steps are
 * short against the time left, the clock is read once per so many of them instead of at every
 * one: a read of `performance.now()` costs about what a poll of a task that yields does. A turn
 * then passes its budget by at most this many steps of the average length seen so far, each at
 * most a quarter of the time that was left.
 */
export const STEPS_PER_CLOCK_READ_MAX = 16;

/**
 * The timing of an executor's turns. Without a time budget (`Infinity`) it reads no clock at
 * all: {@link timed} is false and every question is answered at once.
 *
 * @example
 * ```ts
 * const timing = new TurnTiming(0.1, performance.now);
 * const deadlineMs = timing.startTurn();
 * timing.startPass(deadlineMs);
 * while (!timing.passed() && pollOneTask()) {}
 * timing.endPass();
 * ```
 */
export class TurnTiming {
  /** How long one turn may poll tasks, in milliseconds (`Infinity`: no limit). */
  readonly budgetMs: number;
  /** Whether turns have a time budget (false: no clock is ever read). */
  readonly timed: boolean;
  readonly #clock: () => number;
  /** When the pass in progress must end, by {@link #clock} (`Infinity`: no budget, or no pass in progress). */
  #deadlineMs = Infinity;
  /** The clock when the turn's time was last checked (see {@link outOfTime}). */
  #checkedAtMs = 0;
  /** How long a step between two checks of the turn's time takes: a moving average, in ms. */
  #stepMs = 0;
  /** Whether a poll of the turn in progress was cut short by the prediction (see {@link goesOn}). */
  #cutShort = false;
  /** Steps still to take before the clock is read again (see {@link STEPS_PER_CLOCK_READ_MAX}). */
  #unreadSteps = 0;
  /** Steps taken since the clock was last read. */
  #stepsSinceRead = 0;

  constructor(budgetMs: number, clock: () => number) {
    this.budgetMs = checkTurnBudget(budgetMs);
    this.timed = budgetMs !== Infinity;
    this.#clock = clock;
  }

  /** Starts a turn: returns its deadline (`Infinity` without a time budget). Its steps are timed from now. */
  startTurn(): number {
    this.#cutShort = false;
    if (!this.timed) return Infinity;
    const nowMs = this.#clock();
    this.#checkedAtMs = nowMs;
    this.#unreadSteps = 0;
    this.#stepsSinceRead = 0;
    return nowMs + this.budgetMs;
  }

  /** Starts a pass of the run queue that must end by `deadlineMs`, the deadline of its turn. */
  startPass(deadlineMs: number): void {
    this.#deadlineMs = deadlineMs;
  }

  /** Ends the pass: futures polled outside one are never out of time. */
  endPass(): void {
    this.#deadlineMs = Infinity;
  }

  /**
   * Between two tasks of a pass: whether the deadline has passed. Only that ends the pass there;
   * the next task's steps are timed from its start, not from the task before it.
   */
  passed(): boolean {
    const deadlineMs = this.#deadlineMs;
    return deadlineMs !== Infinity && this.#passedAt(deadlineMs);
  }

  /** {@link passed} for `deadlineMs`: a read of the clock, or a step counted while reads are skipped. */
  #passedAt(deadlineMs: number): boolean {
    if (this.#unreadSteps > 0) {
      this.#unreadSteps--;
      this.#stepsSinceRead++;
      return false;
    }
    const nowMs = this.#clock();
    if (nowMs >= deadlineMs) return true;
    this.#checkedAtMs = nowMs;
    this.#stepsSinceRead = 0;
    this.#planReads(deadlineMs - nowMs, this.#stepMs);
    return false;
  }

  /**
   * Whether the task being polled should stop before its next step (a ready await): the
   * deadline has passed, or would likely pass by the end of that step, judged by a moving
   * average of the steps so far. So a turn lasts about its budget, not its budget plus the step
   * that passes it (for an echo, a batch of datagrams: as long as half the budget). One clock
   * read; false at once without a deadline.
   */
  outOfTime(): boolean {
    const deadlineMs = this.#deadlineMs;
    if (deadlineMs === Infinity) return false;
    if (this.#unreadSteps > 0) {
      this.#unreadSteps--;
      this.#stepsSinceRead++;
      return false;
    }
    const nowMs = this.#clock();
    const lastStepMs = (nowMs - this.#checkedAtMs) / (this.#stepsSinceRead + 1);
    this.#stepMs += (lastStepMs - this.#stepMs) / 4;
    this.#checkedAtMs = nowMs;
    this.#stepsSinceRead = 0;
    if (nowMs + this.#stepMs >= deadlineMs) return true;
    this.#planReads(deadlineMs - nowMs, Math.max(this.#stepMs, lastStepMs));
    return false;
  }

  /**
   * How many steps may go before the next read of the clock: as many as fit in a quarter of
   * the `leftMs` left at `stepMs` each (the longer of the average and the last), at most
   * {@link STEPS_PER_CLOCK_READ_MAX}; none while steps are long, nor before one was timed.
   */
  #planReads(leftMs: number, stepMs: number): void {
    const steps = stepMs > 0 ? Math.floor(leftMs / (4 * stepMs)) : 0;
    this.#unreadSteps = Math.min(Math.max(steps, 1), STEPS_PER_CLOCK_READ_MAX) - 1;
  }

  /** Records that a poll was cut short by {@link outOfTime}: the turn ends after this pass. */
  cutShort(): void {
    this.#cutShort = true;
  }

  /**
   * After a pass of a turn that ends at `deadlineMs`: whether another pass may follow. Not
   * without a time budget (nothing else would bound the turn), not after a poll was cut short
   * (it was predicted to pass the deadline), not once the deadline has passed.
   */
  goesOn(deadlineMs: number): boolean {
    return this.timed && !this.#cutShort && !this.#passedAt(deadlineMs);
  }
}
