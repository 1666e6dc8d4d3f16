/**
 * The executor's FIFO run queue: a growable ring buffer, so that taking from the front is O(1)
 * (an array's `shift` is O(n)).
 *
 * @module
 */

/** A first-in, first-out queue. */
export class RunQueue<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(64);
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /** Puts `item` at the front, to be taken next (a task resuming a poll cut short). */
  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Takes the oldest item; undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  /** Capacity stays a power of two, so that wrapping is a mask. */
  #grow(): void {
    const items = new Array<T | undefined>(this.#items.length * 2);
    for (let index = 0; index < this.#length; index++) {
      items[index] = this.#items[(this.#head + index) & (this.#items.length - 1)];
    }
    this.#items = items;
    this.#head = 0;
  }

  /** Calls `visit` with each item, oldest first (for invariant checks: not a hot path). */
  forEach(visit: (item: T) => void): void {
    for (let index = 0; index < this.#length; index++) visit(this.#items[(this.#head + index) & (this.#items.length - 1)]!);
  }
}
