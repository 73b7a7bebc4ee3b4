/**
 * Reading apart from processing. The kernel queues ~10,000 small datagrams in a 4 MiB
 * receive buffer (832 bytes of accounting each on loopback); when announcements come faster
 * than they are processed for longer than that, the kernel drops the rest. So a datagram is
 * only queued when read, and processed in batches between reads: libuv reads at most 32
 * datagrams per socket per loop turn, and a turn that read that many means more are waiting,
 * so that turn processes only one and the next read comes sooner. The queue is bounded;
 * what does not fit is dropped and counted, as the kernel would have.
 */

/** libuv's per-wakeup read count for a UDP handle (uv__udp_recvmsg) */
const LIBUV_READS_PER_WAKEUP = 32;
/**
 * datagrams processed per loop turn while reads come at full speed: one (progress, but the
 * reads first). Measured with the router sharing one CPU with a sender of 20,000 at full
 * speed: processing on read kept 15.8k–19.1k, 16 per turn 18.7k–20k, 1 per turn all 20k.
 */
const BUSY_BATCH = 1;
/** datagrams processed per loop turn otherwise (yields to other work in between) */
const IDLE_BATCH = 1024;

export class DatagramQueue {
  private items: Buffer[] = [];
  private head = 0;
  private readsThisTurn = 0;
  private scheduled = false;
  private readonly handle: (datagram: Buffer) => void;
  private readonly maxQueued: number;
  /** datagrams dropped because the queue was full */
  dropped = 0;

  constructor(handle: (datagram: Buffer) => void, maxQueued = 50_000) {
    this.handle = handle;
    this.maxQueued = maxQueued;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(datagram: Buffer): void {
    this.readsThisTurn++;
    if (this.length >= this.maxQueued) {
      this.dropped++;
      return;
    }
    this.items.push(datagram);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    const batch = this.readsThisTurn >= LIBUV_READS_PER_WAKEUP ? BUSY_BATCH : IDLE_BATCH;
    this.readsThisTurn = 0;
    const items = this.items;
    const end = Math.min(items.length, this.head + batch);
    while (this.head < end) {
      const d = items[this.head];
      items[this.head++] = EMPTY;
      this.handle(d);
    }
    if (this.head >= items.length) {
      this.items = [];
      this.head = 0;
      this.scheduled = false;
    } else {
      if (this.head > 4096 && this.head * 2 > items.length) {
        // compact now and then (amortised O(1) per datagram)
        this.items = items.slice(this.head);
        this.head = 0;
      }
      setImmediate(this.drain);
    }
  };

  /** Drops what is queued (closing). */
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

const EMPTY = Buffer.alloc(0);
