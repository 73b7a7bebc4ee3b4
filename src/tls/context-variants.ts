/**
 * The builds of one certificate that differ only in how sessions resume (resumption.ts): with
 * shared ticket keys, one per accepted key period; with a session cache and no ticket keys,
 * one with tickets (TLS 1.3 clients) and one without (TLS 1.2 clients, so they use session
 * ids). A handful at most: a linear scan over two small arrays beats a Map here.
 */
export class ContextVariants<T> {
  private readonly ids: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.ids.length;
  }

  get(variant: number): T | undefined {
    const i = this.ids.indexOf(variant);
    return i < 0 ? undefined : this.items[i];
  }

  set(variant: number, item: T): void {
    const i = this.ids.indexOf(variant);
    if (i >= 0) {
      this.items[i] = item;
      return;
    }
    this.ids.push(variant);
    this.items.push(item);
  }

  /** Removes the variants `live` refuses and returns their items. */
  prune(live: (variant: number) => boolean): T[] {
    const removed: T[] = [];
    for (let i = this.ids.length - 1; i >= 0; i--) {
      if (live(this.ids[i])) continue;
      removed.push(this.items[i]);
      this.items.splice(i, 1);
      this.ids.splice(i, 1);
    }
    return removed;
  }

  /** Removes every variant and returns their items. */
  clear(): T[] {
    const removed = this.items.splice(0);
    this.ids.length = 0;
    return removed;
  }
}
