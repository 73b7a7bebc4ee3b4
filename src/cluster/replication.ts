/**
 * One table of state, replicated (DESIGN.md): a table the primary owns (subscription pools,
 * later the cache) reaches every worker as a snapshot, then as deltas. The plumbing here does
 * not know what a table holds; a table supplies its delta shape, a snapshot of its current
 * content as deltas, and what to do with the reports workers send back (a failed node, usage
 * counters, a cache write made through a worker).
 *
 * Deltas are keyed by what they change (`id`) and coalesced until the event loop turns: a
 * burst of 50,000 announces in one turn is one message per worker (sliced at `CHUNK` deltas),
 * and a key changed twice in a turn travels once, in its last state. Deltas are idempotent
 * (upsert, remove), so a snapshot sent in slices while the table keeps changing converges:
 * every later change follows on the same ordered channel.
 */

/** deltas per IPC message (≈ 0.5 MB of JSON for subscription nodes) */
export const CHUNK = 5000;

/** A worker as a table feed sees it. */
export interface ReplicaPeer {
  /** false when the channel is gone (the message is dropped) */
  sendTable(table: string, op: 'snapshot' | 'deltas', items: readonly unknown[]): boolean;
}

/** What a primary-owned table supplies to be replicated. */
export interface ReplicatedTable<D, R> {
  /** unique per process: `subscriptions:http`, `cache:routes` */
  readonly name: string;
  /** the current content as deltas (upserts), walked lazily */
  snapshot(): Iterable<D>;
  /** reports from one worker (already batched) */
  applyReports(items: readonly R[]): void;
}

export class TableFeed<D = unknown, R = unknown> {
  readonly table: ReplicatedTable<D, R>;
  private readonly peers = new Set<ReplicaPeer>();
  private pending = new Map<string, D>();
  private scheduled = false;

  constructor(table: ReplicatedTable<D, R>) {
    this.table = table;
  }

  get name(): string {
    return this.table.name;
  }

  /** A change to replicate; `id` names what it changes (a later delta with the same id wins). */
  publish(id: string, delta: D): void {
    if (this.peers.size === 0) return;
    // delete + set moves the id to the end: the batch keeps the order of last changes
    this.pending.delete(id);
    this.pending.set(id, delta);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Sends what is pending now (also run once per event-loop turn). */
  readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const items = [...this.pending.values()];
    this.pending = new Map();
    for (let i = 0; i < items.length; i += CHUNK) {
      const slice = i === 0 && items.length <= CHUNK ? items : items.slice(i, i + CHUNK);
      for (const p of this.peers) p.sendTable(this.name, 'deltas', slice);
    }
  };

  /**
   * Adds a worker: the snapshot in slices (the event loop runs between two), then every
   * change. Resolves once the last slice is handed to the channel.
   */
  async attach(peer: ReplicaPeer): Promise<void> {
    // changes made before this worker existed are in the snapshot; flush them to the others
    this.flush();
    this.peers.add(peer);
    const it = this.table.snapshot()[Symbol.iterator]();
    for (;;) {
      const slice: D[] = [];
      let done = false;
      while (slice.length < CHUNK) {
        const n = it.next();
        if (n.done) {
          done = true;
          break;
        }
        slice.push(n.value);
      }
      if (slice.length > 0 && !peer.sendTable(this.name, 'snapshot', slice)) return;
      if (done || !this.peers.has(peer)) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  detach(peer: ReplicaPeer): void {
    this.peers.delete(peer);
  }

  /** Moves every worker to another feed (a table rebuilt on reload takes over). */
  handOver(to: TableFeed<D, R>): void {
    this.flush();
    for (const p of this.peers) to.peers.add(p);
    this.peers.clear();
  }
}

/** A worker's replica of one table. */
export interface TableReplica {
  readonly name: string;
  apply(op: 'snapshot' | 'deltas', items: readonly unknown[]): void;
}

/** The worker's side: replicas by name, and reports batched per event-loop turn. */
export class ReplicaSet {
  private readonly replicas = new Map<string, TableReplica>();
  private readonly reports = new Map<string, unknown[]>();
  private scheduled = false;
  private readonly send: (table: string, items: unknown[]) => void;

  constructor(send: (table: string, items: unknown[]) => void) {
    this.send = send;
  }

  register(replica: TableReplica): void {
    this.replicas.set(replica.name, replica);
  }

  apply(table: string, op: 'snapshot' | 'deltas', items: readonly unknown[]): void {
    this.replicas.get(table)?.apply(op, items);
  }

  report(table: string, item: unknown): void {
    let list = this.reports.get(table);
    if (!list) {
      list = [];
      this.reports.set(table, list);
    }
    list.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    for (const [table, items] of this.reports) {
      for (let i = 0; i < items.length; i += CHUNK) this.send(table, items.slice(i, i + CHUNK));
    }
    this.reports.clear();
  };
}
