/**
 * The set of open sessions (client sockets, idle-watched sessions) on the hot path: an array
 * with swap-remove, each member holding its slot under this roster's own symbol.
 *
 * Why not a `Set`: thousands of add/delete per second of short-lived objects on a long-lived
 * Set made V8's scavenger keep garbage sessions alive (measured under fastrouter load: 36–41%
 * of the young generation survived each scavenge, which grew it to 2 × 64 MiB and cost 12 ms
 * main-thread + 31 ms helper-thread CPU per scavenge; with the two Sets replaced, survival fell
 * to ~0.1% and the young generation stayed at 16 MiB). A roster's array only ever holds live
 * members: a removed slot is overwritten or popped at once.
 */
export class Roster<T extends object> implements Iterable<T> {
  private readonly items: T[] = [];
  private readonly slot = Symbol('roster slot');

  get size(): number {
    return this.items.length;
  }

  private slotOf(x: T): number {
    const i = (x as Record<symbol, number | undefined>)[this.slot];
    return i !== undefined && this.items[i] === x ? i : -1;
  }

  has(x: T): boolean {
    return this.slotOf(x) >= 0;
  }

  add(x: T): this {
    if (this.slotOf(x) < 0) {
      (x as Record<symbol, number>)[this.slot] = this.items.length;
      this.items.push(x);
    }
    return this;
  }

  delete(x: T): boolean {
    const i = this.slotOf(x);
    if (i < 0) return false;
    const last = this.items.pop()!;
    if (last !== x) {
      this.items[i] = last;
      (last as Record<symbol, number>)[this.slot] = i;
    }
    (x as Record<symbol, number>)[this.slot] = -1;
    return true;
  }

  /** The member at `i` (0 ≤ i < size): for loops that delete while they walk, from the end. */
  at(i: number): T | undefined {
    return this.items[i];
  }

  /** Iterates over a snapshot: members may be added or deleted meanwhile. */
  [Symbol.iterator](): Iterator<T> {
    return this.items.slice()[Symbol.iterator]();
  }
}
