/**
 * One table of state, replicated (DESIGN.md): a table the primary owns (subscription pools,
 * later the cache) reaches every worker as a snapshot, then as deltas. The plumbing here does
 * not know what a table holds; a table supplies its delta shape, a snapshot of its current
 * content as deltas, and what to do with the reports workers send back (a failed node, usage
 * counters, a cache write made through a worker).
 *
 * Deltas are keyed by what they change (`id`) and sent once the changes pause for QUIET_MS
 * (a lone announce reaches the workers within ~10 ms), or MAX_WAIT_MS after the first of a
 * burst: a burst of 50,000 announces is a few messages per worker (sliced at CHUNK deltas),
 * and a key changed twice meanwhile travels once, in its last state. Not "once per event-loop
 * turn": under a burst the subscription server processes one datagram per turn
 * (datagram-queue.ts), which made every announce an IPC message per worker; and workers
 * applying deltas while the burst lasts took the CPU the primary needed to read it (on 2
 * cores with a sender, 1 run in 2 lost 1,000–6,000 of 20,000 datagrams in the kernel;
 * deferred to the burst's end, none in 5 runs). Deltas are idempotent
 * (upsert, remove), so a snapshot sent in slices while the table keeps changing converges:
 * every later change follows on the same ordered channel.
 */

/** deltas per IPC message (≈ 0.5 MB of JSON for subscription nodes, ~2 ms to serialise) */
export const CHUNK = 5000;
/** deltas go out once no new one came for this long… */
export const QUIET_MS = 10;
/** …or once the oldest waiting one is this old (a long burst) */
export const MAX_WAIT_MS = 250;

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
  private timer: NodeJS.Timeout | null = null;
  /** Date.now() of the first pending delta, and of the last one */
  private firstPending = 0;
  private lastPublish = 0;

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
    const now = Date.now();
    if (this.pending.size === 1) this.firstPending = now;
    this.lastPublish = now;
    this.timer ??= setTimeout(this.due, QUIET_MS);
  }

  /** Flushes once the changes paused or the oldest waited long enough; else waits on. */
  private readonly due = (): void => {
    this.timer = null;
    const now = Date.now();
    const quietIn = this.lastPublish + QUIET_MS - now;
    const maxIn = this.firstPending + MAX_WAIT_MS - now;
    if (quietIn <= 0 || maxIn <= 0) this.flush();
    else this.timer = setTimeout(this.due, Math.min(quietIn, maxIn));
  };

  /** Sends what is pending now. */
  readonly flush = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
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
